#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "events/event.h"
#include "projections/token_state.h"

namespace tl {

// The state of one token as of a past moment: its stream folded up to and
// including the last event with position <= `until_position` and
// time_ms <= `until_time_ms` (each bound optional; none = the whole stream).
// The fold stops at the first event past a bound, so the result is always the
// fold of a prefix of the stream. nullopt when the token did not exist yet.
// REQUIRES: `stream` holds one token's events in version order.
std::optional<TokenState> FoldStreamUntil(const std::vector<Event>& stream,
                                          std::optional<Position> until_position,
                                          std::optional<int64_t> until_time_ms);

}  // namespace tl
