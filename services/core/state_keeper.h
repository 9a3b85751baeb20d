#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <thread>

#include "events/log.h"
#include "events/result.h"
#include "events/thread_annotations.h"
#include "projections/follower.h"
#include "projections/projection.h"
#include "services/core/ledger_options.h"

namespace tl {

// Keeps what is derived from the durable log on the side, away from the live
// state and its lock: a second projection (projections/follower.h) that
// folds the log's durable events on its own, and from it the snapshots and
// the /readyz digest; and the high-water mark. Three threads: tl-snapshot
// (a snapshot every snapshot_every_events), tl-digest (digests State() asks
// for, paced by their cost) and tl-mark (the mark every mark_interval_ms).
//
// Why a follower: a snapshot used to be a copy of the live projection taken
// under the state lock; on a million tokens that copy takes seconds, and
// every command waited for it. The follower covers only durable events by
// construction and equals the live state at its position because both are
// the fold of the same events. Chosen over copy-on-write structures in
// Projection, which would put a sharing check on every Apply under the state
// lock. Its costs: the state twice in memory, one copy at start-up (before
// any command), and a second decode + fold of each event on the snapshot
// thread.
//
// Thread-safe. Lock order (each a leaf unless said):
//   snapshot_mu_  before the follower's lock (WriteSnapshotNow)
//   digest_mu_    never held while a digest is computed or the follower read
//   mark_mu_      taken alone (WriteMark)
//   stop_mu_      taken alone
// No lock of this class is held while the ledger's state lock is taken; the
// ledger may read the follower under its state lock (CopyDurableTo).
class StateKeeper {
 public:
  // `options` and `log` must outlive this object. REQUIRES: `durable` is the
  // fold of the log's durable events; `snapshot_position` is what the newest
  // snapshot on disk covers.
  StateKeeper(const LedgerOptions& options, EventLog& log, const Projection& durable,
              Position snapshot_position);
  ~StateKeeper();  // Stop()
  StateKeeper(const StateKeeper&) = delete;
  StateKeeper& operator=(const StateKeeper&) = delete;

  // Writes the mark and starts the threads.
  void Start();
  // Stops the threads, then writes a final snapshot and the mark.
  // Idempotent.
  void Stop() TL_EXCLUDES(stop_mu_, digest_mu_);

  // See Ledger::State.
  StateInfo State() const TL_EXCLUDES(digest_mu_);
  // See Ledger::WriteSnapshotNow.
  Status WriteSnapshotNow() TL_EXCLUDES(snapshot_mu_);
  // Replaces `live` by the state of the durable events (after a failed
  // write's rewind: the live state holds events that will never be durable).
  void CopyDurableTo(Projection& live);

 private:
  // Makes every event staged so far durable, and returns the last one's
  // position.
  Position AwaitStaged() const;
  // Moves the high-water mark up to the durable position (no-op when there).
  void WriteMark() TL_EXCLUDES(mark_mu_);
  // Runs `work` every interval_ms (without stop_mu_) until Stop.
  void RunEvery(int64_t interval_ms, const std::function<void()>& work) TL_EXCLUDES(stop_mu_);
  void MarkLoop() TL_EXCLUDES(stop_mu_);
  void SnapshotLoop() TL_EXCLUDES(stop_mu_);
  void DigestLoop() TL_EXCLUDES(digest_mu_);

  const LedgerOptions& options_;
  EventLog& log_;
  ProjectionFollower follower_;
  std::atomic<Position> last_snapshot_;

  Mutex snapshot_mu_;  // serializes snapshot writers

  // The digest thread's state (never held while a digest is computed).
  mutable Mutex digest_mu_;
  mutable std::condition_variable digest_wanted_cv_;  // State() -> the digest thread
  mutable std::condition_variable digest_done_cv_;    // the digest thread -> State()
  // The newest position State() asked for.
  mutable Position digest_wanted_ TL_GUARDED_BY(digest_mu_);
  StateInfo digest_ TL_GUARDED_BY(digest_mu_);  // the newest digest computed (empty: none yet)
  // What computing digest_ took.
  std::chrono::steady_clock::duration digest_cost_ TL_GUARDED_BY(digest_mu_){};
  bool digest_stopping_ TL_GUARDED_BY(digest_mu_) = false;

  // The high-water mark writer: the last mark written.
  Mutex mark_mu_;
  Position mark_written_ TL_GUARDED_BY(mark_mu_);
  bool mark_failing_ TL_GUARDED_BY(mark_mu_) = false;

  Mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ TL_GUARDED_BY(stop_mu_) = false;
  bool stopped_ = false;  // Stop() ran; only the owner's thread calls Stop

  std::thread digester_;
  std::thread marker_;
  std::thread snapshotter_;
};

}  // namespace tl
