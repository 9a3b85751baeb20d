// A copy of a Projection copies its indexes as data (entry numbers) and points
// its entries at its own owners. These tests fail if a copy shares or
// mis-maps anything: they compare every answer a projection gives, and
// mutate one side to check the other.

#include <gtest/gtest.h>

#include <memory>

#include "projections/projection.h"
#include "projections/test_events.h"

namespace tl {
namespace {

using testing::RandomEvents;

Projection Fold(const std::vector<Event>& events, size_t begin, size_t end, Projection p = {}) {
  for (size_t i = begin; i < end; ++i) p.Apply(events[i]);
  return p;
}

Json Ids(const ListPage& page) {
  Json ids = Json::array();
  for (const TokenState* t : page.tokens) ids.push_back(t->id);
  return ids;
}

// Every answer `p` gives at `now`, as one document: the digest, the state,
// lists (whole, paged, per owner, per status), usage (whole, per owner, per
// token) and the digest index.
Json Answers(const Projection& p, int64_t now) {
  Json out;
  out["digest"] = p.Digest();
  out["state"] = p.ToJson();
  const std::vector<std::optional<std::string>> owners = {std::nullopt, "owner0", "owner1",
                                                          "owner2",     "owner3", "nobody"};
  for (const auto& owner : owners) {
    const std::string key = owner.value_or("*");
    auto all = p.List({.owner = owner, .limit = 1000}, now);
    auto active = p.List({.owner = owner, .status = TokenStatus::kActive, .limit = 1000}, now);
    out["list"][key] = {Ids(*all), Ids(*active)};
    ListQuery q{.owner = owner, .limit = 7};
    for (int page = 0; page < 1000; ++page) {
      auto r = p.List(q, now);
      out["pages"][key].push_back(Ids(*r));
      if (r->next_cursor.empty()) break;
      q.cursor = r->next_cursor;
    }
    for (auto bucket : {UsageQuery::Bucket::kHour, UsageQuery::Bucket::kDay}) {
      out["usage"][key].push_back(
          p.Usage({.owner = owner, .from_ms = 0, .to_ms = now + 1, .bucket = bucket}));
    }
  }
  auto all = p.List({.limit = 1000}, now);
  for (const TokenState* t : all->tokens) {
    out["token_usage"][t->id] = p.Usage({.token_id = t->id, .from_ms = 0, .to_ms = now + 1});
    for (const StoredDigest* d : {&t->secret_digest, &t->previous_digest}) {
      bool is_previous = false;
      const TokenState* found = p.FindByDigest(d->Hex(), &is_previous);
      out["by_digest"][d->Hex()] = found ? Json{found->id, is_previous} : Json(nullptr);
    }
  }
  return out;
}

class ProjectionCopyTest : public ::testing::Test {
 protected:
  // The head creates most tokens; the tail uses them (owner totals),
  // regenerates them (digest index) and creates more (by-created lists).
  const std::vector<Event> events_ = RandomEvents(6'000, 5);
  const size_t split_ = 3'000;
  const int64_t now_ = events_.back().time_ms;
  const Json full_ = Answers(Fold(events_, 0, events_.size()), now_);
};

TEST_F(ProjectionCopyTest, ACopyAnswersAsTheOriginal) {
  const Projection p = Fold(events_, 0, events_.size());
  ASSERT_GT(p.token_count(), 200u);
  const Projection constructed(p);
  EXPECT_EQ(Answers(constructed, now_), full_);
  Projection assigned = Fold(events_, 0, split_);  // not empty: replaced
  assigned = p;
  EXPECT_EQ(Answers(assigned, now_), full_);
  const Projection copy_of_copy(constructed);
  EXPECT_EQ(Answers(copy_of_copy, now_), full_);
}

TEST_F(ProjectionCopyTest, FoldingIntoTheCopyLeavesTheOriginal) {
  const Projection original = Fold(events_, 0, split_);
  const Json head = Answers(original, now_);
  Projection copy = original;
  copy = Fold(events_, split_, events_.size(), std::move(copy));
  EXPECT_EQ(Answers(copy, now_), full_);
  EXPECT_EQ(Answers(original, now_), head);
}

TEST_F(ProjectionCopyTest, FoldingIntoTheOriginalLeavesTheCopy) {
  Projection original = Fold(events_, 0, split_);
  const Json head = Answers(original, now_);
  Projection copy;
  copy = original;
  original = Fold(events_, split_, events_.size(), std::move(original));
  EXPECT_EQ(Answers(original, now_), full_);
  EXPECT_EQ(Answers(copy, now_), head);
}

TEST_F(ProjectionCopyTest, ACopyOutlivesItsOriginal) {
  auto original = std::make_unique<Projection>(Fold(events_, 0, split_));
  Projection copy = *original;
  original.reset();
  copy = Fold(events_, split_, events_.size(), std::move(copy));
  EXPECT_EQ(Answers(copy, now_), full_);
}

}  // namespace
}  // namespace tl
