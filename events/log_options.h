#pragma once

// How an EventLog is opened: segment size, group-commit overlap, where
// warnings go, the high-water check and the I/O test seam. Shared by the
// log's parts (log_writer.h, log_recovery.h) and its callers (log.h).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include "events/strong_types.h"

namespace tl {

struct LogOptions {
  // A segment is closed once it holds at least this many bytes.
  uint64_t max_segment_bytes = 64ull << 20;
  // Group-commit rounds whose fdatasync may run at once. 1 = strictly one
  // after another. Two overlap the next round's write+sync with the
  // previous sync, which this machine's disk completes ~1.5x faster than
  // back to back (log_append_bench).
  size_t max_syncs_in_flight = 2;
  // Where recovery warnings go (a torn tail that was cut). Default: stderr.
  std::function<void(std::string_view)> warn;
  // Open refuses (kCorruption, changing nothing) a log whose last intact
  // event is before this position: events up to it were acknowledged, so
  // they cannot be a torn write. 0: no such check.
  Position must_reach;
  // Test seam for the file I/O of appends: called before each operation
  // ("create", "write", "preallocate", "truncate", "fsync", "fdatasync",
  // "fsync directory") with its name; a non-zero return is taken as that
  // operation failing with this errno value.
  std::function<int(std::string_view operation)> inject_error;
};

}  // namespace tl
