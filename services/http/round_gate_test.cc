#include "services/http/round_gate.h"

#include <gtest/gtest.h>

namespace tl {
namespace {

RoundGateOptions Gather(double fraction, int64_t max_us) {
  RoundGateOptions o;
  o.gather_fraction = fraction;
  o.max_gather_us = max_us;
  return o;
}

TEST(RoundGateTest, NothingStagedStartsNothing) {
  RoundGate gate(Gather(0.75, 300));
  EXPECT_FALSE(gate.ShouldStart(16, true, 1'000'000));
  EXPECT_EQ(gate.WaitUs(true, 1'000'000), -1);
}

TEST(RoundGateTest, WaitsForTheFractionOfConnections) {
  RoundGate gate(Gather(0.75, 300));
  for (int i = 0; i < 11; ++i) gate.Staged(1000 + i);
  EXPECT_FALSE(gate.ShouldStart(16, true, 1100));  // 11 of 16 < 75%
  gate.Staged(1120);
  EXPECT_TRUE(gate.ShouldStart(16, true, 1120));  // 12 of 16
}

TEST(RoundGateTest, TheFirstStagedRequestWaitsAtMostTheGatherTime) {
  RoundGate gate(Gather(0.75, 300));
  gate.Staged(1000);
  gate.Staged(1200);  // later requests do not move the deadline
  EXPECT_EQ(gate.WaitUs(true, 1250), 50);
  EXPECT_FALSE(gate.ShouldStart(16, true, 1299));
  EXPECT_TRUE(gate.ShouldStart(16, true, 1300));
  EXPECT_EQ(gate.WaitUs(true, 1400), 0);  // overdue: no waiting
}

TEST(RoundGateTest, ALoneClientNeverWaits) {
  RoundGate gate(Gather(0.75, 300));
  gate.Staged(5000);
  EXPECT_TRUE(gate.ShouldStart(1, true, 5000));
}

TEST(RoundGateTest, NoRoundStartsWithoutAFreeSlot) {
  RoundGate gate(Gather(0.75, 300));
  for (int i = 0; i < 16; ++i) gate.Staged(1000);
  EXPECT_FALSE(gate.ShouldStart(16, false, 1000));
  EXPECT_FALSE(gate.ShouldStart(16, false, 9000));  // not even past the deadline
  EXPECT_EQ(gate.WaitUs(false, 1000), -1);          // the round's end wakes the loop
  EXPECT_TRUE(gate.ShouldStart(16, true, 9000));
}

TEST(RoundGateTest, StartingARoundRestartsTheClock) {
  RoundGate gate(Gather(1.0, 300));
  gate.Staged(1000);
  ASSERT_TRUE(gate.ShouldStart(4, true, 1300));
  gate.Started();
  EXPECT_EQ(gate.staged(), 0u);
  EXPECT_FALSE(gate.ShouldStart(4, true, 2000));
  gate.Staged(2000);  // the next round's clock starts with its first request
  EXPECT_FALSE(gate.ShouldStart(4, true, 2299));
  EXPECT_EQ(gate.WaitUs(true, 2100), 200);
  EXPECT_TRUE(gate.ShouldStart(4, true, 2300));
}

TEST(RoundGateTest, ZeroGatherTimeStartsEveryPass) {
  RoundGate gate(Gather(0.75, 0));
  gate.Staged(1000);
  EXPECT_TRUE(gate.ShouldStart(16, true, 1000));
  EXPECT_EQ(gate.WaitUs(true, 1000), 0);
}

TEST(RoundGateTest, PipelinedRequestsCountEach) {
  // One connection with four requests staged is past any fraction of four connections.
  RoundGate gate(Gather(1.0, 1'000'000));
  for (int i = 0; i < 4; ++i) gate.Staged(1000);
  EXPECT_TRUE(gate.ShouldStart(4, true, 1000));
}

}  // namespace
}  // namespace tl
