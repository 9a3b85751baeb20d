#include "projections/canonical_json.h"

#include <algorithm>
#include <charconv>

#include "events/json_text.h"

namespace tl {
namespace {

constexpr int64_t kHourMs = 3'600'000;
constexpr size_t kMaxDecimal = 20;  // digits of UINT64_MAX, or '-' and those of INT64_MIN

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

}  // namespace

CanonicalJsonWriter::CanonicalJsonWriter(size_t capacity, FlushFn flush, void* context)
    : buffer_(new char[capacity]),
      cursor_(buffer_.get()),
      end_(buffer_.get() + capacity),
      flush_(flush),
      context_(context) {}

void CanonicalJsonWriter::Flush() {
  if (cursor_ == buffer_.get()) return;
  flush_(context_, std::string_view(buffer_.get(), static_cast<size_t>(cursor_ - buffer_.get())));
  cursor_ = buffer_.get();
}

void CanonicalJsonWriter::Raw(std::string_view text) {
  Room(text.size());
  if (static_cast<size_t>(end_ - cursor_) < text.size()) {  // larger than the buffer
    flush_(context_, text);
    return;
  }
  std::memcpy(cursor_, text.data(), text.size());
  cursor_ += text.size();
}

void CanonicalJsonWriter::String(std::string_view s) {
  if (!IsPlainJsonText(s)) {
    std::string escaped;
    AppendJsonString(escaped, s);
    Raw(escaped);
    return;
  }
  Room(s.size() + 2);
  if (static_cast<size_t>(end_ - cursor_) < s.size() + 2) {
    Literal("\"");
    Raw(s);
    Literal("\"");
    return;
  }
  *cursor_++ = '"';
  std::memcpy(cursor_, s.data(), s.size());
  cursor_ += s.size();
  *cursor_++ = '"';
}

void CanonicalJsonWriter::HexString(const unsigned char* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  Room(2 * n + 2);
  *cursor_++ = '"';
  for (size_t i = 0; i < n; ++i) {
    *cursor_++ = kDigits[bytes[i] >> 4];
    *cursor_++ = kDigits[bytes[i] & 15];
  }
  *cursor_++ = '"';
}

void CanonicalJsonWriter::Int(int64_t v) {
  Room(kMaxDecimal);
  cursor_ = std::to_chars(cursor_, end_, v).ptr;
}

void CanonicalJsonWriter::Uint(uint64_t v) {
  Room(kMaxDecimal);
  cursor_ = std::to_chars(cursor_, end_, v).ptr;
}

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

std::string TokenStateJson(const TokenState& t) {
  std::string out;
  CanonicalJsonWriter w(
      256, [](void* c, std::string_view b) { static_cast<std::string*>(c)->append(b); }, &out);
  WriteTokenStateJson(w, t);
  w.Flush();
  return out;
}

}  // namespace tl
