#pragma once

// Recovery when a log is opened: reads every segment once (ScanLog), builds
// the log's index (positions, streams, idempotency keys), refuses a log that
// ends before LogOptions::must_reach (the high-water mark) before anything is
// cut, then cuts a torn tail of the newest segment, or removes a newest
// segment that never held an event, with a warning (FORMAT.md, "Recovery on
// open"). Any other damage fails with kCorruption and changes nothing.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "events/event.h"
#include "events/log_index.h"
#include "events/log_options.h"
#include "events/result.h"

namespace tl {

// The log as recovery left it on disk.
struct RecoveredLog {
  std::vector<std::pair<Position, std::string>> segments;  // (first position, path)
  uint64_t tail_offset = 0;  // bytes in the newest segment (0 when there is none)
  Position last;             // the last intact event (0 when empty)
  std::string last_hash = kGenesisHash;
  int64_t last_time_ms = 0;
};

// Recovers the log in `dir` (which exists) into `index`, which must be
// empty. `options.warn` must be set. On an error `index` is left partly
// built and must be discarded.
Result<RecoveredLog> RecoverLog(const std::string& dir, const LogOptions& options, LogIndex& index);

}  // namespace tl
