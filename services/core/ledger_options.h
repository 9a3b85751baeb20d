#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "events/clock.h"
#include "events/log.h"
#include "events/strong_types.h"
#include "services/domain/secret.h"

namespace tl {

struct LedgerOptions {
  std::string data_dir;          // log in <dir>/log, snapshots in <dir>/snapshots
  const Clock* clock = nullptr;  // REQUIRED; must outlive the Ledger
  RandomBytesFn random_bytes;    // default: the OS CSPRNG
  // Used as the admin secret when the log is empty at open (first start);
  // otherwise one is generated. Ignored on later starts.
  std::optional<std::string> bootstrap_secret;
  // A snapshot is written when this many events were appended since the last
  // one (checked by a background thread every snapshot_check_ms), and on close.
  uint64_t snapshot_every_events = 100'000;
  int64_t snapshot_check_ms = 5'000;
  // Test hook: called by the snapshot writer with the position the snapshot
  // covers, after it has the state to write and before writing it. Commands
  // run meanwhile (the writer holds no lock they need).
  std::function<void(Position)> before_snapshot_write;
  // How long State() (the /readyz digest) may keep its caller waiting. -1:
  // always until there is a digest of the current position. N >= 0: when the
  // last digest took longer than N ms to compute (a million tokens take ~2 s),
  // State() answers at once with the newest digest there is (its position
  // says how old) and a fresh one is computed in the background. Either way
  // digests are computed one at a time, on their own thread, and the next
  // starts no sooner than 3x the last one's cost after it: repeated /readyz
  // calls can keep at most a quarter of one core busy.
  int64_t digest_budget_ms = -1;
  // Test hook: called on the digest thread before each digest is computed,
  // with the position it will cover at least. Its time counts as the digest's.
  std::function<void(Position)> before_digest;
  // Events one Feed call looks at, at most, whatever its filters: a filter
  // that rarely matches must not make one request read the whole log.
  uint64_t max_feed_scan = 10'000;
  std::function<void(std::string_view)> warn;  // default: stderr
  LogOptions log;
  // How often the high-water mark (events/high_water_mark.h) is brought up
  // to the durable position: a crash loses at most this much of its lag.
  int64_t mark_interval_ms = 100;
  // Start even when the log ends before the high-water mark, or before the
  // newest snapshot (acknowledged events are missing): what is dropped is
  // reported through `warn`, the mark is moved back to the log's end and
  // the snapshots that cover lost events are set aside (renamed *.dropped).
  bool accept_log_loss = false;
  // After a failed write (disk full, I/O error), writes are answered 503 for
  // this long before the next one tries the disk again.
  int64_t write_retry_ms = 1'000;
};

// Where the state is, for /readyz and `tokenledger replay`.
struct StateInfo {
  Position position;
  std::string digest;  // SHA-256 hex of the projections at `position`
};

}  // namespace tl
