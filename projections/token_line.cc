#include "projections/token_line.h"

#include <algorithm>
#include <cstdint>
#include <optional>

#include "projections/compact_json_reader.h"

namespace tl {
namespace {

constexpr int64_t kHourMs = 3'600'000;

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
      key("name", ",\"name\":") && r.String(t.name) &&
      key("owner", ",\"owner\":") && r.String(t.owner) &&
      key("permissions", ",\"permissions\":") && Strings(r, t.permissions) &&
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
    if (!r.Eat('[') || !r.Int(ms) || !HourOfMs(ms, d.hour) || !r.Eat(',') ||
        !r.String(scratch_) || !r.Eat(',') || !Count(r, d.n) || !r.Eat(']')) {
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
                        key("usage.hours", ",\"hours\":") && Array(r, hour) &&
                        key("usage", "}}") && r.AtEnd();
  if (!usage_ok) {
    return MakeError(ErrorCode::kCorruption, std::string("bad or missing \"") + field +
                                                 "\" at byte " + std::to_string(r.offset()) +
                                                 " of token " + t.id);
  }
  add_denials_before(INT64_MAX);
  return Ok{};
}

}  // namespace tl
