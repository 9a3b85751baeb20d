// The ledger's write path: staging a command's events in the log and the
// live state, waiting for their durability, and recovering from a write
// that failed (services/core/README.md, "A failed write is never
// acknowledged, and never kept").

#include <algorithm>

#include "events/durable_waiter.h"
#include "services/core/ledger.h"
#include "services/core/state_keeper.h"

namespace tl {

int64_t Ledger::CommandTimeLocked() {
  last_command_ms_ = std::max(last_command_ms_, Now());
  return last_command_ms_;
}

Result<Ledger::Pending> Ledger::CommitLocked(const std::string& token_id, Version expected,
                                             const Caller& caller, int64_t now,
                                             std::vector<NewEvent> events,
                                             std::string idempotency_key) {
  if (Status writable = WritableLocked(); !writable.ok()) return writable.error();
  AppendRequest req;
  req.token_id = token_id;
  req.expected_version = expected;
  req.idempotency_key = std::move(idempotency_key);
  req.time_ms = now;
  req.actor = caller.token_id;
  for (NewEvent& e : events) req.events.emplace_back(e.type, std::move(e.data));
  Result<AppendResult> staged = log_->Stage(std::move(req));
  if (!staged.ok()) {
    if (staged.error().code == ErrorCode::kStorageUnavailable) {
      storage_errors_.fetch_add(1, std::memory_order_relaxed);
    }
    return staged.error();
  }
  if (staged->duplicate) return IdempotentCreates::KeyUsedBefore();
  for (const Event& e : staged->events) projection_.Apply(e);
  return Pending{staged->last, std::chrono::steady_clock::now(), staged->epoch};
}

Status Ledger::AwaitDurable(const Pending& p) {
  (void)log_->WaitDurable(p.last);
  std::optional<Status> settled = Settled(p);
  if (settled && settled->ok()) {
    Durable(p);
    return Ok{};
  }
  // The live state holds events that will never be durable: rewind it now
  // rather than at the next write, so reads stop seeing them.
  {
    LockGuard<SharedMutex> l(mu_);
    RewindLocked();
  }
  if (settled) return *settled;
  return MakeError(ErrorCode::kStorageUnavailable, "the event log cannot be written");
}

std::optional<Status> Ledger::Settled(const Pending& p) const {
  if (log_->IsDurable(p.last, p.epoch)) return Status(Ok{});
  if (p.epoch != log_->Epoch()) {
    return Status(MakeError(ErrorCode::kStorageUnavailable,
                            "the event log cannot be written: the write failed and was "
                            "discarded"));
  }
  if (std::optional<Error> failure = log_->WriteFailure()) return Status(*failure);
  return std::nullopt;
}

void Ledger::RewindLocked() {
  std::optional<Error> failure = log_->WriteFailure();
  if (!failure) return;  // not failed, or rewound already
  {
    MutexLock h(health_mu_);
    refused_because_ = failure->message;
    retry_writes_at_ =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.write_retry_ms);
  }
  if (Status r = log_->Rewind(); !r.ok()) return;  // still failed: the next write tries again
  // The live state applied the discarded events when they were staged; the
  // keeper's follower holds the durable ones only. Copying it costs time in
  // the state's size, under the lock: once per failure, never on the hot path.
  keeper_->CopyDurableTo(projection_);
}

Status Ledger::WritableLocked() {
  if (log_->WriteFailure()) RewindLocked();
  MutexLock h(health_mu_);
  if (!refused_because_) return Ok{};
  if (std::chrono::steady_clock::now() < retry_writes_at_ || log_->WriteFailure()) {
    storage_errors_.fetch_add(1, std::memory_order_relaxed);
    return MakeError(ErrorCode::kStorageUnavailable, *refused_because_);
  }
  refused_because_.reset();  // this write tries the disk again
  return Ok{};
}

std::optional<std::string> Ledger::WriteHealth() const {
  if (std::optional<Error> failure = log_->WriteFailure()) return failure->message;
  MutexLock h(health_mu_);
  // Ready again once the back-off is over: the next write tries the disk
  // (and a failure makes it unready for another back-off).
  if (std::chrono::steady_clock::now() >= retry_writes_at_) return std::nullopt;
  return refused_because_;
}

std::unique_ptr<DurableWaiter> Ledger::NewDurableWaiter(size_t threads,
                                                        std::function<void(Position)> notify) {
  return std::make_unique<DurableWaiter>(*log_, threads, std::move(notify));
}

void Ledger::WaitDurable(Position p) { (void)log_->WaitDurable(p); }

void Ledger::Durable(const Pending& p) {
  append_latency_.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - p.staged_at).count());
}

}  // namespace tl
