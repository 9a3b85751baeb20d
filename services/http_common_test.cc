#include "services/http_common.h"

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

}  // namespace
}  // namespace tl
