#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "events/result.h"
#include "events/thread_annotations.h"
#include "services/core/results.h"

namespace tl {

// The Idempotency-Key of a create (POST /v1/tokens), and a digest of the
// request it came with. An empty key: none.
struct IdempotencyKey {
  std::string key;
  std::string request_digest;  // a repeat must come with the same
};

inline constexpr size_t kMaxIdempotencyKeyBytes = 255;
// How long a create's response can be repeated.
inline constexpr int64_t kIdempotencyWindowMs = 24LL * 3600 * 1000;

// Everything the ledger does with an Idempotency-Key, in one place (see
// services/core/README.md, "Idempotency-Key"). Two facts are kept, each
// where it can be kept:
//  - that a key was used: in the event log, with the events of the create
//    it came with (AppendRequest::idempotency_key). It is durable with them,
//    survives a restart, and is forgotten with them when a failed write is
//    rewound; the log answers a repeat with `duplicate`, which
//    KeyUsedBefore() turns into the 409 the API documents.
//  - the response, which holds the secret: here, in memory only, for
//    kIdempotencyWindowMs. A secret is never written anywhere, so after a
//    restart a repeat gets the 409 instead of the secret.
//
// Thread-safe. Keyed creates run one at a time (a repeat waits for the first
// and then answers from it); unkeyed ones do not wait.
class IdempotentCreates {
 public:
  // Runs create(scoped_key) for a create with `key` received at `now_ms`;
  // scoped_key ("<caller token id>/<key>", empty when there is no key) is
  // what the create must append its events with. A repeat of the key by the
  // same caller within the window answers the first result again when the
  // request is the same, kConflict (field Idempotency-Key) when it is not.
  // kInvalidArgument for a key over kMaxIdempotencyKeyBytes.
  // Lock order: mu_ is held while `create` runs, so it is taken before any
  // lock `create` takes (the ledger's state lock).
  using Create = std::function<Result<IssuedToken>(const std::string& scoped_key)>;
  Result<IssuedToken> Run(const std::string& caller_token_id, const IdempotencyKey& key,
                          int64_t now_ms, const Create& create) TL_EXCLUDES(mu_);

  // The answer to an append the log refused as a repeat of its key.
  static Error KeyUsedBefore();

 private:
  struct Remembered {
    std::string request_digest;
    IssuedToken response;  // holds the secret: memory only, never persisted
    int64_t at_ms = 0;
  };
  Mutex mu_;
  std::unordered_map<std::string, Remembered> remembered_ TL_GUARDED_BY(mu_);
};

}  // namespace tl
