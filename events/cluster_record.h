#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <optional>
#include <string>

#include "events/event.h"

namespace tl {

// The records of a cluster partition (see partition_fence.h for what they
// mean), as Kafka messages:
//   claim: key "claim", value {"node":N,"epoch":E,"nonce":X} (JSON), headers
//          tl-record: claim, tl-epoch: E
//   event: key = token id, value = the event's CloudEvents JSON, headers
//          tl-record: event, tl-epoch: E (the claim it was written under),
//          content-type: application/cloudevents+json
// Anything else in the topic is foreign and counts for nothing.
inline constexpr const char* kRecordHeader = "tl-record";
inline constexpr const char* kEpochHeader = "tl-epoch";

struct ClusterRecord {
  enum class Kind { kClaim, kEvent, kForeign };
  Kind kind = Kind::kForeign;
  uint64_t epoch = 0;
  std::string node;            // claims
  std::string nonce;           // claims: tells one claim attempt from another
  std::optional<Event> event;  // events
};

// Reads one message of a cluster topic. Never throws: a message that is not
// one of ours, or whose value does not decode, is kForeign.
ClusterRecord DecodeClusterRecord(const rd_kafka_message_t* m);

// Hands a claim / an event record to the producer (copied; RD_KAFKA_V_OPAQUE
// is `opaque`). The librdkafka result of rd_kafka_producev. Encoding an event
// throws like EncodeCloudEvent on invalid UTF-8.
rd_kafka_resp_err_t ProduceClaim(rd_kafka_t* producer, const std::string& topic, int32_t partition,
                                 uint64_t epoch, const std::string& node, const std::string& nonce);
rd_kafka_resp_err_t ProduceEvent(rd_kafka_t* producer, const std::string& topic, int32_t partition,
                                 uint64_t epoch, const Event& e, const std::string& source,
                                 void* opaque);

}  // namespace tl
