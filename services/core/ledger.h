#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "events/clock.h"
#include "events/log.h"
#include "events/result.h"
#include "projections/follower.h"
#include "projections/projection.h"
#include "services/domain/decider.h"
#include "services/domain/secret.h"

namespace tl {

class DirLock;
class DurableWaiter;

struct LedgerOptions {
  std::string data_dir;          // log in <dir>/log, snapshots in <dir>/snapshots
  const Clock* clock = nullptr;  // REQUIRED; must outlive the Ledger
  RandomBytesFn random_bytes;    // default: the OS CSPRNG
  // Used as the admin secret when the log is empty at open (first start);
  // otherwise one is generated. Ignored on later starts.
  std::optional<std::string> bootstrap_secret;
  // A snapshot is written when this many events were appended since the last
  // one (checked by a background thread every snapshot_check_ms), and on close.
  uint64_t snapshot_every_events = 100'000;
  int64_t snapshot_check_ms = 5'000;
  // Test hook: called by the snapshot writer with the position the snapshot
  // covers, after it has the state to write and before writing it. Commands
  // run meanwhile (the writer holds no lock they need).
  std::function<void(Position)> before_snapshot_write;
  // How long State() (the /readyz digest) may keep its caller waiting. -1:
  // always until there is a digest of the current position. N >= 0: when the
  // last digest took longer than N ms to compute (a million tokens take ~2 s),
  // State() answers at once with the newest digest there is (its position
  // says how old) and a fresh one is computed in the background. Either way
  // digests are computed one at a time, on their own thread, and the next
  // starts no sooner than 3x the last one's cost after it: repeated /readyz
  // calls can keep at most a quarter of one core busy.
  int64_t digest_budget_ms = -1;
  // Test hook: called on the digest thread before each digest is computed,
  // with the position it will cover at least. Its time counts as the digest's.
  std::function<void(Position)> before_digest;
  // Events one Feed call looks at, at most, whatever its filters: a filter
  // that rarely matches must not make one request read the whole log.
  uint64_t max_feed_scan = 10'000;
  std::function<void(std::string_view)> warn;  // default: stderr
  LogOptions log;
  // How often the high-water mark (events/high_water_mark.h) is brought up
  // to the durable position: a crash loses at most this much of its lag.
  int64_t mark_interval_ms = 100;
  // Start even when the log ends before the high-water mark, or before the
  // newest snapshot (acknowledged events are missing): what is dropped is
  // reported through `warn`, the mark is moved back to the log's end and
  // the snapshots that cover lost events are set aside (renamed *.dropped).
  bool accept_log_loss = false;
  // After a failed write (disk full, I/O error), writes are answered 503 for
  // this long before the next one tries the disk again.
  int64_t write_retry_ms = 1'000;
};

// Where the state is, for /readyz and `tokenledger replay`.
struct StateInfo {
  Position position;
  std::string digest;  // SHA-256 hex of the projections at `position`
};

// The application core: commands go through the deciders into the log and
// the live projection; queries read the projection (and the log for history).
//
// Thread-safe. A command holds the state lock only while it decides, stages
// its events in the log and applies them to the projection, so every decision
// sees every event accepted before it (a credit is never spent twice); it then
// waits for durability outside the lock (group commit) before answering.
// Queries share the lock.
//
// Snapshots and the /readyz digest never read the live state: they read a
// second projection (follower_) that folds the log's durable events on its
// own, so a writer never waits for work proportional to the state's size.
// The price is a second copy of the state in memory and a second fold of each
// event (see WriteSnapshotNow in ledger.cc).
class Ledger {
 public:
  // Opens the log (cutting a torn tail, refusing corruption), loads the newest
  // valid snapshot, replays the rest, and creates the admin token on an empty log.
  static Result<std::unique_ptr<Ledger>> Open(LedgerOptions options);
  ~Ledger();  // writes a final snapshot
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // The admin secret minted by this Open on an empty log, exactly once (then
  // empty). Shown once to the operator; never stored.
  std::optional<std::string> TakeBootstrapSecret();

  // The caller behind a bearer secret: an active token (a previous secret
  // inside its grace period counts). kUnauthenticated otherwise. `remote` is
  // the address the request came from, checked against the token's
  // allowed_ips (CheckBearerAddress); nullopt only for in-process callers.
  Result<Caller> Authenticate(std::string_view secret,
                              std::optional<std::string_view> remote = std::nullopt) const;

  // Commands. Each returns the Token resource (create/regenerate add "token",
  // the secret). Errors carry the field at fault.
  Result<Json> Create(const Caller& caller, const Json& body, std::string_view idempotency_key);
  Result<Json> Update(const Caller& caller, std::string_view id, const Json& body,
                      std::optional<Version> if_match);
  Result<Json> Regenerate(const Caller& caller, std::string_view id, const Json& body);
  Result<Json> Revoke(const Caller& caller, std::string_view id, const Json& body);
  Result<Json> AdjustCredits(const Caller& caller, std::string_view id, const Json& body);
  // A verification's answer: its code (for metrics) and the response body,
  // JSON text (see VerifyDecision::response).
  struct VerifyReply {
    std::string_view code;
    std::string body;
  };
  // The verification response as a document, for callers that inspect it
  // (tests, tools); the HTTP front ends send VerifyReply::body as it is.
  // Always a value for a well-formed request.
  Result<Json> Verify(const Caller& caller, const Json& body);
  // The hot path of POST /v1/verify: Authenticate(bearer_secret, remote), then
  // Verify(caller, body), under one acquisition of the state lock. `body` is
  // the request body as ReadVerifyRequest read it. Answers exactly what
  // the two calls would, errors in the same order: unauthenticated, the
  // bearer's address, the body's error, the caller's missing ledger:verify,
  // the command's field errors.
  Result<VerifyReply> AuthenticateAndVerify(std::string_view bearer_secret, const VerifyBody& body,
                                            std::optional<std::string_view> remote = std::nullopt);

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
                                          std::optional<std::string_view> remote = std::nullopt);
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
  std::optional<std::string> WriteHealth() const;
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

  // Queries.
  Result<Json> Get(const Caller& caller, std::string_view id,
                   std::optional<std::string_view> as_of) const;
  Result<Json> List(const Caller& caller, ListQuery query) const;
  // The HTTP feeds. Their events are the log's (EventToJson) without
  // data.secret_digest: a digest of an operator-chosen secret of low entropy
  // can be searched offline, so only the log, its exports and Kafka (which a
  // restore needs) carry it.
  Result<Json> StreamEvents(const Caller& caller, std::string_view id, Version after,
                            size_t limit) const;
  Result<Json> Feed(const Caller& caller, Position after, size_t limit,
                    std::optional<EventType> type) const;
  Result<Json> Usage(const Caller& caller, UsageQuery query) const;

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
  Status Load();
  Status Bootstrap();
  // After Load has the log and the snapshot (projection_): kCorruption when
  // the log has lost events the snapshot proves were acknowledged.
  Status CheckSnapshotAgainstLog(const std::string& snapshot_dir,
                                 const std::string& snapshot_hash) const;
  // REQUIRES: mu_ held exclusively. Stages `events` for `state`'s stream and
  // applies them; returns what to wait for before answering.
  Result<Pending> CommitLocked(const std::string& token_id, Version expected, const Caller& caller,
                               int64_t now, std::vector<NewEvent> events,
                               std::string idempotency_key = {});
  // REQUIRES: mu_ held exclusively; `caller` may verify. Decides `cmd` (whose
  // secret has `digest`) and stages its event; *pending is set when there is
  // one to wait for.
  Result<VerifyReply> VerifyLocked(const Caller& caller, const VerifyCommand& cmd,
                                   std::string_view digest, int64_t now,
                                   std::optional<Pending>* pending);
  // REQUIRES: mu_ held exclusively. The time a command decides at and stamps
  // its events with: the clock, read in the order commands stage their
  // events, and never before the last command's (event times and ids then
  // never go backwards along positions, even when the clock steps back).
  int64_t CommandTimeLocked();
  // REQUIRES: mu_ held. The token behind a secret with `digest`, as
  // Authenticate, and may it be used from `remote`; fills *caller.
  Result<const TokenState*> AuthenticateLocked(std::string_view digest, int64_t now,
                                               std::optional<std::string_view> remote,
                                               Caller& caller) const;
  // REQUIRES: mu_ held. The token `id` if the caller may see it, else kNotFound.
  Result<const TokenState*> VisibleLocked(const Caller& caller, std::string_view id) const;
  // Shared shape of update/regenerate/revoke/credits.
  using TokenDecider = std::function<Result<std::vector<NewEvent>>(const TokenState&, int64_t)>;
  Result<Json> ChangeToken(const Caller& caller, std::string_view id, const TokenDecider& decide);
  // REQUIRES: mu_ not held. Waits for the group commit that makes `p`
  // durable and records the append latency; kStorageUnavailable when it
  // failed (then the state is rewound before returning).
  Status AwaitDurable(const Pending& p);
  // After a failed write: discards what was not durable from the log
  // (EventLog::Rewind) and from the live state (a copy of follower_'s, which
  // holds only durable events). REQUIRES: mu_ held exclusively.
  void RewindLocked();
  // REQUIRES: mu_ held exclusively. Ok when a command may stage now: after
  // a failed write, rewinds and refuses (kStorageUnavailable) until
  // write_retry_ms passed.
  Status WritableLocked();
  // Moves the high-water mark up to the durable position (no-op when there).
  void WriteMark();
  void MarkLoop();
  // REQUIRES: the log and the snapshot are loaded. Accepting a log that
  // lost acknowledged events: reports what is dropped, sets aside the
  // snapshots that cover lost events and moves the mark back.
  Status AcceptLogLoss(const std::string& snapshot_dir, const std::string& snapshot_hash);
  // Makes every event staged so far durable, and returns the last one's
  // position.
  Position AwaitStaged() const;
  void SnapshotLoop();
  // The digest thread: computes a digest whenever State() asks for a newer
  // position than digest_ covers, paced by the last one's cost.
  void DigestLoop();

  const LedgerOptions options_;
  // The data directory's lock (events/dir_lock.h): first in, last out.
  std::unique_ptr<DirLock> dir_lock_;
  std::unique_ptr<EventLog> log_;
  Histogram append_latency_;
  std::optional<std::string> bootstrap_secret_;

  mutable std::shared_mutex mu_;  // guards projection_ and last_command_ms_
  Projection projection_;
  int64_t last_command_ms_ = 0;  // see CommandTimeLocked
  // After a failed write: why, and until when, writes are refused (read by
  // /readyz without mu_).
  mutable std::mutex health_mu_;
  std::optional<std::string> refused_because_;               // guarded by health_mu_
  std::chrono::steady_clock::time_point retry_writes_at_{};  // guarded by health_mu_
  std::atomic<uint64_t> storage_errors_{0};

  // Create responses by Idempotency-Key, for repeats within 24 h.
  struct Remembered {
    std::string body_digest;
    Json response;  // includes the secret: memory only, never persisted
    int64_t at_ms;
  };
  std::mutex idempotency_mu_;  // held across a keyed create
  std::unordered_map<std::string, Remembered> remembered_;

  // The durable state, for snapshots and digests. Declared after log_ (it
  // reads it) so that it is destroyed first.
  std::unique_ptr<ProjectionFollower> follower_;

  // The digest thread's state, guarded by digest_mu_ (never held while a
  // digest is computed).
  mutable std::mutex digest_mu_;
  mutable std::condition_variable digest_wanted_cv_;  // State() -> the digest thread
  mutable std::condition_variable digest_done_cv_;    // the digest thread -> State()
  mutable Position digest_wanted_;                    // the newest position State() asked for
  StateInfo digest_;  // the newest digest computed (empty: none yet)
  std::chrono::steady_clock::duration digest_cost_{};  // what computing digest_ took
  bool digest_stopping_ = false;
  std::thread digester_;

  // The high-water mark writer: the last mark written (guarded by mark_mu_).
  std::mutex mark_mu_;
  Position mark_written_;
  bool mark_failing_ = false;
  std::thread marker_;

  std::mutex snapshot_mu_;  // serializes snapshot writers
  std::atomic<Position> last_snapshot_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread snapshotter_;
};

}  // namespace tl
