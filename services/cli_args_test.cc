#include "services/cli_args.h"

#include <gtest/gtest.h>

namespace tl {
namespace {

TEST(CliArgs, ValuesSwitchesAndPositionals) {
  CliArgs a({"show", "--data", "d1", "--until=7", "--json", "--data", "d2", "tok_1"},
            {"data", "until"}, {"json"});
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ(a.Get("data"), "d2");  // the last one wins for Get
  EXPECT_EQ(a.GetAll("data"), (std::vector<std::string>{"d1", "d2"}));
  EXPECT_EQ(a.Get("until"), "7");
  EXPECT_TRUE(a.Has("json"));
  EXPECT_FALSE(a.Has("out"));
  EXPECT_EQ(a.Get("out", "x"), "x");
  EXPECT_EQ(a.positional(), (std::vector<std::string>{"show", "tok_1"}));
}

TEST(CliArgs, RefusesUnknownFlagsMissingValuesAndValuedSwitches) {
  EXPECT_EQ(CliArgs({"--dta", "x"}, {"data"}).error(), "unknown flag --dta");
  EXPECT_EQ(CliArgs({"--data"}, {"data"}).error(), "--data needs a value");
  EXPECT_EQ(CliArgs({"--json=yes"}, {}, {"json"}).error(), "--json takes no value");
}

TEST(ParseKeyValues, SplitsAtTheFirstEqualsAndNeverEchoesAValue) {
  auto ok = ParseKeyValues({"sasl.password=a=b", "acks=all"}, "kafka-property");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0], (std::pair<std::string, std::string>{"sasl.password", "a=b"}));
  EXPECT_EQ((*ok)[1].first, "acks");
  auto bad = ParseKeyValues({"=hunter2"}, "kafka-property");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().field, "kafka-property");
  EXPECT_EQ(bad.error().message.find("hunter2"), std::string::npos);
  EXPECT_FALSE(ParseKeyValues({"novalue"}, "kafka-property").ok());
}

TEST(ParseUint, WholeDecimalNumbersOnly) {
  EXPECT_EQ(ParseUint("42"), 42u);
  EXPECT_FALSE(ParseUint(""));
  EXPECT_FALSE(ParseUint("-1"));
  EXPECT_FALSE(ParseUint("4x"));
  EXPECT_FALSE(ParseUint("99999999999999999999999"));
}

}  // namespace
}  // namespace tl
