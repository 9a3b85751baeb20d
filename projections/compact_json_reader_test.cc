#include "projections/compact_json_reader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "events/event.h"

namespace tl {
namespace {

std::optional<int64_t> IntOf(std::string_view text) {
  CompactJsonReader r(text);
  int64_t v;
  if (!r.Int(v) || !r.AtEnd()) return std::nullopt;
  return v;
}

std::optional<uint64_t> UintOf(std::string_view text) {
  CompactJsonReader r(text);
  uint64_t v;
  if (!r.Uint(v) || !r.AtEnd()) return std::nullopt;
  return v;
}

std::optional<std::string> StringOf(std::string_view text) {
  CompactJsonReader r(text);
  std::string v = "left over";
  if (!r.String(v) || !r.AtEnd()) return std::nullopt;
  return v;
}

TEST(CompactJsonReaderTest, IntegersInTheirRangeOnly) {
  EXPECT_EQ(IntOf("0"), 0);
  EXPECT_EQ(IntOf("-1"), -1);
  EXPECT_EQ(IntOf("9223372036854775807"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(IntOf("-9223372036854775808"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(UintOf("18446744073709551615"), std::numeric_limits<uint64_t>::max());
  for (const char* bad : {"", "-", "+1", "01", "-0", "00", "1.0", "1e3", "1E3", "9223372036854775808",
                          "-9223372036854775809", "x", " 1", "\"1\"", "null"}) {
    EXPECT_EQ(IntOf(bad), std::nullopt) << bad;
  }
  for (const char* bad : {"-1", "18446744073709551616", "99999999999999999999", "0.5"}) {
    EXPECT_EQ(UintOf(bad), std::nullopt) << bad;
  }
}

TEST(CompactJsonReaderTest, StringsDecodeEveryEscape) {
  EXPECT_EQ(StringOf(R"("")"), "");
  EXPECT_EQ(StringOf(R"("plain")"), "plain");
  EXPECT_EQ(StringOf(R"("\"\\\/\b\f\n\r\t")"), "\"\\/\b\f\n\r\t");
  EXPECT_EQ(StringOf(R"("\u0000")"), std::string("\0", 1));
  EXPECT_EQ(StringOf(R"("a\u001fb\u00e9\u00E9")"), "a\x1f" "b\xc3\xa9\xc3\xa9");
  EXPECT_EQ(StringOf(R"("\u4e2d")"), "\xe4\xb8\xad");
  EXPECT_EQ(StringOf(R"("\ud83d\ude00")"), "\xf0\x9f\x98\x80");
  EXPECT_EQ(StringOf("\"caf\xc3\xa9 \xf0\x9f\x98\x80 \x7f\""), "caf\xc3\xa9 \xf0\x9f\x98\x80 \x7f");
  // Whatever nlohmann reads the same text as.
  for (const char* text : {R"("x\u0041\n\u00ff")", R"("\ud800\udc00")", R"("\/\/")"}) {
    EXPECT_EQ(StringOf(text), Json::parse(text).get<std::string>()) << text;
  }
}

TEST(CompactJsonReaderTest, MalformedStringsAreRefused) {
  for (std::string bad : {
           std::string(R"("unterminated)"), std::string(R"("\)"), std::string(R"("\x")"),
           std::string(R"("\u12")"), std::string(R"("\u12g4")"), std::string(R"("\ud800")"),
           std::string(R"("\ud800x")"), std::string(R"("\ud800\u0041")"),
           std::string(R"("\udc00")"), std::string("\"tab\there\""), std::string("\"nl\n\""),
           std::string("\"nul\0\"", 6), std::string("\"\xc3\""), std::string("\"\xc0\xaf\""),
           std::string("\"\xed\xa0\x80\""), std::string("\"\xf4\x90\x80\x80\""),
           std::string("\"\xff\""), std::string("\"\x80\""), std::string("'single'"),
           std::string("x")}) {
    EXPECT_EQ(StringOf(bad), std::nullopt) << bad;
    EXPECT_TRUE(Json::parse(bad, nullptr, false).is_discarded()) << bad;
  }
}

TEST(CompactJsonReaderTest, SkipsOneCompositeValue) {
  CompactJsonReader r(R"({"a":[1,{"b":"]}\""}],"c":2.5e3},rest)");
  std::string_view text;
  ASSERT_TRUE(r.SkipComposite(text));
  EXPECT_EQ(text, R"({"a":[1,{"b":"]}\""}],"c":2.5e3})");
  EXPECT_TRUE(r.Eat(",rest"));
  EXPECT_TRUE(r.AtEnd());
  for (const char* bad : {"{", "[[]", "{\"a\":\"}", "1", "\"s\"", "{\"\\x\":1}"}) {
    CompactJsonReader b(bad);
    EXPECT_FALSE(b.SkipComposite(text)) << bad;
  }
}

TEST(CompactJsonReaderTest, LiteralsAndPunctuation) {
  CompactJsonReader r("null,true,false,{\"k\":");
  bool v = false;
  EXPECT_TRUE(r.Null());
  EXPECT_TRUE(r.Eat(','));
  EXPECT_TRUE(r.Bool(v));
  EXPECT_TRUE(v);
  EXPECT_TRUE(r.Eat(','));
  EXPECT_TRUE(r.Bool(v));
  EXPECT_FALSE(v);
  EXPECT_FALSE(r.Eat("{\"j\":"));
  EXPECT_TRUE(r.Eat(",{\"k\":"));
  EXPECT_TRUE(r.AtEnd());
  EXPECT_FALSE(r.Eat('x'));
  EXPECT_EQ(r.Peek(), '\0');
  CompactJsonReader n("nul");
  EXPECT_FALSE(n.Null());
}

TEST(CompactJsonReaderTest, SkipsJsonWhitespaceOnly) {
  CompactJsonReader r(" \t\r\n{ \"k\"\n:\t1 }");
  int64_t v = 0;
  r.SkipWhitespace();
  EXPECT_TRUE(r.Eat('{'));
  r.SkipWhitespace();
  EXPECT_TRUE(r.Eat("\"k\""));
  r.SkipWhitespace();  // twice in a row, and where there is none
  r.SkipWhitespace();
  EXPECT_TRUE(r.Eat(':'));
  r.SkipWhitespace();
  EXPECT_TRUE(r.Int(v));
  EXPECT_EQ(v, 1);
  r.SkipWhitespace();
  EXPECT_TRUE(r.Eat('}'));
  r.SkipWhitespace();  // at the end
  EXPECT_TRUE(r.AtEnd());
  // Not JSON whitespace: form feed, vertical tab, NUL, a no-break space.
  for (std::string other :
       {std::string("\f"), std::string("\v"), std::string("\0", 1), std::string("\xc2\xa0")}) {
    CompactJsonReader o(other);
    o.SkipWhitespace();
    EXPECT_EQ(o.offset(), 0u);
  }
}

}  // namespace
}  // namespace tl
