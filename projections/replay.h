#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "events/result.h"
#include "projections/projection.h"

namespace tl {

struct ReplayLimit {
  std::optional<Position> until;        // last position to apply
  std::optional<int64_t> until_time_ms;  // last event time to apply
};

struct ReplayChecks {
  // Recompute the hash of every event folded: an event altered on disk (its
  // CRCs redone, its hash not) fails the replay instead of entering the state.
  bool verify_hashes = false;
  // Told about a torn tail the replay reached and left out (TornTailNotice).
  std::function<void(std::string_view)> warn;
};

// Folds the events of the log in `log_dir` that come after p.last_position()
// into `p`, stopping before the first event past a limit. Reads the files
// directly (the log need not be open); a torn tail is left out (see
// ReplayChecks::warn); any other damage fails with kCorruption. Returns
// p.last_position() afterwards.
Result<Position> ReplayLog(const std::string& log_dir, Projection& p, const ReplayLimit& limit = {},
                           const ReplayChecks& checks = {});

}  // namespace tl
