#include "events/event.h"

#include <array>
#include <stdexcept>

#include "events/crypto.h"
#include "events/json_text.h"
#include "events/time_format.h"

namespace tl {
namespace {

constexpr std::array<std::pair<EventType, std::string_view>, 8> kNames{{
    {EventType::kCreated, "token.created"},
    {EventType::kUpdated, "token.updated"},
    {EventType::kPermissionsChanged, "token.permissions_changed"},
    {EventType::kRegenerated, "token.regenerated"},
    {EventType::kUsed, "token.used"},
    {EventType::kUseDenied, "token.use_denied"},
    {EventType::kRevoked, "token.revoked"},
    {EventType::kCreditsAdjusted, "token.credits_adjusted"},
}};

Json EnvelopeWithoutHash(const Event& e) {
  return Json{{"id", e.id},
              {"type", EventTypeName(e.type)},
              {"token_id", e.token_id},
              {"version", e.version.value()},
              {"position", e.position.value()},
              {"time", FormatRfc3339Ms(e.time_ms)},
              {"actor", e.actor},
              {"data", e.data},
              {"prev_hash", e.prev_hash}};
}

const Json& Field(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end())
    throw std::invalid_argument(std::string("event: missing field '") + name + "'");
  return *it;
}

std::string StringField(const Json& j, const char* name) {
  const Json& f = Field(j, name);
  if (!f.is_string())
    throw std::invalid_argument(std::string("event: '") + name + "' is not a string");
  return f.get<std::string>();
}

uint64_t UintField(const Json& j, const char* name) {
  const Json& f = Field(j, name);
  if (!f.is_number_unsigned()) {
    throw std::invalid_argument(std::string("event: '") + name + "' is not an unsigned integer");
  }
  return f.get<uint64_t>();
}

EventType TypeField(const Json& j, const char* name) {
  auto t = ParseEventType(StringField(j, name));
  if (!t) throw std::invalid_argument(std::string("event: unknown '") + name + "'");
  return *t;
}

int64_t TimeField(const Json& j, const char* name) {
  auto t = ParseRfc3339(StringField(j, name));
  if (!t) throw std::invalid_argument(std::string("event: '") + name + "' is not an RFC 3339 time");
  return *t;
}

}  // namespace

std::string_view EventTypeName(EventType t) {
  for (const auto& [type, name] : kNames) {
    if (type == t) return name;
  }
  return "unknown";
}

std::optional<EventType> ParseEventType(std::string_view name) {
  for (const auto& [type, n] : kNames) {
    if (n == name) return type;
  }
  return std::nullopt;
}

const std::vector<EventType>& AllEventTypes() {
  static const std::vector<EventType> all = [] {
    std::vector<EventType> v;
    for (const auto& [type, name] : kNames) v.push_back(type);
    return v;
  }();
  return all;
}

namespace {

// Appends what EnvelopeWithoutHash(e).dump() writes (keys in std::map order,
// compact), without building a JSON object: this runs for every append.
// event_test checks the two forms agree.
void AppendCanonicalBytes(std::string& out, const Event& e, std::string_view data_json) {
  out.reserve(out.size() + 160 + e.id.size() + e.token_id.size() + e.actor.size() +
              data_json.size() + e.prev_hash.size());
  out += "{\"actor\":";
  AppendJsonString(out, e.actor);
  out += ",\"data\":";
  out += data_json;
  out += ",\"id\":";
  AppendJsonString(out, e.id);
  out += ",\"position\":";
  AppendJsonUint(out, e.position.value());
  out += ",\"prev_hash\":";
  AppendJsonString(out, e.prev_hash);
  out += ",\"time\":\"";
  AppendRfc3339Ms(out, e.time_ms);  // digits, '-', ':', '.', 'T', 'Z': plain text
  out += "\",\"token_id\":";
  AppendJsonString(out, e.token_id);
  out += ",\"type\":\"";
  out += EventTypeName(e.type);  // the names are plain ASCII
  out += "\",\"version\":";
  AppendJsonUint(out, e.version.value());
  out += '}';
}

}  // namespace

std::string CanonicalBytes(const Event& e, std::string_view data_json) {
  std::string out;
  AppendCanonicalBytes(out, e, data_json);
  return out;
}

std::string CanonicalBytes(const Event& e) { return CanonicalBytes(e, e.data.dump()); }

std::string ComputeHash(const Event& e, std::string_view data_json) {
  // One buffer per thread, kept between calls: no allocation per hash.
  thread_local std::string canonical;
  canonical.clear();
  AppendCanonicalBytes(canonical, e, data_json);
  std::string hash = Sha256Hex(e.prev_hash, canonical);
  if (canonical.capacity() > (64u << 10)) std::string().swap(canonical);  // a rare large event
  return hash;
}

std::string ComputeHash(const Event& e) { return ComputeHash(e, e.data.dump()); }

std::string ReferenceCanonicalBytes(const Event& e) { return EnvelopeWithoutHash(e).dump(); }

Json EventToJson(const Event& e) {
  Json j = EnvelopeWithoutHash(e);
  j["hash"] = e.hash;
  return j;
}

Event EventFromJson(const Json& j) {
  if (!j.is_object()) throw std::invalid_argument("event: not a JSON object");
  Event e;
  e.id = StringField(j, "id");
  e.type = TypeField(j, "type");
  e.token_id = StringField(j, "token_id");
  e.version = Version(UintField(j, "version"));
  e.position = Position(UintField(j, "position"));
  e.time_ms = TimeField(j, "time");
  e.actor = StringField(j, "actor");
  e.data = Field(j, "data");
  if (!e.data.is_object()) throw std::invalid_argument("event: 'data' is not an object");
  e.prev_hash = StringField(j, "prev_hash");
  e.hash = StringField(j, "hash");
  return e;
}

Json ToCloudEvent(const Event& e, std::string_view source) {
  return Json{{"specversion", "1.0"},
              {"id", e.id},
              {"source", source},
              {"type", EventTypeName(e.type)},
              {"time", FormatRfc3339Ms(e.time_ms)},
              {"subject", e.token_id},
              {"datacontenttype", "application/json"},
              {"data", e.data},
              {"tlposition", e.position.value()},
              {"tlversion", e.version.value()},
              {"tlactor", e.actor},
              {"tlprevhash", e.prev_hash},
              {"tlhash", e.hash}};
}

Event FromCloudEvent(const Json& ce) {
  if (!ce.is_object()) throw std::invalid_argument("cloudevent: not a JSON object");
  if (StringField(ce, "specversion") != "1.0") {
    throw std::invalid_argument("cloudevent: specversion is not 1.0");
  }
  Event e;
  e.id = StringField(ce, "id");
  e.type = TypeField(ce, "type");
  e.token_id = StringField(ce, "subject");
  e.version = Version(UintField(ce, "tlversion"));
  e.position = Position(UintField(ce, "tlposition"));
  e.time_ms = TimeField(ce, "time");
  e.actor = StringField(ce, "tlactor");
  e.data = Field(ce, "data");
  if (!e.data.is_object()) throw std::invalid_argument("cloudevent: 'data' is not an object");
  e.prev_hash = StringField(ce, "tlprevhash");
  e.hash = StringField(ce, "tlhash");
  return e;
}

Event FromCloudEventText(std::string_view text) {
  if (!JsonDepthWithin(text)) {
    throw std::invalid_argument("cloudevent: nests deeper than " + std::to_string(kMaxJsonDepth) +
                                " levels");
  }
  Json ce = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (ce.is_discarded()) throw std::invalid_argument("cloudevent: not JSON");
  return FromCloudEvent(ce);
}

}  // namespace tl
