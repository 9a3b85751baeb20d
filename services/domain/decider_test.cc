#include "services/domain/decider.h"

#include <gtest/gtest.h>

#include <functional>

#include "events/time_format.h"

namespace tl {
namespace {

constexpr int64_t kDay = 86'400'000;
// 2026-09-21T12:00:00Z: midday, so "the next UTC day" is unambiguous.
const int64_t kNow = *ParseRfc3339("2026-09-21T12:00:00Z");

// A manager of acme's reporting tokens: it may hand out what it holds.
Caller Writer(std::string owner = "acme") {
  return Caller{"tok_writer",
                std::move(owner),
                {"ledger:write", "ledger:read", "reports:*", "datasets/*:read"}};
}
Caller Admin() { return Caller{"tok_admin", "ops", {"ledger:admin"}}; }

// A token that passes every verify check at kNow.
TokenState Active() {
  TokenState t;
  t.id = "tok_0000000000000000000001";
  t.owner = "acme";
  t.name = "reporting";
  t.permissions = {"reports:read", "datasets/*:read"};
  t.created_at_ms = kNow - kDay;
  t.updated_at_ms = kNow - kDay;
  t.prefix = "tl";
  t.hint = "tl_…abcd";
  t.secret_digest = std::string(64, 'a');
  t.version = Version(1);
  t.stream_version = Version(1);
  t.meta = Json{{"team", "bi"}};
  return t;
}

VerifyCommand Verify(int64_t cost = 1) {
  VerifyCommand v;
  v.token = "tl_secret";
  v.cost = cost;
  return v;
}

// The response parsed, after checking that its text is exactly what dump()
// writes for that document (compact, keys in std::map order).
Json Body(const VerifyDecision& d) {
  Json parsed = Json::parse(d.response);
  EXPECT_EQ(d.response, parsed.dump());
  return parsed;
}

// --- authorization ---------------------------------------------------------------

TEST(AuthorizeTest, ExactLedgerPermissionsAndAdmin) {
  const Caller writer = Writer();
  EXPECT_TRUE(Authorize(writer, kLedgerWrite).ok());
  EXPECT_TRUE(Authorize(writer, kLedgerRead).ok());
  auto no = Authorize(writer, kLedgerVerify);
  ASSERT_FALSE(no.ok());
  EXPECT_EQ(no.error().code, ErrorCode::kForbidden);
  EXPECT_FALSE(Authorize(writer, kLedgerAdmin).ok());

  for (auto needed : {kLedgerRead, kLedgerWrite, kLedgerVerify, kLedgerAdmin}) {
    EXPECT_TRUE(Authorize(Admin(), needed).ok()) << needed;
  }
  // Wildcards never reach the ledger.
  const Caller star{"tok_star", "acme", {"*:*", "ledger:*", "*:admin"}};
  for (auto needed : {kLedgerRead, kLedgerWrite, kLedgerVerify, kLedgerAdmin}) {
    EXPECT_FALSE(Authorize(star, needed).ok()) << needed;
  }
  EXPECT_FALSE(IsAdmin(star));
  EXPECT_TRUE(IsAdmin(Admin()));
}

TEST(CanSeeTest, OwnerOrAdmin) {
  const TokenState t = Active();
  EXPECT_TRUE(CanSee(Writer("acme"), t));
  EXPECT_FALSE(CanSee(Writer("globex"), t));
  EXPECT_TRUE(CanSee(Admin(), t));
}

// --- create ------------------------------------------------------------------------

CreateTokenCommand Create() {
  CreateTokenCommand c;
  c.name = "ci";
  c.permissions = {"reports:read"};
  return c;
}

TEST(DecideCreateTest, EmitsTheFullDataContract) {
  CreateTokenCommand c = Create();
  c.description = "d";
  c.expires_at_ms = kNow + kDay;
  c.credits = CreditsSpec{5, Refill{10, RefillInterval::kMonth}};
  c.rate_limit = RateLimit{3, 1000};
  c.allowed_origins = {"app.example.com"};
  c.allowed_ips = {"10.0.0.0/8"};
  c.meta = Json{{"k", "v"}};
  c.prefix = "acme";
  auto r = DecideCreate(c, Writer(), kNow, "digest", "acme_…wxyz", "acme");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].type, EventType::kCreated);
  EXPECT_EQ((*r)[0].data, Json::parse(R"({
      "owner": "acme", "name": "ci", "description": "d", "permissions": ["reports:read"],
      "expires_at": "2026-09-22T12:00:00.000Z",
      "credits": {"remaining": 5, "refill": {"amount": 10, "interval": "month"}},
      "rate_limit": {"limit": 3, "window_ms": 1000},
      "allowed_origins": ["app.example.com"], "allowed_ips": ["10.0.0.0/8"],
      "meta": {"k": "v"}, "prefix": "acme", "hint": "acme_…wxyz", "secret_digest": "digest"})"));
  // No secret-looking field ever: only the digest and the hint.
  EXPECT_FALSE((*r)[0].data.contains("secret"));
}

TEST(DecideCreateTest, UnlimitedDefaultsAreNull) {
  auto r = DecideCreate(Create(), Writer(), kNow, "d", "h", "tl");
  ASSERT_TRUE(r.ok());
  const Json& d = (*r)[0].data;
  EXPECT_TRUE(d["expires_at"].is_null());
  EXPECT_TRUE(d["credits"].is_null());
  EXPECT_TRUE(d["rate_limit"].is_null());
  EXPECT_EQ(d["allowed_origins"], Json::array());
  EXPECT_EQ(d["meta"], Json::object());
  CreateTokenCommand c = Create();
  c.credits = CreditsSpec{0, std::nullopt};
  auto zero = DecideCreate(c, Writer(), kNow, "d", "h", "tl");
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ((*zero)[0].data["credits"], Json::parse(R"({"remaining": 0, "refill": null})"));
}

TEST(DecideCreateTest, OwnerRules) {
  CreateTokenCommand c = Create();
  c.owner = "globex";
  auto denied = DecideCreate(c, Writer("acme"), kNow, "d", "h", "tl");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, ErrorCode::kForbidden);
  EXPECT_EQ(denied.error().field, "owner");

  auto admin = DecideCreate(c, Admin(), kNow, "d", "h", "tl");
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ((*admin)[0].data["owner"], "globex");

  c.owner = "acme";  // naming one's own owner is fine
  EXPECT_TRUE(DecideCreate(c, Writer("acme"), kNow, "d", "h", "tl").ok());

  auto ownerless = DecideCreate(Create(), Writer(""), kNow, "d", "h", "tl");
  ASSERT_FALSE(ownerless.ok());
  EXPECT_EQ(ownerless.error().field, "owner");
}

TEST(DecideCreateTest, LedgerGrantRule) {
  const struct {
    std::vector<std::string> perms;
    bool allowed;
  } cases[] = {
      {{"ledger:write"}, true},  // held by the writer
      {{"ledger:read", "reports:*"}, true},
      {{"ledger:admin"}, false},
      {{"ledger:verify"}, false},
      {{"ledger:*"}, false},
      // Grants nothing in the ledger, but every other permission there is:
      // more than the writer holds.
      {{"*:*"}, false},
  };
  for (const auto& c : cases) {
    CreateTokenCommand cmd = Create();
    cmd.permissions = c.perms;
    auto r = DecideCreate(cmd, Writer(), kNow, "d", "h", "tl");
    EXPECT_EQ(r.ok(), c.allowed) << c.perms[0];
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::kForbidden);
      EXPECT_EQ(r.error().field, "permissions");
    }
    EXPECT_TRUE(DecideCreate(cmd, Admin(), kNow, "d", "h", "tl").ok()) << c.perms[0];
  }
}

TEST(DecideCreateTest, ExpiryMustStillBeInTheFuture) {
  CreateTokenCommand c = Create();
  c.expires_at_ms = kNow;
  auto r = DecideCreate(c, Writer(), kNow, "d", "h", "tl");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "expires_at");
}

// --- update ------------------------------------------------------------------------

TEST(DecideUpdateTest, OnlyChangedFields) {
  TokenState t = Active();
  t.rate_limit = RateLimit{5, 1000};
  UpdateTokenCommand u;
  u.name = "reporting";  // unchanged
  u.description = "new";
  u.expires_at_ms = std::optional<int64_t>(kNow + kDay);
  u.rate_limit = std::optional<RateLimit>(RateLimit{5, 1000});  // unchanged
  u.allowed_ips = std::vector<std::string>{"10.0.0.0/8"};
  u.meta = Json{{"team", "bi"}};  // unchanged
  auto r = DecideUpdate(t, u, Writer(), kNow, std::nullopt);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].type, EventType::kUpdated);
  EXPECT_EQ((*r)[0].data, Json::parse(R"({"description": "new",
      "expires_at": "2026-09-22T12:00:00.000Z", "allowed_ips": ["10.0.0.0/8"]})"));
}

TEST(DecideUpdateTest, ClearingAndRefill) {
  TokenState t = Active();
  t.expires_at_ms = kNow + kDay;
  t.rate_limit = RateLimit{5, 1000};
  t.credits = Credits{3, Refill{10, RefillInterval::kDay}, 0};
  UpdateTokenCommand u;
  u.expires_at_ms = std::optional<int64_t>();
  u.rate_limit = std::optional<RateLimit>();
  u.refill = std::optional<Refill>(Refill{20, RefillInterval::kMonth});
  auto r = DecideUpdate(t, u, Writer(), kNow, std::nullopt);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].data, Json::parse(R"({"expires_at": null, "rate_limit": null,
      "refill": {"amount": 20, "interval": "month"}})"));

  // A refill on unlimited credits is a change (the fold makes the token limited).
  UpdateTokenCommand add_refill;
  add_refill.refill = std::optional<Refill>(Refill{5, RefillInterval::kDay});
  auto limited = DecideUpdate(Active(), add_refill, Writer(), kNow, std::nullopt);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited->size(), 1u);
  // Removing a refill that is not there changes nothing.
  UpdateTokenCommand no_refill;
  no_refill.refill = std::optional<Refill>();
  auto none = DecideUpdate(Active(), no_refill, Writer(), kNow, std::nullopt);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(DecideUpdateTest, PermissionsChangedCarriesPrevious) {
  UpdateTokenCommand u;
  u.name = "renamed";
  u.permissions = std::vector<std::string>{"reports:read", "reports:write"};
  auto r = DecideUpdate(Active(), u, Writer(), kNow, Version(1));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].type, EventType::kUpdated);
  EXPECT_EQ((*r)[0].data, Json::parse(R"({"name": "renamed"})"));
  EXPECT_EQ((*r)[1].type, EventType::kPermissionsChanged);
  EXPECT_EQ((*r)[1].data, Json::parse(R"({"permissions": ["reports:read", "reports:write"],
      "previous": ["reports:read", "datasets/*:read"]})"));

  // The same set in another order is no change.
  UpdateTokenCommand same;
  same.permissions = std::vector<std::string>{"datasets/*:read", "reports:read"};
  auto none = DecideUpdate(Active(), same, Writer(), kNow, std::nullopt);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(DecideUpdateTest, RejectionsInOrder) {
  UpdateTokenCommand u;
  u.name = "x";
  auto hidden = DecideUpdate(Active(), u, Writer("globex"), kNow, Version(9));
  ASSERT_FALSE(hidden.ok());
  EXPECT_EQ(hidden.error().code, ErrorCode::kNotFound);

  TokenState revoked = Active();
  revoked.revoked = true;
  auto stale = DecideUpdate(revoked, u, Writer(), kNow, Version(2));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kPreconditionFailed);
  EXPECT_EQ(stale.error().field, "If-Match");
  auto conflict = DecideUpdate(revoked, u, Writer(), kNow, Version(1));
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().code, ErrorCode::kConflict);
  EXPECT_TRUE(DecideUpdate(Active(), u, Writer(), kNow, Version(1)).ok());

  UpdateTokenCommand escalate;
  escalate.permissions = std::vector<std::string>{"reports:read", "ledger:admin"};
  auto forbidden = DecideUpdate(Active(), escalate, Writer(), kNow, std::nullopt);
  ASSERT_FALSE(forbidden.ok());
  EXPECT_EQ(forbidden.error().code, ErrorCode::kForbidden);
  EXPECT_EQ(forbidden.error().field, "permissions");
  EXPECT_TRUE(DecideUpdate(Active(), escalate, Admin(), kNow, std::nullopt).ok());

  // A token holding a ledger permission the caller lacks is beyond its
  // authority, whatever the change (see AuthorityInsideAnOwner).
  TokenState has_admin = Active();
  has_admin.permissions = {"ledger:admin"};
  UpdateTokenCommand keep;
  keep.permissions = std::vector<std::string>{"ledger:admin", "reports:read"};
  auto beyond = DecideUpdate(has_admin, keep, Writer(), kNow, std::nullopt);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error().type, kProblemInsufficientAuthority);
  // One the caller holds may stay while others change.
  TokenState has_write = Active();
  has_write.permissions = {"ledger:write"};
  keep.permissions = std::vector<std::string>{"ledger:write", "reports:read"};
  EXPECT_TRUE(DecideUpdate(has_write, keep, Writer(), kNow, std::nullopt).ok());

  UpdateTokenCommand past;
  past.expires_at_ms = std::optional<int64_t>(kNow - 1);
  auto expired = DecideUpdate(Active(), past, Writer(), kNow, std::nullopt);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().field, "expires_at");
}

TEST(DecideUpdateTest, NothingChangedMeansNoEvent) {
  UpdateTokenCommand u;
  u.name = "reporting";
  u.meta = Json{{"team", "bi"}};
  u.allowed_origins = std::vector<std::string>{};
  auto r = DecideUpdate(Active(), u, Writer(), kNow, std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

// --- regenerate, revoke, credits ----------------------------------------------------

TEST(DecideRegenerateTest, GraceAndRevoked) {
  auto r = DecideRegenerate(Active(), RegenerateCommand{3600}, Writer(), kNow, "new", "tl_…new1");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].type, EventType::kRegenerated);
  EXPECT_EQ((*r)[0].data, Json::parse(R"({"secret_digest": "new", "hint": "tl_…new1",
      "previous_valid_until": "2026-09-21T13:00:00.000Z"})"));
  auto no_grace = DecideRegenerate(Active(), RegenerateCommand{0}, Writer(), kNow, "new", "h");
  ASSERT_TRUE(no_grace.ok());
  EXPECT_EQ((*no_grace)[0].data["previous_valid_until"], FormatRfc3339Ms(kNow));

  TokenState t = Active();
  t.revoked = true;
  auto c = DecideRegenerate(t, RegenerateCommand{}, Writer(), kNow, "new", "h");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kConflict);
}

// The caller receives the new secret: regenerating is granting the token's
// permissions to it, so the ledger grant rule applies (audit: a ledger:write
// token regenerated its owner's ledger:admin token and became admin).
TEST(DecideRegenerateTest, CallerMustHoldEveryLedgerPermissionOfTheToken) {
  const struct {
    std::vector<std::string> perms;
    bool allowed;
  } cases[] = {
      {{"reports:read"}, true},
      {{"ledger:write", "ledger:read"}, true},  // exactly the writer's
      {{"*:*", "ledger:read"}, true},           // wildcards reach no ledger permission
      {{"ledger:admin"}, false},
      {{"ledger:read", "ledger:verify"}, false},
      {{"ledger:*"}, false},
  };
  for (const auto& c : cases) {
    TokenState t = Active();
    t.permissions = c.perms;
    auto r = DecideRegenerate(t, RegenerateCommand{}, Writer(), kNow, "new", "h");
    EXPECT_EQ(r.ok(), c.allowed) << c.perms.back();
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::kForbidden);
      EXPECT_EQ(r.error().field, "permissions");
      EXPECT_NE(r.error().message.find(c.perms.back()), std::string::npos) << r.error().message;
    }
    // An admin holds every ledger permission.
    EXPECT_TRUE(DecideRegenerate(t, RegenerateCommand{}, Admin(), kNow, "new", "h").ok());
  }
  // A revoked token is a conflict first, whoever asks.
  TokenState revoked = Active();
  revoked.permissions = {"ledger:admin"};
  revoked.revoked = true;
  auto r = DecideRegenerate(revoked, RegenerateCommand{}, Writer(), kNow, "new", "h");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
}

// --- authority inside an owner ------------------------------------------------------

// Asserts a kForbidden rejection of problem type `type` naming `field`.
void ExpectForbidden(const Result<std::vector<NewEvent>>& r, std::string_view type,
                     const std::string& field) {
  ASSERT_FALSE(r.ok()) << "accepted; wanted " << type;
  EXPECT_EQ(r.error().code, ErrorCode::kForbidden) << r.error().message;
  EXPECT_EQ(r.error().type, type) << r.error().message;
  EXPECT_EQ(r.error().field, field) << r.error().message;
}

// The audit's reproduction: a token holding only ledger:write stripped,
// re-dated and revoked its owner's ledger:admin token. Update, regenerate,
// revoke and credits now share one rule: the caller holds every ledger:
// permission of the token it acts on.
TEST(AuthorityTest, ActingOnATokenNeedsEveryLedgerPermissionItHolds) {
  const Caller writer{"tok_writer", "acme", {"ledger:write"}};
  UpdateTokenCommand strip;
  strip.permissions = std::vector<std::string>{};
  UpdateTokenCommand redate;
  redate.expires_at_ms = std::optional<int64_t>(kNow + 1000);
  const std::function<Result<std::vector<NewEvent>>(const TokenState&, const Caller&)> actions[] = {
      [&](const TokenState& t, const Caller& c) {
        return DecideUpdate(t, strip, c, kNow, std::nullopt);
      },
      [&](const TokenState& t, const Caller& c) {
        return DecideUpdate(t, redate, c, kNow, std::nullopt);
      },
      [](const TokenState& t, const Caller& c) {
        return DecideRegenerate(t, RegenerateCommand{}, c, kNow, "new", "h");
      },
      [](const TokenState& t, const Caller& c) { return DecideRevoke(t, RevokeCommand{}, c); },
      [](const TokenState& t, const Caller& c) {
        return DecideCredits(t, AdjustCreditsCommand{AdjustCreditsCommand::Op::kSet, 0}, c, kNow);
      },
  };
  for (const auto& act : actions) {
    for (const std::vector<std::string>& perms : {std::vector<std::string>{"ledger:admin"},
                                                  {"ledger:read"},
                                                  {"ledger:write", "ledger:verify"}}) {
      TokenState t = Active();
      t.permissions = perms;
      ExpectForbidden(act(t, writer), kProblemInsufficientAuthority, "permissions");
      EXPECT_TRUE(act(t, Admin()).ok()) << perms[0];
    }
    TokenState peer = Active();
    peer.permissions = {"ledger:write", "reports:read"};
    EXPECT_TRUE(act(peer, writer).ok());
    EXPECT_TRUE(CheckAuthorityOver(writer, peer).ok());
  }
  // The message names the permission the caller lacks.
  TokenState admin_token = Active();
  admin_token.permissions = {"ledger:admin"};
  auto s = CheckAuthorityOver(writer, admin_token);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("ledger:admin"), std::string::npos) << s.error().message;
  // Revoking a revoked token stays a no-op whoever asks.
  admin_token.revoked = true;
  auto again = DecideRevoke(admin_token, RevokeCommand{}, writer);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

// A grant must be covered by one of the caller's own grants (Satisfies); an
// admin may grant anything. Before, a ledger:write token could mint "*:*".
TEST(AuthorityTest, ANonAdminGrantsOnlyWhatItsOwnPermissionsCover) {
  const Caller narrow{"tok_narrow", "acme", {"ledger:write", "reports/*:read", "sales:write"}};
  const struct {
    std::vector<std::string> perms;
    bool allowed;
  } cases[] = {
      {{"reports/q1:read"}, true},
      {{"reports/*:read"}, true},  // the caller's own grant, exactly
      {{"sales:write", "ledger:write"}, true},
      {{"reports/*:write"}, false},
      {{"reports/*:*"}, false},
      {{"sales:*"}, false},
      {{"*:*"}, false},
      {{"*:read"}, false},
      {{"ledger:read"}, false},
  };
  for (const auto& c : cases) {
    CreateTokenCommand create = Create();
    create.permissions = c.perms;
    auto r = DecideCreate(create, narrow, kNow, "d", "h", "tl");
    if (c.allowed) {
      EXPECT_TRUE(r.ok()) << c.perms.back() << ": " << r.error().message;
    } else {
      ExpectForbidden(r, kProblemGrantNotHeld, "permissions");
    }
    EXPECT_TRUE(DecideCreate(create, Admin(), kNow, "d", "h", "tl").ok()) << c.perms.back();

    UpdateTokenCommand update;
    update.permissions = c.perms;
    auto u = DecideUpdate(Active(), update, narrow, kNow, std::nullopt);
    EXPECT_EQ(u.ok(), c.allowed) << c.perms.back();
    if (!u.ok()) {
      EXPECT_EQ(u.error().type, kProblemGrantNotHeld);
    }
  }
  // What the token has already may stay: keeping is no grant.
  UpdateTokenCommand keep;
  keep.permissions = std::vector<std::string>{"reports:read", "datasets/*:read", "sales:write"};
  EXPECT_TRUE(DecideUpdate(Active(), keep, narrow, kNow, std::nullopt).ok());
}

// A token acting on itself may only tighten its limits.
TEST(AuthorityTest, NoTokenLoosensItsOwnLimits) {
  TokenState self = Active();
  self.id = "tok_self";
  self.permissions = {"ledger:write", "reports:*"};
  self.expires_at_ms = kNow + kDay;
  self.allowed_ips = {"10.0.0.0/8"};
  self.allowed_origins = {"*.example.com"};
  self.rate_limit = RateLimit{10, 60'000};
  self.credits =
      Credits{5, Refill{10, RefillInterval::kMonth}, PeriodStart(RefillInterval::kMonth, kNow)};
  const Caller me{"tok_self", "acme", self.permissions, self.expires_at_ms};
  const Caller other{
      "tok_other", "acme", {"ledger:write", "*:read", "reports:*"}, self.expires_at_ms};

  struct Case {
    const char* what;
    UpdateTokenCommand cmd;
    std::string field;  // empty: allowed
  };
  std::vector<Case> cases;
  auto add = [&](const char* what, std::string field, auto set) {
    UpdateTokenCommand u;
    set(u);
    cases.push_back({what, std::move(u), std::move(field)});
  };
  add("no expiry", "expires_at", [](auto& u) { u.expires_at_ms = std::optional<int64_t>(); });
  add("later expiry", "expires_at",
      [](auto& u) { u.expires_at_ms = std::optional<int64_t>(kNow + 2 * kDay); });
  add("earlier expiry", "", [](auto& u) { u.expires_at_ms = std::optional<int64_t>(kNow + 1000); });
  add("no address rule", "allowed_ips",
      [](auto& u) { u.allowed_ips = std::vector<std::string>{}; });
  add("wider network", "allowed_ips[1]", [](auto& u) {
    u.allowed_ips = std::vector<std::string>{"10.1.0.0/16", "11.0.0.0/8"};
  });
  add("narrower network", "", [](auto& u) {
    u.allowed_ips = std::vector<std::string>{"10.1.0.0/16", "10.2.3.4/32"};
  });
  add("no origin rule", "allowed_origins",
      [](auto& u) { u.allowed_origins = std::vector<std::string>{}; });
  add("another origin", "allowed_origins[0]",
      [](auto& u) { u.allowed_origins = std::vector<std::string>{"example.org"}; });
  add("the parent domain", "allowed_origins[0]",
      [](auto& u) { u.allowed_origins = std::vector<std::string>{"example.com"}; });
  add("narrower origins", "", [](auto& u) {
    u.allowed_origins = std::vector<std::string>{"https://app.example.com", "*.eu.example.com"};
  });
  add("no rate limit", "rate_limit", [](auto& u) { u.rate_limit = std::optional<RateLimit>(); });
  add("higher limit", "rate_limit", [](auto& u) {
    u.rate_limit = std::optional<RateLimit>(RateLimit{11, 60'000});
  });
  add("shorter window", "rate_limit", [](auto& u) {
    u.rate_limit = std::optional<RateLimit>(RateLimit{10, 1'000});
  });
  add("stricter limit", "", [](auto& u) {
    u.rate_limit = std::optional<RateLimit>(RateLimit{5, 120'000});
  });
  add("larger refill", "refill", [](auto& u) {
    u.refill = std::optional<Refill>(Refill{11, RefillInterval::kMonth});
  });
  add("daily refill", "refill", [](auto& u) {
    u.refill = std::optional<Refill>(Refill{10, RefillInterval::kDay});
  });
  add("no refill", "", [](auto& u) { u.refill = std::optional<Refill>(); });
  add("more permissions", "permissions", [](auto& u) {
    u.permissions = std::vector<std::string>{"ledger:write", "reports:*", "sales:read"};
  });
  add("fewer permissions", "", [](auto& u) {
    u.permissions = std::vector<std::string>{"ledger:write", "reports:read"};
  });
  add("a name", "", [](auto& u) { u.name = "renamed"; });

  for (const Case& c : cases) {
    auto r = DecideUpdate(self, c.cmd, me, kNow, std::nullopt);
    if (c.field.empty()) {
      EXPECT_TRUE(r.ok()) << c.what << ": " << r.error().message;
    } else {
      ExpectForbidden(r, kProblemLoosensOwnLimits, c.field);
    }
    // Another token of the same owner that may grant as much is not bound by
    // this rule (its own expiry still bounds expiries: see below).
    if (c.field != "expires_at") {
      EXPECT_TRUE(DecideUpdate(self, c.cmd, other, kNow, std::nullopt).ok()) << c.what;
    }
  }
  // Even an admin token does not loosen its own limits.
  TokenState admin_self = self;
  admin_self.permissions = {"ledger:admin"};
  const Caller admin_me{"tok_self", "acme", {"ledger:admin"}, self.expires_at_ms};
  ExpectForbidden(DecideUpdate(admin_self, cases[0].cmd, admin_me, kNow, std::nullopt),
                  kProblemLoosensOwnLimits, "expires_at");

  // Credits: it may lower its balance, never raise it.
  using Op = AdjustCreditsCommand::Op;
  ExpectForbidden(DecideCredits(self, AdjustCreditsCommand{Op::kAdd, 1}, me, kNow),
                  kProblemLoosensOwnLimits, "add");
  ExpectForbidden(DecideCredits(self, AdjustCreditsCommand{Op::kSet, 6}, me, kNow),
                  kProblemLoosensOwnLimits, "set");
  EXPECT_TRUE(DecideCredits(self, AdjustCreditsCommand{Op::kAdd, -1}, me, kNow).ok());
  EXPECT_TRUE(DecideCredits(self, AdjustCreditsCommand{Op::kSet, 5}, me, kNow).ok());
  EXPECT_TRUE(DecideCredits(self, AdjustCreditsCommand{Op::kSet, 99}, other, kNow).ok());
  // Unlimited credits made limited is a tightening.
  TokenState unlimited = self;
  unlimited.credits.reset();
  EXPECT_TRUE(DecideCredits(unlimited, AdjustCreditsCommand{Op::kSet, 99}, me, kNow).ok());
}

// A token that expires creates and changes nothing that outlives it.
TEST(AuthorityTest, NothingOutlivesTheCallerThatMadeIt) {
  const Caller expiring{"tok_parent", "acme", {"ledger:write", "reports:*"}, kNow + 3'600'000};
  CreateTokenCommand forever = Create();
  ExpectForbidden(DecideCreate(forever, expiring, kNow, "d", "h", "tl"), kProblemOutlivesCaller,
                  "expires_at");
  CreateTokenCommand later = Create();
  later.expires_at_ms = kNow + 3'600'001;
  ExpectForbidden(DecideCreate(later, expiring, kNow, "d", "h", "tl"), kProblemOutlivesCaller,
                  "expires_at");
  CreateTokenCommand same = Create();
  same.expires_at_ms = kNow + 3'600'000;
  EXPECT_TRUE(DecideCreate(same, expiring, kNow, "d", "h", "tl").ok());
  // A caller that never expires may create tokens that never expire.
  EXPECT_TRUE(DecideCreate(forever, Writer(), kNow, "d", "h", "tl").ok());

  TokenState child = Active();
  child.expires_at_ms = kNow + 1000;
  UpdateTokenCommand clear;
  clear.expires_at_ms = std::optional<int64_t>();
  ExpectForbidden(DecideUpdate(child, clear, expiring, kNow, std::nullopt), kProblemOutlivesCaller,
                  "expires_at");
  UpdateTokenCommand extend;
  extend.expires_at_ms = std::optional<int64_t>(kNow + 2 * 3'600'000);
  ExpectForbidden(DecideUpdate(child, extend, expiring, kNow, std::nullopt), kProblemOutlivesCaller,
                  "expires_at");
  UpdateTokenCommand within;
  within.expires_at_ms = std::optional<int64_t>(kNow + 3'600'000);
  EXPECT_TRUE(DecideUpdate(child, within, expiring, kNow, std::nullopt).ok());
  EXPECT_TRUE(DecideUpdate(child, clear, Writer(), kNow, std::nullopt).ok());
  // Changes that leave the expiry alone are not held to it.
  UpdateTokenCommand rename;
  rename.name = "x";
  EXPECT_TRUE(DecideUpdate(Active(), rename, expiring, kNow, std::nullopt).ok());
}

TEST(AuthorityTest, ABearerIsBoundByItsAllowedIps) {
  TokenState t = Active();
  EXPECT_TRUE(CheckBearerAddress(t, "127.0.0.1").ok());
  t.allowed_ips = {"10.9.9.9/32"};
  auto refused = CheckBearerAddress(t, "127.0.0.1");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kForbidden);
  EXPECT_EQ(refused.error().type, kProblemAddressNotAllowed);
  EXPECT_EQ(refused.error().field, "Authorization");
  EXPECT_FALSE(CheckBearerAddress(t, "").ok());
  EXPECT_TRUE(CheckBearerAddress(t, "10.9.9.9").ok());
  EXPECT_TRUE(CheckBearerAddress(t, "::ffff:10.9.9.9").ok());
  EXPECT_TRUE(CheckBearerAddress(t, std::nullopt).ok());  // in process: no address
}

TEST(DecideRevokeTest, Idempotent) {
  auto r = DecideRevoke(Active(), RevokeCommand{"leaked"}, Writer());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0], (NewEvent{EventType::kRevoked, Json{{"reason", "leaked"}}}));
  TokenState t = Active();
  t.revoked = true;
  auto again = DecideRevoke(t, RevokeCommand{"again"}, Writer());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

TEST(DecideCreditsTest, SetAddClampAndUnlimited) {
  using Op = AdjustCreditsCommand::Op;
  TokenState t = Active();
  t.credits = Credits{10, std::nullopt, 0};
  const struct {
    Op op;
    int64_t amount;
    int64_t balance;
  } cases[] = {{Op::kSet, 0, 0},
               {Op::kSet, 99, 99},
               {Op::kAdd, 5, 15},
               {Op::kAdd, -4, 6},
               {Op::kAdd, -10, 0},
               {Op::kAdd, -kMaxCredits, 0},
               // The balance stays within kMaxCredits, so repeated adds never overflow.
               {Op::kAdd, kMaxCredits, kMaxCredits}};
  for (const auto& c : cases) {
    auto r = DecideCredits(t, AdjustCreditsCommand{c.op, c.amount}, Writer(), kNow);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].type, EventType::kCreditsAdjusted);
    EXPECT_EQ((*r)[0].data,
              (Json{{c.op == Op::kSet ? "set" : "add", c.amount}, {"balance", c.balance}}));
  }

  const TokenState unlimited = Active();
  auto add = DecideCredits(unlimited, AdjustCreditsCommand{Op::kAdd, 5}, Writer(), kNow);
  ASSERT_FALSE(add.ok());
  EXPECT_EQ(add.error().code, ErrorCode::kConflict);
  auto set = DecideCredits(unlimited, AdjustCreditsCommand{Op::kSet, 5}, Writer(), kNow);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ((*set)[0].data, (Json{{"set", 5}, {"balance", 5}}));

  TokenState revoked = t;
  revoked.revoked = true;
  auto c = DecideCredits(revoked, AdjustCreditsCommand{Op::kSet, 1}, Writer(), kNow);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kConflict);
}

TEST(DecideCreditsTest, AddCountsFromTheRefilledBalance) {
  TokenState t = Active();
  // Spent down to 1 yesterday; a daily refill of 100 applies today.
  t.credits =
      Credits{1, Refill{100, RefillInterval::kDay}, PeriodStart(RefillInterval::kDay, kNow - kDay)};
  auto r =
      DecideCredits(t, AdjustCreditsCommand{AdjustCreditsCommand::Op::kAdd, 5}, Writer(), kNow);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].data["balance"], 105);
}

// --- verify ---------------------------------------------------------------------------

TEST(DecideVerifyTest, NotFound) {
  const Json expected = {{"valid", false}, {"code", "NOT_FOUND"}};
  auto none = DecideVerify(nullptr, false, Verify(), kNow);
  EXPECT_EQ(none.code, "NOT_FOUND");
  EXPECT_FALSE(none.event);
  EXPECT_EQ(Body(none), expected);

  TokenState t = Active();
  t.previous_digest = std::string(64, 'b');
  t.previous_valid_until_ms = kNow;
  auto past_grace = DecideVerify(&t, true, Verify(), kNow);
  EXPECT_EQ(past_grace.code, "NOT_FOUND");
  EXPECT_FALSE(past_grace.event);
  EXPECT_EQ(Body(past_grace), expected);

  t.previous_valid_until_ms = kNow + 1;
  EXPECT_EQ(DecideVerify(&t, true, Verify(), kNow).code, "VALID");
  // Grace matters only for the previous secret.
  t.previous_valid_until_ms = 0;
  EXPECT_EQ(DecideVerify(&t, false, Verify(), kNow).code, "VALID");
}

// Builds a token and request that fail every check, then repairs them one at a
// time: each repair must reveal the next code in priority order.
TEST(DecideVerifyTest, CodesInPriorityOrder) {
  TokenState t = Active();
  t.revoked = true;
  t.expires_at_ms = kNow - 1;
  t.allowed_origins = {"app.example.com"};
  t.allowed_ips = {"10.0.0.0/8"};
  t.rate_limit = RateLimit{2, 60'000};
  t.recent_uses = {kNow - 2000, kNow - 1000};
  t.credits = Credits{0, std::nullopt, 0};
  VerifyCommand v = Verify();
  v.origin = "https://evil.example.org";
  v.ip = "192.168.0.1";
  v.permissions = ParsePermissionQuery("reports:write").value();
  v.permissions_asked = "reports:write";

  const std::vector<std::pair<std::string, std::function<void()>>> steps = {
      {"REVOKED", [&] { t.revoked = false; }},
      {"EXPIRED", [&] { t.expires_at_ms = kNow + 1; }},
      {"ORIGIN_NOT_ALLOWED", [&] { v.origin = "https://app.example.com"; }},
      {"IP_NOT_ALLOWED", [&] { v.ip = "10.1.2.3"; }},
      {"FORBIDDEN", [&] { v.permissions = ParsePermissionQuery("reports:read").value(); }},
      {"RATE_LIMITED", [&] { t.recent_uses.erase(t.recent_uses.begin()); }},
      {"USAGE_EXCEEDED", [&] { t.credits->remaining = 1; }},
      {"VALID", [] {}},
  };
  for (const auto& [code, repair] : steps) {
    const VerifyDecision d = DecideVerify(&t, false, v, kNow);
    EXPECT_EQ(d.code, code);
    EXPECT_EQ(Body(d)["code"], code);
    EXPECT_EQ(Body(d)["valid"], code == "VALID");
    ASSERT_TRUE(d.event) << code;
    if (code == "VALID") {
      EXPECT_EQ(d.event->type, EventType::kUsed);
      EXPECT_EQ(d.event->data, (Json{{"cost", 1},
                                     {"permissions", "reports:write"},
                                     {"origin", "https://app.example.com"},
                                     {"ip", "10.1.2.3"}}));
    } else {
      EXPECT_EQ(d.event->type, EventType::kUseDenied) << code;
      EXPECT_EQ(d.event->data["code"], code);
      EXPECT_EQ(d.event->data["cost"], 1);
      EXPECT_EQ(d.event->data["origin"], v.origin.value());
      EXPECT_EQ(d.event->data["ip"], v.ip.value());
    }
    repair();
  }
}

TEST(DecideVerifyTest, MissingOriginOrIpFailsARestrictedToken) {
  TokenState t = Active();
  t.allowed_origins = {"app.example.com"};
  EXPECT_EQ(DecideVerify(&t, false, Verify(), kNow).code, "ORIGIN_NOT_ALLOWED");
  t.allowed_origins.clear();
  t.allowed_ips = {"::1"};
  EXPECT_EQ(DecideVerify(&t, false, Verify(), kNow).code, "IP_NOT_ALLOWED");
  VerifyCommand v = Verify();
  v.ip = "::1";
  EXPECT_EQ(DecideVerify(&t, false, v, kNow).code, "VALID");
}

TEST(DecideVerifyTest, ExpiryBoundary) {
  TokenState t = Active();
  t.expires_at_ms = kNow;
  EXPECT_EQ(DecideVerify(&t, false, Verify(), kNow).code, "EXPIRED");
  EXPECT_EQ(DecideVerify(&t, false, Verify(), kNow - 1).code, "VALID");
}

TEST(DecideVerifyTest, ValidResponseShape) {
  TokenState t = Active();
  t.expires_at_ms = kNow + kDay;
  t.credits = Credits{10, std::nullopt, 0};
  t.rate_limit = RateLimit{5, 60'000};
  t.recent_uses = {kNow - 50'000, kNow - 10'000};
  VerifyCommand v = Verify(3);
  const VerifyDecision d = DecideVerify(&t, false, v, kNow);
  EXPECT_EQ(Body(d), Json::parse(R"({
      "valid": true, "code": "VALID", "token_id": "tok_0000000000000000000001",
      "owner": "acme", "name": "reporting", "permissions": ["reports:read", "datasets/*:read"],
      "expires_at": "2026-09-22T12:00:00.000Z", "remaining": 7,
      "rate_limit": {"limit": 5, "remaining": 2, "reset_ms": 10000},
      "meta": {"team": "bi"}})"));
  EXPECT_EQ(d.event->data, Json::parse(R"({"cost": 3, "permissions": null, "origin": null,
      "ip": null})"));
}

// Text that dump() escapes or passes through as UTF-8, empty permissions and
// metadata, a negative reset: the bytes are still exactly dump()'s.
TEST(DecideVerifyTest, ResponseTextIsWhatDumpWrites) {
  TokenState t = Active();
  t.name = "q\"uote \\ tab\t nl\n \x01 caf\xc3\xa9 \xf0\x9f\x94\x91";
  t.owner = "\xe6\x9d\xb1\xe4\xba\xac";
  t.permissions = {};
  t.expires_at_ms = kNow + 1;
  t.rate_limit = RateLimit{1, 1000};
  t.recent_uses = {kNow - 999};
  const auto decide = [&] { return DecideVerify(&t, false, Verify(), kNow); };
  for (const Json& meta : {Json(nullptr), Json{{"z", {1, "\xc3\xa9", nullptr}}, {"a", 1.5}}}) {
    t.meta = meta;
    const VerifyDecision d = decide();
    ASSERT_EQ(d.code, "RATE_LIMITED");
    const Json expected = {{"valid", false},
                           {"code", "RATE_LIMITED"},
                           {"token_id", t.id},
                           {"owner", t.owner},
                           {"name", t.name},
                           {"permissions", Json::array()},
                           {"expires_at", "2026-09-21T12:00:00.001Z"},
                           {"remaining", nullptr},
                           {"rate_limit", {{"limit", 1}, {"remaining", 0}, {"reset_ms", 1}}},
                           {"meta", meta.is_null() ? Json::object() : meta}};
    EXPECT_EQ(d.response, expected.dump());
  }
  t.meta = nullptr;
  t.credits = Credits{5, std::nullopt, 0};
  t.recent_uses.clear();
  const VerifyDecision valid = decide();
  EXPECT_TRUE(valid.response.ends_with(R"("token_id":"tok_0000000000000000000001","valid":true})"))
      << valid.response;
  EXPECT_EQ(Body(valid)["remaining"], 4);
}

TEST(DecideVerifyTest, UnlimitedTokenResponse) {
  const TokenState t = Active();
  const VerifyDecision d = DecideVerify(&t, false, Verify(1000), kNow);
  EXPECT_EQ(d.code, "VALID");
  EXPECT_TRUE(Body(d)["remaining"].is_null());
  EXPECT_TRUE(Body(d)["rate_limit"].is_null());
  EXPECT_TRUE(Body(d)["expires_at"].is_null());
}

TEST(DecideVerifyTest, UsageExceededDeductsNothing) {
  TokenState t = Active();
  t.credits = Credits{2, std::nullopt, 0};
  const VerifyDecision exceeded = DecideVerify(&t, false, Verify(3), kNow);
  EXPECT_EQ(exceeded.code, "USAGE_EXCEEDED");
  EXPECT_EQ(Body(exceeded)["remaining"], 2);
  EXPECT_EQ(exceeded.event->data["cost"], 3);
  const VerifyDecision exact = DecideVerify(&t, false, Verify(2), kNow);
  EXPECT_EQ(exact.code, "VALID");
  EXPECT_EQ(Body(exact)["remaining"], 0);
  // A zero-cost check passes even at zero balance.
  t.credits->remaining = 0;
  EXPECT_EQ(DecideVerify(&t, false, Verify(0), kNow).code, "VALID");
}

TEST(DecideVerifyTest, RefillAtDayBoundary) {
  const int64_t midnight = PeriodStart(RefillInterval::kDay, kNow) + kDay;  // next 00:00Z
  TokenState t = Active();
  t.credits = Credits{0, Refill{50, RefillInterval::kDay}, PeriodStart(RefillInterval::kDay, kNow)};
  // Last millisecond of the day: still empty.
  const VerifyDecision before = DecideVerify(&t, false, Verify(), midnight - 1);
  EXPECT_EQ(before.code, "USAGE_EXCEEDED");
  EXPECT_EQ(Body(before)["remaining"], 0);
  // First millisecond of the next day: refilled, and this use is counted.
  const VerifyDecision after = DecideVerify(&t, false, Verify(), midnight);
  EXPECT_EQ(after.code, "VALID");
  EXPECT_EQ(Body(after)["remaining"], 49);
  // The decision did not touch the state.
  EXPECT_EQ(t.credits->remaining, 0);
}

TEST(DecideVerifyTest, RefillAtMonthBoundary) {
  const int64_t october = *ParseRfc3339("2026-10-01T00:00:00Z");
  TokenState t = Active();
  t.credits =
      Credits{0, Refill{7, RefillInterval::kMonth}, PeriodStart(RefillInterval::kMonth, kNow)};
  EXPECT_EQ(DecideVerify(&t, false, Verify(), october - 1).code, "USAGE_EXCEEDED");
  const VerifyDecision d = DecideVerify(&t, false, Verify(), october);
  EXPECT_EQ(d.code, "VALID");
  EXPECT_EQ(Body(d)["remaining"], 6);
}

TEST(DecideVerifyTest, RateLimitWindowIsHalfOpen) {
  TokenState t = Active();
  t.rate_limit = RateLimit{2, 1000};
  // Uses at now-1000 (just outside), now-999 and now (inside).
  t.recent_uses = {kNow - 1000, kNow - 999, kNow};
  const VerifyDecision limited = DecideVerify(&t, false, Verify(), kNow);
  EXPECT_EQ(limited.code, "RATE_LIMITED");
  EXPECT_EQ(Body(limited)["rate_limit"],
            Json::parse(R"({"limit": 2, "remaining": 0, "reset_ms": 1})"));
  // One millisecond later the use at now-999 has left the window.
  const VerifyDecision ok = DecideVerify(&t, false, Verify(), kNow + 1);
  EXPECT_EQ(ok.code, "VALID");
  EXPECT_EQ(Body(ok)["rate_limit"],
            Json::parse(R"({"limit": 2, "remaining": 0, "reset_ms": 999})"));
  // Uses after `now` (a clock that stepped back) are not in (now - window, now].
  t.recent_uses = {kNow + 5};
  EXPECT_EQ(DecideVerify(&t, false, Verify(), kNow).code, "VALID");
}

TEST(DecideVerifyTest, RateLimitEmptyWindow) {
  TokenState t = Active();
  t.rate_limit = RateLimit{1, 5000};
  const VerifyDecision first = DecideVerify(&t, false, Verify(), kNow);
  EXPECT_EQ(first.code, "VALID");
  // After this use the window holds it: resets when it leaves, a full window later.
  EXPECT_EQ(Body(first)["rate_limit"],
            Json::parse(R"({"limit": 1, "remaining": 0, "reset_ms": 5000})"));
  // A denied request on an empty window reports reset 0.
  t.revoked = true;
  EXPECT_EQ(Body(DecideVerify(&t, false, Verify(), kNow))["rate_limit"],
            Json::parse(R"({"limit": 1, "remaining": 1, "reset_ms": 0})"));
}

TEST(DecideVerifyTest, QueryPermissions) {
  TokenState t = Active();
  VerifyCommand v = Verify();
  v.permissions =
      ParsePermissionQuery("datasets/sales:read AND (reports:read OR reports:write)").value();
  EXPECT_EQ(DecideVerify(&t, false, v, kNow).code, "VALID");
  v.permissions = ParsePermissionQuery("datasets/sales:read AND reports:write").value();
  EXPECT_EQ(DecideVerify(&t, false, v, kNow).code, "FORBIDDEN");
  t.permissions = {"*:*"};
  v.permissions = ParsePermissionQuery("ledger:admin").value();
  EXPECT_EQ(DecideVerify(&t, false, v, kNow).code, "FORBIDDEN");
}

// The events the deciders emit, folded by the projection, give the state the
// deciders expect: the data contract holds from both sides.
TEST(DeciderFoldTest, CreateUseRegenerateRevoke) {
  CreateTokenCommand c = Create();
  c.credits = CreditsSpec{2, std::nullopt};
  c.rate_limit = RateLimit{10, 60'000};
  c.expires_at_ms = kNow + kDay;
  auto created = DecideCreate(c, Writer(), kNow, "digest1", "tl_…0001", "tl");
  ASSERT_TRUE(created.ok());
  TokenState t;
  uint64_t version = 0;
  int64_t time = kNow;
  auto apply = [&](const NewEvent& ne) {
    Event e;
    e.type = ne.type;
    e.token_id = "tok_0000000000000000000009";
    e.version = Version(++version);
    e.time_ms = time;
    e.data = ne.data;
    ApplyToToken(t, e);
  };
  apply((*created)[0]);
  EXPECT_EQ(t.owner, "acme");
  EXPECT_EQ(t.secret_digest, "digest1");
  ASSERT_TRUE(t.credits);
  EXPECT_EQ(t.credits->remaining, 2);
  EXPECT_EQ(t.expires_at_ms, kNow + kDay);

  for (int i = 0; i < 2; ++i) {
    time += 10;
    VerifyDecision d = DecideVerify(&t, false, Verify(), time);
    ASSERT_EQ(d.code, "VALID");
    apply(*d.event);
  }
  time += 10;
  VerifyDecision spent = DecideVerify(&t, false, Verify(), time);
  EXPECT_EQ(spent.code, "USAGE_EXCEEDED");
  EXPECT_EQ(Body(spent)["rate_limit"]["remaining"], 8);

  auto regen = DecideRegenerate(t, RegenerateCommand{60}, Writer(), time, "digest2", "tl_…0002");
  ASSERT_TRUE(regen.ok());
  apply((*regen)[0]);
  EXPECT_EQ(t.previous_digest, "digest1");
  EXPECT_EQ(t.previous_valid_until_ms, time + 60'000);

  auto set =
      DecideCredits(t, AdjustCreditsCommand{AdjustCreditsCommand::Op::kSet, 1}, Writer(), time);
  ASSERT_TRUE(set.ok());
  apply((*set)[0]);
  EXPECT_EQ(DecideVerify(&t, true, Verify(), time + 59'999).code, "VALID");
  EXPECT_EQ(DecideVerify(&t, true, Verify(), time + 60'000).code, "NOT_FOUND");

  auto revoke = DecideRevoke(t, RevokeCommand{"done"}, Writer());
  ASSERT_TRUE(revoke.ok());
  apply((*revoke)[0]);
  EXPECT_EQ(DecideVerify(&t, false, Verify(), time).code, "REVOKED");
}

}  // namespace
}  // namespace tl
