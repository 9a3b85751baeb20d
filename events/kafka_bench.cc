// Relay throughput on librdkafka's mock cluster against a bare librdkafka
// producer sending the same bytes (the same CloudEvents JSON, same keys, same
// producer settings) to the same cluster in the same run.
//
//   kafka_bench [events=100000] [rounds=3]
//
// Each round times the bare producer (produce all, wait for every delivery
// report) and then a fresh relay (Start until every position is
// acknowledged, checkpoint included), each on its own topic. Prints msgs/s of
// both per round, then the best of each and their ratio.

#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "events/kafka_mock.h"
#include "events/kafka_relay.h"

namespace tl {
namespace {

using Clock = std::chrono::steady_clock;

// A fixed, hash-chained log held in memory.
class FixedSource final : public EventSource {
 public:
  explicit FixedSource(int n) {
    std::string prev = kGenesisHash;
    std::vector<uint64_t> versions(100, 0);
    for (int i = 1; i <= n; ++i) {
      Event e;
      e.position = Position(i);
      e.id = "evt_" + std::to_string(i);
      e.type = EventType::kUsed;
      int token = i % 100;
      e.token_id = "tok_" + std::to_string(token);
      e.version = Version(++versions[token]);
      e.time_ms = 1764258968123 + i;
      e.actor = e.token_id;
      e.data =
          Json{{"endpoint", "/v1/things"}, {"cost", 1}, {"request_id", "req_" + std::to_string(i)}};
      e.prev_hash = prev;
      e.hash = ComputeHash(e);
      prev = e.hash;
      events_.push_back(std::move(e));
    }
  }
  std::vector<Event> Read(Position from, size_t max) const override {
    std::vector<Event> out;
    for (uint64_t p = std::max<uint64_t>(from.value(), 1); p <= events_.size() && out.size() < max;
         ++p) {
      out.push_back(events_[p - 1]);
    }
    return out;
  }
  Position DurablePosition() const override { return Position(events_.size()); }
  Position WaitForNew(Position after, std::chrono::milliseconds timeout) const override {
    if (after.value() >= events_.size()) std::this_thread::sleep_for(timeout);
    return DurablePosition();
  }
  const std::vector<Event>& events() const { return events_; }

 private:
  std::vector<Event> events_;
};

// Delivery reports arrive inside rd_kafka_poll / rd_kafka_flush, which only
// the producing thread calls: no lock.
struct Delivered {
  size_t ok = 0;
  size_t failed = 0;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* d = static_cast<Delivered*>(opaque);
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++d->ok;
  } else {
    ++d->failed;
  }
}

double BareProducer(const std::string& brokers, const std::string& topic,
                    const std::vector<std::pair<std::string, std::string>>& messages) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The relay's settings, so only the relay's own work differs.
  const std::vector<std::pair<std::string, std::string>> props{
      {"bootstrap.servers", brokers},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", "1"},
      {"partitioner", "murmur2_random"},
      {"message.timeout.ms", "0"},
      {"queue.buffering.max.messages", "1000000"},
  };
  for (const auto& [k, v] : props)
    rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr);
  Delivered delivered;
  rd_kafka_conf_set_opaque(conf, &delivered);
  rd_kafka_conf_set_dr_msg_cb(conf, &OnDelivery);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    std::fprintf(stderr, "bare producer: %s\n", errstr);
    std::exit(1);
  }
  auto t0 = Clock::now();
  for (const auto& [key, value] : messages) {
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      rd_kafka_poll(rk, 10);
    }
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 60000);
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (delivered.ok != messages.size()) {
    std::fprintf(stderr, "bare producer: %zu of %zu delivered\n", delivered.ok, messages.size());
  }
  rd_kafka_destroy(rk);
  return messages.size() / secs;
}

double Relay(const std::string& brokers, const std::string& topic, const FixedSource& source,
             const std::string& checkpoint) {
  std::filesystem::remove(checkpoint);
  RelayOptions o;
  o.brokers = brokers;
  o.topic = topic;
  o.checkpoint_path = checkpoint;
  KafkaRelay relay(source, o);
  const uint64_t n = source.DurablePosition().value();
  auto t0 = Clock::now();
  if (!relay.Start().ok()) std::exit(1);
  while (relay.Stats().acked_position.value() < n) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  relay.Stop();
  return n / secs;
}

}  // namespace
}  // namespace tl

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  tl::FixedSource source(n);
  std::vector<std::pair<std::string, std::string>> messages;
  size_t bytes = 0;
  auto s0 = std::chrono::steady_clock::now();
  for (const tl::Event& e : source.events()) {
    messages.emplace_back(e.token_id, tl::ToCloudEvent(e).dump());
    bytes += messages.back().second.size();
  }
  double encode_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
  std::printf("CloudEvents encoding alone (this build): %.0f events/s\n", n / encode_secs);
  tl::MockKafkaCluster cluster(3);
  std::string checkpoint =
      (std::filesystem::temp_directory_path() / ("kafka_bench_cp_" + std::to_string(::getpid())))
          .string();
  std::printf("events: %d, average value: %zu bytes, mock brokers: 3, partitions: 4\n", n,
              bytes / n);
  double best_bare = 0;
  double best_relay = 0;
  for (int r = 0; r < rounds; ++r) {
    // Fresh topics per round: the mock keeps only ~5 MiB per partition.
    std::string suffix = std::to_string(r);
    (void)cluster.CreateTopic("bench.bare." + suffix, 4);
    (void)cluster.CreateTopic("bench.relay." + suffix, 4);
    double bare = tl::BareProducer(cluster.bootstrap(), "bench.bare." + suffix, messages);
    double relay = tl::Relay(cluster.bootstrap(), "bench.relay." + suffix, source, checkpoint);
    std::printf("round %d: bare producer %.0f msgs/s, relay %.0f msgs/s, ratio %.2f\n", r + 1, bare,
                relay, relay / bare);
    best_bare = std::max(best_bare, bare);
    best_relay = std::max(best_relay, relay);
  }
  std::printf("best: bare producer %.0f msgs/s, relay %.0f msgs/s, ratio %.2f\n", best_bare,
              best_relay, best_relay / best_bare);
  std::filesystem::remove(checkpoint);
  return 0;
}
