#include "projections/follower.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace tl {
namespace {

// Events read from the source at a time: the state lock is held only while a
// batch is folded, so a reader waits for at most one batch.
constexpr uint64_t kBatch = 4096;

}  // namespace

ProjectionFollower::ProjectionFollower(const EventSource& source, Projection seed)
    : source_(source), state_(std::move(seed)) {}

Position ProjectionFollower::CatchUp(Position until) {
  for (;;) {
    const Position at = position();
    if (at >= until) return at;
    // Read (and decode) outside the lock. Were two CatchUp calls to read the
    // same events, the second fold of them changes nothing (Apply ignores
    // events at or before the state's position).
    std::vector<Event> batch =
        source_.Read(at.next(), std::min<uint64_t>(kBatch, until.value() - at.value()));
    if (batch.empty()) return at;  // not durable after all: nothing more to fold
    MutexLock l(mu_);
    for (const Event& e : batch) state_.Apply(e);
  }
}

Position ProjectionFollower::position() const {
  MutexLock l(mu_);
  return state_.last_position();
}

}  // namespace tl
