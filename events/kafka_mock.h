#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdint>
#include <string>

#include "events/result.h"

namespace tl {

// librdkafka's built-in mock Kafka cluster (rdkafka_mock.h), for tests, the
// benchmark and `tokenledger dev-kafka`. The brokers listen on loopback
// ephemeral ports (librdkafka 2.0.2 offers no way to choose them) and keep
// everything in memory.
//
// Traps of the 2.0.2 mock: each partition keeps only ~5 MiB / 100,000 batches
// and silently drops older data; `acks` is ignored; there is no admin API
// (use CreateTopic, or let producers auto-create with 4 partitions).
//
// Thread-safe: every method may be called from any thread (the mock runs on
// its own thread and serialises commands).
class MockKafkaCluster {
 public:
  // Starts `brokers` brokers with ids 1..brokers. Aborts if librdkafka cannot
  // create the cluster: callers are tests and dev tooling.
  explicit MockKafkaCluster(int brokers = 3);
  ~MockKafkaCluster();
  MockKafkaCluster(const MockKafkaCluster&) = delete;
  MockKafkaCluster& operator=(const MockKafkaCluster&) = delete;

  // "127.0.0.1:PORT,..." — pass as bootstrap.servers.
  const std::string& bootstrap() const { return bootstrap_; }
  int broker_count() const { return brokers_; }

  Status CreateTopic(const std::string& name, int partitions, int replication_factor = 1);
  // A down broker drops its connections and refuses new ones until SetBrokerUp.
  Status SetBrokerDown(int32_t broker_id);
  Status SetBrokerUp(int32_t broker_id);
  void SetAllBrokersDown();
  void SetAllBrokersUp();
  // The next `count` requests of `api_key` (e.g. RD_KAFKAP_Produce = 0) to any
  // broker fail with `error`.
  void PushRequestErrors(int16_t api_key, size_t count, rd_kafka_resp_err_t error);
  // Makes every request about `topic` fail with `error` (RD_KAFKA_RESP_ERR_NO_ERROR clears it).
  void SetTopicError(const std::string& topic, rd_kafka_resp_err_t error);

  rd_kafka_mock_cluster_t* raw() const { return cluster_; }

 private:
  int brokers_;
  rd_kafka_t* handle_ = nullptr;  // owns the mock; never used to produce
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
};

}  // namespace tl
