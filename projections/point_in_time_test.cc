#include "projections/point_in_time.h"

#include <gtest/gtest.h>

#include "projections/test_events.h"

namespace tl {
namespace {

using testing::EventMaker;

class PointInTimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Another stream's events interleave, so positions of "a" are 2, 3, 5, 6.
    other_.push_back(m_.Created("b", 500));
    stream_.push_back(
        m_.Created("a", 1000, {{"credits", {{"remaining", 10}, {"refill", nullptr}}}}));
    stream_.push_back(m_.Used("a", 2000, 4));
    other_.push_back(m_.Used("b", 2500, 1));
    stream_.push_back(m_.Make(EventType::kUpdated, "a", 3000, {{"name", "renamed"}}));
    stream_.push_back(m_.Make(EventType::kRevoked, "a", 4000, {{"reason", ""}}));
  }
  EventMaker m_;
  std::vector<Event> stream_;
  std::vector<Event> other_;
};

TEST_F(PointInTimeTest, WholeStreamWithoutBounds) {
  auto t = FoldStreamUntil(stream_, std::nullopt, std::nullopt);
  ASSERT_TRUE(t.has_value());
  EXPECT_TRUE(t->revoked);
  EXPECT_EQ(t->name, "renamed");
  EXPECT_EQ(t->credits->remaining, 6);
  EXPECT_EQ(t->version, Version(4));
}

TEST_F(PointInTimeTest, ByPosition) {
  EXPECT_FALSE(FoldStreamUntil(stream_, Position(1), std::nullopt).has_value());
  auto at2 = FoldStreamUntil(stream_, Position(2), std::nullopt);
  ASSERT_TRUE(at2.has_value());
  EXPECT_EQ(at2->credits->remaining, 10);
  auto at4 = FoldStreamUntil(stream_, Position(4), std::nullopt);  // position 4 is b's
  ASSERT_TRUE(at4.has_value());
  EXPECT_EQ(at4->credits->remaining, 6);
  EXPECT_EQ(at4->name, "name-a");
  auto at5 = FoldStreamUntil(stream_, Position(5), std::nullopt);
  EXPECT_EQ(at5->name, "renamed");
  EXPECT_FALSE(at5->revoked);
}

TEST_F(PointInTimeTest, ByTimeInclusive) {
  EXPECT_FALSE(FoldStreamUntil(stream_, std::nullopt, 999).has_value());
  auto at1000 = FoldStreamUntil(stream_, std::nullopt, 1000);
  ASSERT_TRUE(at1000.has_value());
  EXPECT_EQ(at1000->version, Version(1));
  auto at3999 = FoldStreamUntil(stream_, std::nullopt, 3999);
  EXPECT_EQ(at3999->name, "renamed");
  EXPECT_FALSE(at3999->revoked);
  EXPECT_TRUE(FoldStreamUntil(stream_, std::nullopt, 4000)->revoked);
}

TEST_F(PointInTimeTest, BothBoundsTheEarlierWins) {
  auto t = FoldStreamUntil(stream_, Position(6), 2000);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->credits->remaining, 6);
  EXPECT_EQ(t->name, "name-a");
  t = FoldStreamUntil(stream_, Position(3), 10'000);
  EXPECT_EQ(t->name, "name-a");
}

TEST_F(PointInTimeTest, EmptyOrHeadlessStream) {
  EXPECT_FALSE(FoldStreamUntil({}, std::nullopt, std::nullopt).has_value());
  std::vector<Event> headless(stream_.begin() + 1, stream_.end());
  EXPECT_FALSE(FoldStreamUntil(headless, std::nullopt, std::nullopt).has_value());
}

}  // namespace
}  // namespace tl
