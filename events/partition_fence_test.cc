#include "events/partition_fence.h"

#include <gtest/gtest.h>

namespace tl {
namespace {

using Verdict = PartitionFence::Verdict;

// The next event of a partition whose last counted event is (position, hash).
Event Next(uint64_t position, const std::string& prev_hash, const std::string& token = "tok_a") {
  Event e;
  e.id = "evt_" + std::to_string(position);
  e.type = EventType::kUsed;
  e.token_id = token;
  e.version = Version(position);
  e.position = Position(position);
  e.time_ms = 1'700'000'000'000 + static_cast<int64_t>(position);
  e.actor = "system";
  e.prev_hash = prev_hash;
  e.hash = ComputeHash(e);
  return e;
}

TEST(PartitionFenceTest, EventsBeforeAnyClaimAreFenced) {
  PartitionFence f;
  EXPECT_EQ(f.OnEvent(0, Next(1, kGenesisHash)), Verdict::kFenced);
  EXPECT_EQ(f.OnEvent(1, Next(1, kGenesisHash)), Verdict::kFenced);
  EXPECT_EQ(f.last_position(), Position(0));
}

TEST(PartitionFenceTest, TheOwnersEventsCountInChainOrder) {
  PartitionFence f;
  ASSERT_EQ(f.OnClaim(1, "node-a"), Verdict::kClaimed);
  Event e1 = Next(1, kGenesisHash);
  Event e2 = Next(2, e1.hash);
  EXPECT_EQ(f.OnEvent(1, e1), Verdict::kCounted);
  EXPECT_EQ(f.OnEvent(1, e2), Verdict::kCounted);
  EXPECT_EQ(f.last_position(), Position(2));
  EXPECT_EQ(f.last_hash(), e2.hash);
  EXPECT_EQ(f.owner(), "node-a");
}

TEST(PartitionFenceTest, AnOlderEpochIsFencedBehindANewerClaim) {
  PartitionFence f;
  ASSERT_EQ(f.OnClaim(1, "node-a"), Verdict::kClaimed);
  Event e1 = Next(1, kGenesisHash);
  ASSERT_EQ(f.OnEvent(1, e1), Verdict::kCounted);
  ASSERT_EQ(f.OnClaim(2, "node-b"), Verdict::kClaimed);
  // node-a, paused through the takeover, writes the event it would have written next.
  Event late = Next(2, e1.hash);
  EXPECT_EQ(f.OnEvent(1, late), Verdict::kFenced);
  // node-b continues the chain from the last event that counted.
  Event e2 = Next(2, e1.hash, "tok_b");
  EXPECT_EQ(f.OnEvent(2, e2), Verdict::kCounted);
  EXPECT_EQ(f.owner(), "node-b");
  EXPECT_EQ(f.last_hash(), e2.hash);
}

TEST(PartitionFenceTest, AClaimMustRaiseTheEpoch) {
  PartitionFence f;
  ASSERT_EQ(f.OnClaim(3, "node-a"), Verdict::kClaimed);
  EXPECT_EQ(f.OnClaim(3, "node-b"), Verdict::kStaleClaim);
  EXPECT_EQ(f.OnClaim(2, "node-c"), Verdict::kStaleClaim);
  EXPECT_EQ(f.epoch(), 3u);
  EXPECT_EQ(f.owner(), "node-a");
  // The stale claimers' events do not count either.
  EXPECT_EQ(f.OnEvent(2, Next(1, kGenesisHash)), Verdict::kFenced);
  EXPECT_EQ(f.OnEvent(3, Next(1, kGenesisHash)), Verdict::kCounted);
}

TEST(PartitionFenceTest, AnEventOfTheCurrentEpochMustContinueTheChain) {
  PartitionFence f;
  ASSERT_EQ(f.OnClaim(1, "node-a"), Verdict::kClaimed);
  Event e1 = Next(1, kGenesisHash);
  ASSERT_EQ(f.OnEvent(1, e1), Verdict::kCounted);
  EXPECT_EQ(f.OnEvent(1, Next(3, e1.hash)), Verdict::kUnlinked);       // a gap
  EXPECT_EQ(f.OnEvent(1, Next(2, kGenesisHash)), Verdict::kUnlinked);  // wrong link
  EXPECT_EQ(f.OnEvent(1, e1), Verdict::kUnlinked);                     // a repeat
  Event tampered = Next(2, e1.hash);
  tampered.data = Json{{"cost", 5}};
  EXPECT_EQ(f.OnEvent(1, tampered), Verdict::kUnlinked);  // hash does not match
  EXPECT_EQ(f.last_position(), Position(1));
  EXPECT_EQ(f.OnEvent(1, Next(2, e1.hash)), Verdict::kCounted);
}

}  // namespace
}  // namespace tl
