#pragma once

#include <optional>
#include <string>

#include "events/result.h"
#include "events/strong_types.h"

namespace tl {

// The durable high-water mark of a data directory: a position the log had
// made durable (so possibly acknowledged) and its event's hash, kept in
// `<data>/acknowledged.json` as {"hash":H,"position":P}. A log that ends
// before P, or holds another event at P, has lost acknowledged events: the
// ledger refuses to start on it (services/README.md). The ledger rewrites
// the mark in the background (LedgerOptions::mark_interval_ms), so it trails
// the durable log by a bounded time and is never ahead of it.
struct HighWaterMark {
  Position position;
  std::string hash;  // hex, of the event at `position`
};

std::string HighWaterMarkPath(const std::string& data_dir);
// nullopt when there is no mark (a directory from before marks, or empty);
// kCorruption when the file is there but unreadable as a mark.
Result<std::optional<HighWaterMark>> ReadHighWaterMark(const std::string& data_dir);
// Atomically (temporary file, fsync, rename, fsync of the directory).
Status WriteHighWaterMark(const std::string& data_dir, const HighWaterMark& mark);

}  // namespace tl
