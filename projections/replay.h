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

// Folds the events of the log in `log_dir` that come after p.last_position()
// into `p`, stopping before the first event past a limit. Reads the files
// directly (the log need not be open); a torn tail is left out and, when the
// replay got that far, reported through `warn` (see TornTailNotice); any
// other damage fails with kCorruption. Returns p.last_position() afterwards.
Result<Position> ReplayLog(const std::string& log_dir, Projection& p, const ReplayLimit& limit = {},
                           const std::function<void(std::string_view)>& warn = {});

}  // namespace tl
