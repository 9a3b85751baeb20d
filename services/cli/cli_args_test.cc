#include "services/cli/cli_args.h"

#include <gtest/gtest.h>

#include "services/domain/secret.h"

namespace tl {
namespace {

TEST(CliArgs, ValuesSwitchesAndPositionals) {
  CliArgs a({"show", "--data", "d1", "--until=7", "--json", "--data", "d2", "tok_1"},
            {.values = {"data", "until"},
             .switches = {"json"},
             .repeatable = {"data"},
             .max_positional = 2});
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
  EXPECT_EQ(CliArgs({"--dta", "x"}, {.values = {"data"}}).error(), "unknown flag --dta");
  EXPECT_EQ(CliArgs({"--data"}, {.values = {"data"}}).error(), "--data needs a value");
  EXPECT_EQ(CliArgs({"--json=yes"}, {.switches = {"json"}}).error(), "--json takes no value");
}

// The audit found `replay --data d extra` and `log export --from 1 --from 2`
// accepted silently.
TEST(CliArgs, RefusesRepeatedFlagsUnlessRepeatable) {
  EXPECT_EQ(CliArgs({"--from", "1", "--from=2"}, {.values = {"from"}}).error(),
            "--from is given more than once");
  EXPECT_EQ(CliArgs({"--json", "--json"}, {.switches = {"json"}}).error(),
            "--json is given more than once");
  CliArgs kv({"--kafka-property", "a=1", "--kafka-property", "b=2"},
             {.values = {"kafka-property"}, .repeatable = {"kafka-property"}});
  ASSERT_TRUE(kv.ok()) << kv.error();
  EXPECT_EQ(kv.GetAll("kafka-property"), (std::vector<std::string>{"a=1", "b=2"}));
}

TEST(CliArgs, RefusesExtraPositionalsNamingThem) {
  EXPECT_EQ(CliArgs({"--data", "d", "extra"}, {.values = {"data"}}).error(),
            "unexpected argument 'extra'");
  CliArgs two({"show", "tok_1", "x", "y"}, {.max_positional = 2});
  EXPECT_EQ(two.error(), "unexpected arguments 'x' 'y'");
  CliArgs fits({"show", "tok_1"}, {.max_positional = 2});
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(fits.ExtraPositionals(1), "unexpected argument 'tok_1'");
  EXPECT_EQ(fits.ExtraPositionals(2), "");
  // A secret pasted as an argument is not repeated back.
  const std::string secret = GenerateSecret("tl", [](size_t n) { return std::string(n, 'x'); });
  EXPECT_EQ(CliArgs({secret}, {}).error(), "unexpected argument '[redacted]'");
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
