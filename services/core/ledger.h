#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "events/log.h"
#include "events/result.h"
#include "events/thread_annotations.h"
#include "projections/projection.h"
#include "services/core/idempotency.h"
#include "services/core/ledger_options.h"
#include "services/core/results.h"
#include "services/domain/commands.h"
#include "services/domain/decider.h"

namespace tl {

class DirLock;
class DurableWaiter;
class StateKeeper;

// The application core: typed commands go through the deciders into the log
// and the live projection; queries read the projection (and the log for
// history). Requests are parsed and answers rendered by the front ends
// (services/http/resources.h); nothing here knows a wire format.
//
// Thread-safe. A command holds the state lock only while it decides, stages
// its events in the log and applies them to the projection, so every decision
// sees every event accepted before it (a credit is never spent twice); it then
// waits for durability outside the lock (group commit) before answering.
// Queries share the lock. Snapshots, the /readyz digest and the high-water
// mark are kept by a StateKeeper (state_keeper.h) from the durable log,
// never from the live state under its lock.
//
// Lock order, outermost first (every lock of the core; none is held while
// waiting for durability):
//   1. IdempotentCreates::mu_  (held across a keyed create: idempotency.h)
//   2. mu_                     the state lock: projection_, last_command_ms_
//   3. health_mu_              the write health, taken under mu_ or alone
//   4. the EventLog's and the ProjectionFollower's own locks (under mu_ when
//      a command stages, or when a failed write is rewound)
// StateKeeper's locks never wrap these and are never held while mu_ is
// taken (see state_keeper.h).
//
// The implementation is split by concern: ledger.cc (opening, commands),
// ledger_commit.cc (staging, durability, failed writes), ledger_auth.cc
// (bearers, tenant visibility), ledger_verify.cc (the verify entry points),
// ledger_queries.cc (reads).
class Ledger {
 public:
  // Opens the log (cutting a torn tail, refusing corruption), loads the newest
  // valid snapshot, replays the rest, and creates the admin token on an empty log.
  static Result<std::unique_ptr<Ledger>> Open(LedgerOptions options);
  ~Ledger();  // writes a final snapshot
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // The admin secret minted by this Open on an empty log, exactly once (then
  // empty). Shown once to the operator; never stored. Not thread-safe: for
  // the owner, right after Open.
  std::optional<std::string> TakeBootstrapSecret();

  // The caller behind a bearer secret: an active token (a previous secret
  // inside its grace period counts). kUnauthenticated otherwise. `remote` is
  // the address the request came from, checked against the token's
  // allowed_ips (CheckBearerAddress); nullopt only for in-process callers.
  Result<Caller> Authenticate(std::string_view secret,
                              std::optional<std::string_view> remote = std::nullopt) const
      TL_EXCLUDES(mu_);

  // Commands. Each answers the token as it stands after the command;
  // create and regenerate add the new secret. Errors carry the field at
  // fault. Create: see IdempotentCreates for `key`.
  Result<IssuedToken> Create(const Caller& caller, const CreateTokenCommand& cmd,
                             const IdempotencyKey& key = {}) TL_EXCLUDES(mu_);
  Result<TokenAt> Update(const Caller& caller, std::string_view id, const UpdateTokenCommand& cmd,
                         std::optional<Version> if_match) TL_EXCLUDES(mu_);
  Result<IssuedToken> Regenerate(const Caller& caller, std::string_view id,
                                 const RegenerateCommand& cmd) TL_EXCLUDES(mu_);
  Result<TokenAt> Revoke(const Caller& caller, std::string_view id, const RevokeCommand& cmd)
      TL_EXCLUDES(mu_);
  Result<TokenAt> AdjustCredits(const Caller& caller, std::string_view id,
                                const AdjustCreditsCommand& cmd) TL_EXCLUDES(mu_);

  // A verification's answer: its code (for metrics) and the response body,
  // JSON text (see VerifyDecision::response).
  struct VerifyReply {
    std::string_view code;
    std::string body;
  };
  // A verification by an authenticated caller (which needs ledger:verify).
  Result<VerifyReply> Verify(const Caller& caller, const VerifyCommand& cmd) TL_EXCLUDES(mu_);
  // The hot path of POST /v1/verify: Authenticate(bearer_secret, remote), then
  // Verify(caller, body), under one acquisition of the state lock. `body` is
  // the request body as ReadVerifyRequest read it. Answers exactly what
  // the two calls would, errors in the same order: unauthenticated, the
  // bearer's address, the body's error, the caller's missing ledger:verify,
  // the command's field errors.
  Result<VerifyReply> AuthenticateAndVerify(std::string_view bearer_secret, const VerifyBody& body,
                                            std::optional<std::string_view> remote = std::nullopt)
      TL_EXCLUDES(mu_);

  // Events staged by a command, not yet durable.
  struct Pending {
    Position last;
    std::chrono::steady_clock::time_point staged_at;
    uint64_t epoch = 0;  // the log's (EventLog::Epoch) when staged
  };
  // A verification decided, with its event (if any) staged but not yet durable.
  struct StagedVerify {
    Result<VerifyReply> response;
    // Set when an event was staged: `response` must not be sent before
    // pending->last is durable; then call Durable(*pending).
    std::optional<Pending> pending;
  };
  // AuthenticateAndVerify without the wait, for a caller that must not block
  // (HttpServer's event loop asks for durability and answers once told).
  StagedVerify StageAuthenticateAndVerify(std::string_view bearer_secret, const VerifyBody& body,
                                          std::optional<std::string_view> remote = std::nullopt)
      TL_EXCLUDES(mu_);
  // REQUIRES: p.last is durable. Records its append latency (/metrics).
  void Durable(const Pending& p);
  // Whether `p` is settled: Ok when durable (it may be acknowledged); an
  // error (kStorageUnavailable) when it never will be (a write failed and
  // its events were discarded: answer the error); nullopt while its round
  // may still make it durable. Never blocks.
  std::optional<Status> Settled(const Pending& p) const;
  // Blocks until everything staged up to `p` is settled (one group commit
  // covers it, led by this caller if no round is running); see Settled.
  void WaitDurable(Position p);
  // Nullopt while writes are accepted; otherwise why they are refused (a
  // failed write, for write_retry_ms after it), for /readyz.
  std::optional<std::string> WriteHealth() const TL_EXCLUDES(health_mu_);
  // Since open: group-commit rounds whose write or sync failed, plus writes
  // refused while the log could not be written (/metrics).
  uint64_t StorageErrors() const {
    return log_->Counters().write_failures + storage_errors_.load(std::memory_order_relaxed);
  }
  // A DurableWaiter on this ledger's log (see events/durable_waiter.h), for
  // callers of the Stage* commands that must not block. Must be destroyed
  // before the ledger.
  std::unique_ptr<DurableWaiter> NewDurableWaiter(size_t threads,
                                                  std::function<void(Position)> notify);

  // Queries. `as_of`: a position or an RFC 3339 time (the token as it was
  // then, judged at that time).
  Result<TokenAt> Get(const Caller& caller, std::string_view id,
                      std::optional<std::string_view> as_of) const TL_EXCLUDES(mu_);
  Result<TokenPage> List(const Caller& caller, ListQuery query) const TL_EXCLUDES(mu_);
  // The events of one token's stream after `after`, at most `limit` (and
  // 1000), as the log holds them.
  Result<std::vector<Event>> StreamEvents(const Caller& caller, std::string_view id, Version after,
                                          size_t limit) const TL_EXCLUDES(mu_);
  // The events the caller may see after `after`, at most `limit` (and 1000),
  // of one type if given; looks at no more than max_feed_scan events.
  Result<FeedPage> Feed(const Caller& caller, Position after, size_t limit,
                        std::optional<EventType> type) const TL_EXCLUDES(mu_);
  // The usage report of projections/projection.h (Projection::Usage).
  Result<Json> Usage(const Caller& caller, UsageQuery query) const TL_EXCLUDES(mu_);

  // The state once everything staged before the call is durable, or the
  // newest digest computed when that one would take too long (see
  // LedgerOptions::digest_budget_ms). May wait for a snapshot being written;
  // never holds the state lock.
  StateInfo State() const;
  int64_t Now() const { return options_.clock->NowMs(); }
  // Writes a snapshot of the state once everything staged before the call is
  // durable (no-op when the newest snapshot is there already).
  Status WriteSnapshotNow();
  const EventLog& log() const { return *log_; }
  // From staging a command's events to their being durable (/metrics).
  const Histogram& AppendLatency() const { return append_latency_; }

 private:
  explicit Ledger(LedgerOptions options);
  // Creates the admin token on an empty log.
  Status Bootstrap() TL_EXCLUDES(mu_);
  // Stages `events` for the stream `token_id` at `expected` and applies
  // them; returns what to wait for before answering. `idempotency_key`: see
  // IdempotentCreates.
  Result<Pending> CommitLocked(const std::string& token_id, Version expected, const Caller& caller,
                               int64_t now, std::vector<NewEvent> events,
                               std::string idempotency_key = {}) TL_REQUIRES(mu_);
  // REQUIRES: `caller` may verify. Decides `cmd` (whose secret has `digest`)
  // and stages its event; *pending is set when there is one to wait for.
  Result<VerifyReply> VerifyLocked(const Caller& caller, const VerifyCommand& cmd,
                                   std::string_view digest, int64_t now,
                                   std::optional<Pending>* pending) TL_REQUIRES(mu_);
  // The time a command decides at and stamps its events with: the clock,
  // read in the order commands stage their events, and never before the
  // last command's (event times and ids then never go backwards along
  // positions, even when the clock steps back).
  int64_t CommandTimeLocked() TL_REQUIRES(mu_);
  // The token behind a secret with `digest`, as Authenticate, and may it be
  // used from `remote`; fills *caller.
  Result<const TokenState*> AuthenticateLocked(std::string_view digest, int64_t now,
                                               std::optional<std::string_view> remote,
                                               Caller& caller) const TL_REQUIRES_SHARED(mu_);
  // The token `id` if the caller may see it, else kNotFound.
  Result<const TokenState*> VisibleLocked(const Caller& caller, std::string_view id) const
      TL_REQUIRES_SHARED(mu_);
  // Shared shape of update/regenerate/revoke/credits.
  using TokenDecider = std::function<Result<std::vector<NewEvent>>(const TokenState&, int64_t)>;
  Result<TokenAt> ChangeToken(const Caller& caller, std::string_view id, const TokenDecider& decide)
      TL_EXCLUDES(mu_);
  // Waits for the group commit that makes `p` durable and records the
  // append latency; kStorageUnavailable when it failed (then the state is
  // rewound before returning).
  Status AwaitDurable(const Pending& p) TL_EXCLUDES(mu_);
  // After a failed write: discards what was not durable from the log
  // (EventLog::Rewind) and from the live state (a copy of the durable
  // state's, StateKeeper::CopyDurableTo).
  void RewindLocked() TL_REQUIRES(mu_) TL_EXCLUDES(health_mu_);
  // Ok when a command may stage now: after a failed write, rewinds and
  // refuses (kStorageUnavailable) until write_retry_ms passed.
  Status WritableLocked() TL_REQUIRES(mu_) TL_EXCLUDES(health_mu_);

  const LedgerOptions options_;
  // The data directory's lock (events/dir_lock.h): first in, last out.
  std::unique_ptr<DirLock> dir_lock_;
  std::unique_ptr<EventLog> log_;
  Histogram append_latency_;
  std::optional<std::string> bootstrap_secret_;
  IdempotentCreates idempotent_creates_;

  mutable SharedMutex mu_ TL_ACQUIRED_BEFORE(health_mu_);
  Projection projection_ TL_GUARDED_BY(mu_);
  int64_t last_command_ms_ TL_GUARDED_BY(mu_) = 0;  // see CommandTimeLocked

  // After a failed write: why, and until when, writes are refused (read by
  // /readyz without mu_).
  mutable Mutex health_mu_;
  std::optional<std::string> refused_because_ TL_GUARDED_BY(health_mu_);
  std::chrono::steady_clock::time_point retry_writes_at_ TL_GUARDED_BY(health_mu_){};
  std::atomic<uint64_t> storage_errors_{0};

  // Snapshots, digests and the high-water mark. Declared after log_ (it
  // reads it) so that it is destroyed first.
  std::unique_ptr<StateKeeper> keeper_;
};

}  // namespace tl
