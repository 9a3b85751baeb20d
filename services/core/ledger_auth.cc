// Who is asking: bearer secrets to callers, and which tokens a caller sees.

#include "services/core/ledger.h"

namespace tl {
namespace {

// Names the id only when it is one: anything else in the path (a typo, a
// secret pasted by mistake) is not echoed.
Error NotFound(std::string_view id) {
  if (!IsTokenId(id)) {
    return MakeError(ErrorCode::kNotFound, "no such token: ids are tok_ and 22 base62 characters",
                     "id");
  }
  return MakeError(ErrorCode::kNotFound, "no token " + std::string(id), "id");
}

}  // namespace

Result<Caller> Ledger::Authenticate(std::string_view secret,
                                    std::optional<std::string_view> remote) const {
  if (secret.empty()) return MakeError(ErrorCode::kUnauthenticated, "a bearer token is required");
  const std::string digest = SecretDigest(secret);
  const int64_t now = Now();
  SharedLock l(mu_);
  Caller caller;
  if (auto t = AuthenticateLocked(digest, now, remote, caller); !t.ok()) return t.error();
  return caller;
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

Result<const TokenState*> Ledger::VisibleLocked(const Caller& caller, std::string_view id) const {
  const TokenState* t = projection_.Find(id);
  if (t == nullptr || !CanSee(caller, *t)) return NotFound(id);
  return t;
}

}  // namespace tl
