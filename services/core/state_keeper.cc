#include "services/core/state_keeper.h"

#include <algorithm>

#include "events/high_water_mark.h"
#include "events/thread_name.h"
#include "projections/snapshot.h"

namespace tl {

StateKeeper::StateKeeper(const LedgerOptions& options, EventLog& log, const Projection& durable,
                         Position snapshot_position)
    : options_(options), log_(log), follower_(log, durable), last_snapshot_(snapshot_position) {}

StateKeeper::~StateKeeper() { Stop(); }

void StateKeeper::Start() {
  WriteMark();
  marker_ = std::thread([this] { MarkLoop(); });
  snapshotter_ = std::thread([this] { SnapshotLoop(); });
  digester_ = std::thread([this] { DigestLoop(); });
}

void StateKeeper::Stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    MutexLock l(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  {
    MutexLock l(digest_mu_);
    digest_stopping_ = true;
  }
  digest_wanted_cv_.notify_all();
  if (snapshotter_.joinable()) snapshotter_.join();
  if (digester_.joinable()) digester_.join();
  if (marker_.joinable()) marker_.join();
  if (Status s = WriteSnapshotNow(); !s.ok())
    options_.warn("final snapshot failed: " + s.error().message);
  WriteMark();
}

void StateKeeper::CopyDurableTo(Projection& live) {
  follower_.CatchUp(log_.DurablePosition());
  follower_.Read([&](const Projection& durable) { live = durable; });
}

void StateKeeper::WriteMark() {
  MutexLock l(mark_mu_);
  const auto [position, hash] = log_.DurableMark();
  if (position == mark_written_) return;
  if (Status s = WriteHighWaterMark(options_.data_dir, {position, hash}); !s.ok()) {
    // Retried at the next interval; said once per failing stretch.
    if (!mark_failing_) options_.warn("high-water mark not written: " + s.error().message);
    mark_failing_ = true;
    return;
  }
  mark_failing_ = false;
  mark_written_ = position;
}

// The mark trails the durable log by at most mark_interval_ms plus one
// write: one more write+fsync+rename+fsync on its own thread per interval,
// instead of a second synchronous fsync in every group-commit round.
void StateKeeper::MarkLoop() {
  NameThisThread("tl-mark");
  RunEvery(options_.mark_interval_ms, [this] { WriteMark(); });
}

void StateKeeper::RunEvery(int64_t interval_ms, const std::function<void()>& work) {
  UniqueLock l(stop_mu_);
  while (!stopping_) {
    stop_cv_.wait_for(l.native(), std::chrono::milliseconds(interval_ms));
    if (stopping_) break;
    l.Unlock();
    work();
    l.Lock();
  }
}

Position StateKeeper::AwaitStaged() const {
  const Position staged = log_.LastStagedPosition();
  // After a failed write, what was staged will not all be durable.
  if (!log_.WaitDurable(staged).ok()) return log_.DurablePosition();
  return staged;
}

StateInfo StateKeeper::State() const {
  const Position target = AwaitStaged();
  UniqueLock l(digest_mu_);
  if (!digest_.digest.empty() && digest_.position >= target) return digest_;
  if (target > digest_wanted_) {
    digest_wanted_ = target;
    digest_wanted_cv_.notify_one();
  }
  const bool too_slow = options_.digest_budget_ms >= 0 &&
                        digest_cost_ > std::chrono::milliseconds(options_.digest_budget_ms);
  if (digest_.digest.empty() || !too_slow) {
    while (digest_.digest.empty() || digest_.position < target) digest_done_cv_.wait(l.native());
  }
  return digest_;
}

// /readyz is public and used to compute its digest in the request, under a
// lock: at a million tokens every call after a write took ~2 s of one core
// (longer than a typical readiness-probe timeout), and callers queued behind
// each other. Now one thread computes digests, paced by their cost, and a
// caller waits for it only while digests are cheap (digest_budget_ms).
void StateKeeper::DigestLoop() {
  NameThisThread("tl-digest");
  UniqueLock l(digest_mu_);
  auto next_start = std::chrono::steady_clock::now();
  for (;;) {
    while (!digest_stopping_ && !digest_.digest.empty() && digest_wanted_ <= digest_.position) {
      digest_wanted_cv_.wait(l.native());
    }
    if (digest_stopping_) return;
    // Pace: idle at least 3x the last digest's cost between two of them.
    while (!digest_stopping_ &&
           digest_wanted_cv_.wait_until(l.native(), next_start) != std::cv_status::timeout) {
    }
    if (digest_stopping_) return;
    // Everything durable now, at least what was asked for.
    const Position target = std::max(digest_wanted_, log_.DurablePosition());
    l.Unlock();
    const auto start = std::chrono::steady_clock::now();
    if (options_.before_digest) options_.before_digest(target);
    follower_.CatchUp(target);
    StateInfo fresh = follower_.Read([](const Projection& p) {
      return StateInfo{p.last_position(), p.Digest()};
    });
    const auto end = std::chrono::steady_clock::now();
    l.Lock();
    digest_ = std::move(fresh);
    digest_cost_ = end - start;
    next_start = end + 3 * digest_cost_;
    digest_done_cv_.notify_all();
  }
}

Status StateKeeper::WriteSnapshotNow() {
  MutexLock s(snapshot_mu_);
  follower_.CatchUp(AwaitStaged());
  return follower_.Read([&](const Projection& p) -> Status {
    if (p.last_position() == last_snapshot_.load()) return Ok{};
    if (options_.before_snapshot_write) options_.before_snapshot_write(p.last_position());
    std::string last_hash;
    if (p.last_position() != Position(0)) {
      std::vector<Event> last = log_.Read(p.last_position(), 1);
      if (last.size() == 1) last_hash = std::move(last[0].hash);
    }
    Status written = WriteSnapshot(options_.data_dir + "/snapshots", p, last_hash);
    if (written.ok()) last_snapshot_ = p.last_position();
    return written;
  });
}

void StateKeeper::SnapshotLoop() {
  NameThisThread("tl-snapshot");
  RunEvery(options_.snapshot_check_ms, [this] {
    // Following as the log grows keeps each snapshot's catch-up short.
    const Position durable = follower_.CatchUp(log_.DurablePosition());
    if (durable.value() - last_snapshot_.load().value() >= options_.snapshot_every_events) {
      if (Status s = WriteSnapshotNow(); !s.ok())
        options_.warn("snapshot failed: " + s.error().message);
    }
  });
}

}  // namespace tl
