#include "projections/usage_series.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <tuple>
#include <vector>

namespace tl {
namespace {

using Key = std::pair<int32_t, uint32_t>;  // (hour, kind): kind 0 counters, c + 1 code c
using Counts = std::pair<uint32_t, int64_t>;

std::map<Key, Counts> Contents(const UsageSeries& s) {
  std::map<Key, Counts> out;
  int32_t last_hour = INT32_MIN;
  s.ForEachHour([&](const UsageSeries::Hour& h) {
    EXPECT_GT(h.hour, last_hour);
    last_hour = h.hour;
    out[{h.hour, 0}] = {h.uses, h.credits_spent};
  });
  Key last{INT32_MIN, 0};
  s.ForEachDenial([&](const UsageSeries::Denial& d) {
    const Key k{d.hour, d.code + 1u};
    EXPECT_LT(last, k);
    last = k;
    out[k] = {d.n, 0};
  });
  return out;
}

// Against a map, with hours mostly rising (as a replay adds them), sometimes
// repeating, sometimes going back, and values of every varint length.
TEST(UsageSeriesTest, MatchesAMapWhateverTheOrder) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 200; ++round) {
    UsageSeries s;
    std::map<Key, Counts> want;
    int32_t hour = static_cast<int32_t>(rng() % 2'000'000) - 1'000'000;
    const int adds = 1 + static_cast<int>(rng() % 300);
    for (int i = 0; i < adds; ++i) {
      const int roll = static_cast<int>(rng() % 10);
      if (roll < 3) hour += 1 + static_cast<int32_t>(rng() % (roll == 0 ? 100'000 : 3));
      const int32_t at = roll == 9 ? hour - static_cast<int32_t>(rng() % 50) : hour;
      const uint32_t count = rng() % 4 == 0 ? static_cast<uint32_t>(rng()) : 1;
      if (rng() % 3 == 0) {
        const auto code = static_cast<uint16_t>(rng() % 6);
        s.AddDenial(at, code, count);
        want[{at, code + 1u}].first += count;
      } else {
        const int64_t credits = rng() % 5 == 0 ? static_cast<int64_t>(rng() >> 12) - (1LL << 50)
                                               : static_cast<int64_t>(rng() % 4);
        s.AddHour(at, count, credits);
        auto& w = want[{at, 0}];
        w.first += count;
        w.second += credits;
      }
    }
    ASSERT_EQ(Contents(s), want) << "round " << round;
    UsageSeries copy(s);
    EXPECT_EQ(Contents(copy), want);
    UsageSeries moved(std::move(copy));
    EXPECT_EQ(Contents(moved), want);
    copy = moved;
    EXPECT_EQ(Contents(copy), want);
  }
}

TEST(UsageSeriesTest, EmptyHasNothing) {
  UsageSeries s;
  EXPECT_TRUE(Contents(s).empty());
  EXPECT_EQ(s.prefetch_address(), nullptr);
  UsageSeries copy(s);
  EXPECT_TRUE(Contents(copy).empty());
}

TEST(UsageSeriesTest, CreditsSaturateAtTheInt64Limits) {
  UsageSeries s;
  s.AddHour(10, 1, INT64_MAX - 5);
  s.AddHour(10, 1, 10);
  s.AddHour(12, 1, INT64_MAX);
  s.AddHour(11, 1, 7);  // out of order: rewrites the block after it
  s.AddHour(12, 1, 1);
  std::map<Key, Counts> want = {
      {{10, 0}, {2, INT64_MAX}}, {{11, 0}, {1, 7}}, {{12, 0}, {2, INT64_MAX}}};
  EXPECT_EQ(Contents(s), want);
  EXPECT_EQ(SaturatingAdd(INT64_MIN, -1), INT64_MIN);
  EXPECT_EQ(SaturatingAdd(-5, 3), -2);
}

}  // namespace
}  // namespace tl
