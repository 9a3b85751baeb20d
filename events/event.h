#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/strong_types.h"

namespace tl {

using Json = nlohmann::json;

// Every kind of event. The wire name ("token.created", ...) is what the log,
// the schemas, the HTTP feed and Kafka use.
enum class EventType : uint8_t {
  kCreated = 1,
  kUpdated = 2,
  kPermissionsChanged = 3,
  kRegenerated = 4,
  kUsed = 5,
  kUseDenied = 6,
  kRevoked = 7,
  kCreditsAdjusted = 8,
};

std::string_view EventTypeName(EventType t);
std::optional<EventType> ParseEventType(std::string_view name);
// All types, in code order (for schema tests and docs).
const std::vector<EventType>& AllEventTypes();

// An event as recorded in the log. See events/FORMAT.md for the meaning of
// each field and how `hash` is computed.
struct Event {
  std::string id;  // "evt_" + time-ordered unique id
  EventType type{};
  std::string token_id;  // the stream
  Version version;       // 1,2,3... within the stream
  Position position;     // 1,2,3... over the whole log
  int64_t time_ms = 0;   // UTC milliseconds since the epoch
  std::string actor;     // token id that issued the command, or "system"
  Json data = Json::object();
  std::string prev_hash;  // 64 hex chars; all zeros for position 1
  std::string hash;       // 64 hex chars

  bool operator==(const Event&) const = default;
};

// The hash of "nothing before position 1".
inline const std::string kGenesisHash(64, '0');

// Canonical bytes of an event for hashing: the envelope without `hash`, as
// compact JSON with keys sorted. Stable across versions of this program.
std::string CanonicalBytes(const Event& e);
// SHA-256 hex of prev_hash || CanonicalBytes(e).
std::string ComputeHash(const Event& e);
// The same, for a caller that already has `e.data.dump()` (the log's append
// path serializes the data once for both the hash and the record).
std::string CanonicalBytes(const Event& e, std::string_view data_json);
std::string ComputeHash(const Event& e, std::string_view data_json);
// CanonicalBytes built the slow, obviously right way (a JSON object, dumped):
// the reference the fast writer is tested against.
std::string ReferenceCanonicalBytes(const Event& e);

// The envelope as a JSON object (all fields, `hash` included).
Json EventToJson(const Event& e);
// Throws std::invalid_argument naming the field when `j` is not an envelope.
Event EventFromJson(const Json& j);

// CloudEvents 1.0 structured form (used by `log export` and Kafka).
Json ToCloudEvent(const Event& e, std::string_view source = "tokenledger");
// Throws std::invalid_argument when `ce` is not one of our CloudEvents.
Event FromCloudEvent(const Json& ce);
// The same from the message's text, refused (std::invalid_argument) before it
// is parsed when it is not JSON or nests deeper than kMaxJsonDepth.
Event FromCloudEventText(std::string_view text);

}  // namespace tl
