#include "events/durable_waiter.h"

#include <utility>

#include "events/thread_name.h"

namespace tl {

DurableWaiter::DurableWaiter(EventLog& log, size_t threads, std::function<void(Position)> notify)
    : log_(log), notify_(std::move(notify)) {
  if (threads == 0) threads = 1;
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

DurableWaiter::~DurableWaiter() {
  {
    MutexLock l(mu_);
    stopping_ = true;
  }
  wanted_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void DurableWaiter::Request(Position p) {
  bool wake = false;
  {
    MutexLock l(mu_);
    if (p <= wanted_) return;  // an earlier request's notify covers p
    wanted_ = p;
    // A busy thread looks at wanted_ again when its WaitDurable returns, so
    // only an idle one needs waking.
    wake = idle_ > 0;
  }
  if (wake) wanted_cv_.notify_one();
}

void DurableWaiter::Run() {
  NameThisThread("tl-durable");
  UniqueLock l(mu_);
  while (true) {
    ++idle_;
    while (wanted_ <= claimed_ && !stopping_) wanted_cv_.wait(l.native());
    --idle_;
    // Stopping still drains what was requested.
    if (wanted_ <= claimed_) return;
    const Position claim = wanted_;
    claimed_ = claim;
    l.Unlock();
    // Settled either way: durable, or never (a failed write). The caller
    // tells which apart (EventLog::IsDurable) before it answers anyone.
    (void)log_.WaitDurable(claim);
    // `claim` rather than the log's DurablePosition(), which takes the log's
    // mutex that stagers contend for: every requested position is claimed by
    // some thread, and that thread's notify reports it.
    notify_(claim);
    l.Lock();
  }
}

}  // namespace tl
