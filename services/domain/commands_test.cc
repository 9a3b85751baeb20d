#include "services/domain/commands.h"

#include <gtest/gtest.h>

#include "events/time_format.h"

namespace tl {
namespace {

constexpr int64_t kNow = 1'790'000'000'000;  // 2026-09-21
constexpr int64_t kDay = 86'400'000;

Json J(const char* text) { return Json::parse(text); }

// Expects `r` to fail with kInvalidArgument on `field`.
template <typename T>
void ExpectInvalid(const Result<T>& r, const std::string& field, const std::string& context) {
  ASSERT_FALSE(r.ok()) << context;
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << context;
  EXPECT_EQ(r.error().field, field) << context << ": " << r.error().message;
  EXPECT_FALSE(r.error().message.empty()) << context;
}

TEST(ParseCreateTokenTest, MinimalBodyGetsDefaults) {
  auto c = ParseCreateToken(J(R"({"name": "ci"})"), kNow);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->name, "ci");
  EXPECT_EQ(c->description, "");
  EXPECT_EQ(c->owner, std::nullopt);
  EXPECT_TRUE(c->permissions.empty());
  EXPECT_EQ(c->expires_at_ms, std::nullopt);
  EXPECT_EQ(c->credits, std::nullopt);
  EXPECT_EQ(c->rate_limit, std::nullopt);
  EXPECT_EQ(c->prefix, "tl");
  EXPECT_EQ(c->meta, Json::object());
}

TEST(ParseCreateTokenTest, FullBody) {
  auto c = ParseCreateToken(J(R"({
      "name": "Reporting ✓", "description": "line 1\nline 2", "owner": "acme",
      "permissions": ["datasets/sales:read", "reports:*", "reports:*"],
      "expires_in": "30d",
      "credits": {"remaining": 50, "refill": {"amount": 100, "interval": "month"}},
      "rate_limit": {"limit": 10, "window_ms": 60000},
      "allowed_origins": ["https://app.example.com", "*.example.org"],
      "allowed_ips": ["10.1.2.3/8", "2001:db8::1"],
      "prefix": "acme1", "meta": {"team": "bi", "n": [1, 2]}})"),
                            kNow);
  ASSERT_TRUE(c.ok()) << c.error().field << ": " << c.error().message;
  EXPECT_EQ(c->name, "Reporting ✓");
  EXPECT_EQ(c->owner, "acme");
  EXPECT_EQ(c->permissions, (std::vector<std::string>{"datasets/sales:read", "reports:*"}));
  EXPECT_EQ(c->expires_at_ms, kNow + 30 * kDay);
  ASSERT_TRUE(c->credits);
  EXPECT_EQ(c->credits->remaining, 50);
  EXPECT_EQ(c->credits->refill, (Refill{100, RefillInterval::kMonth}));
  EXPECT_EQ(c->rate_limit, (RateLimit{10, 60000}));
  EXPECT_EQ(c->allowed_origins,
            (std::vector<std::string>{"https://app.example.com", "*.example.org"}));
  EXPECT_EQ(c->allowed_ips, (std::vector<std::string>{"10.0.0.0/8", "2001:db8::1/128"}));
  EXPECT_EQ(c->prefix, "acme1");
  EXPECT_EQ(c->meta["team"], "bi");
}

TEST(ParseCreateTokenTest, CreditShapesAndPresets) {
  auto bare = ParseCreateToken(J(R"({"name": "x", "credits": 7})"), kNow);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->credits, (CreditsSpec{7, std::nullopt}));
  auto zero = ParseCreateToken(J(R"({"name": "x", "credits": 0})"), kNow);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero->credits, (CreditsSpec{0, std::nullopt}));
  auto unlimited = ParseCreateToken(J(R"({"name": "x", "credits": null})"), kNow);
  ASSERT_TRUE(unlimited.ok());
  EXPECT_EQ(unlimited->credits, std::nullopt);
  auto refill_only = ParseCreateToken(
      J(R"({"name": "x", "credits": {"refill": {"amount": 5, "interval": "day"}}})"), kNow);
  ASSERT_TRUE(refill_only.ok());
  EXPECT_EQ(refill_only->credits, (CreditsSpec{5, Refill{5, RefillInterval::kDay}}));
  auto no_refill =
      ParseCreateToken(J(R"({"name": "x", "credits": {"remaining": 3, "refill": null}})"), kNow);
  ASSERT_TRUE(no_refill.ok());
  EXPECT_EQ(no_refill->credits, (CreditsSpec{3, std::nullopt}));

  auto ro = ParseCreateToken(J(R"({"name": "x", "preset": "read-only"})"), kNow);
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ(ro->permissions, std::vector<std::string>{"*:read"});
  auto fa = ParseCreateToken(J(R"({"name": "x", "preset": "full-access"})"), kNow);
  ASSERT_TRUE(fa.ok());
  EXPECT_EQ(fa->permissions, std::vector<std::string>{"*:*"});
}

TEST(ParseCreateTokenTest, Expiry) {
  const struct {
    const char* in;
    int64_t ms;
  } durations[] = {{"7d", 7 * kDay},
                   {"90d", 90 * kDay},
                   {"1h", 3'600'000},
                   {"15m", 900'000},
                   {"999999m", 999'999 * 60'000LL}};
  for (const auto& d : durations) {
    Json body = {{"name", "x"}, {"expires_in", d.in}};
    auto c = ParseCreateToken(body, kNow);
    ASSERT_TRUE(c.ok()) << d.in;
    EXPECT_EQ(c->expires_at_ms, kNow + d.ms) << d.in;
  }
  auto at = ParseCreateToken(J(R"({"name": "x", "expires_at": "2030-01-31T12:00:00Z"})"), kNow);
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(at->expires_at_ms, ParseRfc3339("2030-01-31T12:00:00Z"));
  auto never = ParseCreateToken(J(R"({"name": "x", "expires_at": null})"), kNow);
  ASSERT_TRUE(never.ok());
  EXPECT_EQ(never->expires_at_ms, std::nullopt);
  // One millisecond in the future is the future.
  Json soon = {{"name", "x"}, {"expires_at", FormatRfc3339Ms(kNow + 1)}};
  EXPECT_TRUE(ParseCreateToken(soon, kNow).ok());
}

TEST(ParseCreateTokenTest, EveryErrorNamesItsField) {
  const std::string long201(201, 'n');
  const std::string long2001(2001, 'd');
  const std::string big_meta = R"({"k": ")" + std::string(4100, 'v') + R"("})";
  std::string many_perms = "[";
  for (int i = 0; i < 101; ++i) many_perms += (i ? "," : "") + ("\"r" + std::to_string(i) + ":a\"");
  many_perms += "]";
  std::string many_ips = "[";
  for (int i = 0; i < 101; ++i)
    many_ips += (i ? "," : "") + ("\"10.0.0." + std::to_string(i) + "\"");
  many_ips += "]";
  const struct {
    std::string body;
    std::string field;
  } cases[] = {
      {R"([])", ""},
      {R"("name")", ""},
      {R"({})", "name"},
      {R"({"name": ""})", "name"},
      {R"({"name": 5})", "name"},
      {R"({"name": null})", "name"},
      {R"({"name": ")" + long201 + R"("})", "name"},
      {R"({"name": "a\tb"})", "name"},
      {R"({"name": "x", "nmae": "typo"})", "nmae"},
      {R"({"name": "x", "description": ")" + long2001 + R"("})", "description"},
      {R"({"name": "x", "description": 1})", "description"},
      {R"({"name": "x", "owner": ""})", "owner"},
      {R"({"name": "x", "owner": ["a"]})", "owner"},
      {R"({"name": "x", "preset": "read-only", "permissions": []})", "preset"},
      {R"({"name": "x", "preset": "root"})", "preset"},
      {R"({"name": "x", "preset": 1})", "preset"},
      {R"({"name": "x", "permissions": "a:b"})", "permissions"},
      {R"({"name": "x", "permissions": ["a:b", "nocolon"]})", "permissions[1]"},
      {R"({"name": "x", "permissions": ["a:b", 7]})", "permissions[1]"},
      {R"({"name": "x", "permissions": ["a:b:c"]})", "permissions[0]"},
      {R"({"name": "x", "permissions": ["a:b", "*a*b*c*:*"]})", "permissions[1]"},
      {R"({"name": "x", "permissions": )" + many_perms + "}", "permissions"},
      {R"({"name": "x", "expires_in": "7d", "expires_at": "2030-01-01T00:00:00Z"})", "expires_at"},
      {R"({"name": "x", "expires_in": "0d"})", "expires_in"},
      {R"({"name": "x", "expires_in": "7"})", "expires_in"},
      {R"({"name": "x", "expires_in": "7w"})", "expires_in"},
      {R"({"name": "x", "expires_in": "-7d"})", "expires_in"},
      {R"({"name": "x", "expires_in": "d"})", "expires_in"},
      {R"({"name": "x", "expires_in": "1000000d"})", "expires_in"},
      {R"({"name": "x", "expires_in": 7})", "expires_in"},
      {R"({"name": "x", "expires_at": "2020-01-01T00:00:00Z"})", "expires_at"},
      {R"({"name": "x", "expires_at": "tomorrow"})", "expires_at"},
      {R"({"name": "x", "expires_at": 1790000000000})", "expires_at"},
      {R"({"name": "x", "credits": -1})", "credits"},
      {R"({"name": "x", "credits": 1.5})", "credits"},
      {R"({"name": "x", "credits": "10"})", "credits"},
      {R"({"name": "x", "credits": true})", "credits"},
      {R"({"name": "x", "credits": 1000000000000001})", "credits"},
      {R"({"name": "x", "credits": 18446744073709551615})", "credits"},
      {R"({"name": "x", "credits": {}})", "credits.remaining"},
      {R"({"name": "x", "credits": {"remaining": -1}})", "credits.remaining"},
      {R"({"name": "x", "credits": {"remaining": 1, "extra": 1}})", "credits.extra"},
      {R"({"name": "x", "credits": {"remaining": 1, "refill": 5}})", "credits.refill"},
      {R"({"name": "x", "credits": {"refill": {"interval": "day"}}})", "credits.refill.amount"},
      {R"({"name": "x", "credits": {"refill": {"amount": 0, "interval": "day"}}})",
       "credits.refill.amount"},
      {R"({"name": "x", "credits": {"refill": {"amount": 1}}})", "credits.refill.interval"},
      {R"({"name": "x", "credits": {"refill": {"amount": 1, "interval": "week"}}})",
       "credits.refill.interval"},
      {R"({"name": "x", "credits": {"refill": {"amount": 1, "interval": "day", "x": 1}}})",
       "credits.refill.x"},
      {R"({"name": "x", "rate_limit": 10})", "rate_limit"},
      {R"({"name": "x", "rate_limit": {"window_ms": 1000}})", "rate_limit.limit"},
      {R"({"name": "x", "rate_limit": {"limit": 0, "window_ms": 1000}})", "rate_limit.limit"},
      {R"({"name": "x", "rate_limit": {"limit": 1000001, "window_ms": 1000}})", "rate_limit.limit"},
      {R"({"name": "x", "rate_limit": {"limit": 1}})", "rate_limit.window_ms"},
      {R"({"name": "x", "rate_limit": {"limit": 1, "window_ms": 0}})", "rate_limit.window_ms"},
      {R"({"name": "x", "rate_limit": {"limit": 1, "window_ms": 86400001}})",
       "rate_limit.window_ms"},
      {R"({"name": "x", "rate_limit": {"limit": 1, "window_ms": 10, "burst": 2}})",
       "rate_limit.burst"},
      {R"({"name": "x", "allowed_origins": "app.example.com"})", "allowed_origins"},
      {R"({"name": "x", "allowed_origins": ["ok.com", "bad host"]})", "allowed_origins[1]"},
      {R"({"name": "x", "allowed_origins": [1]})", "allowed_origins[0]"},
      {R"({"name": "x", "allowed_ips": ["10.0.0.0/33"]})", "allowed_ips[0]"},
      {R"({"name": "x", "allowed_ips": ["10.0.0.0/8", "host"]})", "allowed_ips[1]"},
      {R"({"name": "x", "allowed_ips": )" + many_ips + "}", "allowed_ips"},
      {R"({"name": "x", "prefix": "TL"})", "prefix"},
      {R"({"name": "x", "prefix": "toolongpf"})", "prefix"},
      {R"({"name": "x", "prefix": "a_b"})", "prefix"},
      {R"({"name": "x", "prefix": 1})", "prefix"},
      {R"({"name": "x", "meta": []})", "meta"},
      {R"({"name": "x", "meta": "s"})", "meta"},
      {R"({"name": "x", "meta": )" + big_meta + "}", "meta"},
  };
  for (const auto& c : cases) {
    ExpectInvalid(ParseCreateToken(Json::parse(c.body), kNow), c.field, c.body.substr(0, 120));
  }
  // Exactly at the limits is fine.
  Json at_limits = {{"name", std::string(200, 'n')},
                    {"description", std::string(2000, 'd')},
                    {"rate_limit", {{"limit", kMaxRateLimit}, {"window_ms", kMaxWindowMs}}},
                    {"credits", kMaxCredits}};
  EXPECT_TRUE(ParseCreateToken(at_limits, kNow).ok());
  // 200 multi-byte characters are 200 characters.
  std::string wide;
  for (int i = 0; i < 200; ++i) wide += "é";
  EXPECT_TRUE(ParseCreateToken(Json{{"name", wide}}, kNow).ok());
  ExpectInvalid(ParseCreateToken(Json{{"name", wide + "é"}}, kNow), "name", "201 wide");
}

TEST(ParseUpdateTokenTest, FieldsAndNulls) {
  auto u = ParseUpdateToken(J(R"({"name": "n2", "permissions": ["a:b"], "expires_in": "1h",
                                  "refill": {"amount": 3, "interval": "day"},
                                  "rate_limit": null, "allowed_origins": null, "meta": {"a": 1}})"),
                            kNow);
  ASSERT_TRUE(u.ok()) << u.error().field << ": " << u.error().message;
  EXPECT_EQ(u->name, "n2");
  EXPECT_EQ(u->description, std::nullopt);
  EXPECT_EQ(u->permissions, std::vector<std::string>{"a:b"});
  ASSERT_TRUE(u->expires_at_ms);
  EXPECT_EQ(*u->expires_at_ms, kNow + 3'600'000);
  ASSERT_TRUE(u->refill);
  EXPECT_EQ(*u->refill, (Refill{3, RefillInterval::kDay}));
  ASSERT_TRUE(u->rate_limit);
  EXPECT_EQ(*u->rate_limit, std::nullopt);
  EXPECT_EQ(u->allowed_origins, std::vector<std::string>{});
  EXPECT_EQ(u->allowed_ips, std::nullopt);
  EXPECT_EQ(u->meta, J(R"({"a": 1})"));

  for (const char* clear : {R"({"expires_at": null})", R"({"expires_in": null})"}) {
    auto c = ParseUpdateToken(J(clear), kNow);
    ASSERT_TRUE(c.ok()) << clear;
    ASSERT_TRUE(c->expires_at_ms) << clear;
    EXPECT_EQ(*c->expires_at_ms, std::nullopt) << clear;
  }
  auto no_refill = ParseUpdateToken(J(R"({"refill": null})"), kNow);
  ASSERT_TRUE(no_refill.ok());
  ASSERT_TRUE(no_refill->refill);
  EXPECT_EQ(*no_refill->refill, std::nullopt);
  auto desc = ParseUpdateToken(J(R"({"description": null})"), kNow);
  ASSERT_TRUE(desc.ok());
  EXPECT_EQ(desc->description, "");
  auto preset = ParseUpdateToken(J(R"({"preset": "read-only"})"), kNow);
  ASSERT_TRUE(preset.ok());
  EXPECT_EQ(preset->permissions, std::vector<std::string>{"*:read"});
}

TEST(ParseUpdateTokenTest, Errors) {
  const struct {
    const char* body;
    const char* field;
  } cases[] = {
      {R"({})", ""},
      {R"(null)", ""},
      {R"({"credits": 5})", "credits"},
      {R"({"owner": "other"})", "owner"},
      {R"({"prefix": "x"})", "prefix"},
      {R"({"secret_digest": "x"})", "secret_digest"},
      {R"({"name": null})", "name"},
      {R"({"name": ""})", "name"},
      {R"({"permissions": null})", "permissions"},
      {R"({"permissions": ["bad"]})", "permissions[0]"},
      {R"({"permissions": ["*a*b*c*:*"]})", "permissions[0]"},
      {R"({"expires_at": "2001-01-01T00:00:00Z"})", "expires_at"},
      {R"({"expires_in": "1y"})", "expires_in"},
      {R"({"refill": {"amount": 1, "interval": "year"}})", "refill.interval"},
      {R"({"refill": 5})", "refill"},
      {R"({"rate_limit": {"limit": 1, "window_ms": -5}})", "rate_limit.window_ms"},
      {R"({"allowed_ips": ["1.2.3.4/40"]})", "allowed_ips[0]"},
      {R"({"meta": 5})", "meta"},
  };
  for (const auto& c : cases) ExpectInvalid(ParseUpdateToken(J(c.body), kNow), c.field, c.body);
  auto credits = ParseUpdateToken(J(R"({"credits": 5})"), kNow);
  ASSERT_FALSE(credits.ok());
  EXPECT_NE(credits.error().message.find("/credits"), std::string::npos);
}

TEST(ParseRegenerateTest, GracePeriod) {
  EXPECT_EQ(ParseRegenerate(J("null"))->grace_period_s, 0);
  EXPECT_EQ(ParseRegenerate(J("{}"))->grace_period_s, 0);
  EXPECT_EQ(ParseRegenerate(J(R"({"grace_period_s": 3600})"))->grace_period_s, 3600);
  EXPECT_EQ(ParseRegenerate(J(R"({"grace_period_s": 604800})"))->grace_period_s, 604800);
  ExpectInvalid(ParseRegenerate(J(R"({"grace_period_s": 604801})")), "grace_period_s", "max");
  ExpectInvalid(ParseRegenerate(J(R"({"grace_period_s": -1})")), "grace_period_s", "neg");
  ExpectInvalid(ParseRegenerate(J(R"({"grace_period_s": "1h"})")), "grace_period_s", "type");
  ExpectInvalid(ParseRegenerate(J(R"({"grace": 1})")), "grace", "unknown");
  ExpectInvalid(ParseRegenerate(J("[]")), "", "array");
}

TEST(ParseRevokeTest, Reason) {
  EXPECT_EQ(ParseRevoke(J("null"))->reason, "");
  EXPECT_EQ(ParseRevoke(J(R"({"reason": "leaked"})"))->reason, "leaked");
  EXPECT_TRUE(ParseRevoke(Json{{"reason", std::string(500, 'r')}}).ok());
  ExpectInvalid(ParseRevoke(Json{{"reason", std::string(501, 'r')}}), "reason", "long");
  ExpectInvalid(ParseRevoke(J(R"({"reason": 1})")), "reason", "type");
  ExpectInvalid(ParseRevoke(J(R"({"why": "x"})")), "why", "unknown");
}

TEST(ParseAdjustCreditsTest, SetXorAdd) {
  auto set = ParseAdjustCredits(J(R"({"set": 10})"));
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->op, AdjustCreditsCommand::Op::kSet);
  EXPECT_EQ(set->amount, 10);
  auto add = ParseAdjustCredits(J(R"({"add": -5})"));
  ASSERT_TRUE(add.ok());
  EXPECT_EQ(add->op, AdjustCreditsCommand::Op::kAdd);
  EXPECT_EQ(add->amount, -5);
  ExpectInvalid(ParseAdjustCredits(J(R"({"set": 1, "add": 1})")), "add", "both");
  ExpectInvalid(ParseAdjustCredits(J(R"({})")), "set", "neither");
  ExpectInvalid(ParseAdjustCredits(J(R"({"set": -1})")), "set", "negative set");
  ExpectInvalid(ParseAdjustCredits(J(R"({"set": 1.0})")), "set", "float");
  ExpectInvalid(ParseAdjustCredits(J(R"({"add": "5"})")), "add", "string");
  ExpectInvalid(ParseAdjustCredits(J(R"({"add": -1000000000000001})")), "add", "range");
  ExpectInvalid(ParseAdjustCredits(J(R"({"sub": 1})")), "sub", "unknown");
}

TEST(ParseVerifyTest, Fields) {
  auto v = ParseVerify(J(R"({"token": "tl_abc"})"));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->token, "tl_abc");
  EXPECT_EQ(v->cost, 1);
  EXPECT_EQ(v->permissions, std::nullopt);
  EXPECT_TRUE(v->permissions_asked.is_null());
  EXPECT_EQ(v->origin, std::nullopt);
  EXPECT_EQ(v->ip, std::nullopt);

  auto full = ParseVerify(J(R"({"token": "t", "permissions": "a:r OR b:r", "cost": 0,
                                "origin": "https://x.com", "ip": "::1"})"));
  ASSERT_TRUE(full.ok());
  ASSERT_TRUE(full->permissions);
  EXPECT_EQ(ToString(*full->permissions), "a:r OR b:r");
  EXPECT_EQ(full->permissions_asked, "a:r OR b:r");
  EXPECT_EQ(full->cost, 0);
  EXPECT_EQ(full->origin, "https://x.com");
  EXPECT_EQ(full->ip, "::1");

  auto list = ParseVerify(J(R"({"token": "t", "permissions": ["a:r", "b:r"]})"));
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->permissions_asked, J(R"(["a:r", "b:r"])"));
  EXPECT_EQ(ToString(*list->permissions), "a:r AND b:r");
}

TEST(ParseVerifyTest, Errors) {
  const struct {
    std::string body;
    const char* field;
  } cases[] = {
      {R"("tok")", ""},
      {R"({})", "token"},
      {R"({"token": ""})", "token"},
      {R"({"token": 5})", "token"},
      {R"({"token": null})", "token"},
      {R"({"token": ")" + std::string(1025, 't') + R"("})", "token"},
      {R"({"token": "t", "cost": -1})", "cost"},
      {R"({"token": "t", "cost": 1.5})", "cost"},
      {R"({"token": "t", "cost": "1"})", "cost"},
      {R"({"token": "t", "permissions": "a:r AND"})", "permissions"},
      {R"({"token": "t", "permissions": ["a:r", "x"]})", "permissions[1]"},
      {R"({"token": "t", "permissions": 1})", "permissions"},
      {R"({"token": "t", "origin": 1})", "origin"},
      {R"({"token": "t", "ip": "300.1.1.1"})", "ip"},
      {R"({"token": "t", "ip": "10.0.0.0/8"})", "ip"},
      {R"({"token": "t", "ip": 7})", "ip"},
      {R"({"token": "t", "key": "x"})", "key"},
  };
  for (const auto& c : cases) ExpectInvalid(ParseVerify(Json::parse(c.body)), c.field, c.body);
}

// A key is repeated in an error only when it is too short to be a secret.
TEST(UnknownFieldTest, LongOrOddKeysAreNotNamed) {
  const std::string secret = "operator-chosen-secret-0123456789abcdef";
  const Json top = {{"name", "x"}, {secret, 1}};
  auto create = ParseCreateToken(top, kNow);
  ExpectInvalid(create, "body", "long key");
  EXPECT_EQ(create.error().message.find(secret), std::string::npos) << create.error().message;
  auto nested = ParseCreateToken(
      {{"name", "x"}, {"rate_limit", {{"limit", 1}, {"window_ms", 1}, {secret, 1}}}}, kNow);
  ExpectInvalid(nested, "rate_limit", "nested long key");
  auto verify = ParseVerify({{"token", "t"}, {secret, 1}});
  ExpectInvalid(verify, "body", "verify");
  auto spaced = ParseRevoke({{"a b", 1}});
  ExpectInvalid(spaced, "body", "key with a space");
  // Short plain keys are still named.
  ExpectInvalid(ParseCreateToken({{"name", "x"}, {"nmae", 1}}, kNow), "nmae", "typo");
  ExpectInvalid(ParseVerify({{"token", "t"}, {"tokn", 1}}), "tokn", "verify typo");
}

}  // namespace
}  // namespace tl
