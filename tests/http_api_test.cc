// Integration tests of the HTTP API against a real server on a
// loopback socket: every endpoint and rule, through httplib::Client.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "projections/projection.h"
#include "projections/replay.h"
#include "services/domain/secret.h"
#include "tests/http_test_util.h"

namespace tl {
namespace {

using testing::kAdminSecret;
using testing::Reply;
using testing::ServerOptions;
using testing::TestServer;

constexpr int64_t kHourMs = 3600 * 1000;
constexpr int64_t kDayMs = 24 * kHourMs;

std::string Secret(const Json& created) { return created.at("token").get<std::string>(); }
std::string Id(const Json& resource) { return resource.at("id").get<std::string>(); }

// Asserts an RFC 7807 answer naming `field` (empty: no field expected).
void ExpectProblem(const Reply& r, int status, const std::string& field) {
  EXPECT_EQ(r.status, status) << r.raw;
  EXPECT_EQ(r.content_type, "application/problem+json") << r.raw;
  ASSERT_TRUE(r.body.is_object()) << r.raw;
  EXPECT_TRUE(r.body.contains("type")) << r.raw;
  EXPECT_TRUE(r.body.contains("title")) << r.raw;
  EXPECT_EQ(r.body.value("status", 0), status) << r.raw;
  EXPECT_FALSE(r.body.value("detail", std::string()).empty()) << r.raw;
  if (!field.empty()) {
    EXPECT_EQ(r.body.value("field", std::string()), field) << r.raw;
  }
}

// Every event of the global feed, as admin.
Json AllEvents(const TestServer& s) {
  Reply r = s.Get("/v1/events?limit=1000");
  EXPECT_EQ(r.status, 200) << r.raw;
  return r.body["events"];
}

std::vector<std::string> Types(const Json& events) {
  std::vector<std::string> out;
  for (const Json& e : events) out.push_back(e["type"].get<std::string>());
  return out;
}

// The projections rebuilt from the files on disk.
Projection Replayed(const TestServer& s) {
  Projection p;
  auto r = ReplayLog(s.dir().sub("log"), p);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return p;
}

// A management token of `owner` with `permissions`, minted by the admin.
Json Manager(const TestServer& s, const std::string& owner, std::vector<std::string> permissions) {
  return s.CreateToken(
      {{"name", "manager of " + owner}, {"owner", owner}, {"permissions", permissions}});
}

// ---- health, readiness, metrics ----------------------------------------------------------------

TEST(HttpApiTest, HealthzAndReadyzMatchAReplayOfTheLog) {
  TestServer s;
  Reply health = s.Get("/healthz", "");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body["status"], "ok");

  Json t = s.CreateToken({{"name", "a"}, {"credits", 10}});
  s.Verify({{"token", Secret(t)}, {"cost", 3}});
  s.Post("/v1/tokens/" + Id(t) + "/revoke", Json::object());

  Reply ready = s.Get("/readyz", "");  // public: no bearer needed
  ASSERT_EQ(ready.status, 200) << ready.raw;
  EXPECT_EQ(ready.body["status"], "ready");
  Projection replayed = Replayed(s);
  EXPECT_EQ(ready.body["position"].get<uint64_t>(), replayed.last_position().value());
  EXPECT_EQ(ready.body["position"].get<uint64_t>(), s.Position());
  EXPECT_EQ(ready.body["digest"].get<std::string>(), replayed.Digest());
  EXPECT_EQ(ready.body["digest"].get<std::string>().size(), 64u);
  // bootstrap, create, used, revoked
  EXPECT_EQ(s.Position(), 4u);
}

// The console may not be framed by another site (its buttons revoke and
// regenerate), and no answer's content type may be second-guessed.
TEST(HttpApiTest, ConsoleCannotBeFramedAndTypesAreNotSniffed) {
  TestServer s;
  Reply page = s.Get("/console/", "");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.Header("Content-Security-Policy").find("frame-ancestors 'none'"),
            std::string::npos)
      << page.Header("Content-Security-Policy");
  EXPECT_EQ(page.Header("X-Frame-Options"), "DENY");
  EXPECT_EQ(page.Header("Referrer-Policy"), "no-referrer");
  for (const Reply& r : {page, s.Get("/healthz", ""), s.Get("/v1/tokens"), s.Get("/nope", "")}) {
    EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff") << r.raw;
  }
}

TEST(HttpApiTest, MetricsCountRequestsVerificationsAndFsyncs) {
  TestServer s;
  Json t = s.CreateToken({{"name", "m"}, {"credits", 1}});
  s.Verify({{"token", Secret(t)}});
  s.Verify({{"token", Secret(t)}});     // USAGE_EXCEEDED
  s.Verify({{"token", "tl_nothing"}});  // NOT_FOUND
  s.Get("/v1/tokens/tok_missing");      // 404
  const std::vector<std::string> needles = {
      R"(tokenledger_http_requests_total{method="POST",route="POST /v1/tokens",status="201"} 1)",
      R"(tokenledger_http_requests_total{method="POST",route="POST /v1/verify",status="200"} 3)",
      R"(tokenledger_http_requests_total{method="GET",route="GET /v1/tokens/{id}",status="404"} 1)",
      R"(tokenledger_verifications_total{code="VALID"} 1)",
      R"(tokenledger_verifications_total{code="USAGE_EXCEEDED"} 1)",
      R"(tokenledger_verifications_total{code="NOT_FOUND"} 1)",
      "# TYPE tokenledger_http_request_duration_seconds histogram",
      "tokenledger_http_request_duration_seconds_bucket{le=\"+Inf\"}",
      "# TYPE tokenledger_log_fsync_duration_seconds histogram",
      "tokenledger_log_fsync_duration_seconds_count",
      "# TYPE tokenledger_log_append_duration_seconds histogram",
      // One append each: bootstrap, created, used, use_denied (NOT_FOUND
      // appends nothing).
      "tokenledger_log_append_duration_seconds_count 4\n",
      "tokenledger_log_last_position 4\n",
  };
  // A request is counted by the server's logger, which cpp-httplib calls on
  // the request's thread after writing the response: a client can see its
  // answer (and send the next request) before the count lands. Re-read
  // /metrics for up to 2 s until every line shows, then check them all.
  auto missing = [&](const std::string& text) {
    for (const std::string& n : needles) {
      if (text.find(n) == std::string::npos) return true;
    }
    return false;
  };
  Reply m = s.Get("/metrics", "");
  for (int i = 0; i < 200 && m.status == 200 && missing(m.raw); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    m = s.Get("/metrics", "");
  }
  ASSERT_EQ(m.status, 200);
  for (const std::string& n : needles) {
    EXPECT_NE(m.raw.find(n), std::string::npos) << "missing " << n << " in\n" << m.raw;
  }
}

// ---- create ------------------------------------------------------------------------------------

TEST(HttpApiTest, CreateReturnsTheSecretOnceAndTheFullResource) {
  TestServer s;
  Json body = {{"name", "reporting"},
               {"description", "nightly export"},
               {"permissions", {"reports/*:read", "datasets:write"}},
               {"expires_in", "30d"},
               {"credits", {{"remaining", 50}, {"refill", {{"amount", 100}, {"interval", "day"}}}}},
               {"rate_limit", {{"limit", 10}, {"window_ms", 1000}}},
               {"allowed_origins", {"app.example.com"}},
               {"allowed_ips", {"10.0.0.0/8", "2001:db8::/32"}},
               {"meta", {{"team", "bi"}}}};
  Reply r = s.Post("/v1/tokens", body);
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.content_type, "application/json");
  const std::string secret = Secret(r.body);
  // tl_ + 43 base62 body + 6 base62 checksum.
  EXPECT_TRUE(std::regex_match(secret, std::regex("tl_[0-9A-Za-z]{43}[0-9A-Za-z]{6}"))) << secret;
  EXPECT_TRUE(LooksLikeSecret(secret));
  const Json& t = r.body;
  EXPECT_TRUE(IsTokenId(Id(t))) << t;
  EXPECT_EQ(t["owner"], "admin");  // the caller's owner by default
  EXPECT_EQ(t["name"], "reporting");
  EXPECT_EQ(t["description"], "nightly export");
  EXPECT_EQ(t["permissions"], Json({"reports/*:read", "datasets:write"}));
  EXPECT_EQ(t["status"], "active");
  EXPECT_EQ(t["created_at"], "2024-03-10T12:00:00.000Z");
  EXPECT_EQ(t["expires_at"], FormatRfc3339Ms(testing::DefaultStartMs() + 30 * kDayMs));
  EXPECT_EQ(t["credits"]["remaining"], 50);
  EXPECT_EQ(t["credits"]["refill"]["amount"], 100);
  EXPECT_EQ(t["credits"]["refill"]["interval"], "day");
  EXPECT_EQ(t["rate_limit"], Json({{"limit", 10}, {"window_ms", 1000}}));
  EXPECT_EQ(t["allowed_origins"], Json({"app.example.com"}));
  EXPECT_EQ(t["allowed_ips"].size(), 2u);
  EXPECT_EQ(t["meta"], Json({{"team", "bi"}}));
  EXPECT_EQ(t["hint"], "tl_…" + secret.substr(secret.size() - 4));
  EXPECT_EQ(t["version"], 1);
  EXPECT_TRUE(t["last_used_at"].is_null());
  EXPECT_FALSE(t.contains("secret_digest"));

  // Every other read leaves the secret out.
  Reply got = s.Get("/v1/tokens/" + Id(t));
  ASSERT_EQ(got.status, 200);
  EXPECT_FALSE(got.body.contains("token"));
  EXPECT_EQ(got.raw.find(secret), std::string::npos);
  Json without_secret = t;
  without_secret.erase("token");
  EXPECT_EQ(got.body, without_secret);
  for (const std::string& path : {std::string("/v1/tokens"), "/v1/tokens/" + Id(t) + "/events",
                                  std::string("/v1/events"), "/v1/tokens/" + Id(t) + "/usage"}) {
    Reply q = s.Get(path);
    EXPECT_EQ(q.status, 200) << path;
    EXPECT_EQ(q.raw.find(secret), std::string::npos) << path;
    EXPECT_EQ(q.raw.find(secret.substr(3, 43)), std::string::npos) << path;
  }
}

TEST(HttpApiTest, CreateWithPresetPrefixOwnerAndExpiresAt) {
  TestServer s;
  Json ro = s.CreateToken({{"name", "ro"},
                           {"preset", "read-only"},
                           {"prefix", "acme"},
                           {"owner", "acme"},
                           {"expires_at", "2024-04-01T00:00:00Z"}});
  EXPECT_EQ(ro["permissions"], Json({"*:read"}));
  EXPECT_EQ(Secret(ro).rfind("acme_", 0), 0u) << Secret(ro);
  EXPECT_EQ(Secret(ro).size(), 5u + 43 + 6);
  EXPECT_EQ(ro["owner"], "acme");
  EXPECT_EQ(ro["expires_at"], "2024-04-01T00:00:00.000Z");
  Json full = s.CreateToken({{"name", "rw"}, {"preset", "full-access"}});
  EXPECT_EQ(full["permissions"], Json({"*:*"}));
  EXPECT_TRUE(full["expires_at"].is_null());
  EXPECT_TRUE(full["credits"].is_null());
  EXPECT_TRUE(full["rate_limit"].is_null());
  EXPECT_NE(Secret(ro), Secret(full));
}

// ---- list --------------------------------------------------------------------------------------

TEST(HttpApiTest, ListIsNewestFirstWithFiltersAndPaging) {
  TestServer s;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    s.clock().Advance(1000);
    ids.push_back(Id(s.CreateToken(
        {{"name", "t" + std::to_string(i)}, {"owner", i % 2 == 0 ? "even" : "odd"}})));
  }
  s.Post("/v1/tokens/" + ids[2] + "/revoke", Json::object());

  // Paging through everything, two at a time: newest first, bootstrap last.
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    Reply r = s.Get("/v1/tokens?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_LE(r.body["tokens"].size(), 2u);
    for (const Json& t : r.body["tokens"]) seen.push_back(Id(t));
    cursor = r.body["next_cursor"].is_null() ? "" : r.body["next_cursor"].get<std::string>();
    ++pages;
  } while (!cursor.empty() && pages < 10);
  ASSERT_EQ(seen.size(), 6u);
  EXPECT_EQ(pages, 3);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(seen[i], ids[4 - i]);

  Reply even = s.Get("/v1/tokens?owner=even");
  ASSERT_EQ(even.status, 200);
  std::vector<std::string> even_ids;
  for (const Json& t : even.body["tokens"]) even_ids.push_back(Id(t));
  EXPECT_EQ(even_ids, (std::vector<std::string>{ids[4], ids[2], ids[0]}));
  EXPECT_TRUE(even.body["next_cursor"].is_null());

  Reply revoked = s.Get("/v1/tokens?status=revoked");
  ASSERT_EQ(revoked.body["tokens"].size(), 1u);
  EXPECT_EQ(Id(revoked.body["tokens"][0]), ids[2]);
  EXPECT_EQ(revoked.body["tokens"][0]["status"], "revoked");
  Reply active = s.Get("/v1/tokens?status=active&owner=even");
  EXPECT_EQ(active.body["tokens"].size(), 2u);
}

// ---- get and as_of -----------------------------------------------------------------------------

TEST(HttpApiTest, GetAsOfAPositionOrATime) {
  TestServer s;
  Json t = s.CreateToken({{"name", "before"}});
  const uint64_t created_at = s.Position();
  s.clock().Advance(kHourMs);
  Reply patched = s.Patch("/v1/tokens/" + Id(t), {{"name", "after"}});
  ASSERT_EQ(patched.status, 200) << patched.raw;
  EXPECT_EQ(patched.body["name"], "after");

  Reply now = s.Get("/v1/tokens/" + Id(t));
  EXPECT_EQ(now.body["name"], "after");
  EXPECT_EQ(now.body["version"], 2);
  Reply by_position = s.Get("/v1/tokens/" + Id(t) + "?as_of=" + std::to_string(created_at));
  ASSERT_EQ(by_position.status, 200) << by_position.raw;
  EXPECT_EQ(by_position.body["name"], "before");
  EXPECT_EQ(by_position.body["version"], 1);
  Reply by_time = s.Get("/v1/tokens/" + Id(t) + "?as_of=2024-03-10T12:30:00Z");
  ASSERT_EQ(by_time.status, 200) << by_time.raw;
  EXPECT_EQ(by_time.body["name"], "before");
  Reply later = s.Get("/v1/tokens/" + Id(t) + "?as_of=2024-03-10T13:30:00Z");
  EXPECT_EQ(later.body["name"], "after");
  // Before the token existed.
  Reply before = s.Get("/v1/tokens/" + Id(t) + "?as_of=1");
  ExpectProblem(before, 404, "");
  Reply bad = s.Get("/v1/tokens/" + Id(t) + "?as_of=yesterday");
  ExpectProblem(bad, 400, "as_of");
}

// ---- PATCH -------------------------------------------------------------------------------------

TEST(HttpApiTest, PatchChangesFieldsAndRecordsPermissionChanges) {
  TestServer s;
  Json t = s.CreateToken({{"name", "p"}, {"permissions", {"a:read"}}, {"credits", 5}});
  const std::string path = "/v1/tokens/" + Id(t);
  s.clock().Advance(1000);
  Reply r = s.Patch(path, {{"description", "d"},
                           {"meta", {{"k", "v"}}},
                           {"rate_limit", {{"limit", 3}, {"window_ms", 60000}}},
                           {"allowed_origins", {"*.example.com"}},
                           {"allowed_ips", {"192.168.0.0/16"}},
                           {"expires_in", "1d"},
                           {"refill", {{"amount", 7}, {"interval", "month"}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["description"], "d");
  EXPECT_EQ(r.body["meta"], Json({{"k", "v"}}));
  EXPECT_EQ(r.body["rate_limit"]["limit"], 3);
  EXPECT_EQ(r.body["allowed_origins"], Json({"*.example.com"}));
  EXPECT_EQ(r.body["allowed_ips"], Json({"192.168.0.0/16"}));
  EXPECT_EQ(r.body["expires_at"], "2024-03-11T12:00:01.000Z");
  EXPECT_EQ(r.body["credits"]["refill"]["interval"], "month");
  EXPECT_EQ(r.body["credits"]["remaining"], 5);  // the balance moves only through /credits
  EXPECT_EQ(r.body["updated_at"], "2024-03-10T12:00:01.000Z");
  EXPECT_EQ(r.body["version"], 2);

  Reply perms = s.Patch(path, {{"permissions", {"a:read", "b:write"}}});
  ASSERT_EQ(perms.status, 200) << perms.raw;
  EXPECT_EQ(perms.body["permissions"], Json({"a:read", "b:write"}));
  Reply events = s.Get(path + "/events");
  std::vector<std::string> types = Types(events.body["events"]);
  EXPECT_EQ(types, (std::vector<std::string>{"token.created", "token.updated",
                                             "token.permissions_changed"}));
  EXPECT_EQ(perms.body["version"], 3);

  // If-Match compares the version.
  const uint64_t pos = s.Position();
  Reply stale = s.Patch(path, {{"name", "x"}}, kAdminSecret, {{"If-Match", "2"}});
  ExpectProblem(stale, 412, "If-Match");
  EXPECT_EQ(s.Position(), pos);
  EXPECT_EQ(s.Get(path).body["name"], "p");
  Reply fresh = s.Patch(path, {{"name", "x"}}, kAdminSecret, {{"If-Match", "\"3\""}});
  ASSERT_EQ(fresh.status, 200) << fresh.raw;
  EXPECT_EQ(fresh.body["name"], "x");
  EXPECT_EQ(fresh.body["version"], 4);
  // "*" is any current version (RFC 9110 13.1.1).
  Reply any = s.Patch(path, {{"name", "y"}}, kAdminSecret, {{"If-Match", "*"}});
  ASSERT_EQ(any.status, 200) << any.raw;
  EXPECT_EQ(any.body["version"], 5);
  ExpectProblem(s.Patch("/v1/tokens/tok_AAAAAAAAAAAAAAAAAAAAAA", {{"name", "y"}}, kAdminSecret,
                        {{"If-Match", "*"}}),
                404, "id");

  // A revoked token cannot be changed, regenerated or credited.
  ASSERT_EQ(s.Post(path + "/revoke", {{"reason", "leak"}}).status, 200);
  const uint64_t after_revoke = s.Position();
  ExpectProblem(s.Patch(path, {{"name", "y"}}), 409, "");
  ExpectProblem(s.Post(path + "/regenerate", Json::object()), 409, "");
  ExpectProblem(s.Post(path + "/credits", {{"set", 10}}), 409, "");
  EXPECT_EQ(s.Position(), after_revoke);
}

// ---- regenerate --------------------------------------------------------------------------------

TEST(HttpApiTest, RegenerateKeepsTheOldSecretForTheGracePeriodAndSharesTheBalance) {
  TestServer s;
  Json t = s.CreateToken({{"name", "r"}, {"credits", 10}});
  const std::string old_secret = Secret(t);
  Reply r = s.Post("/v1/tokens/" + Id(t) + "/regenerate", {{"grace_period_s", 60}});
  ASSERT_EQ(r.status, 200) << r.raw;
  const std::string new_secret = Secret(r.body);
  EXPECT_NE(new_secret, old_secret);
  EXPECT_TRUE(LooksLikeSecret(new_secret));
  EXPECT_EQ(Id(r.body), Id(t));
  EXPECT_EQ(r.body["hint"], "tl_…" + new_secret.substr(new_secret.size() - 4));
  EXPECT_EQ(s.Get("/v1/tokens/" + Id(t)).raw.find(new_secret), std::string::npos);

  // Inside the grace period both work, against one balance.
  Json a = s.Verify({{"token", old_secret}, {"cost", 4}});
  EXPECT_EQ(a["code"], "VALID");
  EXPECT_EQ(a["remaining"], 6);
  Json b = s.Verify({{"token", new_secret}, {"cost", 4}});
  EXPECT_EQ(b["code"], "VALID");
  EXPECT_EQ(b["remaining"], 2);
  EXPECT_EQ(s.Verify({{"token", old_secret}, {"cost", 3}})["code"], "USAGE_EXCEEDED");

  s.clock().Advance(59'999);
  EXPECT_EQ(s.Verify({{"token", old_secret}, {"cost", 1}})["code"], "VALID");
  s.clock().Advance(1);
  Json gone = s.Verify({{"token", old_secret}, {"cost", 1}});
  EXPECT_EQ(gone, Json({{"valid", false}, {"code", "NOT_FOUND"}}));
  EXPECT_EQ(s.Verify({{"token", new_secret}, {"cost", 1}})["code"], "VALID");

  // No grace: the old secret stops at once.
  Reply again = s.Post("/v1/tokens/" + Id(t) + "/regenerate", Json::object());
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(s.Verify({{"token", new_secret}, {"cost", 0}})["code"], "NOT_FOUND");
  EXPECT_EQ(s.Verify({{"token", Secret(again.body)}, {"cost", 0}})["code"], "VALID");

  ExpectProblem(s.Post("/v1/tokens/" + Id(t) + "/regenerate", {{"grace_period_s", 604801}}), 400,
                "grace_period_s");
}

// ---- revoke ------------------------------------------------------------------------------------

TEST(HttpApiTest, RevokeIsImmediateForEverySecretAndIdempotent) {
  TestServer s;
  Json t = s.CreateToken({{"name", "v"}, {"permissions", {"ledger:read"}}});
  const std::string old_secret = Secret(t);
  Reply regen = s.Post("/v1/tokens/" + Id(t) + "/regenerate", {{"grace_period_s", 3600}});
  const std::string new_secret = Secret(regen.body);
  EXPECT_EQ(s.Get("/v1/tokens", old_secret).status, 200);
  EXPECT_EQ(s.Get("/v1/tokens", new_secret).status, 200);

  Reply r = s.Post("/v1/tokens/" + Id(t) + "/revoke", {{"reason", "rotated out"}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["status"], "revoked");
  // Effective before the response: both secrets fail now.
  EXPECT_EQ(s.Verify({{"token", old_secret}})["code"], "REVOKED");
  EXPECT_EQ(s.Verify({{"token", new_secret}})["code"], "REVOKED");
  EXPECT_EQ(s.Get("/v1/tokens", old_secret).status, 401);
  EXPECT_EQ(s.Get("/v1/tokens", new_secret).status, 401);

  const uint64_t pos = s.Position();
  Reply again = s.Post("/v1/tokens/" + Id(t) + "/revoke", {{"reason", "again"}});
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body["status"], "revoked");
  EXPECT_EQ(s.Position(), pos);
  EXPECT_EQ(Types(s.Get("/v1/tokens/" + Id(t) + "/events").body["events"]),
            (std::vector<std::string>{"token.created", "token.regenerated", "token.revoked",
                                      "token.use_denied", "token.use_denied"}));
}

// RFC 9112 6.3: no Content-Length and no Transfer-Encoding is a zero-length
// body. `curl -X POST` without -d sends such a request on a kept-alive
// connection; the audit got a bare 400 (after httplib's 5 s read timeout).
TEST(HttpApiTest, PostWithoutContentLengthIsAnEmptyBody) {
  TestServer s;
  Json t = s.CreateToken({{"name", "bodyless"}});
  const std::string auth = "Authorization: Bearer " + std::string(kAdminSecret) + "\r\n";
  auto bodyless = [&](const std::string& path) {
    return testing::RawExchange(
        s.port(), "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + "\r\n");
  };
  const auto started = std::chrono::steady_clock::now();
  Reply regen = bodyless("/v1/tokens/" + Id(t) + "/regenerate");
  ASSERT_EQ(regen.status, 200) << regen.raw;
  EXPECT_TRUE(LooksLikeSecret(Secret(regen.body))) << regen.raw;
  Reply revoke = bodyless("/v1/tokens/" + Id(t) + "/revoke");
  ASSERT_EQ(revoke.status, 200) << revoke.raw;
  EXPECT_EQ(revoke.body["status"], "revoked");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
  // Create still needs a body.
  ExpectProblem(bodyless("/v1/tokens"), 400, "");
}

// ---- credits and refill ------------------------------------------------------------------------

TEST(HttpApiTest, CreditsSetAndAddNeverGoBelowZero) {
  TestServer s;
  Json t = s.CreateToken({{"name", "c"}, {"credits", 3}});
  const std::string path = "/v1/tokens/" + Id(t) + "/credits";
  Reply set = s.Post(path, {{"set", 5}});
  ASSERT_EQ(set.status, 200) << set.raw;
  EXPECT_EQ(set.body["credits"]["remaining"], 5);
  Reply down = s.Post(path, {{"add", -10}});
  EXPECT_EQ(down.body["credits"]["remaining"], 0);
  Reply up = s.Post(path, {{"add", 7}});
  EXPECT_EQ(up.body["credits"]["remaining"], 7);
  EXPECT_EQ(s.Verify({{"token", Secret(t)}, {"cost", 7}})["remaining"], 0);

  Json events = s.Get("/v1/tokens/" + Id(t) + "/events").body["events"];
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[1]["type"], "token.credits_adjusted");
  EXPECT_EQ(events[2]["data"]["balance"], 0);
  EXPECT_EQ(events[2]["data"]["add"], -10);

  // Unlimited: add has nothing to add to; set makes it limited.
  Json u = s.CreateToken({{"name", "unlimited"}});
  const std::string upath = "/v1/tokens/" + Id(u) + "/credits";
  const uint64_t pos = s.Position();
  ExpectProblem(s.Post(upath, {{"add", 5}}), 409, "add");
  EXPECT_EQ(s.Position(), pos);
  Reply limited = s.Post(upath, {{"set", 2}});
  EXPECT_EQ(limited.body["credits"]["remaining"], 2);

  ExpectProblem(s.Post(path, {{"set", -1}}), 400, "set");
  ExpectProblem(s.Post(path, {{"set", 1}, {"add", 1}}), 400, "");
  ExpectProblem(s.Post(path, Json::object()), 400, "");
}

TEST(HttpApiTest, RefillAtTheNextUtcDayAndMonth) {
  TestServer s;
  Json day = s.CreateToken(
      {{"name", "daily"},
       {"credits", {{"remaining", 2}, {"refill", {{"amount", 5}, {"interval", "day"}}}}}});
  Json month = s.CreateToken(
      {{"name", "monthly"},
       {"credits", {{"remaining", 1}, {"refill", {{"amount", 9}, {"interval", "month"}}}}}});
  EXPECT_EQ(s.Verify({{"token", Secret(day)}, {"cost", 2}})["remaining"], 0);
  EXPECT_EQ(s.Verify({{"token", Secret(day)}})["code"], "USAGE_EXCEEDED");
  EXPECT_EQ(s.Verify({{"token", Secret(month)}})["remaining"], 0);

  // One millisecond before midnight UTC: still empty.
  s.clock().Set(*ParseRfc3339("2024-03-10T23:59:59.999Z"));
  EXPECT_EQ(s.Get("/v1/tokens/" + Id(day)).body["credits"]["remaining"], 0);
  s.clock().Set(*ParseRfc3339("2024-03-11T00:00:00Z"));
  EXPECT_EQ(s.Get("/v1/tokens/" + Id(day)).body["credits"]["remaining"], 5);
  EXPECT_EQ(s.Get("/v1/tokens/" + Id(month)).body["credits"]["remaining"], 0);
  Json used = s.Verify({{"token", Secret(day)}, {"cost", 5}});
  EXPECT_EQ(used["code"], "VALID");
  EXPECT_EQ(used["remaining"], 0);

  s.clock().Set(*ParseRfc3339("2024-04-01T00:00:00Z"));
  EXPECT_EQ(s.Get("/v1/tokens/" + Id(month)).body["credits"]["remaining"], 9);
  EXPECT_EQ(s.Verify({{"token", Secret(month)}, {"cost", 9}})["code"], "VALID");
  EXPECT_EQ(s.Get("/v1/tokens/" + Id(day)).body["credits"]["remaining"], 5);
}

// ---- verify ------------------------------------------------------------------------------------

TEST(HttpApiTest, VerifyChecksInOrderFirstFailureWins) {
  TestServer s;
  Json t = s.CreateToken({{"name", "guarded"},
                          {"permissions", {"reports:read"}},
                          {"expires_in", "1h"},
                          {"credits", 5},
                          {"rate_limit", {{"limit", 1}, {"window_ms", 60000}}},
                          {"allowed_origins", {"app.example.com"}},
                          {"allowed_ips", {"10.0.0.0/8"}},
                          {"meta", {{"plan", "pro"}}}});
  const std::string secret = Secret(t);
  const Json bad = {{"token", secret},
                    {"origin", "https://evil.example.org"},
                    {"ip", "192.0.2.1"},
                    {"permissions", {"reports:write"}},
                    {"cost", 100}};
  auto with = [&](Json patch) {
    Json b = bad;
    b.update(patch);
    return s.Verify(b);
  };
  EXPECT_EQ(with(Json::object())["code"], "ORIGIN_NOT_ALLOWED");
  Json no_origin = bad;
  no_origin.erase("origin");
  EXPECT_EQ(s.Verify(no_origin)["code"], "ORIGIN_NOT_ALLOWED");
  const Json good_origin = {{"origin", "https://app.example.com:8443"}};
  EXPECT_EQ(with(good_origin)["code"], "IP_NOT_ALLOWED");
  Json good_ip = good_origin;
  good_ip["ip"] = "10.1.2.3";
  EXPECT_EQ(with(good_ip)["code"], "FORBIDDEN");
  Json good_perms = good_ip;
  good_perms["permissions"] = {"reports:read"};
  Json exceeded = with(good_perms);
  EXPECT_EQ(exceeded["code"], "USAGE_EXCEEDED");
  EXPECT_EQ(exceeded["remaining"], 5);  // nothing deducted
  Json valid_req = good_perms;
  valid_req["cost"] = 2;
  Json valid = with(valid_req);
  EXPECT_EQ(valid["valid"], true);
  EXPECT_EQ(valid["code"], "VALID");
  EXPECT_EQ(valid["token_id"], Id(t));
  EXPECT_EQ(valid["owner"], "admin");
  EXPECT_EQ(valid["name"], "guarded");
  EXPECT_EQ(valid["permissions"], Json({"reports:read"}));
  EXPECT_EQ(valid["expires_at"], "2024-03-10T13:00:00.000Z");
  EXPECT_EQ(valid["remaining"], 3);
  EXPECT_EQ(valid["rate_limit"], Json({{"limit", 1}, {"remaining", 0}, {"reset_ms", 60000}}));
  EXPECT_EQ(valid["meta"], Json({{"plan", "pro"}}));
  // Rate limit before usage: both fail here, the window wins.
  s.clock().Advance(1000);
  Json limited = with(good_perms);
  EXPECT_EQ(limited["code"], "RATE_LIMITED");
  EXPECT_EQ(limited["valid"], false);
  EXPECT_EQ(limited["rate_limit"]["reset_ms"], 59000);
  s.clock().Advance(59'000);
  EXPECT_EQ(with(valid_req)["code"], "VALID");  // the window slid past the first use
  // Expired beats everything after it.
  s.clock().Set(*ParseRfc3339("2024-03-10T13:00:00Z"));
  EXPECT_EQ(with(Json::object())["code"], "EXPIRED");
  // Revoked beats expired.
  ASSERT_EQ(s.Post("/v1/tokens/" + Id(t) + "/revoke", Json::object()).status, 200);
  EXPECT_EQ(with(Json::object())["code"], "REVOKED");

  // A failure on a known token is recorded with its code.
  std::vector<std::string> denied;
  const Json events = s.Get("/v1/tokens/" + Id(t) + "/events").body["events"];
  ASSERT_FALSE(events.empty());
  for (const Json& e : events) {
    if (e["type"] == "token.use_denied") denied.push_back(e["data"]["code"]);
    if (e["type"] == "token.used") {
      EXPECT_EQ(e["data"]["cost"], 2);
    }
  }
  EXPECT_EQ(denied, (std::vector<std::string>{"ORIGIN_NOT_ALLOWED", "ORIGIN_NOT_ALLOWED",
                                              "IP_NOT_ALLOWED", "FORBIDDEN", "USAGE_EXCEEDED",
                                              "RATE_LIMITED", "EXPIRED", "REVOKED"}));
}

TEST(HttpApiTest, VerifyNotFoundHasOnlyValidAndCodeAndAppendsNothing) {
  TestServer s;
  Json t = s.CreateToken({{"name", "n"}});
  const std::string secret = Secret(t);
  const uint64_t pos = s.Position();
  std::string typo = secret;
  typo[10] = typo[10] == 'a' ? 'b' : 'a';
  for (const std::string& token :
       {std::string("tl_unknown"), typo, std::string("x"), std::string(200, 'z')}) {
    Json r = s.Verify({{"token", token}});
    EXPECT_EQ(r, Json({{"valid", false}, {"code", "NOT_FOUND"}})) << token;
  }
  EXPECT_EQ(s.Position(), pos);
  // The bootstrap secret has no tl_ shape and still verifies.
  EXPECT_EQ(s.Verify({{"token", kAdminSecret}, {"cost", 0}})["code"], "VALID");
}

TEST(HttpApiTest, VerifyPermissionListsAndQueries) {
  TestServer s;
  Json t = s.CreateToken(
      {{"name", "q"}, {"permissions", {"datasets/*:read", "reports:write", "*:list"}}});
  auto code = [&](Json permissions) {
    return s.Verify({{"token", Secret(t)}, {"permissions", permissions}, {"cost", 0}})["code"]
        .get<std::string>();
  };
  EXPECT_EQ(code("datasets/sales:read AND (reports:read OR reports:write)"), "VALID");
  EXPECT_EQ(code("datasets/sales:read AND (reports:read OR reports:delete)"), "FORBIDDEN");
  EXPECT_EQ(code("(datasets/sales:write OR reports:write) AND invoices:list"), "VALID");
  EXPECT_EQ(code("datasets/sales:write OR (reports:read AND reports:write)"), "FORBIDDEN");
  EXPECT_EQ(code(Json::array({"datasets/a/b:read", "reports:write"})), "VALID");
  EXPECT_EQ(code(Json::array({"datasets/a:read", "reports:read"})), "FORBIDDEN");
  EXPECT_EQ(code(Json::array()), "VALID");
  // `*` never crosses the colon, and ledger: permissions only match by name.
  EXPECT_EQ(code("datasets:read"), "FORBIDDEN");
  EXPECT_EQ(code("ledger:list"), "FORBIDDEN");
  Json any = s.CreateToken({{"name", "any"}, {"preset", "full-access"}});
  EXPECT_EQ(s.Verify({{"token", Secret(any)}, {"permissions", "x/y:z"}, {"cost", 0}})["code"],
            "VALID");
  EXPECT_EQ(s.Verify({{"token", Secret(any)}, {"permissions", "ledger:read"}, {"cost", 0}})["code"],
            "FORBIDDEN");

  const uint64_t pos = s.Position();
  ExpectProblem(s.Post("/v1/verify", {{"token", Secret(t)}, {"permissions", "a:b AND (c:d"}}), 400,
                "permissions");
  ExpectProblem(s.Post("/v1/verify", {{"token", Secret(t)}, {"cost", -1}}), 400, "cost");
  ExpectProblem(s.Post("/v1/verify", {{"token", Secret(t)}, {"ip", "10.0.0"}}), 400, "ip");
  ExpectProblem(s.Post("/v1/verify", {{"permissions", "a:b"}}), 400, "token");
  EXPECT_EQ(s.Position(), pos);
}

// ---- audit and usage ---------------------------------------------------------------------------

TEST(HttpApiTest, FeedLooksAtABoundedNumberOfEventsPerCall) {
  ServerOptions options;
  options.max_feed_scan = 5;
  TestServer s(options);
  Json t = s.CreateToken({{"name", "t"}});
  for (int i = 0; i < 10; ++i) s.Verify({{"token", Secret(t)}});
  ASSERT_EQ(s.Post("/v1/tokens/" + Id(t) + "/revoke", Json::object()).status, 200);
  const uint64_t end = s.Position();  // bootstrap, created, 10 used, revoked
  ASSERT_EQ(end, 13u);
  // A filter that matches only the last event: each call looks at 5 events
  // at most and says where to continue.
  uint64_t after = 0;
  std::vector<Json> found;
  int calls = 0;
  while (after < end) {
    Reply r = s.Get("/v1/events?type=token.revoked&after=" + std::to_string(after));
    ASSERT_EQ(r.status, 200) << r.raw;
    const uint64_t next = r.body["last_position"].get<uint64_t>();
    EXPECT_GT(next, after);
    EXPECT_LE(next - after, 5u);
    for (const Json& e : r.body["events"]) found.push_back(e);
    after = next;
    ++calls;
  }
  EXPECT_EQ(calls, 3);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["position"], 13);
}

TEST(HttpApiTest, TokenEventsFeedAndUsage) {
  TestServer s;
  Json a = s.CreateToken({{"name", "a"}, {"credits", 100}, {"permissions", {"x:read"}}});
  Json b = s.CreateToken({{"name", "b"}, {"owner", "other"}});
  s.Verify({{"token", Secret(a)}, {"cost", 3}});
  s.clock().Advance(kHourMs);
  s.Verify({{"token", Secret(a)}, {"cost", 4}});
  s.Verify({{"token", Secret(a)}, {"permissions", "y:read"}});
  s.Verify({{"token", Secret(b)}, {"cost", 5}});

  // The token's stream, with after/limit on versions.
  Reply events = s.Get("/v1/tokens/" + Id(a) + "/events");
  ASSERT_EQ(events.status, 200) << events.raw;
  const Json& ev = events.body["events"];
  ASSERT_EQ(ev.size(), 4u);
  for (size_t i = 0; i < ev.size(); ++i) {
    EXPECT_EQ(ev[i]["version"], i + 1);
    EXPECT_EQ(ev[i]["token_id"], Id(a));
    for (const char* f : {"id", "position", "time", "actor", "data", "prev_hash", "hash"}) {
      EXPECT_TRUE(ev[i].contains(f)) << f;
    }
  }
  EXPECT_EQ(ev[1]["data"]["cost"], 3);
  Reply page = s.Get("/v1/tokens/" + Id(a) + "/events?after=1&limit=2");
  ASSERT_EQ(page.body["events"].size(), 2u);
  EXPECT_EQ(page.body["events"][0]["version"], 2);
  EXPECT_EQ(page.body["events"][1]["version"], 3);
  ExpectProblem(s.Get("/v1/tokens/" + Id(a) + "/events?limit=1001"), 400, "limit");

  // The global feed, in position order, resumable, filterable by type.
  Json all = AllEvents(s);
  ASSERT_EQ(all.size(), s.Position());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i]["position"], i + 1);
  Reply after = s.Get("/v1/events?after=2&limit=2");
  ASSERT_EQ(after.body["events"].size(), 2u);
  EXPECT_EQ(after.body["events"][0]["position"], 3);
  EXPECT_EQ(after.body["last_position"], 4);
  Reply used = s.Get("/v1/events?type=token.used");
  ASSERT_EQ(used.status, 200);
  EXPECT_EQ(used.body["events"].size(), 3u);
  for (const Json& e : used.body["events"]) EXPECT_EQ(e["type"], "token.used");
  EXPECT_EQ(used.body["last_position"], s.Position());
  ExpectProblem(s.Get("/v1/events?type=token.nope"), 400, "type");
  ExpectProblem(s.Get("/v1/events?after=-1"), 400, "after");

  // Usage of one token, by hour and by day.
  Reply usage = s.Get("/v1/tokens/" + Id(a) + "/usage?bucket=hour");
  ASSERT_EQ(usage.status, 200) << usage.raw;
  EXPECT_EQ(usage.body["total"]["uses"], 2);
  EXPECT_EQ(usage.body["total"]["credits_spent"], 7);
  EXPECT_EQ(usage.body["total"]["denied"], Json({{"FORBIDDEN", 1}}));
  ASSERT_EQ(usage.body["buckets"].size(), 2u);
  EXPECT_EQ(usage.body["buckets"][0]["start"], "2024-03-10T12:00:00.000Z");
  EXPECT_EQ(usage.body["buckets"][0]["credits_spent"], 3);
  EXPECT_EQ(usage.body["buckets"][1]["start"], "2024-03-10T13:00:00.000Z");
  EXPECT_EQ(usage.body["buckets"][1]["uses"], 1);
  Reply daily = s.Get("/v1/tokens/" + Id(a) +
                      "/usage?bucket=day&from=2024-03-01T00:00:00Z&to=2024-03-12T00:00:00Z");
  ASSERT_EQ(daily.body["buckets"].size(), 1u);
  EXPECT_EQ(daily.body["buckets"][0]["start"], "2024-03-10T00:00:00.000Z");
  EXPECT_EQ(daily.body["buckets"][0]["uses"], 2);
  Reply narrow =
      s.Get("/v1/tokens/" + Id(a) + "/usage?from=2024-03-10T13:00:00Z&to=2024-03-10T14:00:00Z");
  EXPECT_EQ(narrow.body["total"]["credits_spent"], 4);

  // Usage by owner.
  Reply other = s.Get("/v1/usage?owner=other");
  ASSERT_EQ(other.status, 200) << other.raw;
  EXPECT_EQ(other.body["total"]["uses"], 1);
  EXPECT_EQ(other.body["total"]["credits_spent"], 5);
  Reply everyone = s.Get("/v1/usage");
  EXPECT_EQ(everyone.body["total"]["uses"], 3);
  ExpectProblem(s.Get("/v1/usage?bucket=week"), 400, "bucket");
  ExpectProblem(s.Get("/v1/usage?from=2024-03-10T14:00:00Z&to=2024-03-10T13:00:00Z"), 400, "from");
}

// The HTTP feeds serve events without the digest of a secret: any
// ledger:read caller could search a low-entropy chosen secret offline. The
// log and what goes to Kafka keep it (a restore needs it).
TEST(HttpApiTest, FeedsCarryNoSecretDigest) {
  TestServer s;
  Json t = s.CreateToken({{"name", "a"}});
  Reply regen = s.Post("/v1/tokens/" + Id(t) + "/regenerate", {{"grace_period_s", 60}});
  ASSERT_EQ(regen.status, 200) << regen.raw;
  const std::vector<std::string> digests = {SecretDigest(kAdminSecret), SecretDigest(Secret(t)),
                                            SecretDigest(Secret(regen.body))};
  for (const std::string& path :
       {std::string("/v1/events?limit=1000"), "/v1/tokens/" + Id(t) + "/events",
        std::string("/v1/events?type=token.regenerated")}) {
    Reply r = s.Get(path);
    ASSERT_EQ(r.status, 200) << r.raw;
    ASSERT_FALSE(r.body["events"].empty()) << path;
    EXPECT_EQ(r.raw.find("secret_digest"), std::string::npos) << path << ": " << r.raw;
    for (const std::string& d : digests) EXPECT_EQ(r.raw.find(d), std::string::npos) << path;
    for (const Json& e : r.body["events"]) {
      if (e["type"] == "token.created") {
        EXPECT_TRUE(e["data"].contains("hint")) << e;
      }
      if (e["type"] == "token.regenerated") {
        EXPECT_TRUE(e["data"].contains("previous_valid_until")) << e;
      }
    }
  }
  // The log, and the CloudEvents the Kafka relay and `log export` write from
  // it, keep every digest.
  std::string exported;
  for (const Event& e : s.ledger().log().Read(Position(1), 1000)) {
    exported += ToCloudEvent(e).dump();
  }
  for (const std::string& d : digests) EXPECT_NE(exported.find(d), std::string::npos) << d;
}

// A use at the very first millisecond of an hour counts in the default window
// (which ends now).
TEST(HttpApiTest, UsageDefaultWindowIncludesAUseAtNow) {
  TestServer s;  // the clock stands exactly on 12:00:00.000
  Json t = s.CreateToken({{"name", "edge"}});
  s.Verify({{"token", Secret(t)}});
  Reply usage = s.Get("/v1/tokens/" + Id(t) + "/usage");
  ASSERT_EQ(usage.status, 200);
  EXPECT_EQ(usage.body["total"]["uses"], 1) << usage.raw;
}

// ---- who may do what ---------------------------------------------------------------------------

TEST(HttpApiTest, EveryV1CallNeedsAnActiveBearer) {
  TestServer s;
  const uint64_t pos = s.Position();
  for (const std::string& secret : {std::string(), std::string("tl_wrong"), std::string(40, 'q')}) {
    Reply r = s.Get("/v1/tokens", secret);
    ExpectProblem(r, 401, "");
    EXPECT_EQ(r.Header("WWW-Authenticate"), "Bearer");
    Reply c = s.Post("/v1/tokens", {{"name", "x"}}, secret);
    ExpectProblem(c, 401, "");
    EXPECT_EQ(c.Header("WWW-Authenticate"), "Bearer");
    ExpectProblem(s.Post("/v1/verify", {{"token", kAdminSecret}}, secret), 401, "");
  }
  // Not a Bearer scheme.
  Reply basic =
      testing::ToReply(s.NewClient()->Get("/v1/tokens", {{"Authorization", "Basic YTpi"}}));
  ExpectProblem(basic, 401, "");
  // Expired management tokens stop working.
  Json expiring =
      s.CreateToken({{"name", "e"}, {"permissions", {"ledger:read"}}, {"expires_in", "1m"}});
  EXPECT_EQ(s.Get("/v1/tokens", Secret(expiring)).status, 200);
  s.clock().Advance(60'000);
  ExpectProblem(s.Get("/v1/tokens", Secret(expiring)), 401, "");
  EXPECT_EQ(s.Position(), pos + 1);
}

TEST(HttpApiTest, EachEndpointNeedsItsPermission) {
  TestServer s;
  Json target = s.CreateToken({{"name", "target"}, {"owner", "acme"}});
  const std::string id = Id(target);
  Json reader = Manager(s, "acme", {"ledger:read"});
  Json writer = Manager(s, "acme", {"ledger:write"});
  Json verifier = Manager(s, "acme", {"ledger:verify"});
  Json star = Manager(s, "acme", {"*:*"});
  const uint64_t pos = s.Position();

  for (const Json* who : {&writer, &verifier, &star}) {
    ExpectProblem(s.Get("/v1/tokens", Secret(*who)), 403, "");
    ExpectProblem(s.Get("/v1/tokens/" + id, Secret(*who)), 403, "");
    ExpectProblem(s.Get("/v1/events", Secret(*who)), 403, "");
    ExpectProblem(s.Get("/v1/usage", Secret(*who)), 403, "");
  }
  for (const Json* who : {&reader, &verifier, &star}) {
    ExpectProblem(s.Post("/v1/tokens", {{"name", "x"}}, Secret(*who)), 403, "");
    ExpectProblem(s.Patch("/v1/tokens/" + id, {{"name", "x"}}, Secret(*who)), 403, "");
    ExpectProblem(s.Post("/v1/tokens/" + id + "/revoke", Json::object(), Secret(*who)), 403, "");
    ExpectProblem(s.Post("/v1/tokens/" + id + "/regenerate", Json::object(), Secret(*who)), 403,
                  "");
    ExpectProblem(s.Post("/v1/tokens/" + id + "/credits", {{"set", 1}}, Secret(*who)), 403, "");
  }
  for (const Json* who : {&reader, &writer, &star}) {
    ExpectProblem(s.Post("/v1/verify", {{"token", Secret(target)}}, Secret(*who)), 403, "");
  }
  EXPECT_EQ(s.Position(), pos);

  EXPECT_EQ(s.Get("/v1/tokens/" + id, Secret(reader)).status, 200);
  EXPECT_EQ(s.Patch("/v1/tokens/" + id, {{"name", "y"}}, Secret(writer)).status, 200);
  EXPECT_EQ(s.Post("/v1/verify", {{"token", Secret(target)}}, Secret(verifier)).body["code"],
            "VALID");
}

// /v1/verify authenticates and verifies under one lock: its errors still come
// in the order of every other endpoint (bearer, body JSON, permission, fields).
TEST(HttpApiTest, VerifyErrorsComeInTheOrderBearerBodyPermissionFields) {
  TestServer s;
  Json target = s.CreateToken({{"name", "target"}, {"owner", "acme"}, {"credits", 5}});
  Json reader = Manager(s, "acme", {"ledger:read"});
  Json verifier = Manager(s, "acme", {"ledger:verify"});
  const uint64_t pos = s.Position();
  for (const std::string& bearer : {std::string(), std::string("tl_wrong")}) {
    ExpectProblem(s.PostRaw("/v1/verify", "{", bearer), 401, "");
    ExpectProblem(s.Post("/v1/verify", {{"cost", -1}}, bearer), 401, "");
  }
  ExpectProblem(s.PostRaw("/v1/verify", "{", Secret(reader)), 400, "body");
  ExpectProblem(s.Post("/v1/verify", {{"cost", -1}}, Secret(reader)), 403, "");
  ExpectProblem(s.Post("/v1/verify", {{"token", Secret(target)}}, Secret(reader)), 403, "");
  ExpectProblem(s.PostRaw("/v1/verify", "{", Secret(verifier)), 400, "body");
  ExpectProblem(s.Post("/v1/verify", {{"token", Secret(target)}, {"cost", -1}}, Secret(verifier)),
                400, "cost");
  EXPECT_EQ(s.Position(), pos);
  Reply ok = s.Post("/v1/verify", {{"token", Secret(target)}, {"cost", 2}}, Secret(verifier));
  EXPECT_EQ(ok.body["code"], "VALID");
  EXPECT_EQ(ok.body["remaining"], 3);
  EXPECT_EQ(s.Position(), pos + 1);
}

TEST(HttpApiTest, LedgerPermissionsAreGrantedOnlyByNameAndOnlyIfHeld) {
  TestServer s;
  Json writer = Manager(s, "acme", {"ledger:write", "ledger:read", "a:b"});
  const std::string w = Secret(writer);
  const uint64_t pos = s.Position();
  ExpectProblem(s.Post("/v1/tokens", {{"name", "x"}, {"permissions", {"ledger:admin"}}}, w), 403,
                "permissions");
  ExpectProblem(s.Post("/v1/tokens", {{"name", "x"}, {"permissions", {"ledger:verify"}}}, w), 403,
                "permissions");
  EXPECT_EQ(s.Position(), pos);
  Json child = s.CreateToken({{"name", "child"}, {"permissions", {"ledger:write", "a:b"}}}, w);
  EXPECT_EQ(child["owner"], "acme");
  ExpectProblem(s.Patch("/v1/tokens/" + Id(child), {{"permissions", {"ledger:admin"}}}, w), 403,
                "permissions");
  // A writer grants only what it holds: not *:*, which it does not hold.
  ExpectProblem(s.Post("/v1/tokens", {{"name", "full"}, {"preset", "full-access"}}, w), 403,
                "permissions");
  // *:* does not reach ledger: permissions, so a full-access token manages nothing.
  Json full = s.CreateToken({{"name", "full"}, {"owner", "acme"}, {"preset", "full-access"}});
  ExpectProblem(s.Get("/v1/tokens", Secret(full)), 403, "");
  // The admin may grant anything.
  Json admin2 = s.CreateToken({{"name", "a2"}, {"permissions", {"ledger:admin"}}});
  EXPECT_EQ(s.Get("/v1/tokens", Secret(admin2)).status, 200);
}

// The audit's reproduction: a ledger:write token regenerated its owner's
// ledger:admin token, received the new secret and was admin.
TEST(HttpApiTest, RegeneratingATokenWithLedgerPermissionsTheCallerLacksIsForbidden) {
  TestServer s;
  const std::string w = Secret(Manager(s, "team1", {"ledger:read", "ledger:write", "a:b"}));
  Json team_admin = Manager(s, "team1", {"ledger:admin"});
  const std::string aid = Id(team_admin);
  const uint64_t pos = s.Position();

  ExpectProblem(s.Post("/v1/tokens", {{"name", "x"}, {"permissions", {"ledger:admin"}}}, w), 403,
                "permissions");
  Reply regen = s.Post("/v1/tokens/" + aid + "/regenerate", Json::object(), w);
  ExpectProblem(regen, 403, "permissions");
  EXPECT_FALSE(regen.body.contains("token")) << regen.raw;
  EXPECT_NE(regen.body.value("detail", "").find("ledger:admin"), std::string::npos) << regen.raw;
  EXPECT_EQ(s.Position(), pos);
  // The admin token's secret is unchanged.
  EXPECT_EQ(s.Get("/v1/tokens?owner=admin", Secret(team_admin)).status, 200);

  // Tokens holding only what the writer holds may still be regenerated by it.
  Json peer = s.CreateToken({{"name", "peer"}, {"permissions", {"ledger:read", "a:b"}}}, w);
  Reply ok = s.Post("/v1/tokens/" + Id(peer) + "/regenerate", Json::object(), w);
  EXPECT_EQ(ok.status, 200) << ok.raw;
  EXPECT_TRUE(LooksLikeSecret(Secret(ok.body)));
  // And the admin may regenerate anything.
  EXPECT_EQ(s.Post("/v1/tokens/" + aid + "/regenerate", Json::object()).status, 200);
}

// Asserts a problem of type `slug` (urn:tokenledger:problem:<slug>).
void ExpectProblemType(const Reply& r, int status, const std::string& field,
                       const std::string& slug) {
  ExpectProblem(r, status, field);
  EXPECT_EQ(r.body.value("type", std::string()), "urn:tokenledger:problem:" + slug) << r.raw;
}

// The audit's reproduction inside one owner: a token holding only
// ledger:write removed every permission from, re-dated and revoked a
// ledger:admin token. Every action on a token needs every ledger: permission
// it holds.
TEST(HttpApiTest, AWriterCannotActOnATokenHoldingLedgerPermissionsItLacks) {
  TestServer s;
  const std::string w = Secret(Manager(s, "team1", {"ledger:write"}));
  Json team_admin = Manager(s, "team1", {"ledger:admin"});
  const std::string aid = Id(team_admin);
  Json reader = s.CreateToken(
      {{"name", "reader"}, {"owner", "team1"}, {"permissions", {"ledger:read"}}, {"credits", 5}});
  const uint64_t pos = s.Position();

  for (const std::string& id : {aid, Id(reader)}) {
    const std::string path = "/v1/tokens/" + id;
    ExpectProblemType(s.Patch(path, {{"permissions", Json::array()}}, w), 403, "permissions",
                      "insufficient-authority");
    ExpectProblemType(s.Patch(path, {{"expires_in", "1m"}}, w), 403, "permissions",
                      "insufficient-authority");
    ExpectProblemType(s.Post(path + "/revoke", Json::object(), w), 403, "permissions",
                      "insufficient-authority");
    ExpectProblemType(s.Post(path + "/credits", {{"set", 0}}, w), 403, "permissions",
                      "insufficient-authority");
    Reply regen = s.Post(path + "/regenerate", Json::object(), w);
    ExpectProblemType(regen, 403, "permissions", "insufficient-authority");
    EXPECT_FALSE(regen.body.contains("token"));
  }
  EXPECT_EQ(s.Position(), pos);
  EXPECT_EQ(s.Get("/v1/tokens", Secret(team_admin)).status, 200);  // untouched
  // A writer that holds what the token holds may act on it; so may an admin.
  const std::string rw = Secret(Manager(s, "team1", {"ledger:write", "ledger:read"}));
  EXPECT_EQ(s.Post("/v1/tokens/" + Id(reader) + "/credits", {{"set", 1}}, rw).status, 200);
  EXPECT_EQ(s.Post("/v1/tokens/" + aid + "/revoke", Json::object()).status, 200);
}

// A token created with expires_in 1h removed its own expiry.
TEST(HttpApiTest, NoTokenLoosensItsOwnLimits) {
  TestServer s;
  Json me = s.CreateToken({{"name", "me"},
                           {"owner", "acme"},
                           {"permissions", {"ledger:write", "ledger:read", "reports:read"}},
                           {"expires_in", "1h"},
                           {"allowed_ips", {"127.0.0.0/8"}},
                           {"rate_limit", {{"limit", 100}, {"window_ms", 1000}}},
                           {"credits", 10}});
  const std::string m = Secret(me);
  const std::string path = "/v1/tokens/" + Id(me);
  const uint64_t pos = s.Position();
  const std::string kSlug = "loosens-own-limits";
  ExpectProblemType(s.Patch(path, {{"expires_at", nullptr}}, m), 403, "expires_at", kSlug);
  ExpectProblemType(s.Patch(path, {{"expires_in", "2h"}}, m), 403, "expires_at", kSlug);
  ExpectProblemType(s.Patch(path, {{"allowed_ips", nullptr}}, m), 403, "allowed_ips", kSlug);
  ExpectProblemType(s.Patch(path, {{"allowed_ips", {"0.0.0.0/0"}}}, m), 403, "allowed_ips[0]",
                    kSlug);
  ExpectProblemType(s.Patch(path, {{"rate_limit", nullptr}}, m), 403, "rate_limit", kSlug);
  ExpectProblemType(s.Patch(path, {{"permissions", {"ledger:write", "reports:*"}}}, m), 403,
                    "permissions", kSlug);
  ExpectProblemType(s.Post(path + "/credits", {{"add", 5}}, m), 403, "add", kSlug);
  EXPECT_EQ(s.Position(), pos);
  // Tightening is fine.
  Reply tighter = s.Patch(path,
                          {{"expires_in", "30m"},
                           {"allowed_ips", {"127.0.0.1"}},
                           {"rate_limit", {{"limit", 10}, {"window_ms", 1000}}},
                           {"permissions", {"ledger:write", "ledger:read"}}},
                          m);
  EXPECT_EQ(tighter.status, 200) << tighter.raw;
  EXPECT_EQ(s.Post(path + "/credits", {{"add", -5}}, m).status, 200);
  // The admin may still loosen it.
  EXPECT_EQ(s.Patch(path, {{"expires_at", nullptr}}).status, 200);
}

// A token that expires creates nothing that outlives it, and cannot extend
// what it created (or anything else) past its own expiry.
TEST(HttpApiTest, AChildNeverOutlivesItsCreator) {
  TestServer s;
  Json parent = s.CreateToken({{"name", "parent"},
                               {"owner", "acme"},
                               {"permissions", {"ledger:write", "ledger:read", "reports:*"}},
                               {"expires_in", "1h"}});
  const std::string p = Secret(parent);
  const uint64_t pos = s.Position();
  ExpectProblemType(s.Post("/v1/tokens", {{"name", "forever"}}, p), 403, "expires_at",
                    "outlives-caller");
  ExpectProblemType(s.Post("/v1/tokens", {{"name", "later"}, {"expires_in", "61m"}}, p), 403,
                    "expires_at", "outlives-caller");
  EXPECT_EQ(s.Position(), pos);
  Json child = s.CreateToken({{"name", "child"}, {"expires_in", "1h"}}, p);
  EXPECT_EQ(child["expires_at"], parent["expires_at"]);
  const std::string path = "/v1/tokens/" + Id(child);
  ExpectProblemType(s.Patch(path, {{"expires_at", nullptr}}, p), 403, "expires_at",
                    "outlives-caller");
  ExpectProblemType(s.Patch(path, {{"expires_in", "2h"}}, p), 403, "expires_at", "outlives-caller");
  EXPECT_EQ(s.Patch(path, {{"expires_in", "10m"}}, p).status, 200);
  // A token that never expires is not bound by the parent's expiry.
  EXPECT_EQ(s.Patch(path, {{"expires_at", nullptr}}).status, 200);
}

// A ledger:write token minted any non-ledger permission, "*:*" included.
TEST(HttpApiTest, AWriterGrantsOnlyPermissionsItsOwnCover) {
  TestServer s;
  const std::string w =
      Secret(Manager(s, "acme", {"ledger:write", "ledger:read", "reports/*:read"}));
  const uint64_t pos = s.Position();
  for (const Json& perms : {Json({"*:*"}), Json({"reports/*:*"}), Json({"sales:read"}),
                            Json({"reports/*:read", "x:y"})}) {
    ExpectProblemType(s.Post("/v1/tokens", {{"name", "x"}, {"permissions", perms}}, w), 403,
                      "permissions", "grant-not-held");
  }
  ExpectProblemType(s.Post("/v1/tokens", {{"name", "x"}, {"preset", "full-access"}}, w), 403,
                    "permissions", "grant-not-held");
  EXPECT_EQ(s.Position(), pos);
  Json child =
      s.CreateToken({{"name", "c"}, {"permissions", {"reports/q1:read", "reports/*:read"}}}, w);
  ExpectProblemType(s.Patch("/v1/tokens/" + Id(child), {{"permissions", {"sales:read"}}}, w), 403,
                    "permissions", "grant-not-held");
  EXPECT_EQ(s.Patch("/v1/tokens/" + Id(child), {{"permissions", {"reports/q2:read"}}}, w).status,
            200);
  // The admin grants anything.
  EXPECT_EQ(s.Patch("/v1/tokens/" + Id(child), {{"permissions", {"*:*"}}}).status, 200);
}

// A token limited to 10.9.9.9/32 managed tokens from 127.0.0.1.
TEST(HttpApiTest, EveryCallHonoursTheBearersAllowedIps) {
  TestServer s;
  const Json all = {"ledger:read", "ledger:write", "ledger:verify"};
  Json far = s.CreateToken(
      {{"name", "far"}, {"owner", "acme"}, {"permissions", all}, {"allowed_ips", {"10.9.9.9/32"}}});
  Json near = s.CreateToken({{"name", "near"},
                             {"owner", "acme"},
                             {"permissions", all},
                             {"allowed_ips", {"127.0.0.0/8"}}});
  Json target = s.CreateToken({{"name", "t"}, {"owner", "acme"}});
  const std::string f = Secret(far);
  const uint64_t pos = s.Position();
  const std::string slug = "address-not-allowed";
  ExpectProblemType(s.Get("/v1/tokens", f), 403, "Authorization", slug);
  ExpectProblemType(s.Post("/v1/tokens", {{"name", "x"}}, f), 403, "Authorization", slug);
  ExpectProblemType(s.Patch("/v1/tokens/" + Id(target), {{"name", "x"}}, f), 403, "Authorization",
                    slug);
  ExpectProblemType(s.Post("/v1/tokens/" + Id(target) + "/revoke", Json::object(), f), 403,
                    "Authorization", slug);
  ExpectProblemType(s.Get("/v1/events", f), 403, "Authorization", slug);
  ExpectProblemType(s.Post("/v1/verify", {{"token", Secret(target)}}, f), 403, "Authorization",
                    slug);
  EXPECT_EQ(s.Position(), pos);
  const std::string n = Secret(near);
  EXPECT_EQ(s.Get("/v1/tokens", n).status, 200);
  EXPECT_EQ(s.Patch("/v1/tokens/" + Id(target), {{"name", "x"}}, n).status, 200);
  EXPECT_EQ(s.Verify({{"token", Secret(target)}}, n)["code"], "VALID");
}

TEST(HttpApiTest, NonAdminsSeeOnlyTheirOwnersTokens) {
  TestServer s;
  Json acme = Manager(s, "acme", {"ledger:read", "ledger:write", "ledger:verify"});
  const std::string m = Secret(acme);
  Json mine = s.CreateToken({{"name", "mine"}, {"credits", 10}}, m);
  EXPECT_EQ(mine["owner"], "acme");
  Json theirs = s.CreateToken({{"name", "theirs"}, {"owner", "globex"}, {"credits", 10}});
  const std::string tid = Id(theirs);
  s.Verify({{"token", Secret(theirs)}});
  const uint64_t pos = s.Position();

  // Others' tokens answer 404 as if absent, whatever the verb.
  ExpectProblem(s.Get("/v1/tokens/" + tid, m), 404, "");
  ExpectProblem(s.Get("/v1/tokens/" + tid + "?as_of=1", m), 404, "");
  ExpectProblem(s.Patch("/v1/tokens/" + tid, {{"name", "pwned"}}, m), 404, "");
  ExpectProblem(s.Post("/v1/tokens/" + tid + "/revoke", Json::object(), m), 404, "");
  ExpectProblem(s.Post("/v1/tokens/" + tid + "/regenerate", Json::object(), m), 404, "");
  ExpectProblem(s.Post("/v1/tokens/" + tid + "/credits", {{"set", 99}}, m), 404, "");
  ExpectProblem(s.Get("/v1/tokens/" + tid + "/events", m), 404, "");
  ExpectProblem(s.Get("/v1/tokens/" + tid + "/usage", m), 404, "");
  Reply missing = s.Get("/v1/tokens/tok_AAAAAAAAAAAAAAAAAAAAAA", m);
  EXPECT_EQ(missing.body["detail"].get<std::string>().find("globex"), std::string::npos);
  // Verifying another owner's secret tells nothing and spends nothing.
  EXPECT_EQ(s.Verify({{"token", Secret(theirs)}}, m),
            Json({{"valid", false}, {"code", "NOT_FOUND"}}));
  EXPECT_EQ(s.Position(), pos);
  EXPECT_EQ(s.Get("/v1/tokens/" + tid).body["credits"]["remaining"], 9);

  // Naming another owner is forbidden.
  ExpectProblem(s.Get("/v1/tokens?owner=globex", m), 403, "owner");
  ExpectProblem(s.Post("/v1/tokens", {{"name", "x"}, {"owner", "globex"}}, m), 403, "owner");
  ExpectProblem(s.Get("/v1/usage?owner=globex", m), 403, "owner");
  EXPECT_EQ(s.Position(), pos);

  // Lists, feed and usage hold only acme's.
  Reply list = s.Get("/v1/tokens", m);
  std::set<std::string> owners;
  for (const Json& t : list.body["tokens"]) owners.insert(t["owner"]);
  EXPECT_EQ(owners, std::set<std::string>{"acme"});
  EXPECT_EQ(list.body["tokens"].size(), 2u);  // the manager and mine
  const Json feed = s.Get("/v1/events?limit=1000", m).body["events"];
  EXPECT_EQ(feed.size(), 2u);  // the manager and mine, created
  for (const Json& e : feed) {
    EXPECT_NE(e["token_id"], tid);
    EXPECT_NE(e["token_id"], "admin");
  }
  EXPECT_EQ(s.Get("/v1/usage", m).body["total"]["uses"], 0);
}

// ---- bad input ---------------------------------------------------------------------------------

TEST(HttpApiTest, BadInputIsProblemJsonNamingTheFieldAndAppendsNothing) {
  TestServer s;
  Json t = s.CreateToken({{"name", "ok"}, {"credits", 1}});
  const std::string id = Id(t);
  const uint64_t pos = s.Position();

  ExpectProblem(s.PostRaw("/v1/tokens", "{\"name\": "), 400, "body");
  ExpectProblem(s.PostRaw("/v1/tokens", "[1,2]"), 400, "");
  ExpectProblem(s.PostRaw("/v1/tokens/" + id + "/credits", "not json"), 400, "body");
  ExpectProblem(s.PostRaw("/v1/verify", "{"), 400, "body");
  ExpectProblem(s.PostRaw("/v1/tokens", std::string(R"({"name": "a"})"
                                                    "\0junk",
                                                    18)),
                400, "body");
  // A repeated key is refused, whichever value a parser would keep.
  ExpectProblem(s.PostRaw("/v1/tokens", R"({"name": "a", "name": "b"})"), 400, "name");
  ExpectProblem(s.PostRaw("/v1/tokens", R"({"name": "a", "meta": {"k": 1, "k": 2}})"), 400, "k");
  ExpectProblem(s.PostRaw("/v1/verify", R"({"token": "x", "cost": 1, "cost": 0})"), 400, "cost");
  ExpectProblem(s.Post("/v1/tokens", Json::object()), 400, "name");
  ExpectProblem(s.Post("/v1/tokens", {{"name", 5}}), 400, "name");
  ExpectProblem(s.Post("/v1/tokens", {{"name", ""}}), 400, "name");
  ExpectProblem(s.Post("/v1/tokens", {{"name", std::string(201, 'n')}}), 400, "name");
  ExpectProblem(s.Post("/v1/tokens", {{"name", "x"}, {"colour", "red"}}), 400, "colour");
  ExpectProblem(s.Post("/v1/tokens", {{"name", "x"}, {"description", std::string(2001, 'd')}}), 400,
                "description");
  ExpectProblem(s.Post("/v1/tokens", {{"name", "x"}, {"permissions", "a:b"}}), 400, "permissions");
  ExpectProblem(s.Post("/v1/tokens", {{"name", "x"}, {"permissions", {"a:b", "nocolon"}}}), 400,
                "permissions[1]");
  ExpectProblem(s.Post("/v1/tokens", {{"name", "x"}, {"preset", "god-mode"}}), 400, "preset");
  ExpectProblem(s.Post("/v1/tokens", {{"name", "x"}, {"expires_in", "soon"}}), 400, "expires_in");
  ExpectProblem(s.Post("/v1/tokens", {{"name", "x"}, {"expires_at", "2020-01-01T00:00:00Z"}}), 400,
                "expires_at");
  ExpectProblem(s.Post("/v1/tokens", {{"name", "x"}, {"credits", -1}}), 400, "credits");
  ExpectProblem(
      s.Post("/v1/tokens", {{"name", "x"}, {"rate_limit", {{"limit", 0}, {"window_ms", 10}}}}), 400,
      "rate_limit.limit");
  ExpectProblem(s.Post("/v1/tokens", {{"name", "x"}, {"allowed_ips", {"10.0.0.0/33"}}}), 400,
                "allowed_ips[0]");
  ExpectProblem(s.Post("/v1/tokens", {{"name", "x"}, {"prefix", "UPPER"}}), 400, "prefix");
  ExpectProblem(s.Post("/v1/tokens", {{"name", "x"}, {"meta", {{"big", std::string(5000, 'm')}}}}),
                400, "meta");
  ExpectProblem(s.Patch("/v1/tokens/" + id, {{"credits", 5}}), 400, "credits");
  ExpectProblem(s.Patch("/v1/tokens/" + id, {{"owner", "me"}}), 400, "owner");
  ExpectProblem(s.Patch("/v1/tokens/" + id, {{"name", "x"}}, kAdminSecret, {{"If-Match", "v2"}}),
                400, "If-Match");
  ExpectProblem(s.Post("/v1/tokens/" + id + "/credits", {{"add", "5"}}), 400, "add");
  ExpectProblem(s.Post("/v1/tokens/" + id + "/revoke", {{"reason", 5}}), 400, "reason");
  ExpectProblem(s.Get("/v1/tokens?limit=0"), 400, "limit");
  ExpectProblem(s.Get("/v1/tokens?limit=abc"), 400, "limit");
  ExpectProblem(s.Get("/v1/tokens?status=dormant"), 400, "status");
  ExpectProblem(s.Get("/v1/tokens?cursor=garbage"), 400, "cursor");

  // Bad ids are not found, and are not echoed.
  Reply bad_id = s.Get("/v1/tokens/not-an-id");
  ExpectProblem(bad_id, 404, "id");
  EXPECT_EQ(bad_id.raw.find("not-an-id"), std::string::npos) << bad_id.raw;
  ExpectProblem(s.Get("/v1/tokens/tok_abc"), 404, "id");
  ExpectProblem(s.Patch("/v1/tokens/../etc", {{"name", "x"}}), 404, "");  // no route
  ExpectProblem(s.Post("/v1/tokens/tok_%00/revoke", Json::object()), 404, "id");
  ExpectProblem(s.Post("/v1/tokens/not-an-id/regenerate", Json::object()), 404, "id");
  ExpectProblem(s.Get("/v1/tokens/not-an-id/events"), 404, "id");
  // A well-formed id that names nothing is named back.
  Reply unknown_id = s.Get("/v1/tokens/tok_AAAAAAAAAAAAAAAAAAAAAA");
  ExpectProblem(unknown_id, 404, "id");
  EXPECT_NE(unknown_id.body.value("detail", "").find("tok_AAAAAAAAAAAAAAAAAAAAAA"),
            std::string::npos);

  // Over 64 KiB.
  Json huge = {{"name", "x"}, {"description", std::string(70 * 1024, 'd')}};
  Reply big = s.Post("/v1/tokens", huge);
  ExpectProblem(big, 413, "body");

  // Unknown routes answer JSON too.
  Reply unknown = s.Get("/v1/nothing-here");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_TRUE(unknown.body.is_object()) << unknown.raw;
  EXPECT_NE(unknown.content_type.find("json"), std::string::npos);
  Reply root = s.Get("/", "");
  EXPECT_EQ(root.status, 404);
  EXPECT_TRUE(root.body.is_object()) << root.raw;

  EXPECT_EQ(s.Position(), pos);
  // And the server still works.
  EXPECT_EQ(s.Verify({{"token", Secret(t)}})["code"], "VALID");
}

// ---- Idempotency-Key ---------------------------------------------------------------------------

TEST(HttpApiTest, IdempotencyKeyRepeatsTheFirstResponse) {
  TestServer s;
  const Json body = {{"name", "idem"}, {"credits", 3}};
  Reply first = s.Post("/v1/tokens", body, kAdminSecret, {{"Idempotency-Key", "k-1"}});
  ASSERT_EQ(first.status, 201) << first.raw;
  const uint64_t pos = s.Position();
  s.clock().Advance(kHourMs);
  Reply repeat = s.Post("/v1/tokens", body, kAdminSecret, {{"Idempotency-Key", "k-1"}});
  EXPECT_EQ(repeat.status, 201);
  EXPECT_EQ(repeat.body, first.body);
  EXPECT_EQ(Secret(repeat.body), Secret(first.body));
  EXPECT_EQ(s.Position(), pos);

  Reply different =
      s.Post("/v1/tokens", {{"name", "other"}}, kAdminSecret, {{"Idempotency-Key", "k-1"}});
  ExpectProblem(different, 409, "Idempotency-Key");
  EXPECT_EQ(different.raw.find(Secret(first.body)), std::string::npos);
  EXPECT_EQ(s.Position(), pos);

  // Another key is another token.
  Reply other = s.Post("/v1/tokens", body, kAdminSecret, {{"Idempotency-Key", "k-2"}});
  EXPECT_EQ(other.status, 201);
  EXPECT_NE(Id(other.body), Id(first.body));
  EXPECT_EQ(s.Position(), pos + 1);
  // Keys are per caller: another caller's same key is its own.
  Json writer = Manager(s, "admin", {"ledger:write"});
  Reply theirs = s.Post("/v1/tokens", body, Secret(writer), {{"Idempotency-Key", "k-1"}});
  EXPECT_EQ(theirs.status, 201);
  EXPECT_NE(Id(theirs.body), Id(first.body));
}

// ---- request log -------------------------------------------------------------------------------

TEST(HttpApiTest, RequestLogIsOneJsonLinePerRequestWithoutSecrets) {
  testing::TempDir logs;
  testing::CaptureStderr capture(logs.sub("stderr"));
  std::vector<std::string> secrets = {kAdminSecret};
  int requests = 1;  // the fixture's /healthz probe
  {
    TestServer s;
    Json t = s.CreateToken({{"name", "logged"}, {"credits", 5}});
    secrets.push_back(Secret(t));
    Reply regen = s.Post("/v1/tokens/" + Id(t) + "/regenerate", {{"grace_period_s", 10}});
    secrets.push_back(Secret(regen.body));
    s.Verify({{"token", secrets[1]}});
    s.Verify({{"token", secrets[2]}});
    s.Verify({{"token", "tl_missing"}});
    s.Get("/v1/tokens/" + Id(t) + "?as_of=" + secrets[1]);   // a secret in a query string
    s.Get("/v1/tokens", secrets[1]);                         // a secret as a (bad) bearer
    s.PostRaw("/v1/verify", "{\"token\": \"" + secrets[2]);  // a secret in bad JSON
    Reply custom = s.Get("/healthz", "", {{"X-Request-Id", "trace-42"}});
    EXPECT_EQ(custom.Header("X-Request-Id"), "trace-42");
    requests += 9;
    s.StopServer();  // every log line written
  }
  capture.Restore();
  const std::string text = capture.Text();
  for (const std::string& secret : secrets) {
    EXPECT_EQ(text.find(secret), std::string::npos) << "secret leaked into the log:\n" << text;
    EXPECT_EQ(text.find(secret.substr(secret.size() - 20)), std::string::npos);
  }
  std::istringstream lines(text);
  std::string line;
  int n = 0;
  std::set<std::string> ids;
  bool saw_custom = false;
  while (std::getline(lines, line)) {
    Json j = Json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << "not JSON: " << line;
    if (j.value("msg", "") != "request") continue;
    ++n;
    const std::string id = j.value("request_id", "");
    EXPECT_FALSE(id.empty()) << line;
    ids.insert(id);
    saw_custom |= id == "trace-42";
    EXPECT_TRUE(j.contains("status")) << line;
    EXPECT_TRUE(j.contains("route")) << line;
    EXPECT_TRUE(j.contains("duration_ms")) << line;
  }
  EXPECT_EQ(n, requests);
  EXPECT_EQ(ids.size(), static_cast<size_t>(requests));  // unique per request
  EXPECT_TRUE(saw_custom);
}

// ---- TLS ---------------------------------------------------------------------------------------

TEST(HttpApiTest, ServesHttpsWithTheGivenCertificate) {
  testing::TempDir certs;
  testing::WriteSelfSignedCert(certs.sub("cert.pem"), certs.sub("key.pem"));
  ServerOptions o;
  o.http.tls_cert = certs.sub("cert.pem");
  o.http.tls_key = certs.sub("key.pem");
  TestServer s(o);
  httplib::SSLClient client("127.0.0.1", s.port());
  client.enable_server_certificate_verification(false);
  client.set_bearer_token_auth(kAdminSecret);
  auto created =
      client.Post("/v1/tokens", R"({"name":"over tls","credits":2})", "application/json");
  ASSERT_TRUE(created) << httplib::to_string(created.error());
  ASSERT_EQ(created->status, 201) << created->body;
  Json t = Json::parse(created->body);
  auto verified = client.Post("/v1/verify", Json{{"token", Secret(t)}}.dump(), "application/json");
  ASSERT_TRUE(verified);
  EXPECT_EQ(Json::parse(verified->body)["code"], "VALID");
  // Plain HTTP on the TLS port gets no answer.
  auto plain = s.NewClient()->Get("/healthz");
  EXPECT_TRUE(!plain || plain->status != 200);
}

// ---- concurrency -------------------------------------------------------------------------------

TEST(HttpApiConcurrentTest, CreditsAreNeverSpentTwiceUnderConcurrentVerifications) {
  TestServer s;
  Json t = s.CreateToken({{"name", "contended"}, {"credits", 100}});
  const std::string body = Json{{"token", Secret(t)}, {"cost", 1}}.dump();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::atomic<int> valid{0}, exceeded{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      auto client = s.NewClient();
      client->set_keep_alive(true);
      client->set_bearer_token_auth(kAdminSecret);
      for (int k = 0; k < kPerThread; ++k) {
        auto r = client->Post("/v1/verify", body, "application/json");
        if (!r || r->status != 200) {
          ++other;
          continue;
        }
        std::string code = Json::parse(r->body)["code"];
        if (code == "VALID")
          ++valid;
        else if (code == "USAGE_EXCEEDED")
          ++exceeded;
        else
          ++other;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(valid.load(), 100);
  EXPECT_EQ(exceeded.load(), kThreads * kPerThread - 100);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(s.Get("/v1/tokens/" + Id(t)).body["credits"]["remaining"], 0);
  Reply usage = s.Get("/v1/tokens/" + Id(t) + "/usage?to=2024-03-10T13:00:00Z");
  EXPECT_EQ(usage.body["total"]["credits_spent"], 100);
  EXPECT_EQ(usage.body["total"]["denied"]["USAGE_EXCEEDED"], kThreads * kPerThread - 100);
  // Every answer was durable: bootstrap + create + one event per verification.
  EXPECT_EQ(s.Position(), 2u + kThreads * kPerThread);
  Projection replayed = Replayed(s);
  EXPECT_EQ(replayed.Digest(), s.ledger().State().digest);
}

}  // namespace
}  // namespace tl
