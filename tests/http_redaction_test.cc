// No secret in any error body, response header or request log line, even when
// a client puts one where it does not belong (the audit's finding 2): in a
// URL path, in X-Request-Id, in verify's permission query, as a JSON key.

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "events/thread_annotations.h"
#include "services/domain/secret.h"
#include "services/http/http_server.h"
#include "tests/http_test_util.h"

namespace tl {
namespace {

using testing::kAdminSecret;
using testing::RawExchange;
using testing::Reply;
using testing::TestServer;

std::string Secret(const Json& created) { return created.at("token").get<std::string>(); }

// Asserts that `secret` (or a long part of it) is nowhere in `r`.
void ExpectNoSecret(const Reply& r, const std::string& secret, const std::string& what) {
  const std::string tail = secret.substr(secret.size() - 20);
  EXPECT_EQ(r.raw.find(tail), std::string::npos) << what << ": body " << r.raw;
  for (const auto& [name, value] : r.headers) {
    EXPECT_EQ(value.find(tail), std::string::npos) << what << ": header " << name << ": " << value;
  }
}

TEST(HttpRedactionTest, SecretsSentByMistakeAreNeverEchoedNorLogged) {
  testing::TempDir logs;
  testing::CaptureStderr capture(logs.sub("stderr"));
  std::vector<std::string> secrets;
  {
    TestServer s;
    const std::string p = Secret(s.CreateToken({{"name", "victim"}}));
    const std::string w = Secret(s.CreateToken({{"name", "another"}}));
    secrets = {p, w};
    const uint64_t pos = s.Position();

    // (a) A secret as a token id in the path: 404 naming the field, no echo.
    Reply get = s.Get("/v1/tokens/" + p);
    EXPECT_EQ(get.status, 404) << get.raw;
    EXPECT_EQ(get.body.value("field", ""), "id") << get.raw;
    ExpectNoSecret(get, p, "GET /v1/tokens/<secret>");
    ExpectNoSecret(s.Post("/v1/tokens/" + p + "/revoke", Json::object()), p, "revoke");
    ExpectNoSecret(s.Get("/v1/tokens/" + p + "/events"), p, "events");
    Reply no_route = s.Get("/v1/" + p);
    EXPECT_EQ(no_route.status, 404);
    ExpectNoSecret(no_route, p, "unknown route");

    // (b) A secret as X-Request-Id: a fresh id is used instead.
    Reply traced = s.Get("/v1/tokens", kAdminSecret, {{"X-Request-Id", p}});
    EXPECT_EQ(traced.status, 200);
    EXPECT_FALSE(traced.Header("X-Request-Id").empty());
    ExpectNoSecret(traced, p, "X-Request-Id");
    // ... also when it only contains one.
    Reply traced2 = s.Get("/healthz", "", {{"X-Request-Id", "a." + p}});
    ExpectNoSecret(traced2, p, "X-Request-Id with a secret inside");

    // (c) A secret inside verify's permission query is not quoted back.
    Reply query = s.Post("/v1/verify", {{"token", w}, {"permissions", "a:b AND " + w}});
    EXPECT_EQ(query.status, 400) << query.raw;
    EXPECT_EQ(query.body.value("field", ""), "permissions") << query.raw;
    EXPECT_NE(query.raw.find(kRedactedSecret), std::string::npos) << query.raw;
    ExpectNoSecret(query, w, "verify permissions");

    // A secret as an unknown JSON key (named in "field").
    Reply key = s.Post("/v1/tokens", {{"name", "x"}, {p, 1}});
    EXPECT_EQ(key.status, 400) << key.raw;
    ExpectNoSecret(key, p, "JSON key");

    EXPECT_EQ(s.Position(), pos);
    s.StopServer();  // every log line written
  }
  capture.Restore();
  const std::string text = capture.Text();
  EXPECT_NE(text.find(kRedactedSecret), std::string::npos) << text;
  for (const std::string& secret : secrets) {
    EXPECT_EQ(text.find(secret.substr(secret.size() - 20)), std::string::npos)
        << "secret leaked into the log:\n"
        << text;
  }
}

// The bootstrap secret is operator-chosen (kAdminSecret): no scanner knows its
// form. Everything a client sends that could be a secret is judged by its
// shape alone (at most 31 characters of A-Z a-z 0-9 . _ -, shorter than any
// secret), so it is never repeated wherever a client puts it.
TEST(HttpRedactionTest, AnOperatorChosenSecretIsNeverEchoedNorLogged) {
  testing::TempDir logs;
  testing::CaptureStderr capture(logs.sub("stderr"));
  const std::string secret = kAdminSecret;
  auto expect_clean = [&](const Reply& r, const std::string& what) {
    EXPECT_NE(r.status, 0) << what;
    EXPECT_EQ(r.raw.find(secret), std::string::npos) << what << ": body " << r.raw;
    for (const auto& [name, value] : r.headers) {
      EXPECT_EQ(value.find(secret), std::string::npos) << what << ": header " << name;
    }
  };
  {
    TestServer s;
    Json t = s.CreateToken({{"name", "t"}, {"credits", 5}});
    const std::string id = t["id"];
    const uint64_t pos = s.Position();

    // X-Request-Id: replaced by a fresh id, in the answer and the log line.
    Reply traced = s.Get("/v1/tokens", secret, {{"X-Request-Id", secret}});
    EXPECT_EQ(traced.status, 200);
    EXPECT_FALSE(traced.Header("X-Request-Id").empty());
    EXPECT_NE(traced.Header("X-Request-Id"), secret);
    expect_clean(traced, "X-Request-Id");
    expect_clean(s.Post("/v1/verify", {{"token", Secret(t)}}, secret, {{"X-Request-Id", secret}}),
                 "X-Request-Id on verify");
    expect_clean(s.Get("/healthz", "", {{"X-Request-Id", "x-" + secret}}), "X-Request-Id inside");

    // Path segments: 404 without an echo; the log line shows [redacted].
    Reply as_id = s.Get("/v1/tokens/" + secret);
    EXPECT_EQ(as_id.status, 404);
    EXPECT_EQ(as_id.body.value("field", ""), "id");
    expect_clean(as_id, "token id");
    for (const std::string suffix : {"/events", "/usage", "/revoke", "/regenerate", "/credits"}) {
      const std::string path = "/v1/tokens/" + secret + suffix;
      const Json body = suffix == "/credits" ? Json{{"set", 1}} : Json::object();
      Reply r = suffix == "/events" || suffix == "/usage" ? s.Get(path) : s.Post(path, body);
      EXPECT_EQ(r.status, 404) << suffix;
      expect_clean(r, suffix);
    }
    expect_clean(s.Patch("/v1/tokens/" + secret, {{"name", "x"}}), "PATCH");
    expect_clean(s.Get("/v1/" + secret), "unknown route");
    expect_clean(s.Get("/" + secret + "/x"), "unknown top-level route");
    expect_clean(s.Get("/console/" + secret), "console file");

    // Unknown JSON keys, at the top, nested, repeated, and in verify.
    Reply key = s.Post("/v1/tokens", {{"name", "x"}, {secret, 1}});
    EXPECT_EQ(key.status, 400);
    EXPECT_EQ(key.body.value("field", ""), "body") << key.raw;
    expect_clean(key, "unknown key");
    Reply nested = s.Post("/v1/tokens", {{"name", "x"}, {"credits", {{secret, 1}}}});
    EXPECT_EQ(nested.status, 400);
    EXPECT_EQ(nested.body.value("field", ""), "credits") << nested.raw;
    expect_clean(nested, "nested unknown key");
    expect_clean(s.PostRaw("/v1/tokens", "{\"" + secret + "\":1,\"" + secret + "\":2}"),
                 "repeated key");
    expect_clean(s.Post("/v1/verify", {{"token", Secret(t)}, {secret, 1}}), "verify key");
    expect_clean(s.Patch("/v1/tokens/" + id, {{secret, 1}}), "update key");
    expect_clean(s.Post("/v1/tokens/" + id + "/credits", {{secret, 1}}), "credits key");
    expect_clean(s.Post("/v1/tokens/" + id + "/revoke", {{secret, 1}}), "revoke key");

    // Values: query parameters, headers, and body values in errors.
    for (const std::string& query :
         {"/v1/tokens?status=" + secret, "/v1/tokens?limit=" + secret,
          "/v1/tokens?cursor=" + secret, "/v1/events?type=" + secret, "/v1/events?after=" + secret,
          "/v1/tokens/" + id + "?as_of=" + secret, "/v1/tokens/" + id + "/events?limit=" + secret,
          "/v1/usage?bucket=" + secret, "/v1/usage?from=" + secret,
          "/v1/tokens/" + id + "/usage?to=" + secret}) {
      Reply r = s.Get(query);
      EXPECT_EQ(r.status, 400) << query << ": " << r.raw;
      expect_clean(r, query);
    }
    expect_clean(s.Patch("/v1/tokens/" + id, {{"name", "x"}}, secret, {{"If-Match", secret}}),
                 "If-Match");
    Reply permission =
        s.Post("/v1/verify", {{"token", Secret(t)}, {"permissions", "a:b AND " + secret}});
    EXPECT_EQ(permission.status, 400);
    expect_clean(permission, "permission query");
    expect_clean(s.Post("/v1/verify", {{"token", Secret(t)}, {"permissions", {secret}}}),
                 "permission list");
    expect_clean(s.Post("/v1/verify", {{"token", Secret(t)}, {"ip", secret}}), "verify ip");
    expect_clean(s.Post("/v1/tokens", {{"name", "x"}, {"permissions", {secret}}}), "grant");
    expect_clean(s.Post("/v1/tokens", {{"name", "x"}, {"allowed_ips", {secret}}}), "allowed_ips");
    expect_clean(s.Post("/v1/tokens", {{"name", "x"}, {"preset", secret}}), "preset");
    expect_clean(s.Post("/v1/tokens", {{"name", "x"}, {"expires_in", secret}}), "expires_in");
    expect_clean(s.Post("/v1/tokens", {{"name", "x"}, {"expires_at", secret}}), "expires_at");
    expect_clean(s.Post("/v1/tokens", {{"name", "x"}, {"prefix", secret}}), "prefix");
    // As a bearer it is the admin: nothing it reads holds it either.
    expect_clean(s.Get("/v1/events?limit=1000"), "feed");
    expect_clean(s.Get("/v1/tokens?owner=admin"), "list");

    EXPECT_EQ(s.Position(), pos + 1);  // the one verification
    s.StopServer();                    // every log line written
  }
  capture.Restore();
  const std::string text = capture.Text();
  EXPECT_NE(text.find("[redacted]"), std::string::npos) << text;
  EXPECT_EQ(text.find(secret), std::string::npos) << "secret leaked into the log:\n" << text;
  EXPECT_EQ(text.find(secret.substr(secret.size() - 20)), std::string::npos) << text;
}

// The data plane (`serve --verify-listen`) on the same ledger, its request
// log lines kept for the test.
class DataPlane {
 public:
  explicit DataPlane(TestServer& s) : server_(s.api(), Options()) {
    auto port = server_.Bind("127.0.0.1", 0, /*verify_only=*/true);
    if (!port.ok()) {
      ADD_FAILURE() << port.error().message;
      return;
    }
    port_ = *port;
    thread_ = std::thread([this] { server_.Run(); });
  }
  ~DataPlane() { Stop(); }
  void Stop() {
    server_.Stop();
    if (thread_.joinable()) thread_.join();
  }
  // Sends one request with these headers and body.
  Reply Post(const std::string& path, const std::string& body, const std::string& bearer,
             const std::string& headers = "") const {
    return RawExchange(port_, "POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                  bearer + "\r\nContent-Length: " + std::to_string(body.size()) +
                                  "\r\n" + headers + "\r\n" + body);
  }
  std::string Log() {
    MutexLock l(mu_);
    return log_;
  }

 private:
  HttpServerOptions Options() {
    HttpServerOptions o;
    o.log_sink = [this](std::string_view lines) {
      MutexLock l(mu_);
      log_.append(lines);
    };
    return o;
  }

  Mutex mu_;
  std::string log_ TL_GUARDED_BY(mu_);
  HttpServer server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(HttpRedactionTest, TheDataPlaneNeitherEchoesNorLogsAChosenSecret) {
  TestServer s;
  const std::string secret = kAdminSecret;
  const std::string token = Secret(s.CreateToken({{"name", "t"}}));
  DataPlane plane(s);
  const std::vector<Reply> replies = {
      plane.Post("/v1/verify", Json({{"token", token}}).dump(), secret,
                 "X-Request-Id: " + secret + "\r\n"),
      plane.Post("/v1/" + secret, "{}", secret),
      plane.Post("/v1/verify/" + secret, "{}", secret),
      plane.Post("/v1/verify", Json({{"token", token}, {secret, 1}}).dump(), secret),
      plane.Post("/v1/verify", Json({{"token", token}, {"permissions", "a:b OR " + secret}}).dump(),
                 secret),
  };
  EXPECT_EQ(replies[0].status, 200) << replies[0].raw;
  EXPECT_FALSE(replies[0].Header("X-Request-Id").empty());
  EXPECT_EQ(replies[1].status, 404);
  EXPECT_EQ(replies[3].status, 400);
  EXPECT_EQ(replies[3].body.value("field", ""), "body") << replies[3].raw;
  EXPECT_EQ(replies[4].status, 400);
  for (const Reply& r : replies) {
    EXPECT_EQ(r.raw.find(secret), std::string::npos) << r.raw;
    for (const auto& [name, value] : r.headers) {
      EXPECT_EQ(value.find(secret), std::string::npos) << name << ": " << value;
    }
  }
  plane.Stop();
  const std::string log = plane.Log();
  EXPECT_NE(log.find("\"path\":\"/v1/[redacted]\""), std::string::npos) << log;
  EXPECT_EQ(log.find(secret), std::string::npos) << log;
}

// The data plane's bearer is bound by its allowed_ips like any other.
TEST(HttpRedactionTest, TheDataPlaneHonoursTheBearersAllowedIps) {
  TestServer s;
  const std::string token = Secret(s.CreateToken({{"name", "t"}}));
  const std::string far = Secret(s.CreateToken(
      {{"name", "far"}, {"permissions", {"ledger:verify"}}, {"allowed_ips", {"10.9.9.9/32"}}}));
  const std::string near = Secret(s.CreateToken(
      {{"name", "near"}, {"permissions", {"ledger:verify"}}, {"allowed_ips", {"127.0.0.1"}}}));
  DataPlane plane(s);
  const std::string body = Json({{"token", token}}).dump();
  Reply refused = plane.Post("/v1/verify", body, far);
  EXPECT_EQ(refused.status, 403) << refused.raw;
  EXPECT_EQ(refused.body.value("type", ""), "urn:tokenledger:problem:address-not-allowed");
  EXPECT_EQ(refused.body.value("field", ""), "Authorization");
  Reply ok = plane.Post("/v1/verify", body, near);
  EXPECT_EQ(ok.status, 200) << ok.raw;
  EXPECT_EQ(ok.body.value("code", ""), "VALID") << ok.raw;
}

}  // namespace
}  // namespace tl
