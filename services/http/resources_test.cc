// The JSON views of the API's resources.

#include "services/http/resources.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "projections/test_events.h"

namespace tl {
namespace {

using testing::EventMaker;
using testing::T;

TEST(ResourcesTest, TokenHasExactKeysAndNoDigest) {
  EventMaker m;
  TokenState t;
  const int64_t t0 = T("2026-05-10T08:00:00Z");
  ApplyToToken(
      t, m.Created(
             "tok", t0,
             {{"credits", {{"remaining", 10}, {"refill", {{"amount", 20}, {"interval", "day"}}}}},
              {"rate_limit", {{"limit", 2}, {"window_ms", 60000}}}}));
  ApplyToToken(t, m.Used("tok", t0 + 1000, 4));
  ApplyToToken(t, m.Make(EventType::kRegenerated, "tok", t0 + 2000,
                         {{"secret_digest", "d2"},
                          {"hint", "h2"},
                          {"previous_valid_until", "2026-05-10T09:00:00Z"}}));

  Json r = TokenJson(TokenAt{t, t0 + 5000});
  std::vector<std::string> keys;
  for (auto it = r.begin(); it != r.end(); ++it) keys.push_back(it.key());
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> expected = {"allowed_ips",  "allowed_origins",
                                       "created_at",   "credits",
                                       "description",  "expires_at",
                                       "hint",         "id",
                                       "last_used_at", "meta",
                                       "name",         "owner",
                                       "permissions",  "rate_limit",
                                       "status",       "updated_at",
                                       "version"};
  EXPECT_EQ(keys, expected);
  const std::string text = r.dump();
  EXPECT_EQ(text.find("digest"), std::string::npos);
  EXPECT_EQ(text.find("d2"), std::string::npos);
  EXPECT_EQ(r["status"], "active");
  EXPECT_EQ(r["created_at"], "2026-05-10T08:00:00.000Z");
  EXPECT_EQ(r["updated_at"], "2026-05-10T08:00:02.000Z");
  EXPECT_EQ(r["last_used_at"], "2026-05-10T08:00:01.000Z");
  EXPECT_TRUE(r["expires_at"].is_null());
  EXPECT_EQ(r["credits"],
            (Json{{"remaining", 6}, {"refill", {{"amount", 20}, {"interval", "day"}}}}));
  EXPECT_EQ(r["rate_limit"], (Json{{"limit", 2}, {"window_ms", 60000}}));
  EXPECT_EQ(r["hint"], "h2");
  EXPECT_EQ(r["version"], 3);  // the stream version of the regenerate
  // Read the next day: the balance shown is already refilled.
  Json tomorrow = TokenJson(TokenAt{t, T("2026-05-11T00:00:01Z")});
  EXPECT_EQ(tomorrow["credits"]["remaining"], 20);
  EXPECT_EQ(t.credits->remaining, 6);  // the state itself is untouched by reads

  TokenState unlimited;
  ApplyToToken(unlimited, m.Created("tok2", t0, {{"expires_at", "2026-05-10T09:00:00Z"}}));
  Json u = TokenJson(TokenAt{unlimited, T("2026-05-10T09:00:00Z")});
  EXPECT_TRUE(u["credits"].is_null());
  EXPECT_TRUE(u["rate_limit"].is_null());
  EXPECT_TRUE(u["last_used_at"].is_null());
  EXPECT_EQ(u["expires_at"], "2026-05-10T09:00:00.000Z");
  EXPECT_EQ(u["status"], "expired");
}

// The feeds never carry the digest of a secret; the log's event does.
TEST(ResourcesTest, FeedEventsLeaveOutTheSecretDigest) {
  EventMaker m;
  Event created = m.Created("tok", T("2026-05-10T08:00:00Z"), {{"secret_digest", "d1"}});
  ASSERT_TRUE(EventToJson(created)["data"].contains("secret_digest"));
  const Json served = FeedEventJson(created);
  EXPECT_FALSE(served["data"].contains("secret_digest"));
  EXPECT_EQ(served["data"]["name"], EventToJson(created)["data"]["name"]);
  EXPECT_EQ(TokenEventsJson({created})["events"][0], served);
  EXPECT_EQ(FeedPageJson(FeedPage{{created}, Position(7)}),
            (Json{{"events", {served}}, {"last_position", 7}}));
}

}  // namespace
}  // namespace tl
