#include "events/json_text.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>
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

// AppendJsonString's bytes, or "throws" where it throws.
std::string Appended(const std::string& s) {
  std::string out;
  try {
    AppendJsonString(out, s);
  } catch (const Json::type_error&) {
    return "throws";
  }
  return out;
}

std::string Dumped(const std::string& s) {
  try {
    return Json(s).dump();
  } catch (const Json::type_error&) {
    return "throws";
  }
}

// IsPlainJsonText decides UTF-8 validity itself: against dump() on every
// string of one or two bytes and on random three- and four-byte strings
// drawn mostly from the lead and continuation bytes around each boundary.
TEST(JsonTextTest, AgreesWithDumpOnShortByteStrings) {
  for (int a = 0; a < 256; ++a) {
    for (int b = -1; b < 256; ++b) {
      std::string s(1, static_cast<char>(a));
      if (b >= 0) s.push_back(static_cast<char>(b));
      ASSERT_EQ(Appended(s), Dumped(s)) << a << " " << b;
    }
  }
  const unsigned char edges[] = {0x00, 0x1f, 0x20, 0x22, 0x5c, 0x7e, 0x7f, 0x80, 0x8f, 0x90,
                                 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec,
                                 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff, 'a'};
  std::mt19937 rng(3);
  for (int i = 0; i < 200'000; ++i) {
    std::string s(3 + i % 3, '\0');
    for (char& c : s) {
      c = static_cast<char>(rng() % 4 ? edges[rng() % sizeof(edges)] : rng() % 256);
    }
    ASSERT_EQ(Appended(s), Dumped(s)) << ::testing::PrintToString(s);
  }
}

// Long strings are checked eight bytes at a time: every byte value at every
// place of strings of 8 to 24 plain bytes (a word boundary on either side),
// and random long strings of the edge bytes.
TEST(JsonTextTest, AgreesWithDumpOnLongStringsAtEveryOffset) {
  for (size_t len : {8u, 9u, 15u, 16u, 17u, 24u}) {
    for (size_t at = 0; at < len; ++at) {
      for (int b = 0; b < 256; ++b) {
        std::string s(len, 'k');
        s[at] = static_cast<char>(b);
        ASSERT_EQ(Appended(s), Dumped(s)) << len << " " << at << " " << b;
        ASSERT_EQ(IsPlainJsonText(s), b >= 0x20 && b < 0x80 && b != '"' && b != '\\')
            << len << " " << at << " " << b;
      }
    }
  }
  const unsigned char edges[] = {0x00, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d,
                                 0x7e, 0x7f, 0x80, 0xbf, 0xc2, 0xe0, 0xed, 0xf0, 0xff};
  std::mt19937 rng(5);
  for (int i = 0; i < 100'000; ++i) {
    std::string s(8 + i % 40, 'a');
    for (char& c : s) {
      if (rng() % 8 == 0) c = static_cast<char>(edges[rng() % sizeof(edges)]);
    }
    ASSERT_EQ(Appended(s), Dumped(s)) << ::testing::PrintToString(s);
  }
}

TEST(JsonTextTest, InvalidUtf8ThrowsAsDumpDoes) {
  for (const std::string s :
       {"\xff", "ab\xc3", "\xed\xa0\x80", "\xc0\x80", "\xf4\x90\x80\x80", "\xe0\x80\xaf"}) {
    EXPECT_THROW(Json(s).dump(), Json::type_error);
    std::string out;
    EXPECT_THROW(AppendJsonString(out, s), Json::type_error);
  }
}

TEST(JsonTextTest, UnsignedIntegersAreWhatDumpWrites) {
  for (uint64_t v : {uint64_t{0}, uint64_t{7}, std::numeric_limits<uint64_t>::max()}) {
    std::string out;
    AppendJsonUint(out, v);
    EXPECT_EQ(out, Json(v).dump());
  }
}

TEST(JsonTextTest, SignedIntegersAreWhatDumpWrites) {
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{42}, std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()}) {
    std::string out;
    AppendJsonInt(out, v);
    EXPECT_EQ(out, Json(v).dump());
  }
}

TEST(JsonDepthWithinTest, CountsNestingOutsideStringsOnly) {
  auto nested = [](size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_TRUE(JsonDepthWithin(""));
  EXPECT_TRUE(JsonDepthWithin("{}"));
  EXPECT_TRUE(JsonDepthWithin(nested(kMaxJsonDepth)));
  EXPECT_FALSE(JsonDepthWithin(nested(kMaxJsonDepth + 1)));
  EXPECT_FALSE(JsonDepthWithin(std::string(1'000'000, '[')));  // never closed
  EXPECT_TRUE(JsonDepthWithin(R"({"a":[1],"b":{"c":[2]}})", 3));
  EXPECT_FALSE(JsonDepthWithin(R"({"a":[1],"b":{"c":[2]}})", 2));
  // Siblings do not add up.
  EXPECT_TRUE(JsonDepthWithin("[[],[],[[]]]", 3));
  // Brackets inside strings, escaped quotes included, are text.
  EXPECT_TRUE(JsonDepthWithin(R"({"k":"[[[[{{{{"})", 1));
  EXPECT_TRUE(JsonDepthWithin(R"({"k":"\"[[[[\\"})", 1));
  EXPECT_FALSE(JsonDepthWithin(R"({"k":"\\",[[]]})", 2));
}

}  // namespace
}  // namespace tl
