#include "services/http/http_common.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "events/json_text.h"

namespace tl {
namespace {

TEST(NewRequestIdTest, ProcessPrefixThenCounterInAtLeastEightHexDigits) {
  const std::string a = NewRequestId();
  const std::string b = NewRequestId();
  const std::regex shape("[0-9a-f]{8}-[0-9a-f]{8,16}");
  EXPECT_TRUE(std::regex_match(a, shape)) << a;
  EXPECT_TRUE(std::regex_match(b, shape)) << b;
  EXPECT_EQ(a.substr(0, 9), b.substr(0, 9));
  EXPECT_EQ(std::stoull(b.substr(9), nullptr, 16), std::stoull(a.substr(9), nullptr, 16) + 1);
  EXPECT_TRUE(SaneRequestId(a));
}

TEST(ReadVerifyRequestTest, TheShortcutAndTheGeneralPathGiveTheSameCommand) {
  // The same body as the shortcut reads it, and led by a byte order mark,
  // which only the general path takes (nlohmann skips it).
  const VerifyBody fast = ReadVerifyRequest(R"({"token":"tl_x","cost":2,"ip":"::1"})");
  const VerifyBody general = ReadVerifyRequest(
      "\xEF\xBB\xBF"
      R"({"token":"tl_x","cost":2,"ip":"::1"})");
  ASSERT_TRUE(fast.json.ok());
  ASSERT_TRUE(general.json.ok());
  ASSERT_TRUE(fast.command.ok());
  ASSERT_TRUE(general.command.ok());
  EXPECT_EQ(fast.command->token, "tl_x");
  EXPECT_EQ(fast.command->cost, 2);
  EXPECT_EQ(general.command->cost, 2);
  EXPECT_EQ(general.command->ip, fast.command->ip);
}

TEST(ReadVerifyRequestTest, MalformedTextAndBadFieldsAreToldApart) {
  for (const std::string& text : {std::string("{"), std::string("{\"token\":\"t\"}\0x", 15),
                                  std::string(R"({"token":"t","token":"u"})")}) {
    const VerifyBody b = ReadVerifyRequest(text);
    EXPECT_FALSE(b.json.ok()) << text;
    EXPECT_FALSE(b.command.ok()) << text;
  }
  const VerifyBody bad_field = ReadVerifyRequest(R"({"token":"t","cost":-1})");
  EXPECT_TRUE(bad_field.json.ok());
  ASSERT_FALSE(bad_field.command.ok());
  EXPECT_EQ(bad_field.command.error().field, "cost");
}

TEST(ParseJsonBodyTest, RefusesNestingBeyondTheBoundNamingIt) {
  auto nested_meta = [](size_t depth) {
    return R"({"meta":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
  };
  EXPECT_TRUE(ParseJsonBody(nested_meta(kMaxJsonDepth - 1)).ok());
  for (size_t depth : {kMaxJsonDepth, size_t{30'000}}) {
    Result<Json> deep = ParseJsonBody(nested_meta(depth));
    ASSERT_FALSE(deep.ok()) << depth;
    EXPECT_EQ(deep.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(deep.error().field, "body");
    EXPECT_NE(deep.error().message.find("64"), std::string::npos) << deep.error().message;
  }
}

// An operator-chosen bootstrap secret has no recognisable form: only the
// length and alphabet of a request id or a path segment decide what is
// repeated.
constexpr const char* kChosenSecret = "operator-chosen-secret-0123456789abcdef";

TEST(SaneRequestIdTest, ShortPlainIdsOnly) {
  EXPECT_TRUE(SaneRequestId("trace-42"));
  EXPECT_TRUE(SaneRequestId(std::string(31, 'a')));
  EXPECT_FALSE(SaneRequestId(std::string(32, 'a')));
  EXPECT_FALSE(SaneRequestId(kChosenSecret));
  EXPECT_FALSE(SaneRequestId(""));
  EXPECT_FALSE(SaneRequestId("a b"));
  EXPECT_FALSE(SaneRequestId("a/b"));
}

TEST(LoggablePathTest, SegmentsThatCouldBeSecretsAreRedacted) {
  const std::string secret = kChosenSecret;
  const struct {
    std::string path;
    std::string logged;
  } cases[] = {
      {"/v1/tokens/tok_AAAAAAAAAAAAAAAAAAAAAA/events",
       "/v1/tokens/tok_AAAAAAAAAAAAAAAAAAAAAA/events"},
      {"/v1/tokens/" + secret, "/v1/tokens/[redacted]"},
      {"/v1/tokens/" + secret + "/revoke", "/v1/tokens/[redacted]/revoke"},
      {"/" + secret, "/[redacted]"},
      {"/v1/a b/x", "/v1/[redacted]/x"},
      {"/console/", "/console/"},
      {"//x", "//x"},
      {"/~user", "/~user"},
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(LoggablePath(c.path), c.logged) << c.path;
}

TEST(RequestLogLineTest, NeitherPathNorMethodNorIdCarriesASecret) {
  const std::string secret = kChosenSecret;
  std::string line;
  AppendRequestLogLine(
      line, {secret, "/v1/tokens/" + secret, "127.0.0.1", "id-1", "unmatched", 404, 0.001});
  EXPECT_EQ(line.find(secret), std::string::npos) << line;
  const Json j = Json::parse(line);
  EXPECT_EQ(j["path"], "/v1/tokens/[redacted]");
  EXPECT_EQ(j["method"], "[redacted]");
  EXPECT_EQ(j["request_id"], "id-1");
}

TEST(ParseJsonBodyTest, ARepeatedKeyIsNamedOnlyWhenShortAndPlain) {
  auto named = ParseJsonBody(R"({"name": 1, "name": 2})");
  ASSERT_FALSE(named.ok());
  EXPECT_EQ(named.error().field, "name");
  const std::string secret = kChosenSecret;
  auto hidden = ParseJsonBody("{\"" + secret + "\": 1, \"" + secret + "\": 2}");
  ASSERT_FALSE(hidden.ok());
  EXPECT_EQ(hidden.error().field, "body");
  EXPECT_EQ(hidden.error().message.find(secret), std::string::npos);
}

TEST(ProblemForTest, ARuleOfItsOwnHasItsOwnType) {
  const Problem typed =
      ProblemFor(MakeTypedError(ErrorCode::kForbidden, "grant-not-held", "no", "permissions"));
  EXPECT_EQ(typed.status, 403);
  const Json body = Json::parse(typed.body);
  EXPECT_EQ(body["type"], "urn:tokenledger:problem:grant-not-held");
  EXPECT_EQ(body["field"], "permissions");
  EXPECT_EQ(Json::parse(ProblemFor(MakeError(ErrorCode::kForbidden, "no")).body)["type"],
            "urn:tokenledger:problem:forbidden");
}

}  // namespace
}  // namespace tl
