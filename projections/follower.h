#pragma once

#include "events/event_source.h"
#include "events/thread_annotations.h"
#include "projections/projection.h"

namespace tl {

// A Projection of its own that follows the durable events of an EventSource:
// CatchUp folds what the source made durable after its position. Whoever
// needs the whole state held still for a long time (the snapshot writer, the
// /readyz digest) reads this one, so the live state's lock is never held for
// time proportional to the state's size. It costs a second copy of the state
// in memory and a second fold of every event.
//
// Thread-safe. `source` must outlive the follower.
class ProjectionFollower {
 public:
  // REQUIRES: `seed` is the fold of the source's events up to
  // seed.last_position().
  ProjectionFollower(const EventSource& source, Projection seed);
  ProjectionFollower(const ProjectionFollower&) = delete;
  ProjectionFollower& operator=(const ProjectionFollower&) = delete;

  // Folds the source's events after position() up to `until`; a follower at
  // or past `until` stays where it is. Returns position().
  // REQUIRES: every event up to `until` is durable in the source.
  Position CatchUp(Position until);

  // Calls read(const Projection&) with the state held still (CatchUp waits
  // meanwhile) and returns what it returns.
  template <typename Fn>
  auto Read(Fn&& read) const {
    MutexLock l(mu_);
    return read(static_cast<const Projection&>(state_));
  }

  Position position() const;

 private:
  const EventSource& source_;
  mutable Mutex mu_;
  Projection state_ TL_GUARDED_BY(mu_);
};

}  // namespace tl
