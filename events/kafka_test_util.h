#pragma once

// Test helper shared by the Kafka tests: every message of a topic, read
// directly with librdkafka (no group join), to check what the relay wrote.

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "events/event.h"

namespace tl::testing {

// A token.used event as a caller hands it to a partition log: position and
// hashes are the log's to fill in.
inline Event UnchainedEvent(const std::string& id, const std::string& token) {
  Event e;
  e.id = id;
  e.type = EventType::kUsed;
  e.token_id = token;
  e.version = Version(1);
  e.time_ms = 1'700'000'000'000;
  e.actor = "system";
  return e;
}

// Polls `pred` every 10 ms until it holds or `timeout` passes; its last value.
inline bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

struct TopicMessage {
  int partition;
  int64_t offset;
  std::string key;
  std::string value;
  Event event;
  std::string content_type;  // the record's "content-type" header; empty when absent
};

// Every message of the topic up to the high watermarks, read by assign()
// (no group join). Fails the test when a partition no longer starts at
// offset 0: the mock dropped history and the test would prove nothing.
inline std::vector<TopicMessage> ReadTopicRaw(const std::string& brokers,
                                              const std::string& topic) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), errstr, sizeof errstr);
  rd_kafka_conf_set(conf, "group.id", "raw-reader", errstr, sizeof errstr);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  std::vector<TopicMessage> out;
  if (rk == nullptr) {
    ADD_FAILURE() << errstr;
    return out;
  }
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
  rd_kafka_topic_destroy(rkt);
  int partitions = 0;
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    partitions = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
  }
  EXPECT_GT(partitions, 0) << rd_kafka_err2str(err);
  std::vector<int64_t> high(partitions);
  int64_t remaining = 0;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    int64_t low = -1;
    EXPECT_EQ(rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high[p], 5000),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(low, 0) << "partition " << p << " lost its oldest messages (mock retention)";
    remaining += high[p];
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (remaining > 0 && std::chrono::steady_clock::now() < until) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->offset < high[m->partition]) {
      --remaining;
      TopicMessage msg{m->partition, m->offset,
                       std::string(static_cast<const char*>(m->key), m->key_len),
                       std::string(static_cast<const char*>(m->payload), m->len), Event{}};
      msg.event = FromCloudEvent(Json::parse(msg.value));
      rd_kafka_headers_t* headers = nullptr;
      const void* ct = nullptr;
      size_t ct_size = 0;
      if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
          rd_kafka_header_get_last(headers, "content-type", &ct, &ct_size) ==
              RD_KAFKA_RESP_ERR_NO_ERROR) {
        msg.content_type.assign(static_cast<const char*>(ct), ct_size);
      }
      out.push_back(std::move(msg));
    }
    rd_kafka_message_destroy(m);
  }
  EXPECT_EQ(remaining, 0) << "messages not read before the deadline";
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return out;
}

}  // namespace tl::testing
