#include "projections/token_state.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <ostream>

#include "events/crypto.h"
#include "events/time_format.h"

namespace tl {
namespace {

constexpr int64_t kDayMs = 86'400'000;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Event data comes from the deciders (whose output schemas/event_schema_test
// checks against schemas/events/), so these readers only guard against a
// crash: a missing or mistyped field reads as the fallback instead of
// throwing in the middle of a replay.
int64_t IntOr(const Json& obj, const char* key, int64_t fallback) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) return fallback;
  return it->get<int64_t>();
}

std::string StringOr(const Json& obj, const char* key, std::string fallback) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return fallback;
  return it->get<std::string>();
}

std::vector<std::string> StringList(const Json& v) {
  std::vector<std::string> out;
  if (!v.is_array()) return out;
  out.reserve(v.size());
  for (const Json& s : v) {
    if (s.is_string()) out.push_back(s.get<std::string>());
  }
  return out;
}

// RFC 3339 string → ms; null (or anything unparsable) → nullopt.
std::optional<int64_t> OptionalTime(const Json& v) {
  if (!v.is_string()) return std::nullopt;
  return ParseRfc3339(v.get_ref<const std::string&>());
}

std::optional<Refill> ParseRefill(const Json& v) {
  if (!v.is_object()) return std::nullopt;
  Refill r;
  r.amount = IntOr(v, "amount", 0);
  r.interval =
      StringOr(v, "interval", "day") == "month" ? RefillInterval::kMonth : RefillInterval::kDay;
  return r;
}

std::optional<RateLimit> ParseRateLimit(const Json& v) {
  if (!v.is_object()) return std::nullopt;
  return RateLimit{IntOr(v, "limit", 0), IntOr(v, "window_ms", 0)};
}

std::optional<Credits> ParseCredits(const Json& v, int64_t at_ms) {
  if (!v.is_object()) return std::nullopt;
  Credits c;
  c.remaining = IntOr(v, "remaining", 0);
  auto it = v.find("refill");
  if (it != v.end()) c.refill = ParseRefill(*it);
  if (c.refill) c.period_start_ms = PeriodStart(c.refill->interval, at_ms);
  return c;
}

// Installs a new refill rule (or removes it). The balance itself is kept: the
// current period's balance stays until the next period of the new rule.
void SetRefill(TokenState& t, std::optional<Refill> refill, int64_t at_ms) {
  if (!t.credits) {
    // Unlimited tokens have no refill; setting one makes the token limited,
    // starting with a full period.
    if (!refill) return;
    t.credits = Credits{refill->amount, refill, PeriodStart(refill->interval, at_ms)};
    return;
  }
  t.credits->refill = refill;
  t.credits->period_start_ms = refill ? PeriodStart(refill->interval, at_ms) : 0;
}

void ApplyUpdated(TokenState& t, const Event& e) {
  const Json& d = e.data;
  if (auto it = d.find("name"); it != d.end() && it->is_string()) t.name = it->get<std::string>();
  if (auto it = d.find("description"); it != d.end() && it->is_string()) {
    t.description = it->get<std::string>();
  }
  if (auto it = d.find("expires_at"); it != d.end()) t.expires_at_ms = OptionalTime(*it);
  if (auto it = d.find("refill"); it != d.end()) SetRefill(t, ParseRefill(*it), e.time_ms);
  if (auto it = d.find("rate_limit"); it != d.end()) {
    t.rate_limit = ParseRateLimit(*it);
    TrimRecentUses(t, e.time_ms);
  }
  if (auto it = d.find("allowed_origins"); it != d.end()) t.allowed_origins = StringList(*it);
  if (auto it = d.find("allowed_ips"); it != d.end()) t.allowed_ips = StringList(*it);
  if (auto it = d.find("meta"); it != d.end() && it->is_object()) SetMeta(t, *it);
}

void ApplyCreated(TokenState& t, const Event& e) {
  const Json& d = e.data;
  t = TokenState{};
  t.id = e.token_id;
  t.owner = StringOr(d, "owner", "");
  t.name = StringOr(d, "name", "");
  t.description = StringOr(d, "description", "");
  if (auto it = d.find("permissions"); it != d.end()) t.permissions = StringList(*it);
  t.created_at_ms = e.time_ms;
  if (auto it = d.find("expires_at"); it != d.end()) t.expires_at_ms = OptionalTime(*it);
  if (auto it = d.find("credits"); it != d.end()) t.credits = ParseCredits(*it, e.time_ms);
  if (auto it = d.find("rate_limit"); it != d.end()) t.rate_limit = ParseRateLimit(*it);
  if (auto it = d.find("allowed_origins"); it != d.end()) t.allowed_origins = StringList(*it);
  if (auto it = d.find("allowed_ips"); it != d.end()) t.allowed_ips = StringList(*it);
  if (auto it = d.find("meta"); it != d.end() && it->is_object()) SetMeta(t, *it);
  t.prefix = StringOr(d, "prefix", "");
  t.hint = StringOr(d, "hint", "");
  t.secret_digest = StringOr(d, "secret_digest", "");
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

std::string_view TokenStatusName(TokenStatus s) {
  switch (s) {
    case TokenStatus::kActive:
      return "active";
    case TokenStatus::kExpired:
      return "expired";
    case TokenStatus::kRevoked:
      return "revoked";
  }
  return "unknown";
}

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
  if (t.revoked) return TokenStatus::kRevoked;
  if (t.expires_at_ms && *t.expires_at_ms <= now_ms) return TokenStatus::kExpired;
  return TokenStatus::kActive;
}

int64_t PeriodStart(RefillInterval interval, int64_t ms) {
  const int64_t day = FloorDiv(ms, kDayMs);
  if (interval == RefillInterval::kDay) return day * kDayMs;
  using namespace std::chrono;
  const year_month_day ymd{sys_days{days{day}}};
  const sys_days first{ymd.year() / ymd.month() / 1};
  return static_cast<int64_t>(first.time_since_epoch().count()) * kDayMs;
}

void RollCredits(Credits& c, int64_t now_ms) {
  if (!c.refill) return;
  const int64_t start = PeriodStart(c.refill->interval, now_ms);
  if (start > c.period_start_ms) {
    c.remaining = c.refill->amount;
    c.period_start_ms = start;
  }
}

void TrimRecentUses(TokenState& t, int64_t now_ms) {
  if (!t.rate_limit) {
    t.recent_uses.clear();
    return;
  }
  // The window is (now - window_ms, now]; a use exactly window_ms ago is out.
  const int64_t oldest_kept = now_ms - t.rate_limit->window_ms;
  auto first_kept = std::upper_bound(t.recent_uses.begin(), t.recent_uses.end(), oldest_kept);
  t.recent_uses.erase(t.recent_uses.begin(), first_kept);
}

void ApplyToToken(TokenState& t, const Event& e) {
  // The hot path: of token.used only `cost` is read.
  if (e.type == EventType::kUsed) return ApplyUsedToToken(t, e, IntOr(e.data, "cost", 0));
  if (e.type == EventType::kUseDenied) return ApplyUseDeniedToToken(t, e);
  if (t.credits) RollCredits(*t.credits, e.time_ms);
  t.stream_version = e.version;
  switch (e.type) {
    case EventType::kCreated:
      ApplyCreated(t, e);
      t.stream_version = e.version;
      break;
    case EventType::kUpdated:
      ApplyUpdated(t, e);
      break;
    case EventType::kPermissionsChanged:
      if (auto it = e.data.find("permissions"); it != e.data.end()) {
        t.permissions = StringList(*it);
      }
      break;
    case EventType::kRegenerated:
      t.previous_digest = std::move(t.secret_digest);
      t.previous_valid_until_ms = e.time_ms;
      if (auto it = e.data.find("previous_valid_until"); it != e.data.end()) {
        if (auto until = OptionalTime(*it)) t.previous_valid_until_ms = *until;
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
  if (t.credits && cost > 0)
    t.credits->remaining = std::max<int64_t>(0, t.credits->remaining - cost);
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
