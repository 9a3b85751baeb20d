#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "events/result.h"
#include "projections/projection.h"

namespace tl {

struct ReplayLimit {
  std::optional<Position> until;        // last position to apply
  std::optional<int64_t> until_time_ms;  // last event time to apply
};

// Folds the events of the log in `log_dir` that come after p.last_position()
// into `p`, stopping before the first event past a limit. Reads the files
// directly (the log need not be open); a torn tail is ignored, any other
// damage fails with kCorruption. Returns p.last_position() afterwards.
Result<Position> ReplayLog(const std::string& log_dir, Projection& p, const ReplayLimit& limit = {});

}  // namespace tl
