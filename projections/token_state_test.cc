#include "projections/token_state.h"

#include <gtest/gtest.h>

#include "projections/test_events.h"

namespace tl {
namespace {

using testing::EventMaker;
using testing::T;

TEST(StoredDigestTest, KeepsHexAsBytesAndAnythingElseAsText) {
  const std::string hex = "00ff" + std::string(58, 'a') + "09";
  StoredDigest d = hex;
  EXPECT_EQ(d.Hex(), hex);
  EXPECT_EQ(d, hex);
  EXPECT_FALSE(d.empty());
  // Not lowercase hex of 64 characters: kept verbatim, equal only to itself.
  std::string upper = hex;
  upper[2] = 'F';
  const StoredDigest u = upper;
  EXPECT_EQ(u.Hex(), upper);
  EXPECT_FALSE(u == d);
  EXPECT_FALSE(d == upper);
  const StoredDigest short_text = "digest-1";
  EXPECT_EQ(short_text.Hex(), "digest-1");
  EXPECT_EQ(short_text, "digest-1");
  EXPECT_FALSE(short_text == "digest-2");
  EXPECT_TRUE(StoredDigest().empty());
  EXPECT_TRUE(StoredDigest("").empty());
  EXPECT_EQ(StoredDigest().Hex(), "");
  // Equal digests hash equally whatever they were built from.
  EXPECT_EQ(StoredDigest(std::string_view(hex)).Hash(), d.Hash());
  EXPECT_EQ(StoredDigest(upper).Hash(), u.Hash());
  // Copies and moves of both kinds.
  StoredDigest copy = u;
  EXPECT_EQ(copy, u);
  StoredDigest moved = std::move(copy);
  EXPECT_EQ(moved.Hex(), upper);
  copy = d;
  EXPECT_EQ(copy, d);
  copy = moved;
  EXPECT_EQ(copy.Hex(), upper);
  copy = StoredDigest();
  EXPECT_TRUE(copy.empty());
}

TEST(TokenStateTest, StatusNames) {
  EXPECT_EQ(TokenStatusName(TokenStatus::kActive), "active");
  EXPECT_EQ(TokenStatusName(TokenStatus::kExpired), "expired");
  EXPECT_EQ(TokenStatusName(TokenStatus::kRevoked), "revoked");
}

TEST(TokenStateTest, StatusAtRevokedWinsThenExpiry) {
  TokenState t;
  EXPECT_EQ(StatusAt(t, 1000), TokenStatus::kActive);
  t.expires_at_ms = 1000;
  EXPECT_EQ(StatusAt(t, 999), TokenStatus::kActive);
  EXPECT_EQ(StatusAt(t, 1000), TokenStatus::kExpired);
  t.revoked = true;
  EXPECT_EQ(StatusAt(t, 1000), TokenStatus::kRevoked);
  EXPECT_EQ(StatusAt(t, 10), TokenStatus::kRevoked);
}

TEST(TokenStateTest, CreatedFoldsEveryField) {
  EventMaker m;
  const int64_t t0 = T("2026-05-10T08:00:00Z");
  TokenState t;
  ApplyToToken(
      t, m.Created(
             "tok_a", t0,
             {{"owner", "org1"},
              {"description", "d"},
              {"permissions", {"read", "write"}},
              {"expires_at", "2026-06-01T00:00:00.000Z"},
              {"credits", {{"remaining", 50}, {"refill", {{"amount", 100}, {"interval", "day"}}}}},
              {"rate_limit", {{"limit", 3}, {"window_ms", 1000}}},
              {"allowed_origins", {"https://a.example"}},
              {"allowed_ips", {"10.0.0.0/8"}},
              {"meta", {{"k", "v"}}}}));
  EXPECT_EQ(t.id, "tok_a");
  EXPECT_EQ(t.owner, "org1");
  EXPECT_EQ(t.name, "name-tok_a");
  EXPECT_EQ(t.description, "d");
  EXPECT_EQ(t.permissions, (std::vector<std::string>{"read", "write"}));
  EXPECT_EQ(t.created_at_ms, t0);
  EXPECT_EQ(t.updated_at_ms, t0);
  EXPECT_EQ(t.expires_at_ms, T("2026-06-01T00:00:00Z"));
  ASSERT_TRUE(t.credits.has_value());
  EXPECT_EQ(t.credits->remaining, 50);
  EXPECT_EQ(t.credits->refill, (Refill{100, RefillInterval::kDay}));
  EXPECT_EQ(t.credits->period_start_ms, T("2026-05-10T00:00:00Z"));
  EXPECT_EQ(t.rate_limit, (RateLimit{3, 1000}));
  EXPECT_EQ(t.allowed_origins, std::vector<std::string>{"https://a.example"});
  EXPECT_EQ(t.allowed_ips, std::vector<std::string>{"10.0.0.0/8"});
  EXPECT_EQ(t.meta, (Json{{"k", "v"}}));
  EXPECT_EQ(t.prefix, "tl");
  EXPECT_EQ(t.hint, "tl_...abcd");
  EXPECT_EQ(t.secret_digest, "digest-tok_a");
  EXPECT_EQ(t.version, Version(1));
  EXPECT_EQ(t.stream_version, Version(1));
  EXPECT_FALSE(t.revoked);
  EXPECT_FALSE(t.last_used_at_ms.has_value());
}

TEST(TokenStateTest, UpdatedChangesOnlyGivenFields) {
  EventMaker m;
  TokenState t;
  ApplyToToken(t, m.Created("tok", 1000, {{"rate_limit", {{"limit", 5}, {"window_ms", 100}}}}));
  ApplyToToken(t, m.Make(EventType::kUpdated, "tok", 2000,
                         {{"name", "new"},
                          {"expires_at", "2030-01-01T00:00:00Z"},
                          {"allowed_ips", {"1.2.3.4/32"}},
                          {"meta", {{"a", 1}}}}));
  EXPECT_EQ(t.name, "new");
  EXPECT_EQ(t.description, "");
  EXPECT_EQ(t.expires_at_ms, T("2030-01-01T00:00:00Z"));
  EXPECT_EQ(t.allowed_ips, std::vector<std::string>{"1.2.3.4/32"});
  EXPECT_TRUE(t.allowed_origins.empty());
  EXPECT_EQ(t.meta, (Json{{"a", 1}}));
  EXPECT_EQ(t.rate_limit, (RateLimit{5, 100}));
  EXPECT_EQ(t.version, Version(2));
  EXPECT_EQ(t.updated_at_ms, 2000);

  ApplyToToken(t, m.Make(EventType::kUpdated, "tok", 3000,
                         {{"expires_at", nullptr}, {"rate_limit", nullptr}, {"description", "x"}}));
  EXPECT_FALSE(t.expires_at_ms.has_value());
  EXPECT_FALSE(t.rate_limit.has_value());
  EXPECT_EQ(t.description, "x");
  EXPECT_EQ(t.version, Version(3));
}

TEST(TokenStateTest, UpdatedRefillCreatesOrChangesCredits) {
  EventMaker m;
  TokenState t;
  const int64_t t0 = T("2026-05-10T08:00:00Z");
  ApplyToToken(t, m.Created("tok", t0));
  EXPECT_FALSE(t.credits.has_value());
  ApplyToToken(t, m.Make(EventType::kUpdated, "tok", t0 + 1,
                         {{"refill", {{"amount", 10}, {"interval", "month"}}}}));
  ASSERT_TRUE(t.credits.has_value());
  EXPECT_EQ(t.credits->remaining, 10);
  EXPECT_EQ(t.credits->refill, (Refill{10, RefillInterval::kMonth}));
  EXPECT_EQ(t.credits->period_start_ms, T("2026-05-01T00:00:00Z"));

  ApplyToToken(t, m.Used("tok", t0 + 2, 4));
  ApplyToToken(t, m.Make(EventType::kUpdated, "tok", t0 + 3, {{"refill", nullptr}}));
  ASSERT_TRUE(t.credits.has_value());
  EXPECT_EQ(t.credits->remaining, 6);  // balance kept, refill gone
  EXPECT_FALSE(t.credits->refill.has_value());
  // Without a refill nothing rolls over, even months later.
  ApplyToToken(t, m.Used("tok", T("2026-09-01T00:00:00Z"), 1));
  EXPECT_EQ(t.credits->remaining, 5);
}

TEST(TokenStateTest, PermissionsChanged) {
  EventMaker m;
  TokenState t;
  ApplyToToken(t, m.Created("tok", 1));
  ApplyToToken(t, m.Make(EventType::kPermissionsChanged, "tok", 2,
                         {{"permissions", {"admin"}}, {"previous", {"read"}}}));
  EXPECT_EQ(t.permissions, std::vector<std::string>{"admin"});
  EXPECT_EQ(t.version, Version(2));
  EXPECT_EQ(t.updated_at_ms, 2);
}

TEST(TokenStateTest, RegeneratedKeepsPreviousDigest) {
  EventMaker m;
  TokenState t;
  ApplyToToken(t, m.Created("tok", 1));
  ApplyToToken(t, m.Make(EventType::kRegenerated, "tok", T("2026-01-01T00:00:00Z"),
                         {{"secret_digest", "new-digest"},
                          {"hint", "tl_...wxyz"},
                          {"previous_valid_until", "2026-01-01T01:00:00.000Z"}}));
  EXPECT_EQ(t.secret_digest, "new-digest");
  EXPECT_EQ(t.previous_digest, "digest-tok");
  EXPECT_EQ(t.previous_valid_until_ms, T("2026-01-01T01:00:00Z"));
  EXPECT_EQ(t.hint, "tl_...wxyz");
  EXPECT_EQ(t.version, Version(2));
}

TEST(TokenStateTest, UsedDoesNotMoveVersionAndNeverGoesBelowZero) {
  EventMaker m;
  TokenState t;
  ApplyToToken(t, m.Created("tok", 1000, {{"credits", {{"remaining", 5}, {"refill", nullptr}}}}));
  ApplyToToken(t, m.Used("tok", 2000, 3));
  EXPECT_EQ(t.credits->remaining, 2);
  EXPECT_EQ(t.last_used_at_ms, 2000);
  EXPECT_EQ(t.version, Version(1));
  EXPECT_EQ(t.stream_version, Version(2));
  EXPECT_EQ(t.updated_at_ms, 1000);
  ApplyToToken(t, m.Used("tok", 3000, 7));
  EXPECT_EQ(t.credits->remaining, 0);
  EXPECT_TRUE(t.recent_uses.empty());  // no rate limit: nothing recorded
}

TEST(TokenStateTest, UsedOnUnlimitedTokenKeepsUnlimited) {
  EventMaker m;
  TokenState t;
  ApplyToToken(t, m.Created("tok", 1000));
  ApplyToToken(t, m.Used("tok", 2000, 3));
  EXPECT_FALSE(t.credits.has_value());
}

TEST(TokenStateTest, UseDeniedChangesOnlyStreamVersion) {
  EventMaker m;
  TokenState t;
  ApplyToToken(t, m.Created("tok", 1000, {{"credits", {{"remaining", 5}, {"refill", nullptr}}}}));
  TokenState before = t;
  ApplyToToken(t, m.Denied("tok", 2000, "USAGE_EXCEEDED"));
  before.stream_version = Version(2);
  EXPECT_EQ(t, before);
}

TEST(TokenStateTest, RevokedAndCreditsAdjusted) {
  EventMaker m;
  TokenState t;
  const int64_t t0 = T("2026-05-10T08:00:00Z");
  ApplyToToken(t, m.Created("tok", t0));
  ApplyToToken(t,
               m.Make(EventType::kCreditsAdjusted, "tok", t0 + 1, {{"set", 40}, {"balance", 40}}));
  ASSERT_TRUE(t.credits.has_value());
  EXPECT_EQ(t.credits->remaining, 40);
  EXPECT_FALSE(t.credits->refill.has_value());
  EXPECT_EQ(t.version, Version(2));
  ApplyToToken(t,
               m.Make(EventType::kCreditsAdjusted, "tok", t0 + 2, {{"add", -5}, {"balance", 35}}));
  EXPECT_EQ(t.credits->remaining, 35);
  ApplyToToken(t, m.Make(EventType::kRevoked, "tok", t0 + 3, {{"reason", "leak"}}));
  EXPECT_TRUE(t.revoked);
  EXPECT_EQ(t.version, Version(4));
  EXPECT_EQ(t.updated_at_ms, t0 + 3);
  EXPECT_EQ(StatusAt(t, t0 + 3), TokenStatus::kRevoked);
}

TEST(TokenStateTest, DailyRefillRollsAtUtcMidnight) {
  EventMaker m;
  TokenState t;
  ApplyToToken(
      t, m.Created("tok", T("2026-05-10T08:00:00Z"),
                   {{"credits",
                     {{"remaining", 10}, {"refill", {{"amount", 10}, {"interval", "day"}}}}}}));
  ApplyToToken(t, m.Used("tok", T("2026-05-10T23:59:59.999Z"), 9));
  EXPECT_EQ(t.credits->remaining, 1);
  ApplyToToken(t, m.Used("tok", T("2026-05-11T00:00:00Z"), 3));
  EXPECT_EQ(t.credits->remaining, 7);  // refilled to 10, then 3 spent
  EXPECT_EQ(t.credits->period_start_ms, T("2026-05-11T00:00:00Z"));
  // Skipping several days refills once, to the amount (no accumulation).
  ApplyToToken(t, m.Used("tok", T("2026-05-20T10:00:00Z"), 0));
  EXPECT_EQ(t.credits->remaining, 10);
}

TEST(TokenStateTest, MonthlyRefillRollsAtMonthStart) {
  EventMaker m;
  TokenState t;
  ApplyToToken(
      t, m.Created("tok", T("2026-01-31T12:00:00Z"),
                   {{"credits",
                     {{"remaining", 100}, {"refill", {{"amount", 100}, {"interval", "month"}}}}}}));
  ApplyToToken(t, m.Used("tok", T("2026-01-31T23:00:00Z"), 60));
  ApplyToToken(t, m.Used("tok", T("2026-01-31T23:59:59.999Z"), 30));
  EXPECT_EQ(t.credits->remaining, 10);
  ApplyToToken(t, m.Used("tok", T("2026-02-01T00:00:00Z"), 1));
  EXPECT_EQ(t.credits->remaining, 99);
  ApplyToToken(t, m.Used("tok", T("2026-02-28T23:59:59Z"), 1));
  EXPECT_EQ(t.credits->remaining, 98);
  // The credits_adjusted event rolls first, then sets the balance.
  ApplyToToken(t, m.Make(EventType::kCreditsAdjusted, "tok", T("2026-03-02T00:00:00Z"),
                         {{"add", 5}, {"balance", 105}}));
  EXPECT_EQ(t.credits->remaining, 105);
  EXPECT_EQ(t.credits->period_start_ms, T("2026-03-01T00:00:00Z"));
}

TEST(TokenStateTest, RollCreditsIsPureOnReads) {
  Credits c{3, Refill{10, RefillInterval::kDay}, T("2026-05-10T00:00:00Z")};
  Credits same_day = c;
  RollCredits(same_day, T("2026-05-10T22:00:00Z"));
  EXPECT_EQ(same_day, c);
  RollCredits(c, T("2026-05-12T01:00:00Z"));
  EXPECT_EQ(c.remaining, 10);
  EXPECT_EQ(c.period_start_ms, T("2026-05-12T00:00:00Z"));
  Credits no_refill{3, std::nullopt, 0};
  RollCredits(no_refill, T("2030-01-01T00:00:00Z"));
  EXPECT_EQ(no_refill.remaining, 3);
}

TEST(TokenStateTest, RateWindowTrim) {
  EventMaker m;
  TokenState t;
  ApplyToToken(t, m.Created("tok", 0, {{"rate_limit", {{"limit", 10}, {"window_ms", 1000}}}}));
  for (int64_t ms : {100, 500, 900, 1100}) ApplyToToken(t, m.Used("tok", ms, 0));
  // Window at 1100 is (100, 1100]: the use at exactly 100 has left it.
  EXPECT_EQ(t.recent_uses, (std::vector<int64_t>{500, 900, 1100}));
  ApplyToToken(t, m.Used("tok", 2000, 0));
  EXPECT_EQ(t.recent_uses, (std::vector<int64_t>{1100, 2000}));
  TrimRecentUses(t, 5000);
  EXPECT_TRUE(t.recent_uses.empty());
  // Shrinking the window through token.updated trims at the event time.
  for (int64_t ms : {6000, 6500, 6900}) ApplyToToken(t, m.Used("tok", ms, 0));
  ApplyToToken(t, m.Make(EventType::kUpdated, "tok", 7000,
                         {{"rate_limit", {{"limit", 10}, {"window_ms", 200}}}}));
  EXPECT_EQ(t.recent_uses, (std::vector<int64_t>{6900}));
}

}  // namespace
}  // namespace tl
