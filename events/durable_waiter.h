#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <thread>
#include <vector>

#include "events/log.h"
#include "events/strong_types.h"
#include "events/thread_annotations.h"

namespace tl {

// Makes staged positions durable on its own threads for callers that must not
// block (an event loop), and tells them when.
//
// Each thread claims the highest position requested so far and calls
// EventLog::WaitDurable on it, so with two threads a request that arrives
// while one round syncs starts the next, overlapping round (as two blocking
// appenders would).
//
// Locking: mu_ guards the request state only; it is never held while calling
// into the log or notify, so it is never nested with the log's mutex.
class DurableWaiter {
 public:
  // `log` must outlive this. `threads` (>= 1): how many WaitDurable calls may
  // run at once (give it LogOptions::max_syncs_in_flight so rounds still
  // overlap).
  //
  // `notify(durable)` runs on a waiter thread each time the positions up to
  // `durable` became durable, or failed to (a failed write: the caller must
  // check with EventLog::IsDurable before acknowledging) (`durable` <= the log's DurablePosition()
  // when it runs). It must be cheap, must not block or throw (e.g. write to an eventfd) and must
  // not call back into this object. Calls may run at the same time on different threads and need
  // not come in increasing order: keep the largest value seen.
  DurableWaiter(EventLog& log, size_t threads, std::function<void(Position)> notify);
  // Makes every requested position durable, notifies, and joins the threads.
  ~DurableWaiter();
  DurableWaiter(const DurableWaiter&) = delete;
  DurableWaiter& operator=(const DurableWaiter&) = delete;

  // Thread-safe; never waits for I/O: asks that every position <= p become
  // durable. Some notify(d) with d >= p follows, unless an earlier Request
  // already asked for p or more: then the notify answering that one covers p
  // (it may already have run), which is why the caller keeps the largest value
  // it was given.
  // REQUIRES: `p` is staged (p <= log.LastStagedPosition()).
  void Request(Position p) TL_EXCLUDES(mu_);

 private:
  void Run() TL_EXCLUDES(mu_);

  EventLog& log_;
  const std::function<void(Position)> notify_;

  tl::Mutex mu_;
  std::condition_variable wanted_cv_;    // wanted_ passed claimed_, or stopping_
  Position wanted_ TL_GUARDED_BY(mu_);   // the largest position requested
  Position claimed_ TL_GUARDED_BY(mu_);  // the largest one a thread took on
  size_t idle_ TL_GUARDED_BY(mu_) = 0;   // threads waiting on wanted_cv_
  bool stopping_ TL_GUARDED_BY(mu_) = false;

  std::vector<std::thread> threads_;  // last: started once the fields above exist
};

}  // namespace tl
