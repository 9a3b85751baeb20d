#include "events/stream_index.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace tl {
namespace {

// Ids of lengths 1 to ~100, inline and in long_ids_; every other one differs
// from another only in its last characters.
std::string IdOf(size_t i) {
  if (i % 2 == 0) return std::to_string(i) + "_" + std::string(i % 97, 'x');
  return std::string(i % 97, 'y') + "_" + std::to_string(i);
}

// Every id of one length has the same full hash: each lookup must tell the
// streams apart by their ids, across long probe runs.
size_t LengthHash(std::string_view id) { return id.size() * 0x9E3779B97F4A7C15ull; }

std::vector<Position> All(const StreamIndex& index, uint32_t ref) {
  return index.Positions(ref, Version(0), SIZE_MAX, Position(UINT64_MAX));
}

// Open's sequence (scan with version checks, then FinishRecovery), then
// appends, against a plain map; enough streams for several rehashes and
// entry blocks.
void CheckAgainstAModel(StreamIndex::Hasher hash, size_t streams) {
  StreamIndex index(hash);
  std::map<std::string, std::vector<Position>> model;
  std::mt19937_64 rng(7);
  uint64_t p = 0;
  // Every stream at least once, then random ones.
  for (size_t i = 0; i < streams * 3; ++i) {
    const std::string id = IdOf(i < streams ? i : rng() % streams);
    const uint32_t ref = index.FindOrAdd(id);
    ASSERT_NE(ref, 0u);
    Version& v = index.mutable_version(ref);
    ASSERT_EQ(v.value(), model[id].size()) << id;
    v = v.next();
    index.AddRecovered(ref, Position(++p));
    model[id].push_back(Position(p));
  }
  index.FinishRecovery();
  ASSERT_EQ(index.size(), streams);
  for (size_t i = 0; i < streams * 2; ++i) {
    const std::string id = IdOf(rng() % (streams + streams / 10));  // some new streams
    const uint32_t ref = index.FindOrAdd(id);
    index.Append(ref, Position(++p));
    model[id].push_back(Position(p));
  }
  ASSERT_EQ(index.size(), model.size());
  EXPECT_EQ(index.Find("never"), 0u);
  EXPECT_EQ(index.Find(IdOf(0) + "x"), 0u);
  for (const auto& [id, positions] : model) {
    const uint32_t ref = index.Find(id);
    ASSERT_NE(ref, 0u) << id;
    EXPECT_EQ(index.FindOrAdd(id), ref);
    EXPECT_EQ(index.version(ref).value(), positions.size()) << id;
    ASSERT_EQ(All(index, ref), positions) << id;
    // A window across the recovered and appended parts, and a cut at `upto`.
    const size_t after = positions.size() / 2;
    std::vector<Position> window(
        positions.begin() + static_cast<long>(after),
        positions.begin() + static_cast<long>(std::min(after + 3, positions.size())));
    EXPECT_EQ(index.Positions(ref, Version(after), 3, Position(UINT64_MAX)), window) << id;
    std::vector<Position> upto;
    for (Position q : positions) {
      if (q > positions[after]) break;
      upto.push_back(q);
    }
    EXPECT_EQ(index.Positions(ref, Version(0), SIZE_MAX, positions[after]), upto) << id;
  }
}

TEST(StreamIndexTest, MatchesAMapThroughRecoveryAndAppends) {
  CheckAgainstAModel(StreamIndex::DefaultHash, 10'000);
}

TEST(StreamIndexTest, TellsStreamsWithEqualHashesApart) { CheckAgainstAModel(LengthHash, 3'000); }

TEST(StreamIndexTest, EmptyAndOpenedEmpty) {
  StreamIndex index;
  index.FinishRecovery();
  EXPECT_EQ(index.Find("tok_a"), 0u);
  index.Prefetch("tok_a");
  index.Prefetch("");
  const uint32_t ref = index.FindOrAdd("tok_a");
  EXPECT_EQ(index.version(ref), Version(0));
  EXPECT_TRUE(All(index, ref).empty());
  index.Append(ref, Position(1));
  EXPECT_EQ(index.version(ref), Version(1));
  EXPECT_EQ(All(index, ref), std::vector<Position>{Position(1)});
  EXPECT_EQ(index.Positions(ref, Version(0), 5, Position(0)), std::vector<Position>{});
}

}  // namespace
}  // namespace tl
