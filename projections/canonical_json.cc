#include "projections/canonical_json.h"

#include <algorithm>

#include "events/json_text.h"

namespace tl {
namespace {

constexpr int64_t kHourMs = 3'600'000;

void AppendOptionalInt(std::string& out, const std::optional<int64_t>& v) {
  if (v) {
    AppendJsonInt(out, *v);
  } else {
    out += "null";
  }
}

void AppendStrings(std::string& out, const std::vector<std::string>& strings) {
  out += '[';
  for (size_t i = 0; i < strings.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonString(out, strings[i]);
  }
  out += ']';
}

}  // namespace

// Keys in the order std::map keeps those of TokenStateToJson's object.
void AppendTokenStateJson(std::string& out, const TokenState& t) {
  out += "{\"allowed_ips\":";
  AppendStrings(out, t.allowed_ips);
  out += ",\"allowed_origins\":";
  AppendStrings(out, t.allowed_origins);
  out += ",\"created_at_ms\":";
  AppendJsonInt(out, t.created_at_ms);
  out += ",\"credits\":";
  if (t.credits) {
    out += "{\"period_start_ms\":";
    AppendJsonInt(out, t.credits->period_start_ms);
    out += ",\"refill\":";
    if (t.credits->refill) {
      out += "{\"amount\":";
      AppendJsonInt(out, t.credits->refill->amount);
      out += t.credits->refill->interval == RefillInterval::kMonth ? ",\"interval\":\"month\"}"
                                                                   : ",\"interval\":\"day\"}";
    } else {
      out += "null";
    }
    out += ",\"remaining\":";
    AppendJsonInt(out, t.credits->remaining);
    out += '}';
  } else {
    out += "null";
  }
  out += ",\"description\":";
  AppendJsonString(out, t.description);
  out += ",\"expires_at_ms\":";
  AppendOptionalInt(out, t.expires_at_ms);
  out += ",\"hint\":";
  AppendJsonString(out, t.hint);
  out += ",\"id\":";
  AppendJsonString(out, t.id);
  out += ",\"last_used_at_ms\":";
  AppendOptionalInt(out, t.last_used_at_ms);
  out += ",\"meta\":";
  out += t.meta.is_null() ? "{}" : Meta(t).dump();
  out += ",\"name\":";
  AppendJsonString(out, t.name);
  out += ",\"owner\":";
  AppendJsonString(out, t.owner);
  out += ",\"permissions\":";
  AppendStrings(out, t.permissions);
  out += ",\"prefix\":";
  AppendJsonString(out, t.prefix);
  out += ",\"previous_digest\":";
  AppendJsonString(out, t.previous_digest.Hex());
  out += ",\"previous_valid_until_ms\":";
  AppendJsonInt(out, t.previous_valid_until_ms);
  out += ",\"rate_limit\":";
  if (t.rate_limit) {
    out += "{\"limit\":";
    AppendJsonInt(out, t.rate_limit->limit);
    out += ",\"window_ms\":";
    AppendJsonInt(out, t.rate_limit->window_ms);
    out += '}';
  } else {
    out += "null";
  }
  out += ",\"recent_uses\":[";
  for (size_t i = 0; i < t.recent_uses.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonInt(out, t.recent_uses[i]);
  }
  out += "],\"revoked\":";
  out += t.revoked ? "true" : "false";
  out += ",\"secret_digest\":";
  AppendJsonString(out, t.secret_digest.Hex());
  out += ",\"stream_version\":";
  AppendJsonUint(out, t.stream_version.value());
  out += ",\"updated_at_ms\":";
  AppendJsonInt(out, t.updated_at_ms);
  out += ",\"version\":";
  AppendJsonUint(out, t.version.value());
  out += '}';
}

void AppendUsageSeriesJson(std::string& out, const UsageSeries& s,
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
  out += "{\"denied\":[";
  for (size_t i = 0; i < denials.size(); ++i) {
    if (i > 0) out += ',';
    out += '[';
    AppendJsonInt(out, static_cast<int64_t>(denials[i].hour) * kHourMs);
    out += ',';
    AppendJsonString(out, codes[denials[i].code]);
    out += ',';
    AppendJsonUint(out, denials[i].n);
    out += ']';
  }
  out += "],\"hours\":[";
  bool first = true;
  s.ForEachHour([&](const UsageSeries::Hour& h) {
    out += first ? "[" : ",[";
    first = false;
    AppendJsonInt(out, static_cast<int64_t>(h.hour) * kHourMs);
    out += ',';
    AppendJsonUint(out, h.uses);
    out += ',';
    AppendJsonInt(out, h.credits_spent);
    out += ']';
  });
  out += "]}";
}

}  // namespace tl
