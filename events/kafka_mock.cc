#include "events/kafka_mock.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace tl {
namespace {

Status FromKafka(rd_kafka_resp_err_t err, const std::string& what) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Ok{};
  return MakeError(ErrorCode::kUnavailable, what + ": " + rd_kafka_err2str(err));
}

}  // namespace

MockKafkaCluster::MockKafkaCluster(int brokers) : brokers_(brokers) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only hosts the mock; keep it quiet and local.
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (handle_ == nullptr) {
    std::fprintf(stderr, "mock kafka: rd_kafka_new failed: %s\n", errstr);
    std::abort();
  }
  cluster_ = rd_kafka_mock_cluster_new(handle_, brokers);
  if (cluster_ == nullptr) {
    std::fprintf(stderr, "mock kafka: rd_kafka_mock_cluster_new(%d) failed\n", brokers);
    std::abort();
  }
  bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
}

MockKafkaCluster::~MockKafkaCluster() {
  // librdkafka requires the cluster to go before the handle hosting it.
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(handle_);
}

Status MockKafkaCluster::CreateTopic(const std::string& name, int partitions,
                                     int replication_factor) {
  return FromKafka(
      rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, replication_factor),
      "create topic " + name);
}

Status MockKafkaCluster::SetBrokerDown(int32_t broker_id) {
  return FromKafka(rd_kafka_mock_broker_set_down(cluster_, broker_id),
                   "broker " + std::to_string(broker_id) + " down");
}

Status MockKafkaCluster::SetBrokerUp(int32_t broker_id) {
  return FromKafka(rd_kafka_mock_broker_set_up(cluster_, broker_id),
                   "broker " + std::to_string(broker_id) + " up");
}

void MockKafkaCluster::SetAllBrokersDown() {
  for (int32_t id = 1; id <= brokers_; ++id) (void)SetBrokerDown(id);
}

void MockKafkaCluster::SetAllBrokersUp() {
  for (int32_t id = 1; id <= brokers_; ++id) (void)SetBrokerUp(id);
}

void MockKafkaCluster::PushRequestErrors(int16_t api_key, size_t count, rd_kafka_resp_err_t error) {
  std::vector<rd_kafka_resp_err_t> errors(count, error);
  rd_kafka_mock_push_request_errors_array(cluster_, api_key, count, errors.data());
}

void MockKafkaCluster::SetTopicError(const std::string& topic, rd_kafka_resp_err_t error) {
  rd_kafka_mock_topic_set_error(cluster_, topic.c_str(), error);
}

}  // namespace tl
