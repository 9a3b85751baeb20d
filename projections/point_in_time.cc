#include "projections/point_in_time.h"

namespace tl {

std::optional<TokenState> FoldStreamUntil(const std::vector<Event>& stream,
                                          std::optional<Position> until_position,
                                          std::optional<int64_t> until_time_ms) {
  std::optional<TokenState> state;
  for (const Event& e : stream) {
    if (until_position && e.position > *until_position) break;
    if (until_time_ms && e.time_ms > *until_time_ms) break;
    if (!state) {
      // A stream starts with its creation; anything else cannot be folded.
      if (e.type != EventType::kCreated) return std::nullopt;
      state.emplace();
    }
    ApplyToToken(*state, e);
  }
  return state;
}

}  // namespace tl
