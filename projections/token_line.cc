#include "projections/token_line.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>

#include "projections/compact_json_reader.h"

namespace tl {
namespace {

constexpr int64_t kHourMs = 3'600'000;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

int32_t HourOf(int64_t ms) { return static_cast<int32_t>(FloorDiv(ms, kHourMs)); }

// ---- the general path's helpers: strict readers of a document, any
// deviation is corruption.

struct CorruptDocument : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const Json& Get(const Json& obj, const char* key) {
  if (!obj.is_object())
    throw CorruptDocument(std::string("expected an object around '") + key + "'");
  auto it = obj.find(key);
  if (it == obj.end()) throw CorruptDocument(std::string("missing '") + key + "'");
  return *it;
}

int64_t GetInt(const Json& obj, const char* key) {
  const Json& v = Get(obj, key);
  if (!v.is_number_integer()) throw CorruptDocument(std::string("'") + key + "' is not an integer");
  return v.get<int64_t>();
}

uint64_t GetUint(const Json& obj, const char* key) {
  const Json& v = Get(obj, key);
  if (!v.is_number_unsigned()) {
    throw CorruptDocument(std::string("'") + key + "' is not an unsigned integer");
  }
  return v.get<uint64_t>();
}

std::string GetString(const Json& obj, const char* key) {
  const Json& v = Get(obj, key);
  if (!v.is_string()) throw CorruptDocument(std::string("'") + key + "' is not a string");
  return v.get<std::string>();
}

std::optional<int64_t> GetOptionalInt(const Json& obj, const char* key) {
  const Json& v = Get(obj, key);
  if (v.is_null()) return std::nullopt;
  if (!v.is_number_integer()) throw CorruptDocument(std::string("'") + key + "' is not an integer");
  return v.get<int64_t>();
}

std::vector<std::string> GetStrings(const Json& obj, const char* key) {
  const Json& v = Get(obj, key);
  if (!v.is_array()) throw CorruptDocument(std::string("'") + key + "' is not an array");
  std::vector<std::string> out;
  out.reserve(v.size());
  for (const Json& s : v) {
    if (!s.is_string()) throw CorruptDocument(std::string("'") + key + "' holds a non-string");
    out.push_back(s.get<std::string>());
  }
  return out;
}

const char* IntervalName(RefillInterval i) { return i == RefillInterval::kMonth ? "month" : "day"; }

// ---- the fast path's helpers

void OptionalInt(CanonicalJsonWriter& w, const std::optional<int64_t>& v) {
  if (v) {
    w.Int(*v);
  } else {
    w.Literal("null");
  }
}

void Strings(CanonicalJsonWriter& w, const std::vector<std::string>& strings) {
  w.Literal("[");
  for (size_t i = 0; i < strings.size(); ++i) {
    if (i > 0) w.Literal(",");
    w.String(strings[i]);
  }
  w.Literal("]");
}

// A digest's text form as a JSON string, without building the text of a raw one.
void DigestString(CanonicalJsonWriter& w, const StoredDigest& d) {
  if (const unsigned char* raw = d.raw()) {
    w.HexString(raw, 32);
  } else {
    w.String(d.Hex());
  }
}

// The hour UsageSeries keeps for the start of an hour in ms (a whole hour,
// within int32 hours since the epoch, as the writer writes them).
bool HourOfMs(int64_t ms, int32_t& hour) {
  if (ms % kHourMs != 0) return false;
  const int64_t h = ms / kHourMs;
  if (h < INT32_MIN || h > INT32_MAX) return false;
  hour = static_cast<int32_t>(h);
  return true;
}

bool Count(CompactJsonReader& r, uint32_t& n) {
  uint64_t v;
  if (!r.Uint(v) || v > UINT32_MAX) return false;
  n = static_cast<uint32_t>(v);
  return true;
}

// "[]" or "[x,...]", each element read by `element`.
template <typename ReadElement>
bool Array(CompactJsonReader& r, ReadElement element) {
  if (!r.Eat('[')) return false;
  if (r.Eat(']')) return true;
  do {
    if (!element()) return false;
  } while (r.Eat(','));
  return r.Eat(']');
}

bool Strings(CompactJsonReader& r, std::vector<std::string>& out) {
  out.clear();
  if (!Array(r, [&] { return r.String(out.emplace_back()); })) return false;
  out.shrink_to_fit();  // no growth slack, like the exact copies FromJson makes
  return true;
}

bool OptionalInt(CompactJsonReader& r, std::optional<int64_t>& out) {
  if (r.Null()) {
    out.reset();
    return true;
  }
  return r.Int(out.emplace());
}

// null, or {"limit":n,"window_ms":n}.
bool RateLimitValue(CompactJsonReader& r, std::optional<RateLimit>& out) {
  if (r.Null()) return true;
  RateLimit& rl = out.emplace();
  return r.Eat("{\"limit\":") && r.Int(rl.limit) && r.Eat(",\"window_ms\":") &&
         r.Int(rl.window_ms) && r.Eat('}');
}

// null, or {"period_start_ms":n,"refill":R,"remaining":n} with R null or
// {"amount":n,"interval":"day"|"month"}.
bool CreditsValue(CompactJsonReader& r, std::optional<Credits>& out) {
  if (r.Null()) return true;
  Credits& c = out.emplace();
  if (!r.Eat("{\"period_start_ms\":") || !r.Int(c.period_start_ms) || !r.Eat(",\"refill\":")) {
    return false;
  }
  if (!r.Null()) {
    Refill& refill = c.refill.emplace();
    if (!r.Eat("{\"amount\":") || !r.Int(refill.amount)) return false;
    if (r.Eat(",\"interval\":\"month\"}")) {
      refill.interval = RefillInterval::kMonth;
    } else if (r.Eat(",\"interval\":\"day\"}")) {
      refill.interval = RefillInterval::kDay;
    } else {
      return false;
    }
  }
  return r.Eat(",\"remaining\":") && r.Int(c.remaining) && r.Eat('}');
}

// {} (no metadata: kept as null), or any JSON object.
bool MetaValue(CompactJsonReader& r, TokenState& t) {
  if (r.Eat("{}")) {
    t.meta = nullptr;
    return true;
  }
  std::string_view text;
  if (r.Peek() != '{' || !r.SkipComposite(text)) return false;
  Json meta = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (meta.is_discarded() || !meta.is_object()) return false;
  SetMeta(t, meta);
  return true;
}

}  // namespace

// ======== the general path: nlohmann documents (ToJson, FromJson)

// Every field of a TokenState, for snapshots and the state digest.
Json TokenStateToJson(const TokenState& t) {
  Json credits = nullptr;
  if (t.credits) {
    Json refill = nullptr;
    if (t.credits->refill) {
      refill = Json{{"amount", t.credits->refill->amount},
                    {"interval", IntervalName(t.credits->refill->interval)}};
    }
    credits = Json{{"remaining", t.credits->remaining},
                   {"refill", std::move(refill)},
                   {"period_start_ms", t.credits->period_start_ms}};
  }
  Json rate_limit = nullptr;
  if (t.rate_limit) {
    rate_limit = Json{{"limit", t.rate_limit->limit}, {"window_ms", t.rate_limit->window_ms}};
  }
  auto opt = [](const std::optional<int64_t>& v) { return v ? Json(*v) : Json(nullptr); };
  return Json{{"id", t.id},
              {"owner", t.owner},
              {"name", t.name},
              {"description", t.description},
              {"permissions", t.permissions},
              {"revoked", t.revoked},
              {"created_at_ms", t.created_at_ms},
              {"updated_at_ms", t.updated_at_ms},
              {"last_used_at_ms", opt(t.last_used_at_ms)},
              {"expires_at_ms", opt(t.expires_at_ms)},
              {"allowed_origins", t.allowed_origins},
              {"allowed_ips", t.allowed_ips},
              {"rate_limit", std::move(rate_limit)},
              {"credits", std::move(credits)},
              {"meta", Meta(t)},
              {"prefix", t.prefix},
              {"hint", t.hint},
              {"secret_digest", t.secret_digest.Hex()},
              {"previous_digest", t.previous_digest.Hex()},
              {"previous_valid_until_ms", t.previous_valid_until_ms},
              {"version", t.version.value()},
              {"stream_version", t.stream_version.value()},
              {"recent_uses", t.recent_uses}};
}

Json UsageSeriesToJson(const UsageSeries& s, const std::vector<std::string>& codes) {
  Json hours = Json::array();
  s.ForEachHour([&](const UsageSeries::Hour& h) {
    hours.push_back(Json::array({static_cast<int64_t>(h.hour) * kHourMs, h.uses, h.credits_spent}));
  });
  // Code ids depend on the order codes were first seen; sort by name instead.
  std::vector<UsageSeries::Denial> denials;
  s.ForEachDenial([&](const UsageSeries::Denial& d) { denials.push_back(d); });
  std::sort(denials.begin(), denials.end(),
            [&codes](const UsageSeries::Denial& a, const UsageSeries::Denial& b) {
              if (a.hour != b.hour) return a.hour < b.hour;
              return codes[a.code] < codes[b.code];
            });
  Json denied = Json::array();
  for (const UsageSeries::Denial& d : denials) {
    denied.push_back(Json::array({static_cast<int64_t>(d.hour) * kHourMs, codes[d.code], d.n}));
  }
  return Json{{"hours", std::move(hours)}, {"denied", std::move(denied)}};
}

Json TokenLineToJson(const TokenState& t, const UsageSeries& usage,
                     const std::vector<std::string>& codes) {
  return Json{{"state", TokenStateToJson(t)}, {"usage", UsageSeriesToJson(usage, codes)}};
}

namespace {

TokenState TokenStateFromJson(const Json& j) {
  TokenState t;
  t.id = GetString(j, "id");
  if (t.id.empty()) throw CorruptDocument("empty token id");
  t.owner = GetString(j, "owner");
  t.name = GetString(j, "name");
  t.description = GetString(j, "description");
  t.permissions = GetStrings(j, "permissions");
  const Json& revoked = Get(j, "revoked");
  if (!revoked.is_boolean()) throw CorruptDocument("'revoked' is not a boolean");
  t.revoked = revoked.get<bool>();
  t.created_at_ms = GetInt(j, "created_at_ms");
  t.updated_at_ms = GetInt(j, "updated_at_ms");
  t.last_used_at_ms = GetOptionalInt(j, "last_used_at_ms");
  t.expires_at_ms = GetOptionalInt(j, "expires_at_ms");
  t.allowed_origins = GetStrings(j, "allowed_origins");
  t.allowed_ips = GetStrings(j, "allowed_ips");
  if (const Json& rl = Get(j, "rate_limit"); !rl.is_null()) {
    t.rate_limit = RateLimit{GetInt(rl, "limit"), GetInt(rl, "window_ms")};
  }
  if (const Json& c = Get(j, "credits"); !c.is_null()) {
    Credits credits;
    credits.remaining = GetInt(c, "remaining");
    credits.period_start_ms = GetInt(c, "period_start_ms");
    if (const Json& r = Get(c, "refill"); !r.is_null()) {
      const std::string interval = GetString(r, "interval");
      if (interval != "day" && interval != "month") throw CorruptDocument("bad refill interval");
      credits.refill = Refill{GetInt(r, "amount"),
                              interval == "month" ? RefillInterval::kMonth : RefillInterval::kDay};
    }
    t.credits = credits;
  }
  const Json& meta = Get(j, "meta");
  if (!meta.is_object()) throw CorruptDocument("'meta' is not an object");
  SetMeta(t, meta);
  t.prefix = GetString(j, "prefix");
  t.hint = GetString(j, "hint");
  t.secret_digest = GetString(j, "secret_digest");
  t.previous_digest = GetString(j, "previous_digest");
  t.previous_valid_until_ms = GetInt(j, "previous_valid_until_ms");
  t.version = Version(GetUint(j, "version"));
  t.stream_version = Version(GetUint(j, "stream_version"));
  const Json& uses = Get(j, "recent_uses");
  if (!uses.is_array()) throw CorruptDocument("'recent_uses' is not an array");
  for (const Json& u : uses) {
    if (!u.is_number_integer()) throw CorruptDocument("'recent_uses' holds a non-integer");
    t.recent_uses.push_back(u.get<int64_t>());
  }
  if (!std::is_sorted(t.recent_uses.begin(), t.recent_uses.end())) {
    throw CorruptDocument("'recent_uses' is not sorted");
  }
  return t;
}

}  // namespace

Status TokenLineFromJson(const Json& tj, const std::function<uint16_t(std::string_view)>& code_id,
                         TokenState& state, UsageSeries& series) {
  try {
    state = TokenStateFromJson(Get(tj, "state"));
    const Json& usage = Get(tj, "usage");
    const Json& hours = Get(usage, "hours");
    const Json& denied = Get(usage, "denied");
    if (!hours.is_array() || !denied.is_array()) throw CorruptDocument("bad usage of " + state.id);
    series = UsageSeries{};
    for (const Json& h : hours) {
      if (!h.is_array() || h.size() != 3 || !h[0].is_number_integer() ||
          !h[1].is_number_unsigned() || !h[2].is_number_integer() ||
          FloorDiv(h[0].get<int64_t>(), kHourMs) * kHourMs != h[0].get<int64_t>()) {
        throw CorruptDocument("bad usage hour of " + state.id);
      }
      series.AddHour(HourOf(h[0].get<int64_t>()), h[1].get<uint32_t>(), h[2].get<int64_t>());
    }
    for (const Json& d : denied) {
      if (!d.is_array() || d.size() != 3 || !d[0].is_number_integer() || !d[1].is_string() ||
          !d[2].is_number_unsigned() ||
          FloorDiv(d[0].get<int64_t>(), kHourMs) * kHourMs != d[0].get<int64_t>()) {
        throw CorruptDocument("bad denial count of " + state.id);
      }
      series.AddDenial(HourOf(d[0].get<int64_t>()), code_id(d[1].get_ref<const std::string&>()),
                       d[2].get<uint32_t>());
    }
    return Ok{};
  } catch (const CorruptDocument& ex) {
    return MakeError(ErrorCode::kCorruption, std::string("projection state: ") + ex.what());
  } catch (const Json::exception& ex) {
    return MakeError(ErrorCode::kCorruption, std::string("projection state: ") + ex.what());
  }
}

// ======== the fast path: written and read as text, without a document

// Keys in the order std::map keeps those of TokenStateToJson's object.
void WriteTokenStateJson(CanonicalJsonWriter& w, const TokenState& t) {
  w.Literal("{\"allowed_ips\":");
  Strings(w, t.allowed_ips);
  w.Literal(",\"allowed_origins\":");
  Strings(w, t.allowed_origins);
  w.Literal(",\"created_at_ms\":");
  w.Int(t.created_at_ms);
  w.Literal(",\"credits\":");
  if (t.credits) {
    w.Literal("{\"period_start_ms\":");
    w.Int(t.credits->period_start_ms);
    w.Literal(",\"refill\":");
    if (t.credits->refill) {
      w.Literal("{\"amount\":");
      w.Int(t.credits->refill->amount);
      if (t.credits->refill->interval == RefillInterval::kMonth) {
        w.Literal(",\"interval\":\"month\"}");
      } else {
        w.Literal(",\"interval\":\"day\"}");
      }
    } else {
      w.Literal("null");
    }
    w.Literal(",\"remaining\":");
    w.Int(t.credits->remaining);
    w.Literal("}");
  } else {
    w.Literal("null");
  }
  w.Literal(",\"description\":");
  w.String(t.description);
  w.Literal(",\"expires_at_ms\":");
  OptionalInt(w, t.expires_at_ms);
  w.Literal(",\"hint\":");
  w.String(t.hint);
  w.Literal(",\"id\":");
  w.String(t.id);
  w.Literal(",\"last_used_at_ms\":");
  OptionalInt(w, t.last_used_at_ms);
  w.Literal(",\"meta\":");
  if (t.meta.is_null()) {
    w.Literal("{}");
  } else {
    w.Raw(Meta(t).dump());
  }
  w.Literal(",\"name\":");
  w.String(t.name);
  w.Literal(",\"owner\":");
  w.String(t.owner);
  w.Literal(",\"permissions\":");
  Strings(w, t.permissions);
  w.Literal(",\"prefix\":");
  w.String(t.prefix);
  w.Literal(",\"previous_digest\":");
  DigestString(w, t.previous_digest);
  w.Literal(",\"previous_valid_until_ms\":");
  w.Int(t.previous_valid_until_ms);
  w.Literal(",\"rate_limit\":");
  if (t.rate_limit) {
    w.Literal("{\"limit\":");
    w.Int(t.rate_limit->limit);
    w.Literal(",\"window_ms\":");
    w.Int(t.rate_limit->window_ms);
    w.Literal("}");
  } else {
    w.Literal("null");
  }
  w.Literal(",\"recent_uses\":[");
  for (size_t i = 0; i < t.recent_uses.size(); ++i) {
    if (i > 0) w.Literal(",");
    w.Int(t.recent_uses[i]);
  }
  if (t.revoked) {
    w.Literal("],\"revoked\":true");
  } else {
    w.Literal("],\"revoked\":false");
  }
  w.Literal(",\"secret_digest\":");
  DigestString(w, t.secret_digest);
  w.Literal(",\"stream_version\":");
  w.Uint(t.stream_version.value());
  w.Literal(",\"updated_at_ms\":");
  w.Int(t.updated_at_ms);
  w.Literal(",\"version\":");
  w.Uint(t.version.value());
  w.Literal("}");
}

void WriteUsageSeriesJson(CanonicalJsonWriter& w, const UsageSeries& s,
                          const std::vector<std::string>& codes) {
  // "denied" sorts before "hours". Code ids depend on the order codes were
  // first seen; denials are listed by code name within an hour instead.
  std::vector<UsageSeries::Denial> denials;
  s.ForEachDenial([&](const UsageSeries::Denial& d) { denials.push_back(d); });
  std::sort(denials.begin(), denials.end(),
            [&codes](const UsageSeries::Denial& a, const UsageSeries::Denial& b) {
              if (a.hour != b.hour) return a.hour < b.hour;
              return codes[a.code] < codes[b.code];
            });
  w.Literal("{\"denied\":[");
  for (size_t i = 0; i < denials.size(); ++i) {
    if (i > 0) w.Literal(",");
    w.Literal("[");
    w.Int(static_cast<int64_t>(denials[i].hour) * kHourMs);
    w.Literal(",");
    w.String(codes[denials[i].code]);
    w.Literal(",");
    w.Uint(denials[i].n);
    w.Literal("]");
  }
  w.Literal("],\"hours\":[");
  bool first = true;
  s.ForEachHour([&](const UsageSeries::Hour& h) {
    if (!first) w.Literal(",");
    first = false;
    w.Literal("[");
    w.Int(static_cast<int64_t>(h.hour) * kHourMs);
    w.Literal(",");
    w.Uint(h.uses);
    w.Literal(",");
    w.Int(h.credits_spent);
    w.Literal("]");
  });
  w.Literal("]}");
}

void WriteTokenLine(CanonicalJsonWriter& w, const TokenState& t, const UsageSeries& usage,
                    const std::vector<std::string>& codes) {
  w.Literal("{\"state\":");
  WriteTokenStateJson(w, t);
  w.Literal(",\"usage\":");
  WriteUsageSeriesJson(w, usage, codes);
  w.Literal("}\n");
}

std::string TokenStateJson(const TokenState& t) {
  std::string out;
  CanonicalJsonWriter w(
      256, [](void* c, std::string_view b) { static_cast<std::string*>(c)->append(b); }, &out);
  WriteTokenStateJson(w, t);
  w.Flush();
  return out;
}

Status TokenLineReader::Read(std::string_view line, TokenState& t, UsageSeries& usage) {
  CompactJsonReader r(line);
  const char* field = "state";
  // Each value follows the text that names it (punctuation, quoted key, ':').
  auto key = [&](const char* name, std::string_view text) {
    field = name;
    return r.Eat(text);
  };
  auto digest = [&](StoredDigest& d) {
    if (!r.String(scratch_)) return false;
    d = StoredDigest(std::string_view(scratch_));
    return true;
  };
  auto version = [&](Version& v) {
    uint64_t n;
    if (!r.Uint(n)) return false;
    v = Version(n);
    return true;
  };

  t = TokenState{};
  usage = UsageSeries{};
  const bool state_ok =
      key("allowed_ips", "{\"state\":{\"allowed_ips\":") && Strings(r, t.allowed_ips) &&
      key("allowed_origins", ",\"allowed_origins\":") && Strings(r, t.allowed_origins) &&
      key("created_at_ms", ",\"created_at_ms\":") && r.Int(t.created_at_ms) &&
      key("credits", ",\"credits\":") && CreditsValue(r, t.credits) &&
      key("description", ",\"description\":") && r.String(t.description) &&
      key("expires_at_ms", ",\"expires_at_ms\":") && OptionalInt(r, t.expires_at_ms) &&
      key("hint", ",\"hint\":") && r.String(t.hint) &&  //
      key("id", ",\"id\":") && r.String(t.id) && !t.id.empty() &&
      key("last_used_at_ms", ",\"last_used_at_ms\":") && OptionalInt(r, t.last_used_at_ms) &&
      key("meta", ",\"meta\":") && MetaValue(r, t) &&  //
      key("name", ",\"name\":") && r.String(t.name) && key("owner", ",\"owner\":") &&
      r.String(t.owner) && key("permissions", ",\"permissions\":") && Strings(r, t.permissions) &&
      key("prefix", ",\"prefix\":") && r.String(t.prefix) &&
      key("previous_digest", ",\"previous_digest\":") && digest(t.previous_digest) &&
      key("previous_valid_until_ms", ",\"previous_valid_until_ms\":") &&
      r.Int(t.previous_valid_until_ms) &&  //
      key("rate_limit", ",\"rate_limit\":") && RateLimitValue(r, t.rate_limit) &&
      key("recent_uses", ",\"recent_uses\":") &&
      Array(r, [&] { return r.Int(t.recent_uses.emplace_back()); }) &&
      std::is_sorted(t.recent_uses.begin(), t.recent_uses.end()) &&
      key("revoked", ",\"revoked\":") && r.Bool(t.revoked) &&
      key("secret_digest", ",\"secret_digest\":") && digest(t.secret_digest) &&
      key("stream_version", ",\"stream_version\":") && version(t.stream_version) &&
      key("updated_at_ms", ",\"updated_at_ms\":") && r.Int(t.updated_at_ms) &&
      key("version", ",\"version\":") && version(t.version) && r.Eat('}');
  if (!state_ok) {
    return MakeError(ErrorCode::kCorruption, std::string("bad or missing \"") + field +
                                                 "\" at byte " + std::to_string(r.offset()));
  }

  // Denials come first, in (hour, code name) order; they are kept aside and
  // merged with the hours, so that the series is built in (hour, kind)
  // order: almost every addition then lands at its end.
  denials_.clear();
  auto denial = [&] {
    int64_t ms;
    Denial d;
    if (!r.Eat('[') || !r.Int(ms) || !HourOfMs(ms, d.hour) || !r.Eat(',') || !r.String(scratch_) ||
        !r.Eat(',') || !Count(r, d.n) || !r.Eat(']')) {
      return false;
    }
    if (!denials_.empty() && (d.hour < denials_.back().hour ||
                              (d.hour == denials_.back().hour && scratch_ <= previous_code_))) {
      return false;  // out of order or repeated
    }
    previous_code_ = scratch_;
    d.code = code_id_(scratch_);
    denials_.push_back(d);
    return true;
  };
  size_t merged = 0;
  auto add_denials_before = [&](int64_t hour) {
    for (; merged < denials_.size() && denials_[merged].hour < hour; ++merged)
      usage.AddDenial(denials_[merged].hour, denials_[merged].code, denials_[merged].n);
  };
  std::optional<int32_t> last_hour;
  auto hour = [&] {
    int64_t ms;
    UsageSeries::Hour h;
    if (!r.Eat('[') || !r.Int(ms) || !HourOfMs(ms, h.hour) || !r.Eat(',') || !Count(r, h.uses) ||
        !r.Eat(',') || !r.Int(h.credits_spent) || !r.Eat(']')) {
      return false;
    }
    if (last_hour && h.hour <= *last_hour) return false;  // out of order or repeated
    last_hour = h.hour;
    add_denials_before(h.hour);
    usage.AddHour(h.hour, h.uses, h.credits_spent);
    return true;
  };
  const bool usage_ok = key("usage.denied", ",\"usage\":{\"denied\":") && Array(r, denial) &&
                        key("usage.hours", ",\"hours\":") && Array(r, hour) && key("usage", "}}") &&
                        r.AtEnd();
  if (!usage_ok) {
    return MakeError(ErrorCode::kCorruption, std::string("bad or missing \"") + field +
                                                 "\" at byte " + std::to_string(r.offset()) +
                                                 " of token " + t.id);
  }
  add_denials_before(INT64_MAX);
  return Ok{};
}

}  // namespace tl
