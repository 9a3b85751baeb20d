#include "services/core/ledger.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <future>
#include <iostream>

#include "events/crypto.h"
#include "events/dir_lock.h"
#include "events/durable_waiter.h"
#include "events/high_water_mark.h"
#include "events/thread_name.h"
#include "events/time_format.h"
#include "projections/point_in_time.h"
#include "projections/replay.h"
#include "projections/snapshot.h"

namespace tl {
namespace {

constexpr int64_t kIdempotencyWindowMs = 24LL * 3600 * 1000;
constexpr size_t kMaxPage = 1000;

// Names the id only when it is one: anything else in the path (a typo, a
// secret pasted by mistake) is not echoed.
Error NotFound(std::string_view id) {
  if (!IsTokenId(id)) {
    return MakeError(ErrorCode::kNotFound, "no such token: ids are tok_ and 22 base62 characters",
                     "id");
  }
  return MakeError(ErrorCode::kNotFound, "no token " + std::string(id), "id");
}

// An event as the HTTP feeds serve it: as the log holds it, without the
// digest of a secret (token.created, token.regenerated). A digest of a
// low-entropy operator-chosen secret could be searched offline by any
// ledger:read caller; the log, its exports and Kafka keep it for restores.
Json FeedEventJson(const Event& e) {
  Json j = EventToJson(e);
  if (auto data = j.find("data"); data != j.end() && data->is_object()) {
    data->erase("secret_digest");
  }
  return j;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && s.size() <= 19 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

}  // namespace

Ledger::Ledger(LedgerOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<Ledger>> Ledger::Open(LedgerOptions options) {
  if (options.clock == nullptr)
    return MakeError(ErrorCode::kInvalidArgument, "a clock is required");
  if (!options.random_bytes) options.random_bytes = RandomBytes;
  if (!options.warn) {
    options.warn = [](std::string_view m) { std::cerr << "warning: " << m << std::endl; };
  }
  if (!options.log.warn) options.log.warn = options.warn;
  std::unique_ptr<Ledger> ledger(new Ledger(std::move(options)));
  auto lock = DirLock::Acquire(ledger->options_.data_dir);
  if (!lock.ok()) return lock.error();
  ledger->dir_lock_ = std::move(lock).value();
  if (Status s = ledger->Load(); !s.ok()) return s.error();
  if (Status s = ledger->Bootstrap(); !s.ok()) return s.error();
  ledger->WriteMark();
  ledger->marker_ = std::thread([raw = ledger.get()] { raw->MarkLoop(); });
  ledger->snapshotter_ = std::thread([raw = ledger.get()] { raw->SnapshotLoop(); });
  ledger->digester_ = std::thread([raw = ledger.get()] { raw->DigestLoop(); });
  return ledger;
}

Ledger::~Ledger() {
  {
    std::lock_guard<std::mutex> l(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  {
    std::lock_guard<std::mutex> l(digest_mu_);
    digest_stopping_ = true;
  }
  digest_wanted_cv_.notify_all();
  if (snapshotter_.joinable()) snapshotter_.join();
  if (digester_.joinable()) digester_.join();
  if (marker_.joinable()) marker_.join();
  // Only a ledger that loaded (it has a follower) has a state to keep; one
  // whose start was refused must leave the snapshots as they are.
  if (log_ && follower_) {
    if (Status s = WriteSnapshotNow(); !s.ok())
      options_.warn("final snapshot failed: " + s.error().message);
    WriteMark();
  }
}

Status Ledger::Load() {
  // Opening the log (its index of streams and positions) and loading the
  // snapshot need nothing from each other and take seconds each at a million
  // tokens: they run at once. The loader's warnings are reported after it.
  const std::string snapshot_dir = options_.data_dir + "/snapshots";
  std::vector<std::string> snapshot_warnings;
  std::string snapshot_hash;
  std::future<Result<Projection>> loading = std::async(std::launch::async, [&] {
    return LoadNewestSnapshot(
        snapshot_dir, [&](std::string_view w) { snapshot_warnings.emplace_back(w); },
        &snapshot_hash);
  });
  // Events up to the high-water mark were durable, so possibly acknowledged:
  // the log must reach it, and is not cut short of it as a torn tail.
  auto mark = ReadHighWaterMark(options_.data_dir);
  LogOptions log_options = options_.log;
  if (mark.ok() && *mark && !options_.accept_log_loss) log_options.must_reach = (*mark)->position;
  auto log = EventLog::Open(options_.data_dir + "/log", log_options);
  Result<Projection> snap = loading.get();
  for (const std::string& w : snapshot_warnings) options_.warn(w);
  if (!mark.ok()) return mark.error();
  const std::string repair =
      " Restore the data directory from a replica (`tokenledger restore --from-kafka --data "
      "NEWDIR`) or a backup, or start with --accept-log-loss to go on without those events.";
  if (!log.ok()) {
    if (log.error().code != ErrorCode::kCorruption || !*mark) return log.error();
    return MakeError(ErrorCode::kCorruption, log.error().message + " (high-water mark in " +
                                                 HighWaterMarkPath(options_.data_dir) + ")." +
                                                 repair);
  }
  log_ = std::move(log).value();
  last_command_ms_ = log_->LastStagedTime();
  if (!snap.ok()) return snap.error();
  projection_ = std::move(snap).value();
  if (options_.accept_log_loss) {
    if (Status s = AcceptLogLoss(snapshot_dir, snapshot_hash); !s.ok()) return s;
  } else if (*mark && (*mark)->position != Position(0)) {
    std::vector<Event> at = log_->Read((*mark)->position, 1);
    if (at.size() != 1 || at[0].hash != (*mark)->hash) {
      return MakeError(ErrorCode::kCorruption,
                       "position " + std::to_string((*mark)->position.value()) +
                           " was acknowledged with hash " + (*mark)->hash + " (" +
                           HighWaterMarkPath(options_.data_dir) +
                           ") but the log holds another event there: the log is not the history "
                           "that was acknowledged." +
                           repair);
    }
  }
  if (Status s = CheckSnapshotAgainstLog(snapshot_dir, snapshot_hash); !s.ok()) return s;
  if (projection_.last_position() == Position(0) && log_->DurablePosition() != Position(0)) {
    options_.warn("no snapshot to start from in " + snapshot_dir +
                  "; rebuilding the state from the whole log (" +
                  std::to_string(log_->DurablePosition().value()) + " events)");
  }
  last_snapshot_ = projection_.last_position();
  // The events folded on top of the snapshot are checked against their
  // hashes: one altered on disk (CRCs redone) stops the start-up.
  Result<Position> replayed = ReplayLog(log_->dir(), projection_, {}, {.verify_hashes = true});
  if (!replayed.ok()) return replayed.error();
  if (*replayed != log_->DurablePosition()) {
    return MakeError(ErrorCode::kCorruption,
                     "replay ended at position " + std::to_string(replayed->value()) +
                         " but the log holds " + std::to_string(log_->DurablePosition().value()));
  }
  // Before any command: the one copy of the whole state the follower needs.
  follower_ = std::make_unique<ProjectionFollower>(*log_, projection_);
  return Ok{};
}

Status Ledger::CheckSnapshotAgainstLog(const std::string& snapshot_dir,
                                       const std::string& snapshot_hash) const {
  // A snapshot covers only durable events, and a durable event is never cut
  // as a torn tail: a log that ends before the snapshot, or holds another
  // event where the snapshot's last one was, has lost acknowledged events
  // (a damaged, cut or deleted segment, or a log from elsewhere). Starting
  // anyway would silently drop them; the operator decides.
  const Position at = projection_.last_position();
  const Position log_end = log_->DurablePosition();
  const std::string repair =
      " Restore the data directory from a replica (`tokenledger restore --from-kafka --data "
      "NEWDIR`) or a backup; to accept the log as it is, move " +
      snapshot_dir + " away and start again.";
  if (at > log_end) {
    return MakeError(ErrorCode::kCorruption,
                     "the newest snapshot covers position " + std::to_string(at.value()) +
                         " but the log ends at position " + std::to_string(log_end.value()) +
                         ": acknowledged events are missing from the log." + repair);
  }
  if (at == Position(0) || snapshot_hash.empty()) return Ok{};
  std::vector<Event> event = log_->Read(at, 1);
  if (event.size() != 1 || event[0].hash != snapshot_hash) {
    return MakeError(ErrorCode::kCorruption,
                     "the newest snapshot was taken after an event at position " +
                         std::to_string(at.value()) + " with hash " + snapshot_hash +
                         ", but the log holds another event there: the log is not the history "
                         "the snapshot was taken from." +
                         repair);
  }
  return Ok{};
}

Status Ledger::AcceptLogLoss(const std::string& snapshot_dir, const std::string& snapshot_hash) {
  const Position log_end = log_->DurablePosition();
  auto mark = ReadHighWaterMark(options_.data_dir);
  if (!mark.ok()) return mark.error();
  if (*mark && (*mark)->position > log_end) {
    options_.warn("accepting log loss: positions " + std::to_string(log_end.value() + 1) + " to " +
                  std::to_string((*mark)->position.value()) + " (" +
                  std::to_string((*mark)->position.value() - log_end.value()) +
                  " acknowledged events) are missing from the log and are dropped; the log "
                  "goes on from position " +
                  std::to_string(log_end.value()));
  } else if (*mark && (*mark)->position != Position(0)) {
    std::vector<Event> at = log_->Read((*mark)->position, 1);
    if (at.size() != 1 || at[0].hash != (*mark)->hash) {
      options_.warn(
          "accepting log loss: the log holds another event at the acknowledged position " +
          std::to_string((*mark)->position.value()) + " than the one acknowledged (" +
          (*mark)->hash + "); going on with the log as it is");
    }
  }
  if (!CheckSnapshotAgainstLog(snapshot_dir, snapshot_hash).ok()) {
    // The snapshots cover events the log lost: set them aside (not deleted)
    // and rebuild the state from the log.
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(snapshot_dir, ec)) {
      const std::string path = entry.path().string();
      if (entry.path().extension() != ".json") continue;
      std::filesystem::rename(path, path + ".dropped", ec);
      if (ec) return MakeError(ErrorCode::kIo, "cannot set aside " + path + ": " + ec.message());
      options_.warn("accepting log loss: set aside " + path +
                    " (it covers events the log lost) as " + path + ".dropped");
    }
    projection_ = Projection();
  }
  const auto [position, hash] = log_->DurableMark();
  if (Status s = WriteHighWaterMark(options_.data_dir, {position, hash}); !s.ok()) return s;
  std::lock_guard<std::mutex> l(mark_mu_);
  mark_written_ = position;
  return Ok{};
}

void Ledger::WriteMark() {
  std::lock_guard<std::mutex> l(mark_mu_);
  const auto [position, hash] = log_->DurableMark();
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
void Ledger::MarkLoop() {
  NameThisThread("tl-mark");
  std::unique_lock<std::mutex> l(stop_mu_);
  while (!stop_cv_.wait_for(l, std::chrono::milliseconds(options_.mark_interval_ms),
                            [&] { return stopping_; })) {
    l.unlock();
    WriteMark();
    l.lock();
  }
}

Status Ledger::Bootstrap() {
  if (log_->DurablePosition() != Position(0)) return Ok{};
  std::string secret = options_.bootstrap_secret.value_or("");
  if (secret.empty()) secret = GenerateSecret(kDefaultSecretPrefix, options_.random_bytes);
  // No secret is shorter than kMinSecretChars: the echo rules of the HTTP
  // front ends (IsSafeToEcho) rely on it.
  const bool valid =
      secret.size() >= kMinSecretChars && std::none_of(secret.begin(), secret.end(), [](char c) {
        return std::isspace(static_cast<unsigned char>(c));
      });
  if (!valid) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "TOKENLEDGER_BOOTSTRAP_TOKEN must be at least 32 characters without whitespace");
  }
  CreateTokenCommand cmd;
  cmd.name = "bootstrap admin";
  cmd.description = "Created on first start; manages every token.";
  cmd.owner = "admin";
  cmd.permissions = {std::string(kLedgerAdmin)};
  Caller system{"system", "admin", {std::string(kLedgerAdmin)}};
  std::unique_lock<std::shared_mutex> l(mu_);
  const int64_t now = CommandTimeLocked();
  auto events = DecideCreate(cmd, system, now, SecretDigest(secret), SecretHint(secret),
                             kDefaultSecretPrefix);
  if (!events.ok()) return events.error();
  auto pending = CommitLocked(NewTokenId(options_.random_bytes), Version(0), system, now,
                              std::move(events).value());
  l.unlock();
  if (!pending.ok()) return pending.error();
  if (Status durable = AwaitDurable(*pending); !durable.ok()) return durable;
  bootstrap_secret_ = std::move(secret);
  return Ok{};
}

std::optional<std::string> Ledger::TakeBootstrapSecret() {
  std::optional<std::string> s;
  s.swap(bootstrap_secret_);
  return s;
}

Result<Caller> Ledger::Authenticate(std::string_view secret,
                                    std::optional<std::string_view> remote) const {
  if (secret.empty()) return MakeError(ErrorCode::kUnauthenticated, "a bearer token is required");
  const std::string digest = SecretDigest(secret);
  const int64_t now = Now();
  std::shared_lock<std::shared_mutex> l(mu_);
  Caller caller;
  if (auto t = AuthenticateLocked(digest, now, remote, caller); !t.ok()) return t.error();
  return caller;
}

int64_t Ledger::CommandTimeLocked() {
  last_command_ms_ = std::max(last_command_ms_, Now());
  return last_command_ms_;
}

Result<const TokenState*> Ledger::AuthenticateLocked(std::string_view digest, int64_t now,
                                                     std::optional<std::string_view> remote,
                                                     Caller& caller) const {
  bool previous = false;
  const TokenState* t = projection_.FindByDigest(digest, &previous);
  if (t == nullptr || (previous && !PreviousSecretValid(*t, now)) ||
      StatusAt(*t, now) != TokenStatus::kActive) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "the bearer token is unknown, expired or revoked");
  }
  if (Status s = CheckBearerAddress(*t, remote); !s.ok()) return s.error();
  // Assigned member by member: a reused Caller keeps its strings' buffers.
  caller.token_id = t->id;
  caller.owner = t->owner;
  caller.permissions = t->permissions;
  caller.expires_at_ms = t->expires_at_ms;
  return t;
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
  if (staged->duplicate) {
    return MakeError(ErrorCode::kConflict,
                     "this Idempotency-Key was already used (before a restart, or by a concurrent "
                     "request); the secret it created cannot be shown again",
                     "Idempotency-Key");
  }
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
    std::unique_lock<std::shared_mutex> l(mu_);
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
    std::lock_guard<std::mutex> h(health_mu_);
    refused_because_ = failure->message;
    retry_writes_at_ =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.write_retry_ms);
  }
  if (Status r = log_->Rewind(); !r.ok()) return;  // still failed: the next write tries again
  // The live state applied the discarded events when they were staged; the
  // follower holds the durable ones only. Copying it costs time in the
  // state's size, under the lock: once per failure, never on the hot path.
  follower_->CatchUp(log_->DurablePosition());
  follower_->Read([&](const Projection& durable) { projection_ = durable; });
}

Status Ledger::WritableLocked() {
  if (log_->WriteFailure()) RewindLocked();
  std::lock_guard<std::mutex> h(health_mu_);
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
  std::lock_guard<std::mutex> h(health_mu_);
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

Result<const TokenState*> Ledger::VisibleLocked(const Caller& caller, std::string_view id) const {
  const TokenState* t = projection_.Find(id);
  if (t == nullptr || !CanSee(caller, *t)) return NotFound(id);
  return t;
}

Result<Json> Ledger::Create(const Caller& caller, const Json& body,
                            std::string_view idempotency_key) {
  if (Status s = Authorize(caller, kLedgerWrite); !s.ok()) return s.error();
  const int64_t received = Now();
  Result<CreateTokenCommand> cmd = ParseCreateToken(body, received);
  if (!cmd.ok()) return cmd.error();

  std::unique_lock<std::mutex> keyed;  // a keyed create runs alone, so repeats see the first
  std::string scoped_key;
  const std::string body_digest = Sha256Hex(body.dump());
  if (!idempotency_key.empty()) {
    if (idempotency_key.size() > 255) {
      return MakeError(ErrorCode::kInvalidArgument, "Idempotency-Key is longer than 255 bytes",
                       "Idempotency-Key");
    }
    keyed = std::unique_lock<std::mutex>(idempotency_mu_);
    scoped_key = caller.token_id + "/" + std::string(idempotency_key);
    std::erase_if(remembered_, [&](const auto& kv) {
      return received - kv.second.at_ms > kIdempotencyWindowMs;
    });
    auto it = remembered_.find(scoped_key);
    if (it != remembered_.end()) {
      if (it->second.body_digest != body_digest) {
        return MakeError(ErrorCode::kConflict,
                         "this Idempotency-Key was used with a different request body",
                         "Idempotency-Key");
      }
      return it->second.response;
    }
  }

  const std::string secret = GenerateSecret(cmd->prefix, options_.random_bytes);
  const std::string id = NewTokenId(options_.random_bytes);
  const std::string digest = SecretDigest(secret);
  const std::string hint = SecretHint(secret);
  Json response;
  std::optional<Pending> pending;
  {
    std::unique_lock<std::shared_mutex> l(mu_);
    const int64_t now = CommandTimeLocked();
    auto events = DecideCreate(*cmd, caller, now, digest, hint, cmd->prefix);
    if (!events.ok()) return events.error();
    auto committed =
        CommitLocked(id, Version(0), caller, now, std::move(events).value(), scoped_key);
    if (!committed.ok()) return committed.error();
    pending = *committed;
    response = TokenResource(*projection_.Find(id), now);
  }
  if (Status durable = AwaitDurable(*pending); !durable.ok()) return durable.error();
  response["token"] = secret;
  if (!scoped_key.empty()) remembered_[scoped_key] = Remembered{body_digest, response, received};
  return response;
}

Result<Json> Ledger::ChangeToken(const Caller& caller, std::string_view id,
                                 const TokenDecider& decide) {
  if (Status s = Authorize(caller, kLedgerWrite); !s.ok()) return s.error();
  Json response;
  std::optional<Pending> pending;
  {
    std::unique_lock<std::shared_mutex> l(mu_);
    const int64_t now = CommandTimeLocked();
    auto t = VisibleLocked(caller, id);
    if (!t.ok()) return t.error();
    auto events = decide(**t, now);
    if (!events.ok()) return events.error();
    if (!events->empty()) {
      auto committed =
          CommitLocked((*t)->id, (*t)->stream_version, caller, now, std::move(events).value());
      if (!committed.ok()) return committed.error();
      pending = *committed;
    }
    response = TokenResource(*projection_.Find(id), now);
  }
  if (pending) {
    if (Status durable = AwaitDurable(*pending); !durable.ok()) return durable.error();
  }
  return response;
}

Result<Json> Ledger::Update(const Caller& caller, std::string_view id, const Json& body,
                            std::optional<Version> if_match) {
  auto cmd = ParseUpdateToken(body, Now());
  if (!cmd.ok()) return cmd.error();
  return ChangeToken(caller, id, [&](const TokenState& t, int64_t now) {
    return DecideUpdate(t, *cmd, caller, now, if_match);
  });
}

Result<Json> Ledger::Regenerate(const Caller& caller, std::string_view id, const Json& body) {
  auto cmd = ParseRegenerate(body);
  if (!cmd.ok()) return cmd.error();
  std::string secret;  // minted inside the decision: it needs the token's prefix
  Result<Json> response = ChangeToken(caller, id, [&](const TokenState& t, int64_t now) {
    secret = GenerateSecret(t.prefix, options_.random_bytes);
    return DecideRegenerate(t, *cmd, caller, now, SecretDigest(secret), SecretHint(secret));
  });
  if (response.ok()) (*response)["token"] = secret;
  return response;
}

Result<Json> Ledger::Revoke(const Caller& caller, std::string_view id, const Json& body) {
  auto cmd = ParseRevoke(body);
  if (!cmd.ok()) return cmd.error();
  return ChangeToken(caller, id,
                     [&](const TokenState& t, int64_t) { return DecideRevoke(t, *cmd, caller); });
}

Result<Json> Ledger::AdjustCredits(const Caller& caller, std::string_view id, const Json& body) {
  auto cmd = ParseAdjustCredits(body);
  if (!cmd.ok()) return cmd.error();
  return ChangeToken(caller, id, [&](const TokenState& t, int64_t now) {
    return DecideCredits(t, *cmd, caller, now);
  });
}

Result<Json> Ledger::Verify(const Caller& caller, const Json& body) {
  if (Status s = Authorize(caller, kLedgerVerify); !s.ok()) return s.error();
  auto cmd = ParseVerify(body);
  if (!cmd.ok()) return cmd.error();
  const std::string digest = SecretDigest(cmd->token);
  std::optional<Pending> pending;
  Result<VerifyReply> reply = [&] {
    std::unique_lock<std::shared_mutex> l(mu_);
    return VerifyLocked(caller, *cmd, digest, CommandTimeLocked(), &pending);
  }();
  if (pending) {
    if (Status durable = AwaitDurable(*pending); !durable.ok()) return durable.error();
  }
  if (!reply.ok()) return reply.error();
  return Json::parse(reply->body);
}

Result<Ledger::VerifyReply> Ledger::AuthenticateAndVerify(std::string_view bearer_secret,
                                                          const VerifyBody& body,
                                                          std::optional<std::string_view> remote) {
  StagedVerify staged = StageAuthenticateAndVerify(bearer_secret, body, remote);
  if (staged.pending) {
    if (Status durable = AwaitDurable(*staged.pending); !durable.ok()) return durable.error();
  }
  return std::move(staged.response);
}

Ledger::StagedVerify Ledger::StageAuthenticateAndVerify(std::string_view bearer_secret,
                                                        const VerifyBody& body,
                                                        std::optional<std::string_view> remote) {
  if (bearer_secret.empty())
    return {MakeError(ErrorCode::kUnauthenticated, "a bearer token is required"), std::nullopt};
  // Everything that needs no state is done before taking the lock.
  const std::string caller_digest = SecretDigest(bearer_secret);
  const Result<VerifyCommand>& cmd = body.command;
  std::string digest;
  if (cmd.ok()) digest = SecretDigest(cmd->token);
  // Reused by this thread's requests: assigning keeps the strings' buffers.
  thread_local Caller caller;
  std::optional<Pending> pending;
  Result<VerifyReply> response = [&]() -> Result<VerifyReply> {
    std::unique_lock<std::shared_mutex> l(mu_);
    const int64_t now = CommandTimeLocked();
    if (auto c = AuthenticateLocked(caller_digest, now, remote, caller); !c.ok()) {
      return c.error();
    }
    if (!body.json.ok()) return body.json.error();
    if (Status s = Authorize(caller, kLedgerVerify); !s.ok()) return s.error();
    if (!cmd.ok()) return cmd.error();
    return VerifyLocked(caller, *cmd, digest, now, &pending);
  }();
  return {std::move(response), pending};
}

Result<Ledger::VerifyReply> Ledger::VerifyLocked(const Caller& caller, const VerifyCommand& cmd,
                                                 std::string_view digest, int64_t now,
                                                 std::optional<Pending>* pending) {
  bool previous = false;
  const TokenState* t = projection_.FindByDigest(digest, &previous);
  // Tenant isolation: a verifier of another owner learns nothing.
  if (t != nullptr && !CanSee(caller, *t)) t = nullptr;
  VerifyDecision decision = DecideVerify(t, previous, cmd, now);
  if (decision.event) {
    std::vector<NewEvent> events;
    events.push_back(std::move(*decision.event));
    auto committed = CommitLocked(t->id, t->stream_version, caller, now, std::move(events));
    if (!committed.ok()) return committed.error();
    *pending = *committed;
  }
  return VerifyReply{decision.code, std::move(decision.response)};
}

Result<Json> Ledger::Get(const Caller& caller, std::string_view id,
                         std::optional<std::string_view> as_of) const {
  if (Status s = Authorize(caller, kLedgerRead); !s.ok()) return s.error();
  const int64_t now = Now();
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    auto t = VisibleLocked(caller, id);
    if (!t.ok()) return t.error();
    if (!as_of) return TokenResource(**t, now);
  }
  std::optional<Position> until_position;
  std::optional<int64_t> until_time;
  if (AllDigits(*as_of)) {
    until_position = Position(std::stoull(std::string(*as_of)));
  } else if (auto ms = ParseRfc3339(*as_of)) {
    until_time = *ms;
  } else {
    return MakeError(ErrorCode::kInvalidArgument, "as_of must be a position or an RFC 3339 time",
                     "as_of");
  }
  std::vector<Event> stream = log_->ReadStream(std::string(id), Version(0), SIZE_MAX);
  std::optional<TokenState> then = FoldStreamUntil(stream, until_position, until_time);
  if (!then)
    return MakeError(ErrorCode::kNotFound, "token " + std::string(id) + " did not exist yet");
  // Judge status (expiry) as of that moment too.
  int64_t at = now;
  if (until_time) {
    at = *until_time;
  } else {
    for (const Event& e : stream) {
      if (e.position <= *until_position) at = e.time_ms;
    }
  }
  return TokenResource(*then, at);
}

Result<Json> Ledger::List(const Caller& caller, ListQuery query) const {
  if (Status s = Authorize(caller, kLedgerRead); !s.ok()) return s.error();
  if (!IsAdmin(caller)) {
    if (query.owner && *query.owner != caller.owner) {
      return MakeError(ErrorCode::kForbidden, "only an admin may list another owner's tokens",
                       "owner");
    }
    query.owner = caller.owner;
  }
  const int64_t now = Now();
  std::shared_lock<std::shared_mutex> l(mu_);
  auto page = projection_.List(query, now);
  if (!page.ok()) return page.error();
  Json tokens = Json::array();
  for (const TokenState* t : page->tokens) tokens.push_back(TokenResource(*t, now));
  return Json{{"tokens", std::move(tokens)},
              {"next_cursor", page->next_cursor.empty() ? Json(nullptr) : Json(page->next_cursor)}};
}

Result<Json> Ledger::StreamEvents(const Caller& caller, std::string_view id, Version after,
                                  size_t limit) const {
  if (Status s = Authorize(caller, kLedgerRead); !s.ok()) return s.error();
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    if (auto t = VisibleLocked(caller, id); !t.ok()) return t.error();
  }
  Json events = Json::array();
  for (const Event& e : log_->ReadStream(std::string(id), after, std::min(limit, kMaxPage))) {
    events.push_back(FeedEventJson(e));
  }
  return Json{{"events", std::move(events)}};
}

Result<Json> Ledger::Feed(const Caller& caller, Position after, size_t limit,
                          std::optional<EventType> type) const {
  if (Status s = Authorize(caller, kLedgerRead); !s.ok()) return s.error();
  limit = std::min(limit, kMaxPage);
  const bool admin = IsAdmin(caller);
  Json events = Json::array();
  Position cursor = after;
  const Position end = log_->DurablePosition();
  // Scan forward until the page is full, the log ends, or max_feed_scan events
  // were looked at (a filter that matches rarely must not make one request
  // read the whole log); filtered-out events still move the cursor, so the
  // next call continues after them from `last_position`.
  const uint64_t scan_end = std::min(end.value(), after.value() + options_.max_feed_scan);
  while (events.size() < limit && cursor.value() < scan_end) {
    std::vector<Event> batch = log_->Read(
        cursor.next(), std::min<uint64_t>(std::max<size_t>(limit, 256), scan_end - cursor.value()));
    if (batch.empty()) break;
    std::shared_lock<std::shared_mutex> l(mu_);
    for (Event& e : batch) {
      if (events.size() == limit) break;
      cursor = e.position;
      if (type && e.type != *type) continue;
      if (!admin) {
        const TokenState* t = projection_.Find(e.token_id);
        if (t == nullptr || t->owner != caller.owner) continue;
      }
      events.push_back(FeedEventJson(e));
    }
  }
  return Json{{"events", std::move(events)}, {"last_position", cursor.value()}};
}

Result<Json> Ledger::Usage(const Caller& caller, UsageQuery query) const {
  if (Status s = Authorize(caller, kLedgerRead); !s.ok()) return s.error();
  std::shared_lock<std::shared_mutex> l(mu_);
  if (query.token_id) {
    if (auto t = VisibleLocked(caller, *query.token_id); !t.ok()) return t.error();
  } else if (!IsAdmin(caller)) {
    if (query.owner && *query.owner != caller.owner) {
      return MakeError(ErrorCode::kForbidden, "only an admin may read another owner's usage",
                       "owner");
    }
    query.owner = caller.owner;
  }
  return projection_.Usage(query);
}

Position Ledger::AwaitStaged() const {
  const Position staged = log_->LastStagedPosition();
  // After a failed write, what was staged will not all be durable.
  if (!log_->WaitDurable(staged).ok()) return log_->DurablePosition();
  return staged;
}

StateInfo Ledger::State() const {
  const Position target = AwaitStaged();
  std::unique_lock<std::mutex> l(digest_mu_);
  if (!digest_.digest.empty() && digest_.position >= target) return digest_;
  if (target > digest_wanted_) {
    digest_wanted_ = target;
    digest_wanted_cv_.notify_one();
  }
  const bool too_slow = options_.digest_budget_ms >= 0 &&
                        digest_cost_ > std::chrono::milliseconds(options_.digest_budget_ms);
  if (digest_.digest.empty() || !too_slow) {
    digest_done_cv_.wait(l, [&] { return !digest_.digest.empty() && digest_.position >= target; });
  }
  return digest_;
}

// /readyz is public and used to compute its digest in the request, under a
// lock: at a million tokens every call after a write took ~2 s of one core
// (longer than a typical readiness-probe timeout), and callers queued behind
// each other. Now one thread computes digests, paced by their cost, and a
// caller waits for it only while digests are cheap (digest_budget_ms).
void Ledger::DigestLoop() {
  NameThisThread("tl-digest");
  std::unique_lock<std::mutex> l(digest_mu_);
  auto next_start = std::chrono::steady_clock::now();
  for (;;) {
    digest_wanted_cv_.wait(l, [&] {
      return digest_stopping_ || digest_.digest.empty() || digest_wanted_ > digest_.position;
    });
    if (digest_stopping_) return;
    // Pace: idle at least 3x the last digest's cost between two of them.
    if (digest_wanted_cv_.wait_until(l, next_start, [&] { return digest_stopping_; })) return;
    // Everything durable now, at least what was asked for.
    const Position target = std::max(digest_wanted_, log_->DurablePosition());
    l.unlock();
    const auto start = std::chrono::steady_clock::now();
    if (options_.before_digest) options_.before_digest(target);
    follower_->CatchUp(target);
    StateInfo fresh = follower_->Read([](const Projection& p) {
      return StateInfo{p.last_position(), p.Digest()};
    });
    const auto end = std::chrono::steady_clock::now();
    l.lock();
    digest_ = std::move(fresh);
    digest_cost_ = end - start;
    next_start = end + 3 * digest_cost_;
    digest_done_cv_.notify_all();
  }
}

// A snapshot used to be a copy of the live projection taken under mu_: on a
// million tokens that copy takes seconds, and every command waited for it.
// Now the snapshot is written from follower_, which folds the durable events
// from the log itself (as the Kafka relay follows it), so mu_ is never taken
// here; it covers only durable events by construction, and equals the live
// state at its position because both are the fold of the same events.
// Chosen over copy-on-write structures in Projection (entries, indexes and
// owner aggregates shared between the live state and a snapshot until
// written), which would put a sharing check and occasional block copies on
// every Apply under mu_ and touch every index; the follower leaves the hot
// path alone. Its costs: the state twice in memory, one copy of it at start-up
// (before any command), and a second decode + fold of each event on the
// snapshot thread.
Status Ledger::WriteSnapshotNow() {
  std::lock_guard<std::mutex> s(snapshot_mu_);
  follower_->CatchUp(AwaitStaged());
  return follower_->Read([&](const Projection& p) -> Status {
    if (p.last_position() == last_snapshot_.load()) return Ok{};
    if (options_.before_snapshot_write) options_.before_snapshot_write(p.last_position());
    std::string last_hash;
    if (p.last_position() != Position(0)) {
      std::vector<Event> last = log_->Read(p.last_position(), 1);
      if (last.size() == 1) last_hash = std::move(last[0].hash);
    }
    Status written = WriteSnapshot(options_.data_dir + "/snapshots", p, last_hash);
    if (written.ok()) last_snapshot_ = p.last_position();
    return written;
  });
}

void Ledger::SnapshotLoop() {
  NameThisThread("tl-snapshot");
  std::unique_lock<std::mutex> l(stop_mu_);
  while (!stop_cv_.wait_for(l, std::chrono::milliseconds(options_.snapshot_check_ms),
                            [&] { return stopping_; })) {
    l.unlock();
    // Following as the log grows keeps each snapshot's catch-up short.
    const Position durable = follower_->CatchUp(log_->DurablePosition());
    if (durable.value() - last_snapshot_.load().value() >= options_.snapshot_every_events) {
      if (Status s = WriteSnapshotNow(); !s.ok())
        options_.warn("snapshot failed: " + s.error().message);
    }
    l.lock();
  }
}

}  // namespace tl
