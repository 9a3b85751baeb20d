// No secret in any error body, response header or request log line, even when
// a client puts one where it does not belong (the audit's finding 2): in a
// URL path, in X-Request-Id, in verify's permission query, as a JSON key.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "services/secret.h"
#include "tests/http_test_util.h"

namespace tl {
namespace {

using testing::kAdminSecret;
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

}  // namespace
}  // namespace tl
