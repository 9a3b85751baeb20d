#include "events/hash_index.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

namespace tl {
namespace {

constexpr size_t kHigh = size_t{1} << 40;

// Against a multimap, with few distinct hashes (long probe runs, equal
// hashes) and hashes that differ only above the low 32 bits.
TEST(HashIndexTest, MatchesAMultimapThroughInsertsAndErases) {
  std::mt19937_64 rng(5);
  HashIndex index;
  std::multimap<size_t, uint32_t> want;
  uint32_t next_ref = 1;
  for (int step = 0; step < 200'000; ++step) {
    const size_t hash = (rng() % 500) * 0x9E3779B97F4A7C15ull + (rng() % 2 ? 0 : kHigh);
    if (want.empty() || rng() % 3 != 0) {
      index.Insert(hash, next_ref);
      want.emplace(hash, next_ref++);
    } else {
      auto it = want.begin();
      std::advance(it, static_cast<long>(rng() % std::min<size_t>(want.size(), 50)));
      EXPECT_TRUE(index.Erase(it->first, it->second));
      EXPECT_FALSE(index.Erase(it->first, 0xFFFFFFFF));
      want.erase(it);
    }
    ASSERT_EQ(index.size(), want.size());
    if (step % 97 == 0) {
      std::set<uint32_t> found, expected;
      index.Find(hash, [&](uint32_t ref) {
        found.insert(ref);
        return false;
      });
      // Only the low 32 bits are kept: keys that differ above them are
      // offered too, and the caller tells them apart.
      for (const auto& [h, ref] : want) {
        if (static_cast<uint32_t>(h) == static_cast<uint32_t>(hash)) expected.insert(ref);
      }
      ASSERT_EQ(found, expected) << "step " << step;
    }
  }
}

TEST(HashIndexTest, EmptyFindsNothing) {
  HashIndex index;
  EXPECT_EQ(index.Peek(42), 0u);
  EXPECT_FALSE(index.Erase(42, 1));
  index.Prefetch(42);
  index.Insert(42, 7);
  EXPECT_EQ(index.Peek(42), 7u);
  index.Clear();
  EXPECT_EQ(index.Peek(42), 0u);
}

}  // namespace
}  // namespace tl
