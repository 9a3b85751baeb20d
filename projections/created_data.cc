#include "projections/created_data.h"

#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "events/time_format.h"
#include "projections/compact_json_reader.h"

namespace tl {
namespace {

// token.created data as the log holds it is nlohmann's compact dump of the
// object services/domain/decider.cc builds: no whitespace, every value a string,
// null, integer, array of strings or a small object of those. This reader
// accepts that form only and says no to anything else, so that the caller
// falls back to nlohmann + ApplyToToken: whatever it accepts, it reads the way
// nlohmann and ApplyToToken (ApplyCreated and its helpers) do.
class CreatedReader {
 public:
  CreatedReader(std::string_view s, const Event& e, TokenState& t) : in_(s), e_(e), t_(t) {}

  bool Read() {
    t_ = TokenState{};
    t_.id = e_.token_id;
    t_.created_at_ms = e_.time_ms;
    t_.stream_version = e_.version;
    t_.version = e_.version;
    t_.updated_at_ms = e_.time_ms;
    if (!Eat('{')) return false;
    if (Eat('}')) return AtEnd();
    uint32_t seen = 0;
    while (true) {
      if (!in_.String(text_) || !Eat(':')) return false;
      const int field = FieldOf(text_);
      if (field < 0) return false;  // not ours: nlohmann reads it
      const uint32_t bit = 1u << field;
      if (seen & bit) return false;  // repeated: nlohmann keeps the last
      seen |= bit;
      if (!Value(static_cast<Field>(field))) return false;
      if (Eat('}')) return AtEnd();
      if (!Eat(',')) return false;
    }
  }

 private:
  enum Field {
    kOwner,
    kName,
    kDescription,
    kPermissions,
    kExpiresAt,
    kCredits,
    kRateLimit,
    kAllowedOrigins,
    kAllowedIps,
    kMeta,
    kPrefix,
    kHint,
    kSecretDigest,
  };

  static int FieldOf(std::string_view key) {
    static constexpr std::string_view kNames[] = {
        "owner",      "name",          "description", "permissions", "expires_at",
        "credits",    "rate_limit",    "allowed_origins", "allowed_ips", "meta",
        "prefix",     "hint",          "secret_digest",
    };
    for (int i = 0; i < static_cast<int>(std::size(kNames)); ++i) {
      if (kNames[i] == key) return i;
    }
    return -1;
  }

  bool Value(Field field) {
    switch (field) {
      case kOwner:
        return StringValue(t_.owner);
      case kName:
        return StringValue(t_.name);
      case kDescription:
        return StringValue(t_.description);
      case kPrefix:
        return StringValue(t_.prefix);
      case kHint:
        return StringValue(t_.hint);
      case kSecretDigest: {
        if (!in_.String(text_)) return false;
        t_.secret_digest = text_;
        return true;
      }
      case kPermissions:
        return StringArray(t_.permissions);
      case kAllowedOrigins:
        return StringArray(t_.allowed_origins);
      case kAllowedIps:
        return StringArray(t_.allowed_ips);
      case kExpiresAt: {
        if (Null()) {
          t_.expires_at_ms = std::nullopt;
          return true;
        }
        if (!in_.String(text_)) return false;
        t_.expires_at_ms = ParseRfc3339(text_);
        return true;
      }
      case kCredits:
        return CreditsValue();
      case kRateLimit:
        return RateLimitValue();
      case kMeta:
        // Null or {} both leave meta null (SetMeta keeps an empty object as
        // null; a non-object is ignored). Anything else: nlohmann.
        if (Null()) return true;
        return Eat('{') && Eat('}');
    }
    return false;
  }

  bool StringValue(std::string& out) { return in_.String(out); }

  // An array of strings only (StringList would skip anything else).
  bool StringArray(std::vector<std::string>& out) {
    out.clear();
    if (!Eat('[')) return false;
    if (Eat(']')) return true;
    while (true) {
      if (!in_.String(out.emplace_back())) return false;
      if (Eat(']')) return true;
      if (!Eat(',')) return false;
    }
  }

  // An object of at most the two keys `a` and `b`, in any order, each at most
  // once; each value is read by its reader. Anything else: false.
  template <typename ReadA, typename ReadB>
  bool TwoKeyObject(std::string_view a, ReadA read_a, std::string_view b, ReadB read_b) {
    if (!Eat('{')) return false;
    if (Eat('}')) return true;
    bool seen_a = false, seen_b = false;
    while (true) {
      if (!in_.String(text_) || !Eat(':')) return false;
      if (text_ == a && !seen_a) {
        seen_a = true;
        if (!read_a()) return false;
      } else if (text_ == b && !seen_b) {
        seen_b = true;
        if (!read_b()) return false;
      } else {
        return false;
      }
      if (Eat('}')) return true;
      if (!Eat(',')) return false;
    }
  }

  // null → unlimited; else {"remaining":n,"refill":...} (ParseCredits).
  bool CreditsValue() {
    if (Null()) {
      t_.credits = std::nullopt;
      return true;
    }
    Credits c;
    if (!TwoKeyObject(
            "remaining", [&] { return Integer(c.remaining); },  //
            "refill", [&] { return RefillValue(c.refill); })) {
      return false;
    }
    if (c.refill) c.period_start_ms = PeriodStart(c.refill->interval, e_.time_ms);
    t_.credits = c;
    return true;
  }

  // null → none; else {"amount":n,"interval":s} (ParseRefill).
  bool RefillValue(std::optional<Refill>& out) {
    if (Null()) {
      out = std::nullopt;
      return true;
    }
    Refill r;
    auto interval = [&] {
      if (!in_.String(text_)) return false;
      r.interval = text_ == "month" ? RefillInterval::kMonth : RefillInterval::kDay;
      return true;
    };
    if (!TwoKeyObject("amount", [&] { return Integer(r.amount); }, "interval", interval)) {
      return false;
    }
    out = r;
    return true;
  }

  // null → unlimited; else {"limit":n,"window_ms":n} (ParseRateLimit).
  bool RateLimitValue() {
    if (Null()) {
      t_.rate_limit = std::nullopt;
      return true;
    }
    RateLimit r;
    if (!TwoKeyObject(
            "limit", [&] { return Integer(r.limit); },  //
            "window_ms", [&] { return Integer(r.window_ms); })) {
      return false;
    }
    t_.rate_limit = r;
    return true;
  }

  // The primitives below only: a string must be well-formed (any escape is
  // decoded as nlohmann does), an integer plain decimal within int64.
  bool Eat(char c) { return in_.Eat(c); }
  bool AtEnd() const { return in_.AtEnd(); }
  bool Null() { return in_.Null(); }
  bool Integer(int64_t& v) { return in_.Int(v); }

  CompactJsonReader in_;
  std::string text_;  // the last string read
  const Event& e_;
  TokenState& t_;
};

}  // namespace

bool ReadCompactCreated(std::string_view data, const Event& e, TokenState& out) {
  return CreatedReader(data, e, out).Read();
}

}  // namespace tl
