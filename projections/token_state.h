#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.h"
#include "projections/token_rules.h"

namespace tl {

// A secret digest as a TokenState keeps it. Digests are 64 lowercase hex
// characters, kept as their 32 bytes: a 64-character std::string costs a
// heap block (80 bytes) per token. Any other text (tests use short
// stand-ins) is kept as is. Reads and writes use the text form.
class StoredDigest {
 public:
  StoredDigest() = default;
  StoredDigest(std::string_view text) { Assign(text); }    // NOLINT: implicit by design
  StoredDigest(const std::string& text) { Assign(text); }  // NOLINT
  StoredDigest(const char* text) { Assign(text); }         // NOLINT
  StoredDigest(const StoredDigest& other) { CopyFrom(other); }
  StoredDigest(StoredDigest&& other) noexcept { MoveFrom(other); }
  StoredDigest& operator=(const StoredDigest& other);
  StoredDigest& operator=(StoredDigest&& other) noexcept;
  ~StoredDigest() { Clear(); }

  bool empty() const { return kind_ == Kind::kEmpty; }
  std::string Hex() const;  // the text form ("" when empty)
  // The 32 bytes of a digest kept as bytes (its text form is their lowercase
  // hex), else nullptr.
  const unsigned char* raw() const { return kind_ == Kind::kRaw ? raw_ : nullptr; }
  size_t Hash() const;  // equal digests hash equally
  bool operator==(const StoredDigest& other) const;
  bool operator==(std::string_view text) const { return *this == StoredDigest(text); }
  bool operator==(const char* text) const { return *this == std::string_view(text); }
  bool operator==(const std::string& text) const { return *this == std::string_view(text); }
  friend std::ostream& operator<<(std::ostream& os, const StoredDigest& d);

 private:
  enum class Kind : uint8_t { kEmpty, kRaw, kText };
  void Assign(std::string_view text);
  void Clear();
  void CopyFrom(const StoredDigest& other);
  void MoveFrom(StoredDigest& other);

  union {
    unsigned char raw_[32];
    std::string* text_;
  };
  Kind kind_ = Kind::kEmpty;
};

// The current state of one token: a pure fold of its stream (ApplyToToken).
// Holds digests of secrets, never a secret.
// The fields token.used touches come first, so that folding one (nearly
// every event of a replay) reads two or three cache lines of a token, not
// eight: the order of the fields means nothing else.
struct TokenState {
  std::string id;
  Version stream_version;  // stream version of the last event of any kind
  std::optional<int64_t> last_used_at_ms;
  std::optional<RateLimit> rate_limit;  // nullopt = unlimited
  std::optional<Credits> credits;       // nullopt = unlimited
  // Times of token.used events still inside the rate-limit window, oldest
  // first. A vector, not a deque: an empty libstdc++ deque allocates ~600
  // bytes, which over a million tokens would blow the replay memory budget.
  std::vector<int64_t> recent_uses;
  std::string owner;
  std::string name;
  std::string description;
  std::vector<std::string> permissions;
  bool revoked = false;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;                 // time of the last configuration change
  std::optional<int64_t> expires_at_ms;      // nullopt = never
  std::vector<std::string> allowed_origins;  // empty = any origin
  std::vector<std::string> allowed_ips;      // CIDRs; empty = any address
  // Null stands for the empty object, which nearly every token has: an empty
  // nlohmann object still allocates (~64 bytes a token over a million
  // tokens). Read it with Meta(), write it with SetMeta().
  Json meta;
  std::string prefix;                   // e.g. "tl"
  std::string hint;                     // display hint, e.g. "tl_…x9Qa"
  StoredDigest secret_digest;           // SHA-256 hex of the current secret
  StoredDigest previous_digest;         // of the secret before the last regenerate
  int64_t previous_valid_until_ms = 0;  // the previous secret works while now < this
  Version version;  // stream version of the last configuration change (If-Match)

  bool operator==(const TokenState&) const = default;
};

// The token's metadata object ({} when it has none).
const Json& Meta(const TokenState& t);
// Stores `meta` (an object) so that an empty one costs no allocation.
void SetMeta(TokenState& t, const Json& meta);

// Status as seen at `now_ms` (expiry is a matter of time, not of an event):
// StatusOf in token_rules.h.
TokenStatus StatusAt(const TokenState& t, int64_t now_ms);

// Whether the token's previous secret still works at `now_ms` (its grace
// period: PreviousSecretValidAt in token_rules.h).
bool PreviousSecretValid(const TokenState& t, int64_t now_ms);

// Drops recent_uses out of the rate-limit window that ends at `now_ms`
// (all of them when the token has no rate limit).
void TrimRecentUses(TokenState& t, int64_t now_ms);

// Folds one event of this token's stream into `t`. REQUIRES: e.token_id is
// t.id (or t is default and e is token.created), and events come in version order.
void ApplyToToken(TokenState& t, const Event& e);
// ApplyToToken for token.used / token.use_denied with the one field the fold
// reads (`cost`) already decoded: e.data is not read. The replay's fast path.
void ApplyUsedToToken(TokenState& t, const Event& e, int64_t cost);
void ApplyUseDeniedToToken(TokenState& t, const Event& e);

}  // namespace tl
