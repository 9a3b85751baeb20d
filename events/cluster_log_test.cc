// ClusterLog on librdkafka's mock cluster: two nodes share a topic's
// partitions, each writes only where it owns, both follow everything, and a
// node that leaves hands its partitions to the other with the chains intact.
#include "events/cluster_log.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>

#include "events/kafka_mock.h"
#include "events/kafka_test_util.h"

namespace tl {
namespace {

using namespace std::chrono_literals;
using testing::WaitFor;

constexpr const char* kTopic = "cluster.log";
constexpr int kPartitions = 4;

// Every event a node was handed, by partition, in order.
class Followed {
 public:
  void Add(int32_t p, const Event& e) {
    std::lock_guard<std::mutex> lock(mu_);
    events_[p].push_back(e);
  }
  std::vector<Event> Of(int32_t p) {
    std::lock_guard<std::mutex> lock(mu_);
    return events_[p];
  }

 private:
  std::mutex mu_;
  std::map<int32_t, std::vector<Event>> events_;
};

Event NewEvent(const std::string& id) { return testing::UnchainedEvent(id, "tok_" + id); }

class ClusterLogTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.CreateTopic(kTopic, kPartitions, 3).ok()); }

  std::unique_ptr<ClusterLog> Open(const std::string& node, Followed* followed) {
    ClusterLogOptions o;
    o.brokers = cluster_.bootstrap();
    o.topic = kTopic;
    o.group = "cluster-log-test";
    o.node_id = node;
    auto log = ClusterLog::Open(o, [followed](int32_t p, const Event& e) { followed->Add(p, e); });
    EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().message);
    return log.ok() ? std::move(log.value()) : nullptr;
  }

  MockKafkaCluster cluster_{3};
};

std::set<int32_t> Owned(const ClusterLog& log) {
  std::set<int32_t> owned;
  for (int32_t p = 0; p < log.partitions(); ++p) {
    if (log.Owns(p)) owned.insert(p);
  }
  return owned;
}

TEST_F(ClusterLogTest, TwoNodesShareThePartitionsAndALeavingNodeHandsItsShareOver) {
  Followed at_a, at_b;
  auto a = Open("node-a", &at_a);
  auto b = Open("node-b", &at_b);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(a->partitions(), kPartitions);
  // Each serves a share; together every partition, none twice.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto oa = Owned(*a);
        auto ob = Owned(*b);
        if (oa.size() != 2 || ob.size() != 2) return false;
        for (int32_t p : oa) {
          if (ob.count(p)) return false;
        }
        return true;
      },
      60s))
      << "a owns " << Owned(*a).size() << ", b owns " << Owned(*b).size();

  // Writes go through the owner only.
  for (int32_t p = 0; p < kPartitions; ++p) {
    ClusterLog& owner = a->Owns(p) ? *a : *b;
    ClusterLog& other = a->Owns(p) ? *b : *a;
    for (int i = 0; i < 3; ++i) {
      Status st =
          owner.AppendAndWait(p, NewEvent("p" + std::to_string(p) + "_" + std::to_string(i)));
      ASSERT_TRUE(st.ok()) << st.error().message;
    }
    Status refused = other.AppendAndWait(p, NewEvent("p" + std::to_string(p) + "_x"));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  }
  // Both nodes follow every partition.
  for (int32_t p = 0; p < kPartitions; ++p) {
    ASSERT_TRUE(WaitFor([&] { return at_a.Of(p).size() == 3 && at_b.Of(p).size() == 3; }, 10s))
        << "partition " << p;
    EXPECT_EQ(at_a.Of(p), at_b.Of(p));
  }

  // node-b leaves; node-a takes over its partitions and continues their chains.
  std::set<int32_t> were_b = Owned(*b);
  std::map<int32_t, uint64_t> epoch_before;
  for (const auto& s : b->State()) epoch_before[s.partition] = s.epoch;
  b.reset();
  ASSERT_TRUE(WaitFor([&] { return Owned(*a).size() == kPartitions; }, 60s))
      << "a owns " << Owned(*a).size();
  for (int32_t p : were_b) {
    ASSERT_TRUE(a->AppendAndWait(p, NewEvent("p" + std::to_string(p) + "_after")).ok());
    std::vector<Event> events = at_a.Of(p);
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(events.back().position, Position(4));
    EXPECT_EQ(events.back().prev_hash, events[2].hash);
  }
  for (const auto& s : a->State()) {
    EXPECT_TRUE(s.owned);
    EXPECT_EQ(s.owner, "node-a");
    // A taken-over partition was claimed once more; the others not again.
    EXPECT_EQ(s.epoch, epoch_before[s.partition] + (were_b.count(s.partition) ? 1 : 0))
        << "partition " << s.partition;
  }
}

}  // namespace
}  // namespace tl
