// Every /v1 route's answers, byte for byte: a fixed script of requests (each
// route, its success and its usual errors, in the order the API documents
// them) against a server whose clock and random source are fixed, compared
// with tests/route_bodies.golden. The golden transcript was written by the
// front end before its responses moved out of the ledger
// (services/http/resources.h); any change to a response shows here.
//
// To rewrite it after an intended change to the API:
//   TL_WRITE_GOLDEN=tests/route_bodies.golden build/dev/tests/route_bodies_test

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/http_test_util.h"

namespace tl::testing {
namespace {

// The same bytes on every run: ids and secrets repeat, so the answers do.
RandomBytesFn CountingBytes() {
  auto counter = std::make_shared<uint64_t>(0);
  return [counter](size_t n) {
    std::string out(n, '\0');
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>((*counter)++ * 37 + i);
    return out;
  };
}

class Transcript {
 public:
  explicit Transcript(const TestServer& s) : s_(s) {}

  Reply Get(const std::string& path, const std::string& secret = kAdminSecret) {
    return Note("GET " + path, s_.Get(path, secret));
  }
  Reply Post(const std::string& path, const Json& body, const std::string& secret = kAdminSecret,
             httplib::Headers headers = {}) {
    return Note("POST " + path + " " + body.dump(), s_.Post(path, body, secret, headers));
  }
  Reply PostRaw(const std::string& path, const std::string& body) {
    return Note("POST " + path + " " + body, s_.PostRaw(path, body));
  }
  Reply Patch(const std::string& path, const Json& body, httplib::Headers headers = {}) {
    return Note("PATCH " + path + " " + body.dump(), s_.Patch(path, body, kAdminSecret, headers));
  }
  const std::string& text() const { return text_; }

 private:
  Reply Note(const std::string& request, Reply r) {
    text_ +=
        request + "\n  -> " + std::to_string(r.status) + " " + r.content_type + " " + r.raw + "\n";
    return r;
  }
  const TestServer& s_;
  std::string text_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(RouteBodiesTest, EveryRouteAnswersAsTheGoldenTranscript) {
  ServerOptions options;
  options.random_bytes = CountingBytes();
  TestServer s(options);
  Transcript t(s);

  // Tokens: create (with an Idempotency-Key, its repeat, its misuse), the
  // body's errors.
  const Json alpha_body{
      {"name", "alpha"},
      {"owner", "acme"},
      {"permissions", {"ledger:read", "ledger:verify", "reports:read"}},
      {"credits", {{"remaining", 10}, {"refill", {{"amount", 10}, {"interval", "day"}}}}},
      {"rate_limit", {{"limit", 5}, {"window_ms", 60'000}}},
      {"allowed_origins", {"https://*.example.org"}},
      {"meta", {{"team", "x"}}},
      {"expires_in", "30d"}};
  Reply alpha = t.Post("/v1/tokens", alpha_body, kAdminSecret, {{"Idempotency-Key", "k-1"}});
  ASSERT_EQ(alpha.status, 201) << alpha.raw;
  const std::string id = alpha.body["id"];
  const std::string secret = alpha.body["token"];
  t.Post("/v1/tokens", alpha_body, kAdminSecret, {{"Idempotency-Key", "k-1"}});
  t.Post("/v1/tokens", {{"name", "other"}}, kAdminSecret, {{"Idempotency-Key", "k-1"}});
  t.Post("/v1/tokens", {{"name", "long key"}}, kAdminSecret,
         {{"Idempotency-Key", std::string(256, 'k')}});
  t.Post("/v1/tokens", {{"name", ""}});
  t.Post("/v1/tokens", {{"name", "x"}, {"colour", "red"}});
  t.PostRaw("/v1/tokens", "{");
  s.clock().Advance(1'000);

  // Reads of one token: now, as of a position, as of a time, bad as_of.
  t.Get("/v1/tokens/" + id);
  t.Get("/v1/tokens/" + id + "?as_of=2");
  t.Get("/v1/tokens/" + id + "?as_of=2026-01-01T00:00:00Z");
  t.Get("/v1/tokens/" + id + "?as_of=yesterday");
  t.Get("/v1/tokens/tok_AAAAAAAAAAAAAAAAAAAAAA");
  t.Get("/v1/tokens/not-an-id");

  // Changes: update (If-Match right and stale), regenerate, credits, the
  // verifications that use them, revoke twice.
  t.Patch("/v1/tokens/" + id, {{"description", "d"}}, {{"If-Match", "\"1\""}});
  t.Patch("/v1/tokens/" + id, {{"description", "e"}}, {{"If-Match", "\"1\""}});
  t.Patch("/v1/tokens/" + id, {{"credits", 5}});
  t.Post("/v1/verify", {{"token", secret},
                        {"cost", 2},
                        {"permissions", {"reports:read"}},
                        {"origin", "https://a.example.org"}});
  t.Post("/v1/verify", {{"token", secret}, {"permissions", {"reports:write"}}});
  t.Post("/v1/verify", {{"token", "tl_unknown_secret_0000000000000000000000"}});
  t.Post("/v1/verify", {{"token", secret}, {"cost", -1}});
  s.clock().Advance(1'000);
  Reply regenerated = t.Post("/v1/tokens/" + id + "/regenerate", {{"grace_period_s", 60}});
  t.Post("/v1/tokens/" + id + "/regenerate", {{"grace_period_s", -1}});
  t.Post("/v1/tokens/" + id + "/credits", {{"add", 5}});
  t.Post("/v1/tokens/" + id + "/credits", {{"set", 3}});
  t.Post("/v1/tokens/" + id + "/credits", {{"set", 1}, {"add", 1}});
  t.Post("/v1/verify", {{"token", secret}});
  t.Post("/v1/verify", {{"token", regenerated.body.value("token", "")}});

  // A reader of another owner, and a writer of acme: tenant isolation, the
  // caller's permission checked before the body.
  Reply reader = t.Post(
      "/v1/tokens", {{"name", "reader"}, {"owner", "globex"}, {"permissions", {"ledger:read"}}});
  const std::string reader_secret = reader.body.value("token", "");
  t.Get("/v1/tokens", reader_secret);
  t.Get("/v1/tokens/" + id, reader_secret);
  t.Post("/v1/tokens", {{"name", ""}}, reader_secret);
  t.Post("/v1/verify", {{"token", secret}}, reader_secret);
  t.Get("/v1/usage?owner=acme", reader_secret);
  t.Get("/v1/events", reader_secret);
  t.Get("/v1/tokens", "");
  t.Get("/v1/tokens", "tl_not_a_valid_bearer_00000000000000000000");

  // Listings, feeds and usage.
  t.Get("/v1/tokens");
  Reply first = t.Get("/v1/tokens?limit=1");
  t.Get("/v1/tokens?limit=1&cursor=" + first.body["next_cursor"].get<std::string>());
  t.Get("/v1/tokens?owner=acme&status=active");
  t.Get("/v1/tokens?status=dormant");
  t.Get("/v1/tokens?limit=0");
  t.Get("/v1/tokens/" + id + "/events");
  t.Get("/v1/tokens/" + id + "/events?after=2&limit=2");
  t.Get("/v1/events?limit=3");
  t.Get("/v1/events?after=3&type=token.used");
  t.Get("/v1/events?type=token.nothing");
  t.Get("/v1/tokens/" + id + "/usage");
  t.Get("/v1/tokens/" + id + "/usage?bucket=day");
  t.Get("/v1/usage?bucket=day");
  t.Get("/v1/usage?bucket=week");

  t.Post("/v1/tokens/" + id + "/revoke", {{"reason", "done"}});
  t.Post("/v1/tokens/" + id + "/revoke", Json::object());
  t.Post("/v1/tokens/" + id + "/credits", {{"add", 1}});
  t.Post("/v1/verify", {{"token", secret}});
  t.Get("/healthz");
  t.Get("/readyz");

  if (const char* out = std::getenv("TL_WRITE_GOLDEN")) {
    std::ofstream(out) << t.text();
    std::printf("wrote %s\n", out);
    return;
  }
  const std::string golden = ReadFile(std::string(TL_SOURCE_DIR) + "/tests/route_bodies.golden");
  ASSERT_FALSE(golden.empty()) << "no golden transcript";
  EXPECT_EQ(t.text(), golden);
}

}  // namespace
}  // namespace tl::testing
