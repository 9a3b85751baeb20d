#include "events/cluster_record.h"

#include <cstring>

#include "events/kafka_relay.h"

namespace tl {
namespace {

constexpr const char* kClaimKind = "claim";
constexpr const char* kEventKind = "event";

// A header's value, or "" when the message has none.
std::string HeaderValue(const rd_kafka_message_t* m, const char* name) {
  rd_kafka_headers_t* headers = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  // rd_kafka_message_headers takes a non-const message but does not change it.
  if (rd_kafka_message_headers(const_cast<rd_kafka_message_t*>(m), &headers) !=
          RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_header_get_last(headers, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      value == nullptr) {
    return {};
  }
  return std::string(static_cast<const char*>(value), size);
}

std::optional<uint64_t> ParseEpoch(const std::string& text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

ClusterRecord DecodeClusterRecord(const rd_kafka_message_t* m) {
  ClusterRecord r;
  const std::string kind = HeaderValue(m, kRecordHeader);
  const std::optional<uint64_t> epoch = ParseEpoch(HeaderValue(m, kEpochHeader));
  if (!epoch || m->payload == nullptr) return r;
  std::string_view value(static_cast<const char*>(m->payload), m->len);
  try {
    if (kind == kClaimKind) {
      Json j = Json::parse(value);
      r.node = j.at("node").get<std::string>();
      r.nonce = j.value("nonce", "");
      if (j.at("epoch").get<uint64_t>() != *epoch) return ClusterRecord{};
      r.kind = ClusterRecord::Kind::kClaim;
    } else if (kind == kEventKind) {
      r.event = FromCloudEventText(value);
      r.kind = ClusterRecord::Kind::kEvent;
    } else {
      return r;
    }
  } catch (const std::exception&) {
    return ClusterRecord{};
  }
  r.epoch = *epoch;
  return r;
}

rd_kafka_resp_err_t ProduceClaim(rd_kafka_t* producer, const std::string& topic, int32_t partition,
                                 uint64_t epoch, const std::string& node,
                                 const std::string& nonce) {
  const std::string text = Json{{"node", node}, {"epoch", epoch}, {"nonce", nonce}}.dump();
  const std::string epoch_text = std::to_string(epoch);
  return rd_kafka_producev(
      producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_KEY(kClaimKind, std::strlen(kClaimKind)),
      RD_KAFKA_V_VALUE(const_cast<char*>(text.data()), text.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADER(kRecordHeader, kClaimKind, -1),
      RD_KAFKA_V_HEADER(kEpochHeader, epoch_text.c_str(), -1), RD_KAFKA_V_OPAQUE(nullptr),
      RD_KAFKA_V_END);
}

rd_kafka_resp_err_t ProduceEvent(rd_kafka_t* producer, const std::string& topic, int32_t partition,
                                 uint64_t epoch, const Event& e, const std::string& source,
                                 void* opaque) {
  std::string value = EncodeCloudEvent(e, source);
  const std::string epoch_text = std::to_string(epoch);
  return rd_kafka_producev(
      producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_KEY(e.token_id.data(), e.token_id.size()),
      RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_HEADER(kRecordHeader, kEventKind, -1),
      RD_KAFKA_V_HEADER(kEpochHeader, epoch_text.c_str(), -1),
      RD_KAFKA_V_HEADER("content-type", "application/cloudevents+json", -1),
      RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
}

}  // namespace tl
