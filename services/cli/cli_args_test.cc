#include "services/cli/cli_args.h"

#include <gtest/gtest.h>

#include "services/domain/secret.h"

namespace tl {
namespace {

// Flags by name; a switch has no value.
FlagSpec Value(const std::string& name, bool repeatable = false) {
  return {.name = name, .value = "V", .help = "", .repeatable = repeatable};
}
FlagSpec Switch(const std::string& name) { return {.name = name}; }

TEST(CliArgs, ValuesSwitchesAndPositionals) {
  CliArgs a({"show", "--data", "d1", "--until=7", "--json", "--data", "d2", "tok_1"},
            {.flags = {Value("data", /*repeatable=*/true), Value("until"), Switch("json")},
             .positionals = {{"VERB", ""}, {"ID", ""}}});
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ(a.Get("data"), "d2");  // the last one wins for Get
  EXPECT_EQ(a.GetAll("data"), (std::vector<std::string>{"d1", "d2"}));
  EXPECT_EQ(a.Get("until"), "7");
  EXPECT_TRUE(a.Has("json"));
  EXPECT_FALSE(a.Has("out"));
  EXPECT_EQ(a.Get("out", "x"), "x");
  EXPECT_EQ(a.positional(), (std::vector<std::string>{"show", "tok_1"}));
}

// Negative numbers are values, "-" (stdin) is an argument.
TEST(CliArgs, NegativeNumbersAndADashAreNotFlags) {
  CliArgs a({"--add", "-10", "-"}, {.flags = {Value("add")}, .positionals = {{"SECRET", ""}}});
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ(a.Get("add"), "-10");
  EXPECT_EQ(a.positional(), (std::vector<std::string>{"-"}));
}

TEST(CliArgs, RefusesUnknownFlagsMissingValuesAndValuedSwitches) {
  EXPECT_EQ(CliArgs({"--dta", "x"}, {.flags = {Value("data")}}).error(), "unknown flag --dta");
  EXPECT_EQ(CliArgs({"--data"}, {.flags = {Value("data")}}).error(), "--data needs a value");
  EXPECT_EQ(CliArgs({"--json=yes"}, {.flags = {Switch("json")}}).error(), "--json takes no value");
  // The value of an unknown flag may be a secret: only its name is told.
  EXPECT_EQ(CliArgs({"--tokn=hunter2"}, {}).error(), "unknown flag --tokn");
}

TEST(CliArgs, HelpIsAskedForNotAnError) {
  CliArgs a({"--help"}, {.name = "backup", .flags = {Value("to")}});
  EXPECT_TRUE(a.help_requested());
  EXPECT_NE(a.help_text().find("--to"), std::string::npos) << a.help_text();
}

// The audit found `replay --data d extra` and `log export --from 1 --from 2`
// accepted silently.
TEST(CliArgs, RefusesRepeatedFlagsUnlessRepeatable) {
  EXPECT_EQ(CliArgs({"--from", "1", "--from=2"}, {.flags = {Value("from")}}).error(),
            "--from is given more than once");
  EXPECT_EQ(CliArgs({"--json", "--json"}, {.flags = {Switch("json")}}).error(),
            "--json is given more than once");
  CliArgs kv({"--kafka-property", "a=1", "--kafka-property", "b=2"},
             {.flags = {Value("kafka-property", /*repeatable=*/true)}});
  ASSERT_TRUE(kv.ok()) << kv.error();
  EXPECT_EQ(kv.GetAll("kafka-property"), (std::vector<std::string>{"a=1", "b=2"}));
}

TEST(CliArgs, RefusesExtraPositionalsNamingThem) {
  EXPECT_EQ(CliArgs({"--data", "d", "extra"}, {.flags = {Value("data")}}).error(),
            "unexpected argument 'extra'");
  const CommandSpec two_args{.positionals = {{"VERB", ""}, {"ID", ""}}};
  CliArgs two({"show", "tok_1", "x", "y"}, two_args);
  EXPECT_EQ(two.error(), "unexpected arguments 'x' 'y'");
  CliArgs fits({"show", "tok_1"}, two_args);
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
