#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "events/result.h"
#include "projections/projection.h"

namespace tl {

// Snapshot files: `<dir>/snapshot-<20-digit position>.json`, written in
// format 2 and read in format 2 or 1 (told apart by their first bytes).
//
// Format 2 is JSON text, one value a line, each line ending in '\n', written
// and read as a stream so neither side holds more than one line of text:
//   {"format":2,"hash":X,"position":P}         header
//   {"state":S,"usage":U}                      one line per token, ids ascending
//   ...                                        (Projection::WriteTokenLines)
//   {"count":N,"sha256":H}                     trailer, the last line
// X is the hash of the log's event at P, so that a snapshot is never taken
// for the state of a different history that happens to reach P; files
// written before it was added have no "hash" (and are loaded without that
// check). N is the number of token lines and H the SHA-256 hex of every byte before
// the trailer (header and token lines, newlines included). Owners' usage and
// every index are derived on load, so only tokens are stored. A file without
// the trailer, with bytes after it, or whose N or H disagree is rejected.
//
// Format 1 (written before format 2, still read) is one compact document
// {"format":1,"position":P,"sha256":H,"state":S} where S is
// Projection::ToJson() and H the SHA-256 hex of S's exact bytes in the file;
// reading it holds the whole file and its parsed document in memory.

// Writes a snapshot of `p` atomically (temporary file, fsync, rename, fsync of
// the directory, which is created if missing), then deletes all but the newest
// two snapshots. kIo when the operating system refuses. `last_hash`: the hash
// of the event at p.last_position() (empty: none recorded).
Status WriteSnapshot(const std::string& dir, const Projection& p, std::string_view last_hash = {});

// The newest valid snapshot in `dir`. A damaged or unreadable one is reported
// through `warn` (naming the file) and the next older one is tried. When none
// is valid (or `dir` has none), an empty Projection; `warn` is told if any
// snapshot file existed. `last_hash`, when given, receives the hash the
// loaded snapshot recorded for its last event (empty when it has none).
Result<Projection> LoadNewestSnapshot(const std::string& dir,
                                      const std::function<void(std::string_view)>& warn,
                                      std::string* last_hash = nullptr);

// The position the newest snapshot file in `dir` is named for (the file is
// not read); Position(0) when there is none. Snapshots cover only durable
// events, so a log must reach it.
Position NewestSnapshotPosition(const std::string& dir);

}  // namespace tl
