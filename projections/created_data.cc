#include "projections/created_data.h"

#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "events/json_text.h"
#include "events/time_format.h"

namespace tl {
namespace {

// token.created data as the log holds it is nlohmann's compact dump of the
// object services/decider.cc builds: no whitespace, every value a string,
// null, integer, array of strings or a small object of those. This reader
// accepts that form only and says no to anything else, so that the caller
// falls back to nlohmann + ApplyToToken: whatever it accepts, it reads the way
// nlohmann and ApplyToToken (ApplyCreated and its helpers) do.
class CreatedReader {
 public:
  CreatedReader(std::string_view s, const Event& e, TokenState& t) : s_(s), e_(e), t_(t) {}

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
      std::string_view key;
      if (!PlainString(key) || !Eat(':')) return false;
      const int field = FieldOf(key);
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
        std::string_view v;
        if (!PlainString(v)) return false;
        t_.secret_digest = v;
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
        std::string_view v;
        if (!PlainString(v)) return false;
        t_.expires_at_ms = ParseRfc3339(v);
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

  bool StringValue(std::string& out) {
    std::string_view v;
    if (!PlainString(v)) return false;
    out.assign(v);
    return true;
  }

  // An array of strings only (StringList would skip anything else).
  bool StringArray(std::vector<std::string>& out) {
    out.clear();
    if (!Eat('[')) return false;
    if (Eat(']')) return true;
    while (true) {
      std::string_view v;
      if (!PlainString(v)) return false;
      out.emplace_back(v);
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
      std::string_view key;
      if (!PlainString(key) || !Eat(':')) return false;
      if (key == a && !seen_a) {
        seen_a = true;
        if (!read_a()) return false;
      } else if (key == b && !seen_b) {
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
      std::string_view v;
      if (!PlainString(v)) return false;
      r.interval = v == "month" ? RefillInterval::kMonth : RefillInterval::kDay;
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

  char Peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool Eat(char c) {
    if (i_ >= s_.size() || s_[i_] != c) return false;
    ++i_;
    return true;
  }
  bool AtEnd() const { return i_ == s_.size(); }
  bool Null() {
    if (s_.substr(i_, 4) != "null") return false;
    i_ += 4;
    return true;
  }

  // A string without escapes or control characters, whose bytes are
  // well-formed UTF-8 (as nlohmann's lexer requires: no overlong forms, no
  // surrogates, nothing past U+10FFFF). `out` views the input.
  bool PlainString(std::string_view& out) {
    if (!Eat('"')) return false;
    const size_t start = i_;
    const size_t n = s_.size();
    while (i_ < n) {
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        out = s_.substr(start, i_ - start);
        ++i_;
        return true;
      }
      if (c == '\\' || c < 0x20) return false;
      if (c < 0x80) {
        ++i_;
        continue;
      }
      if (!Utf8Sequence()) return false;
    }
    return false;
  }

  // One multi-byte UTF-8 sequence at i_.
  bool Utf8Sequence() {
    const auto* begin = reinterpret_cast<const unsigned char*>(s_.data());
    const size_t len = Utf8SequenceLength(begin + i_, begin + s_.size());
    i_ += len;
    return len != 0;
  }

  // An integer of at most 18 digits (no overflow; nlohmann reads it as one).
  bool Integer(int64_t& v) {
    const bool negative = Eat('-');
    const size_t start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    const size_t digits = i_ - start;
    if (digits == 0 || digits > 18 || (digits > 1 && s_[start] == '0')) return false;
    const char next = Peek();
    if (next == '.' || next == 'e' || next == 'E') return false;  // a float
    int64_t x = 0;
    for (size_t k = start; k < i_; ++k) x = x * 10 + (s_[k] - '0');
    v = negative ? -x : x;
    return true;
  }

  std::string_view s_;
  const Event& e_;
  TokenState& t_;
  size_t i_ = 0;
};

}  // namespace

bool ReadCompactCreated(std::string_view data, const Event& e, TokenState& out) {
  return CreatedReader(data, e, out).Read();
}

}  // namespace tl
