// PartitionLog against librdkafka's mock cluster (real Kafka protocol on
// loopback): claims, read-back acknowledgements, and the fencing of an owner
// that lost its partition while it kept writing.
#include "events/partition_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "events/cluster_record.h"
#include "events/kafka_mock.h"
#include "events/kafka_test_util.h"
#include "events/partition_fence.h"
#include "events/partition_scan.h"

namespace tl {
namespace {

using namespace std::chrono_literals;
using testing::WaitFor;

constexpr const char* kTopic = "cluster.events";

// What one PartitionLog's reader handed over, in order.
class Counted {
 public:
  void Add(const Event& e) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(e);
  }
  std::vector<Event> Snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_.size();
  }

 private:
  mutable std::mutex mu_;
  std::vector<Event> events_;
};

Event NewEvent(const std::string& id, const std::string& token) {
  return testing::UnchainedEvent(id, token);
}

class PartitionLogTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.CreateTopic(kTopic, 2, 3).ok()); }

  std::unique_ptr<PartitionLog> OpenLog(const std::string& node, Counted* counted,
                                        int32_t partition = 0) {
    PartitionLogOptions o;
    o.brokers = cluster_.bootstrap();
    o.topic = kTopic;
    o.partition = partition;
    o.node_id = node;
    auto log = PartitionLog::Open(o, [counted](const Event& e) { counted->Add(e); });
    EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().message);
    return log.ok() ? std::move(log.value()) : nullptr;
  }

  MockKafkaCluster cluster_{3};
};

// Every event counted by a reader forms one chain from position 1.
void ExpectOneChain(const std::vector<Event>& events) {
  std::string prev = kGenesisHash;
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].position, Position(i + 1));
    EXPECT_EQ(events[i].prev_hash, prev) << "position " << i + 1;
    EXPECT_EQ(events[i].hash, ComputeHash(events[i])) << "position " << i + 1;
    prev = events[i].hash;
  }
}

TEST_F(PartitionLogTest, AppendBeforeAClaimIsRefused) {
  Counted counted;
  auto a = OpenLog("node-a", &counted);
  ASSERT_NE(a, nullptr);
  Status st = a->AppendAndWait(NewEvent("evt_1", "tok_a"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(st.error().message.find("not owned by node-a"), std::string::npos)
      << st.error().message;
  EXPECT_FALSE(a->owns());
}

TEST_F(PartitionLogTest, TheOwnersEventsAreAcknowledgedOnceReadBackAndEveryReaderCountsThem) {
  Counted at_a, at_b;
  auto a = OpenLog("node-a", &at_a);
  auto b = OpenLog("node-b", &at_b);  // a follower: reads, never claims
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(a->Claim().ok());
  EXPECT_TRUE(a->owns());
  EXPECT_EQ(a->epoch(), 1u);
  for (int i = 1; i <= 20; ++i) {
    Status st =
        a->AppendAndWait(NewEvent("evt_" + std::to_string(i), "tok_" + std::to_string(i % 3)));
    ASSERT_TRUE(st.ok()) << st.error().message;
    // Acknowledged means read back as counted.
    EXPECT_EQ(a->counted_position(), Position(i));
  }
  ASSERT_TRUE(WaitFor([&] { return at_b.size() == 20; }, 10s));
  EXPECT_EQ(at_a.Snapshot(), at_b.Snapshot());
  ExpectOneChain(at_b.Snapshot());
  EXPECT_EQ(b->owner(), "node-a");
  EXPECT_FALSE(b->owns());
}

TEST_F(PartitionLogTest, ANewOwnerStartsFromEverythingCountedAndTheOldOneIsFenced) {
  Counted at_a, at_b;
  auto a = OpenLog("node-a", &at_a);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->Claim().ok());
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(a->AppendAndWait(NewEvent("evt_a" + std::to_string(i), "tok_a")).ok());
  }
  auto b = OpenLog("node-b", &at_b);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->Claim().ok());
  EXPECT_EQ(b->epoch(), 2u);
  // Serving starts from every event that counted before the claim.
  EXPECT_EQ(at_b.size(), 5u);
  ASSERT_TRUE(WaitFor([&] { return !a->owns(); }, 10s)) << "node-a never read node-b's claim";
  Status late = a->AppendAndWait(NewEvent("evt_late", "tok_a"));
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.error().message.find("owner: node-b, epoch 2"), std::string::npos)
      << late.error().message;
  ASSERT_TRUE(b->AppendAndWait(NewEvent("evt_b6", "tok_a")).ok());
  EXPECT_EQ(b->counted_position(), Position(6));
  ASSERT_TRUE(WaitFor([&] { return at_a.size() == 6; }, 10s));
  EXPECT_EQ(at_a.Snapshot(), at_b.Snapshot());
  ExpectOneChain(at_a.Snapshot());
}

// The race the fence exists for: node-a keeps writing while node-b takes the
// partition over. Some of node-a's writes land behind node-b's claim. None of
// those may be acknowledged, every acknowledged one must be counted by every
// reader, and the readers must agree.
TEST_F(PartitionLogTest, WritesRacingATakeoverAreEitherCountedAndAcknowledgedOrNeither) {
  for (int round = 0; round < 5; ++round) {
    const std::string topic_note = "round " + std::to_string(round);
    const int32_t partition = round % 2;
    Counted at_a, at_b, at_c;
    auto a = OpenLog("node-a", &at_a, partition);
    ASSERT_NE(a, nullptr);
    ASSERT_TRUE(a->Claim().ok()) << topic_note;
    std::mutex mu;
    std::set<std::string> acked_a, refused_a;
    std::atomic<bool> stop{false};
    std::atomic<int> in_flight{0};
    std::thread writer([&] {
      for (int i = 0; !stop.load(); ++i) {
        const std::string id = "evt_r" + std::to_string(round) + "_" + std::to_string(i);
        ++in_flight;
        a->Append(NewEvent(id, "tok_race"), [&, id](Status st) {
          std::lock_guard<std::mutex> lock(mu);
          (st.ok() ? acked_a : refused_a).insert(id);
          --in_flight;
        });
        // Paced: the mock keeps only ~5 MiB of a partition, and a fresh
        // reader must see it from its first claim.
        std::this_thread::sleep_for(500us);
      }
    });
    std::this_thread::sleep_for(50ms);
    auto b = OpenLog("node-b", &at_b, partition);
    ASSERT_NE(b, nullptr);
    Status claimed = b->Claim();
    ASSERT_TRUE(claimed.ok()) << claimed.error().message;
    std::this_thread::sleep_for(50ms);
    stop.store(true);
    writer.join();
    ASSERT_TRUE(WaitFor([&] { return in_flight.load() == 0; }, 10s)) << "writes never settled";
    ASSERT_TRUE(
        b->AppendAndWait(NewEvent("evt_b_after_r" + std::to_string(round), "tok_race")).ok());

    // A fresh reader of the whole partition.
    auto c = OpenLog("node-c", &at_c, partition);
    ASSERT_NE(c, nullptr);
    const size_t total = b->counted_position().value();
    ASSERT_TRUE(WaitFor([&] { return at_c.size() == total; }, 10s))
        << topic_note << ": a fresh reader counted " << at_c.size() << " of " << total;
    ASSERT_TRUE(WaitFor([&] { return at_a.size() == total; }, 10s))
        << topic_note << ": node-a counted " << at_a.size() << " of " << total;
    std::vector<Event> seen = at_c.Snapshot();
    EXPECT_EQ(seen, at_b.Snapshot());
    EXPECT_EQ(seen, at_a.Snapshot());
    ExpectOneChain(seen);
    std::set<std::string> counted_ids;
    for (const Event& e : seen) counted_ids.insert(e.id);
    std::lock_guard<std::mutex> lock(mu);
    for (const std::string& id : acked_a) {
      EXPECT_TRUE(counted_ids.count(id)) << "acknowledged but not counted: " << id;
    }
    for (const std::string& id : refused_a) {
      EXPECT_FALSE(counted_ids.count(id)) << "refused but counted: " << id;
    }
    EXPECT_FALSE(acked_a.empty()) << topic_note;
    EXPECT_FALSE(refused_a.empty()) << topic_note << ": node-a never wrote past the claim";
    EXPECT_EQ(seen.back().id, "evt_b_after_r" + std::to_string(round));
  }
}

// A producer for records no well-behaved node writes.
class RawProducer {
 public:
  explicit RawProducer(const std::string& brokers) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), errstr, sizeof errstr);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  }
  ~RawProducer() {
    rd_kafka_flush(rk_, 10000);
    rd_kafka_destroy(rk_);
  }
  rd_kafka_t* get() { return rk_; }

 private:
  rd_kafka_t* rk_;
};

TEST_F(PartitionLogTest, AScanReportsWhatCountsAndWhatWasFencedAlteredOrForeign) {
  Counted at_a, at_b;
  auto a = OpenLog("node-a", &at_a);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->Claim().ok());
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(a->AppendAndWait(NewEvent("evt_a" + std::to_string(i), "tok_a")).ok());
  }
  auto b = OpenLog("node-b", &at_b);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->Claim().ok());
  {
    RawProducer raw(cluster_.bootstrap());
    // What node-a would write after the takeover had it been paused: epoch 1.
    Event late = NewEvent("evt_late", "tok_a");
    late.position = Position(4);
    late.prev_hash = at_a.Snapshot().back().hash;
    late.hash = ComputeHash(late);
    ASSERT_EQ(ProduceEvent(raw.get(), kTopic, 0, 1, late, "tokenledger", nullptr),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    // An event of the current epoch whose contents were changed after hashing.
    Event altered = late;
    altered.id = "evt_altered";
    altered.data = Json{{"cost", 1000}};
    ASSERT_EQ(ProduceEvent(raw.get(), kTopic, 0, 2, altered, "tokenledger", nullptr),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    // Something else entirely.
    ASSERT_EQ(rd_kafka_producev(raw.get(), RD_KAFKA_V_TOPIC(kTopic), RD_KAFKA_V_PARTITION(0),
                                RD_KAFKA_V_VALUE(const_cast<char*>("hello"), 5),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  for (int i = 4; i <= 5; ++i) {
    ASSERT_TRUE(b->AppendAndWait(NewEvent("evt_b" + std::to_string(i), "tok_b")).ok());
  }
  std::vector<std::pair<int32_t, Event>> counted;
  ReaderOptions o;
  o.brokers = cluster_.bootstrap();
  o.topic = kTopic;
  auto scan = ScanClusterTopic(o, [&](int32_t p, const Event& e) { counted.emplace_back(p, e); });
  ASSERT_TRUE(scan.ok()) << scan.error().message;
  ASSERT_EQ(scan->size(), 2u);
  const PartitionSummary& p0 = (*scan)[0];
  EXPECT_EQ(p0.partition, 0);
  EXPECT_EQ(p0.owner, "node-b");
  EXPECT_EQ(p0.epoch, 2u);
  EXPECT_EQ(p0.claims, 2u);
  EXPECT_EQ(p0.counted, 5u);
  EXPECT_EQ(p0.fenced, 1u);
  EXPECT_EQ(p0.altered, 1u);
  EXPECT_EQ(p0.unlinked, 0u);
  EXPECT_EQ(p0.foreign, 1u);
  EXPECT_EQ(p0.end_offset, 10);
  EXPECT_EQ(p0.last_position, Position(5));
  EXPECT_EQ(p0.last_hash, at_b.Snapshot().back().hash);
  EXPECT_EQ((*scan)[1].partition, 1);
  EXPECT_EQ((*scan)[1].end_offset, 0);
  EXPECT_EQ((*scan)[1].counted, 0u);
  ASSERT_EQ(counted.size(), 5u);
  std::vector<Event> events;
  for (const auto& [p, e] : counted) events.push_back(e);
  EXPECT_EQ(events, at_b.Snapshot());
  ExpectOneChain(events);
}

}  // namespace
}  // namespace tl
