#include "events/json_text.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "events/event.h"

namespace tl {
namespace {

TEST(JsonTextTest, StringsAreWhatDumpWrites) {
  // Every kind of treatment dump() gives: none, escapes, \u00XX control
  // characters, DEL and '/' as they are, multi-byte UTF-8, NUL.
  const std::vector<std::string> strings = {
      "",
      "plain",
      "with \"quotes\"",
      "back\\slash",
      "tab\tnew\nline\rfeed\fbell\b",
      "\x01\x1f control",
      "del\x7f",
      "slash/es",
      "caf\xc3\xa9",
      "\xe6\x97\xa5\xe6\x9c\xac",
      "emoji \xf0\x9f\x98\x80",
      "line sep \xe2\x80\xa8",
      std::string("nul\0byte", 8),
  };
  for (const std::string& s : strings) {
    std::string out = "x";
    AppendJsonString(out, s);
    EXPECT_EQ(out, "x" + Json(s).dump()) << s;
  }
}

TEST(JsonTextTest, InvalidUtf8ThrowsAsDumpDoes) {
  for (const std::string s : {"\xff", "ab\xc3", "\xed\xa0\x80"}) {
    EXPECT_THROW(Json(s).dump(), Json::type_error);
    std::string out;
    EXPECT_THROW(AppendJsonString(out, s), Json::type_error);
  }
}

TEST(JsonTextTest, IntegersAreWhatDumpWrites) {
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{42}, std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()}) {
    std::string out;
    AppendJsonInt(out, v);
    EXPECT_EQ(out, Json(v).dump());
  }
  for (uint64_t v : {uint64_t{0}, uint64_t{7}, std::numeric_limits<uint64_t>::max()}) {
    std::string out;
    AppendJsonUint(out, v);
    EXPECT_EQ(out, Json(v).dump());
  }
}

}  // namespace
}  // namespace tl
