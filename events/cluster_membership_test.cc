// ClusterMembership on librdkafka's mock cluster: the group spreads the
// partitions over the members, a joining member takes a share, a leaving one
// hands its share over in order.
#include "events/cluster_membership.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "events/kafka_mock.h"
#include "events/kafka_test_util.h"

namespace tl {
namespace {

using namespace std::chrono_literals;
using testing::WaitFor;

constexpr const char* kTopic = "cluster.members";
constexpr int kPartitions = 6;

// What one member was told, as the callbacks said it.
struct Told {
  std::mutex mu;
  std::set<int32_t> owned;
  int orderly_revokes = 0;
  int lost_revokes = 0;
  std::set<int32_t> Owned() {
    std::lock_guard<std::mutex> lock(mu);
    return owned;
  }
};

class ClusterMembershipTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.CreateTopic(kTopic, kPartitions, 3).ok()); }

  std::unique_ptr<ClusterMembership> Join(const std::string& node, Told* told) {
    MembershipOptions o;
    o.brokers = cluster_.bootstrap();
    o.topic = kTopic;
    o.group = "members-test";
    o.node_id = node;
    auto m = ClusterMembership::Join(
        o,
        [told](const std::vector<int32_t>& ps) {
          std::lock_guard<std::mutex> lock(told->mu);
          for (int32_t p : ps) {
            EXPECT_FALSE(told->owned.count(p)) << "assigned twice: " << p;
            told->owned.insert(p);
          }
        },
        [told](const std::vector<int32_t>& ps, bool lost) {
          std::lock_guard<std::mutex> lock(told->mu);
          for (int32_t p : ps) {
            EXPECT_TRUE(told->owned.count(p)) << "revoked but not held: " << p;
            told->owned.erase(p);
          }
          ++(lost ? told->lost_revokes : told->orderly_revokes);
        });
    EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
    return m.ok() ? std::move(m.value()) : nullptr;
  }

  MockKafkaCluster cluster_{3};
};

std::set<int32_t> All() {
  std::set<int32_t> all;
  for (int p = 0; p < kPartitions; ++p) all.insert(p);
  return all;
}

TEST_F(ClusterMembershipTest, ALoneMemberIsGivenEveryPartition) {
  Told a;
  auto ma = Join("node-a", &a);
  ASSERT_NE(ma, nullptr);
  ASSERT_TRUE(WaitFor([&] { return a.Owned() == All(); }, 30s));
  auto held = ma->assigned();
  EXPECT_EQ(std::set<int32_t>(held.begin(), held.end()), All());
}

TEST_F(ClusterMembershipTest, AJoiningMemberTakesAShareAndALeavingOneHandsItBack) {
  Told a, b;
  auto ma = Join("node-a", &a);
  ASSERT_NE(ma, nullptr);
  ASSERT_TRUE(WaitFor([&] { return a.Owned() == All(); }, 30s));
  auto mb = Join("node-b", &b);
  ASSERT_NE(mb, nullptr);
  // Each gets a share; together they hold every partition, none twice.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto oa = a.Owned();
        auto ob = b.Owned();
        if (oa.empty() || ob.empty() || oa.size() + ob.size() != kPartitions) return false;
        for (int32_t p : ob) {
          if (oa.count(p)) return false;
        }
        return true;
      },
      30s))
      << "a holds " << a.Owned().size() << ", b holds " << b.Owned().size();
  EXPECT_EQ(a.Owned().size(), 3u);
  EXPECT_EQ(b.Owned().size(), 3u);
  EXPECT_EQ(a.lost_revokes, 0);
  EXPECT_GE(a.orderly_revokes, 1);
  // Leaving revokes in order, and the other member takes everything back.
  mb.reset();
  EXPECT_TRUE(b.Owned().empty());
  EXPECT_EQ(b.lost_revokes, 0);
  ASSERT_TRUE(WaitFor([&] { return a.Owned() == All(); }, 30s));
}

}  // namespace
}  // namespace tl
