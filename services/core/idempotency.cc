#include "services/core/idempotency.h"

namespace tl {

Result<IssuedToken> IdempotentCreates::Run(const std::string& caller_token_id,
                                           const IdempotencyKey& key, int64_t now_ms,
                                           const Create& create) {
  if (key.key.empty()) return create(std::string());
  if (key.key.size() > kMaxIdempotencyKeyBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "Idempotency-Key is longer than 255 bytes",
                     "Idempotency-Key");
  }
  MutexLock l(mu_);  // a keyed create runs alone, so a repeat sees the first
  const std::string scoped_key = caller_token_id + "/" + key.key;
  std::erase_if(remembered_,
                [&](const auto& kv) { return now_ms - kv.second.at_ms > kIdempotencyWindowMs; });
  if (auto it = remembered_.find(scoped_key); it != remembered_.end()) {
    if (it->second.request_digest != key.request_digest) {
      return MakeError(ErrorCode::kConflict,
                       "this Idempotency-Key was used with a different request body",
                       "Idempotency-Key");
    }
    return it->second.response;
  }
  Result<IssuedToken> created = create(scoped_key);
  if (created.ok()) remembered_[scoped_key] = Remembered{key.request_digest, *created, now_ms};
  return created;
}

Error IdempotentCreates::KeyUsedBefore() {
  return MakeError(ErrorCode::kConflict,
                   "this Idempotency-Key was already used (before a restart, or by a concurrent "
                   "request); the secret it created cannot be shown again",
                   "Idempotency-Key");
}

}  // namespace tl
