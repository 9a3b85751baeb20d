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

// What both readers make of the envelope: a fresh token at the event's
// version, created and last changed at the event's time.
void StartToken(const Event& e, TokenState& t) {
  t = TokenState{};
  t.id = e.token_id;
  t.stream_version = e.version;
  t.version = e.version;
  t.created_at_ms = e.time_ms;
  t.updated_at_ms = e.time_ms;
}

// ---- the general reader's pieces

std::optional<Credits> CreditsOf(const Json& v, int64_t at_ms) {
  if (!v.is_object()) return std::nullopt;
  std::optional<Refill> refill;
  auto it = v.find("refill");
  if (it != v.end()) refill = RefillOf(*it);
  return StartCredits(IntOr(v, "remaining", 0), refill, at_ms);
}

// ---- the fast reader

// The fast reader. token.created data as the log holds it is nlohmann's
// compact dump of CreatedDataJson's object: no whitespace, every value a
// string, null, integer, array of strings or a small object of those. This
// reader accepts that form only and says no to anything else, so that the
// caller falls back to nlohmann + ReadCreated: whatever it accepts, it reads
// the way nlohmann and ReadCreated (and its helpers) do.
class CreatedReader {
 public:
  CreatedReader(std::string_view s, const Event& e, TokenState& t) : in_(s), e_(e), t_(t) {}

  bool Read() {
    StartToken(e_, t_);
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
        "owner",   "name",       "description",     "permissions", "expires_at",
        "credits", "rate_limit", "allowed_origins", "allowed_ips", "meta",
        "prefix",  "hint",       "secret_digest",
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

  // null → unlimited; else {"remaining":n,"refill":...} (CreditsOf).
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
    t_.credits = StartCredits(c.remaining, c.refill, e_.time_ms);
    return true;
  }

  // null → none; else {"amount":n,"interval":s} (RefillOf).
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
    if (!TwoKeyObject(
            "amount", [&] { return Integer(r.amount); }, "interval", interval)) {
      return false;
    }
    out = r;
    return true;
  }

  // null → unlimited; else {"limit":n,"window_ms":n} (RateLimitOf).
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

// ---- the writer

Json CreatedDataJson(const CreatedFields& f) {
  Json credits = nullptr;
  if (f.credits_remaining) {
    credits = Json{{"remaining", *f.credits_remaining}, {"refill", RefillJson(f.refill)}};
  }
  return Json{
      {"owner", f.owner},
      {"name", f.name},
      {"description", f.description},
      {"permissions", f.permissions},
      {"expires_at", TimeJson(f.expires_at_ms)},
      {"credits", std::move(credits)},
      {"rate_limit", RateLimitJson(f.rate_limit)},
      {"allowed_origins", f.allowed_origins},
      {"allowed_ips", f.allowed_ips},
      {"meta", f.meta},
      {"prefix", f.prefix},
      {"hint", f.hint},
      {"secret_digest", f.secret_digest},
  };
}

Json RefillJson(const std::optional<Refill>& r) {
  if (!r) return nullptr;
  return Json{{"amount", r->amount},
              {"interval", r->interval == RefillInterval::kDay ? "day" : "month"}};
}

Json RateLimitJson(const std::optional<RateLimit>& rl) {
  if (!rl) return nullptr;
  return Json{{"limit", rl->limit}, {"window_ms", rl->window_ms}};
}

Json TimeJson(const std::optional<int64_t>& ms) {
  return ms ? Json(FormatRfc3339Ms(*ms)) : Json(nullptr);
}

// ---- the general reader
//
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

std::vector<std::string> StringListOf(const Json& v) {
  std::vector<std::string> out;
  if (!v.is_array()) return out;
  out.reserve(v.size());
  for (const Json& s : v) {
    if (s.is_string()) out.push_back(s.get<std::string>());
  }
  return out;
}

std::optional<int64_t> TimeOf(const Json& v) {
  if (!v.is_string()) return std::nullopt;
  return ParseRfc3339(v.get_ref<const std::string&>());
}

std::optional<Refill> RefillOf(const Json& v) {
  if (!v.is_object()) return std::nullopt;
  Refill r;
  r.amount = IntOr(v, "amount", 0);
  r.interval =
      StringOr(v, "interval", "day") == "month" ? RefillInterval::kMonth : RefillInterval::kDay;
  return r;
}

std::optional<RateLimit> RateLimitOf(const Json& v) {
  if (!v.is_object()) return std::nullopt;
  return RateLimit{IntOr(v, "limit", 0), IntOr(v, "window_ms", 0)};
}

void ReadCreated(const Json& d, const Event& e, TokenState& t) {
  StartToken(e, t);
  t.owner = StringOr(d, "owner", "");
  t.name = StringOr(d, "name", "");
  t.description = StringOr(d, "description", "");
  if (auto it = d.find("permissions"); it != d.end()) t.permissions = StringListOf(*it);
  if (auto it = d.find("expires_at"); it != d.end()) t.expires_at_ms = TimeOf(*it);
  if (auto it = d.find("credits"); it != d.end()) t.credits = CreditsOf(*it, e.time_ms);
  if (auto it = d.find("rate_limit"); it != d.end()) t.rate_limit = RateLimitOf(*it);
  if (auto it = d.find("allowed_origins"); it != d.end()) t.allowed_origins = StringListOf(*it);
  if (auto it = d.find("allowed_ips"); it != d.end()) t.allowed_ips = StringListOf(*it);
  if (auto it = d.find("meta"); it != d.end() && it->is_object()) SetMeta(t, *it);
  t.prefix = StringOr(d, "prefix", "");
  t.hint = StringOr(d, "hint", "");
  t.secret_digest = StringOr(d, "secret_digest", "");
}

}  // namespace tl
