#include "projections/token_state.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <ostream>

#include "events/crypto.h"
#include "events/time_format.h"
#include "projections/created_data.h"
#include "projections/use_data.h"

namespace tl {
namespace {

// The readers of token events' data are created_data.h's (the values
// token.updated and token.regenerated share with token.created) and
// use_data.h's.

void ApplyUpdated(TokenState& t, const Event& e) {
  const Json& d = e.data;
  if (auto it = d.find("name"); it != d.end() && it->is_string()) t.name = it->get<std::string>();
  if (auto it = d.find("description"); it != d.end() && it->is_string()) {
    t.description = it->get<std::string>();
  }
  if (auto it = d.find("expires_at"); it != d.end()) t.expires_at_ms = TimeOf(*it);
  if (auto it = d.find("refill"); it != d.end()) SetRefill(t.credits, RefillOf(*it), e.time_ms);
  if (auto it = d.find("rate_limit"); it != d.end()) {
    t.rate_limit = RateLimitOf(*it);
    TrimRecentUses(t, e.time_ms);
  }
  if (auto it = d.find("allowed_origins"); it != d.end()) t.allowed_origins = StringListOf(*it);
  if (auto it = d.find("allowed_ips"); it != d.end()) t.allowed_ips = StringListOf(*it);
  if (auto it = d.find("meta"); it != d.end() && it->is_object()) SetMeta(t, *it);
}

}  // namespace

void StoredDigest::Assign(std::string_view text) {
  Clear();
  if (text.empty()) return;
  if (text.size() == 64 && FromLowerHex(text, raw_)) {
    kind_ = Kind::kRaw;
    return;
  }
  text_ = new std::string(text);
  kind_ = Kind::kText;
}

void StoredDigest::Clear() {
  if (kind_ == Kind::kText) delete text_;
  kind_ = Kind::kEmpty;
}

void StoredDigest::CopyFrom(const StoredDigest& other) {
  kind_ = other.kind_;
  if (kind_ == Kind::kRaw) std::memcpy(raw_, other.raw_, sizeof raw_);
  if (kind_ == Kind::kText) text_ = new std::string(*other.text_);
}

void StoredDigest::MoveFrom(StoredDigest& other) {
  kind_ = other.kind_;
  if (kind_ == Kind::kRaw) std::memcpy(raw_, other.raw_, sizeof raw_);
  if (kind_ == Kind::kText) text_ = other.text_;
  other.kind_ = Kind::kEmpty;
}

StoredDigest& StoredDigest::operator=(const StoredDigest& other) {
  if (this != &other) {
    Clear();
    CopyFrom(other);
  }
  return *this;
}

StoredDigest& StoredDigest::operator=(StoredDigest&& other) noexcept {
  if (this != &other) {
    Clear();
    MoveFrom(other);
  }
  return *this;
}

std::string StoredDigest::Hex() const {
  switch (kind_) {
    case Kind::kEmpty:
      return {};
    case Kind::kRaw:
      return ToHex(std::string_view(reinterpret_cast<const char*>(raw_), sizeof raw_));
    case Kind::kText:
      return *text_;
  }
  return {};
}

size_t StoredDigest::Hash() const {
  switch (kind_) {
    case Kind::kEmpty:
      return 0;
    case Kind::kRaw: {
      size_t h;  // the bytes of a SHA-256 are as good a hash as any
      std::memcpy(&h, raw_, sizeof h);
      return h;
    }
    case Kind::kText:
      return std::hash<std::string_view>{}(*text_);
  }
  return 0;
}

bool StoredDigest::operator==(const StoredDigest& other) const {
  if (kind_ != other.kind_) return false;
  if (kind_ == Kind::kRaw) return std::memcmp(raw_, other.raw_, sizeof raw_) == 0;
  if (kind_ == Kind::kText) return *text_ == *other.text_;
  return true;
}

std::ostream& operator<<(std::ostream& os, const StoredDigest& d) { return os << d.Hex(); }

const Json& Meta(const TokenState& t) {
  static const Json kEmpty = Json::object();
  return t.meta.is_null() ? kEmpty : t.meta;
}

void SetMeta(TokenState& t, const Json& meta) {
  if (meta.empty()) {
    t.meta = nullptr;
  } else {
    t.meta = meta;
  }
}

TokenStatus StatusAt(const TokenState& t, int64_t now_ms) {
  return StatusOf(t.revoked, t.expires_at_ms, now_ms);
}

bool PreviousSecretValid(const TokenState& t, int64_t now_ms) {
  return PreviousSecretValidAt(t.previous_valid_until_ms, now_ms);
}

void TrimRecentUses(TokenState& t, int64_t now_ms) {
  if (!t.rate_limit) {
    t.recent_uses.clear();
    return;
  }
  TrimToWindow(t.recent_uses, *t.rate_limit, now_ms);
}

void ApplyToToken(TokenState& t, const Event& e) {
  // The hot path: of token.used only `cost` is read.
  if (e.type == EventType::kUsed) return ApplyUsedToToken(t, e, UseDataOf(e.data).cost);
  if (e.type == EventType::kUseDenied) return ApplyUseDeniedToToken(t, e);
  if (t.credits) RollCredits(*t.credits, e.time_ms);
  t.stream_version = e.version;
  switch (e.type) {
    case EventType::kCreated:
      ReadCreated(e.data, e, t);
      return;
    case EventType::kUpdated:
      ApplyUpdated(t, e);
      break;
    case EventType::kPermissionsChanged:
      if (auto it = e.data.find("permissions"); it != e.data.end()) {
        t.permissions = StringListOf(*it);
      }
      break;
    case EventType::kRegenerated:
      t.previous_digest = std::move(t.secret_digest);
      t.previous_valid_until_ms = PreviousValidUntil(e.time_ms, 0);  // no grace recorded
      if (auto it = e.data.find("previous_valid_until"); it != e.data.end()) {
        if (auto until = TimeOf(*it)) t.previous_valid_until_ms = *until;
      }
      t.secret_digest = StringOr(e.data, "secret_digest", "");
      t.hint = StringOr(e.data, "hint", t.hint);
      break;
    case EventType::kUsed:       // handled above: does not move version / updated_at
    case EventType::kUseDenied:  // handled above: counters only
      return;
    case EventType::kRevoked:
      t.revoked = true;
      break;
    case EventType::kCreditsAdjusted: {
      const int64_t balance = std::max<int64_t>(0, IntOr(e.data, "balance", 0));
      if (t.credits) {
        t.credits->remaining = balance;
      } else {
        t.credits = Credits{balance, std::nullopt, 0};
      }
      break;
    }
  }
  t.version = e.version;
  t.updated_at_ms = e.time_ms;
}

void ApplyUsedToToken(TokenState& t, const Event& e, int64_t cost) {
  if (t.credits) RollCredits(*t.credits, e.time_ms);
  t.stream_version = e.version;
  if (t.credits) Debit(*t.credits, cost);
  t.last_used_at_ms = e.time_ms;
  if (t.rate_limit) {
    t.recent_uses.push_back(e.time_ms);
    TrimRecentUses(t, e.time_ms);
  }
}

void ApplyUseDeniedToToken(TokenState& t, const Event& e) {
  if (t.credits) RollCredits(*t.credits, e.time_ms);
  t.stream_version = e.version;
}

}  // namespace tl
