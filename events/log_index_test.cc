#include "events/log_index.h"

#include <gtest/gtest.h>

namespace tl {
namespace {

TEST(LogIndex, LocationsByPosition) {
  LogIndex index;
  EXPECT_EQ(index.positions(), 0u);
  index.AddLocation(0, 20);
  index.AddLocation(0, 310);
  index.AddLocation(3, (1ull << 32) - 1);
  EXPECT_EQ(index.positions(), 3u);
  EXPECT_EQ(index.Location(Position(1)).segment, 0u);
  EXPECT_EQ(index.Location(Position(2)).offset, 310u);
  EXPECT_EQ(index.Location(Position(3)).segment, 3u);
  EXPECT_EQ(index.Location(Position(3)).offset, (1ull << 32) - 1);
}

TEST(LogIndex, AKeyKeepsItsFirstAppend) {
  LogIndex index;
  EXPECT_EQ(index.FindKey("k"), nullptr);
  index.RememberKey("k", KeyedAppend{Position(4), Position(6), Version(3)});
  index.RememberKey("k", KeyedAppend{Position(9), Position(9), Version(4)});
  const KeyedAppend* first = index.FindKey("k");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->first, Position(4));
  EXPECT_EQ(first->last, Position(6));
  EXPECT_EQ(first->stream_version, Version(3));
}

TEST(LogIndex, RecoveredKeySpansEveryEventThatCarriedIt) {
  LogIndex index;
  index.RecoverKey("k", Position(7), Version(1));
  index.RecoverKey("k", Position(8), Version(2));
  index.RecoverKey("other", Position(9), Version(1));
  const KeyedAppend* k = index.FindKey("k");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->first, Position(7));
  EXPECT_EQ(k->last, Position(8));
  EXPECT_EQ(k->stream_version, Version(2));
  EXPECT_EQ(index.key_count(), 2u);
}

TEST(LogIndex, DropAfterForgetsLocationsStreamsAndKeysTogether) {
  LogIndex index;
  StreamIndex& streams = index.streams();
  streams.FinishRecovery();
  const uint32_t a = streams.FindOrAdd("tok_a");
  const uint32_t b = streams.FindOrAdd("tok_b");
  for (uint64_t p = 1; p <= 4; ++p) {
    index.AddLocation(0, 100 * p);
    streams.Append(p % 2 == 1 ? a : b, Position(p));
  }
  index.RememberKey("early", KeyedAppend{Position(2), Position(2), Version(1)});
  index.RememberKey("late", KeyedAppend{Position(3), Position(4), Version(2)});
  EXPECT_EQ(index.StreamVersion("tok_a"), Version(2));

  index.DropAfter(Position(2));
  EXPECT_EQ(index.positions(), 2u);
  EXPECT_EQ(index.Location(Position(2)).offset, 200u);
  EXPECT_EQ(index.StreamVersion("tok_a"), Version(1));
  EXPECT_EQ(index.StreamVersion("tok_b"), Version(1));
  EXPECT_EQ(index.StreamVersion("tok_c"), Version(0));
  EXPECT_NE(index.FindKey("early"), nullptr);
  EXPECT_EQ(index.FindKey("late"), nullptr);
}

}  // namespace
}  // namespace tl
