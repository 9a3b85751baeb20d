// The verify entry points: the hot path of POST /v1/verify.

#include "services/core/ledger.h"

namespace tl {

Result<Ledger::VerifyReply> Ledger::Verify(const Caller& caller, const VerifyCommand& cmd) {
  if (Status s = Authorize(caller, kLedgerVerify); !s.ok()) return s.error();
  const std::string digest = SecretDigest(cmd.token);
  std::optional<Pending> pending;
  Result<VerifyReply> reply = [&] {
    LockGuard<SharedMutex> l(mu_);
    return VerifyLocked(caller, cmd, digest, CommandTimeLocked(), &pending);
  }();
  if (pending) {
    if (Status durable = AwaitDurable(*pending); !durable.ok()) return durable.error();
  }
  return reply;
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
    LockGuard<SharedMutex> l(mu_);
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

}  // namespace tl
