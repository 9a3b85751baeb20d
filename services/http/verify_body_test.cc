#include "services/http/verify_body.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "services/domain/commands.h"
#include "services/http/http_common.h"

namespace tl {
namespace {

const std::string kToken =
    "tl_" + std::string("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN");

// The general path the reader stands in for.
Result<VerifyCommand> General(std::string_view text) {
  auto body = ParseJsonBody(text);
  if (!body.ok()) return body.error();
  return ParseVerify(body.value());
}

// `text` with every byte outside printable ASCII as \xNN, for failure messages.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  return out;
}

// ReadVerifyBody on a heap copy of exactly text.size() bytes, so that a read
// past the end is a heap overflow under AddressSanitizer (a std::string has a
// terminator and often spare capacity after its text).
std::optional<VerifyCommand> ReadExact(std::string_view text) {
  const std::vector<char> exact(text.begin(), text.end());
  return ReadVerifyBody(std::string_view(exact.data(), exact.size()));
}

// The contract for one body: when the reader takes it, the general path takes
// it too and reads an equal command. Returns whether the reader took it.
bool Agrees(std::string_view text) {
  const auto fast = ReadExact(text);
  if (!fast) return false;
  const auto general = General(text);
  const std::string context = Printable(text);
  if (!general.ok()) {
    ADD_FAILURE() << "taken here, refused there (" << general.error().field << ": "
                  << general.error().message << "): " << context;
    return true;
  }
  EXPECT_EQ(fast->token, general->token) << context;
  EXPECT_EQ(fast->permissions, general->permissions) << context;
  EXPECT_EQ(fast->permissions_asked, general->permissions_asked) << context;
  EXPECT_EQ(fast->cost, general->cost) << context;
  EXPECT_EQ(fast->origin, general->origin) << context;
  EXPECT_EQ(fast->ip, general->ip) << context;
  return true;
}

VerifyCommand MustRead(std::string_view text) {
  auto cmd = ReadVerifyBody(text);
  EXPECT_TRUE(cmd.has_value()) << Printable(text);
  EXPECT_TRUE(Agrees(text));
  return cmd.value_or(VerifyCommand{});
}

// --- direct cases ---------------------------------------------------------------

TEST(ReadVerifyBodyTest, CompactBody) {
  auto cmd = MustRead(R"({"token":")" + kToken + R"(","cost":1})");
  EXPECT_EQ(cmd.token, kToken);
  EXPECT_EQ(cmd.cost, 1);
  EXPECT_EQ(cmd.permissions, std::nullopt);
  EXPECT_TRUE(cmd.permissions_asked.is_null());
  EXPECT_EQ(cmd.origin, std::nullopt);
  EXPECT_EQ(cmd.ip, std::nullopt);

  EXPECT_EQ(MustRead(R"({"token":"t"})").cost, 1);  // the default
}

TEST(ReadVerifyBodyTest, SpacedBody) {
  auto cmd = MustRead(R"({"token": "x", "cost": 7})");
  EXPECT_EQ(cmd.token, "x");
  EXPECT_EQ(cmd.cost, 7);
  cmd = MustRead(" \r\n{\n\t\"token\" :\t\"x\" ,\r\n  \"cost\"  :  0\n}\n\n");
  EXPECT_EQ(cmd.token, "x");
  EXPECT_EQ(cmd.cost, 0);
}

TEST(ReadVerifyBodyTest, AllFieldsInAnyOrder) {
  const char* orders[] = {
      R"({"token":"t","permissions":"a:r OR b:r","cost":0,"origin":"https://x.com","ip":"::1"})",
      R"({"ip":"::1","origin":"https://x.com","cost":0,"permissions":"a:r OR b:r","token":"t"})",
      R"({ "cost" : 0 , "ip" : "::1" , "token" : "t" , "origin" : "https://x.com" ,
           "permissions" : "a:r OR b:r" })",
  };
  for (const char* text : orders) {
    auto cmd = MustRead(text);
    EXPECT_EQ(cmd.token, "t") << text;
    ASSERT_TRUE(cmd.permissions) << text;
    EXPECT_EQ(ToString(*cmd.permissions), "a:r OR b:r");
    EXPECT_EQ(cmd.permissions_asked, "a:r OR b:r");
    EXPECT_EQ(cmd.cost, 0);
    EXPECT_EQ(cmd.origin, "https://x.com");
    EXPECT_EQ(cmd.ip, "::1");
  }
}

TEST(ReadVerifyBodyTest, PermissionsAsStringOrList) {
  auto query = MustRead(R"j({"token":"t","permissions":"a:r AND (b:r OR c:w)"})j");
  ASSERT_TRUE(query.permissions);
  EXPECT_EQ(*query.permissions, ParsePermissionQuery("a:r AND (b:r OR c:w)").value());
  EXPECT_EQ(query.permissions_asked, "a:r AND (b:r OR c:w)");

  auto list = MustRead(R"({"token":"t","permissions":[ "a:r" ,"b:r"]})");
  ASSERT_TRUE(list.permissions);
  EXPECT_EQ(ToString(*list.permissions), "a:r AND b:r");
  EXPECT_EQ(list.permissions_asked, Json::parse(R"(["a:r","b:r"])"));

  // An empty list requires nothing, and is recorded as given.
  auto empty = MustRead(R"({"token":"t","permissions":[ ]})");
  ASSERT_TRUE(empty.permissions);
  EXPECT_TRUE(empty.permissions->children.empty());
  EXPECT_EQ(empty.permissions_asked, Json::array());
}

TEST(ReadVerifyBodyTest, NullMeansAbsent) {
  auto cmd = MustRead(R"({"token":"t","permissions":null,"cost":null,"origin":null,"ip":null})");
  EXPECT_EQ(cmd.permissions, std::nullopt);
  EXPECT_TRUE(cmd.permissions_asked.is_null());
  EXPECT_EQ(cmd.cost, 1);
  EXPECT_EQ(cmd.origin, std::nullopt);
  EXPECT_EQ(cmd.ip, std::nullopt);
  EXPECT_FALSE(ReadVerifyBody(R"({"token":null})").has_value());
}

TEST(ReadVerifyBodyTest, StringsAreDecoded) {
  auto cmd = MustRead(R"({"tok\u0065n":"a\"b\\c\/d\n\u00e9\ud83d\ude00","origin":"caf)"
                      "\xc3\xa9"
                      R"("})");
  EXPECT_EQ(cmd.token, "a\"b\\c/d\n\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(cmd.origin, "caf\xc3\xa9");
}

TEST(ReadVerifyBodyTest, LimitsAreThoseOfParseVerify) {
  const std::string token_max(kMaxVerifyTokenBytes, 't');
  EXPECT_EQ(MustRead(R"({"token":")" + token_max + R"("})").token, token_max);
  EXPECT_FALSE(ReadVerifyBody(R"({"token":")" + token_max + R"(t"})").has_value());
  const std::string origin_max(kMaxVerifyOriginBytes, 'o');
  EXPECT_EQ(MustRead(R"({"token":"t","origin":")" + origin_max + R"("})").origin, origin_max);
  EXPECT_FALSE(ReadVerifyBody(R"({"token":"t","origin":")" + origin_max + R"(o"})").has_value());
  EXPECT_EQ(MustRead(R"({"token":"t","cost":1000000000000000})").cost, kMaxCredits);
  EXPECT_FALSE(ReadVerifyBody(R"({"token":"t","cost":1000000000000001})").has_value());
  EXPECT_FALSE(ReadVerifyBody(R"({"token":"t","cost":-1})").has_value());
}

// --- agreement with the general path -------------------------------------------

// What the general path does with a hand-written body.
enum class Expect {
  kTaken,    // valid and in a usual shape: the reader must take it
  kValid,    // valid, and the reader may leave it to the general path
  kRefused,  // the general path refuses it
  kLeft,     // the reader leaves it to the general path, whatever that does
};
struct Case {
  std::string text;
  Expect expect;
};

std::vector<Case> HandWritten() {
  const std::string t = R"({"token":"t",)";  // followed by one more field
  std::vector<Case> cases = {
      {R"({"token":")" + kToken + R"(","cost":1})", Expect::kTaken},
      {R"({"token": "x", "cost": 1})", Expect::kTaken},
      {R"({"token":"t"})", Expect::kTaken},
      {" {\"token\":\"t\"} \n", Expect::kTaken},
      {"{\r\n\t\"token\" : \"t\" ,\r\n \"cost\" : 5\r\n}", Expect::kTaken},
      {R"({"cost":1,"token":"t"})", Expect::kTaken},
      {t + R"j("permissions":"a:r OR (b:w AND c:x)","cost":3,"origin":"https://a.b","ip":"10.1.2.3"})j",
       Expect::kTaken},
      {t + R"("permissions":["a:r","datasets/sales:read","*:*"]})", Expect::kTaken},
      {t + R"("permissions":[]})", Expect::kTaken},
      {t + R"("permissions":null,"cost":null,"origin":null,"ip":null})", Expect::kTaken},
      {t + R"("cost":0})", Expect::kTaken},
      {t + R"("cost":1000000000000000})", Expect::kTaken},
      {t + R"("ip":"2001:db8::1"})", Expect::kTaken},
      {t + R"("origin":""})", Expect::kTaken},
      {R"({"token":"a\"b\\c\/\n\u0041\u0000"})", Expect::kTaken},
      {"{\"token\":\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80 \x7f\"}", Expect::kTaken},
      {R"({"tok\u0065n":"t"})", Expect::kTaken},
      {R"({"token":"\ud83d\ude00"})", Expect::kTaken},

      // Valid, but unusual enough to be left to the general path.
      {t + R"("cost":-0})", Expect::kValid},
      {"\xef\xbb\xbf{\"token\":\"t\"}", Expect::kValid},  // a byte order mark

      // Not an object, or no token.
      {"", Expect::kRefused},
      {" ", Expect::kRefused},
      {"null", Expect::kRefused},
      {R"("tok")", Expect::kRefused},
      {"1", Expect::kRefused},
      {R"([{"token":"t"}])", Expect::kRefused},
      {"{}", Expect::kRefused},
      {R"({"cost":1})", Expect::kRefused},
      // Wrong types and values.
      {R"({"token":5})", Expect::kRefused},
      {R"({"token":null})", Expect::kRefused},
      {R"({"token":true})", Expect::kRefused},
      {R"({"token":""})", Expect::kRefused},
      {R"({"token":["t"]})", Expect::kRefused},
      {R"({"token":{"token":"t"}})", Expect::kRefused},
      {R"({"token":")" + std::string(kMaxVerifyTokenBytes + 1, 't') + R"("})", Expect::kRefused},
      {t + R"("origin":")" + std::string(kMaxVerifyOriginBytes + 1, 'o') + R"("})",
       Expect::kRefused},
      {t + R"("origin":1})", Expect::kRefused},
      {t + R"("origin":["a"]})", Expect::kRefused},
      {t + R"("cost":-1})", Expect::kRefused},
      {t + R"("cost":1.5})", Expect::kRefused},
      {t + R"("cost":1.0})", Expect::kRefused},
      {t + R"("cost":1e2})", Expect::kRefused},
      {t + R"("cost":1E2})", Expect::kRefused},
      {t + R"("cost":"1"})", Expect::kRefused},
      {t + R"("cost":true})", Expect::kRefused},
      {t + R"("cost":[1]})", Expect::kRefused},
      {t + R"("cost":01})", Expect::kRefused},
      {t + R"("cost":+1})", Expect::kRefused},
      {t + R"("cost":1000000000000001})", Expect::kRefused},
      {t + R"("cost":9223372036854775807})", Expect::kRefused},
      {t + R"("cost":9223372036854775808})", Expect::kRefused},
      {t + R"("cost":18446744073709551616})", Expect::kRefused},
      {t + R"("cost":-9223372036854775809})", Expect::kRefused},
      {t + R"("cost":NaN})", Expect::kRefused},
      {t + R"("permissions":"a:r AND"})", Expect::kRefused},
      {t + R"("permissions":""})", Expect::kRefused},
      {t + R"("permissions":["a:r","x"]})", Expect::kRefused},
      {t + R"("permissions":["a:r",1]})", Expect::kRefused},
      {t + R"("permissions":[["a:r"]]})", Expect::kRefused},
      {t + R"("permissions":{"a":"r"}})", Expect::kRefused},
      {t + R"("permissions":1})", Expect::kRefused},
      {t + R"("permissions":")" + std::string(kMaxQueryLength, 'a') + R"(:r"})", Expect::kRefused},
      {t + R"("ip":"300.1.1.1"})", Expect::kRefused},
      {t + R"("ip":"10.0.0.0/8"})", Expect::kRefused},
      {t + R"("ip":""})", Expect::kRefused},
      {t + R"("ip":" ::1"})", Expect::kRefused},
      {t + R"("ip":7})", Expect::kRefused},
      // Unknown and repeated keys.
      {t + R"("key":"x"})", Expect::kRefused},
      {t + R"("Token":"x"})", Expect::kRefused},
      {t + R"("meta":{"a":1}})", Expect::kRefused},
      {t + R"("token":"u"})", Expect::kRefused},
      {t + R"("tok\u0065n":"u"})", Expect::kRefused},
      {t + R"("cost":null,"cost":1})", Expect::kRefused},
      {t + R"("ip":"::1","ip":"::1"})", Expect::kRefused},
      // Broken text.
      {R"({"token":"t")", Expect::kRefused},
      {R"({"token":"t",)", Expect::kRefused},
      {R"({"token":"t",})", Expect::kRefused},
      {R"({"token":)", Expect::kRefused},
      {R"({"token")", Expect::kRefused},
      {R"({"token":"t" "cost":1})", Expect::kRefused},
      {R"({"token" "t"})", Expect::kRefused},
      {R"({'token':'t'})", Expect::kRefused},
      {R"({token:"t"})", Expect::kRefused},
      {t + R"("cost":nul})", Expect::kRefused},
      {t + R"("cost":nulll})", Expect::kRefused},
      {t + R"("cost":Null})", Expect::kRefused},
      {t + R"("permissions":["a:r",]})", Expect::kRefused},
      {t + R"("permissions":["a:r")", Expect::kRefused},
      // Trailing garbage.
      {R"({"token":"t"}x)", Expect::kRefused},
      {R"({"token":"t"}{})", Expect::kRefused},
      {R"({"token":"t"},)", Expect::kRefused},
      {R"({"token":"t"}})", Expect::kRefused},
      // nlohmann's lexer takes a NUL byte for the end of the text, so the
      // general path ignores whatever follows one; the reader never does.
      {std::string("{\"token\":\"t\"}\0", 14), Expect::kLeft},
      {std::string("{\"token\":\"t\"}\0{\"x", 17), Expect::kLeft},
      // Whitespace JSON does not allow.
      {"{\f\"token\":\"t\"}", Expect::kRefused},
      {"{\v\"token\":\"t\"}", Expect::kRefused},
      {"{\xc2\xa0\"token\":\"t\"}", Expect::kRefused},
      // Invalid UTF-8, control characters, bad escapes.
      {"{\"token\":\"\xff\"}", Expect::kRefused},
      {"{\"token\":\"\xc3\"}", Expect::kRefused},
      {"{\"token\":\"\xc0\xaf\"}", Expect::kRefused},
      {"{\"token\":\"\xed\xa0\x80\"}", Expect::kRefused},
      {"{\"token\":\"\xf4\x90\x80\x80\"}", Expect::kRefused},
      {"{\"tok\xffn\":\"t\"}", Expect::kRefused},
      {"{\"token\":\"a\tb\"}", Expect::kRefused},
      {"{\"token\":\"a\nb\"}", Expect::kRefused},
      {"{\"token\":\"a\x01\"}", Expect::kRefused},
      {std::string("{\"token\":\"a\0b\"}", 15), Expect::kRefused},
      {R"({"token":"\x"})", Expect::kRefused},
      {R"({"token":"\ud800"})", Expect::kRefused},
      {R"({"token":"\udc00"})", Expect::kRefused},
      {R"({"token":"\u12"})", Expect::kRefused},
  };
  std::string many_permissions = t + R"("permissions":[)";
  for (int i = 0; i <= 100; ++i) many_permissions += (i ? ",\"a:r\"" : "\"a:r\"");
  cases.push_back({many_permissions + "]}", Expect::kRefused});
  return cases;
}

TEST(ReadVerifyBodyAgreementTest, HandWrittenBodies) {
  for (const Case& c : HandWritten()) {
    const std::string context = Printable(c.text);
    const bool taken = Agrees(c.text);
    const bool valid = General(c.text).ok();
    switch (c.expect) {
      case Expect::kTaken:
        EXPECT_TRUE(taken) << "left to the general path: " << context;
        EXPECT_TRUE(valid) << context;
        break;
      case Expect::kValid:
        EXPECT_TRUE(valid) << context;
        break;
      case Expect::kRefused:
        EXPECT_FALSE(valid) << context;  // the case is what it says; Agrees checked the reader
        break;
      case Expect::kLeft:
        EXPECT_FALSE(taken) << context;
        break;
    }
  }
}

// Every prefix of the valid bodies: text cut off anywhere.
TEST(ReadVerifyBodyAgreementTest, TruncatedBodies) {
  for (const Case& c : HandWritten()) {
    if (c.expect != Expect::kTaken && c.expect != Expect::kValid) continue;
    for (size_t n = 0; n < c.text.size(); ++n) Agrees(std::string_view(c.text).substr(0, n));
  }
}

// A fixed seed, and rng() % n rather than the distributions, whose results the
// standard leaves to each library: the same bodies everywhere.
class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}
  size_t Below(size_t n) { return rng_() % n; }
  bool OneIn(size_t n) { return Below(n) == 0; }
  template <typename T>
  const T& Pick(const std::vector<T>& from) {
    return from[Below(from.size())];
  }

 private:
  std::mt19937 rng_;
};

// Values for each field: the first `valid` of them are valid; the rest are
// refused by the general path, or left to it (-0).
struct FieldValues {
  std::string key;
  std::vector<std::string> values;
  size_t valid;
};

std::vector<FieldValues> Fields() {
  return {
      {"token",
       {"\"" + kToken + "\"", R"("t")", R"("a\"b\\c")", "\"caf\xc3\xa9\"",
        R"("\u00e9\ud83d\ude00")", R"("")", "5", "null", "true", R"(["t"])", "{}",
        "\"" + std::string(kMaxVerifyTokenBytes + 1, 't') + "\"", "\"\xff\""},
       5},
      {"permissions",
       {"null", R"("a:r")", R"j("a:r OR (b:w AND c:x)")j", "[]", R"(["a:r"])", R"(["a:r", "b:w"])",
        R"("a:r AND")", R"(["x"])", "[1]", "1", "{}", R"([["a:r"]])", R"("")", R"(["a:r",])",
        "[null]"},
       6},
      {"cost",
       {"null", "0", "1", "42", "1000000000000000", "-1", "1.5", "1e2", "-0", R"("1")", "true",
        "1000000000000001", "99999999999999999999", "[1]", "01"},
       5},
      {"origin",
       {"null", R"("https://x.com")", R"("")", "\"caf\xc3\xa9\"", "1",
        "\"" + std::string(kMaxVerifyOriginBytes + 1, 'o') + "\"", "[]"},
       4},
      {"ip",
       {"null", R"("10.1.2.3")", R"("::1")", R"("2001:db8::1")", R"("300.1.1.1")",
        R"("10.0.0.0/8")", "7", R"("")", "false"},
       4},
  };
}

// Random objects: a random subset of the fields in random order (sometimes a
// field twice, sometimes an unknown one), random values, random whitespace.
// Bodies built only of valid values, with a token and JSON whitespace, are
// usual ones: the reader must take them.
TEST(ReadVerifyBodyAgreementTest, GeneratedBodies) {
  Generator gen(20240611);
  const std::vector<FieldValues> fields = Fields();
  const std::vector<std::string> spaces = {"", "", "", " ", "  ", "\n", "\t", "\r\n", " \n\t"};
  size_t usual_count = 0;
  constexpr int kBodies = 20000;
  for (int i = 0; i < kBodies; ++i) {
    bool usual = true;
    auto space = [&] {
      if (gen.OneIn(200)) {
        usual = false;
        return std::string("\f");
      }
      return gen.Pick(spaces);
    };
    std::vector<size_t> order;
    for (size_t f = 0; f < fields.size(); ++f) {
      if (f == 0 ? !gen.OneIn(20) : gen.OneIn(2)) order.push_back(f);
    }
    for (size_t k = order.size(); k > 1; --k) std::swap(order[k - 1], order[gen.Below(k)]);
    usual = usual && std::find(order.begin(), order.end(), size_t{0}) != order.end();
    if (!order.empty() && gen.OneIn(30)) {
      const size_t again = gen.Pick(order);  // a repeated key
      order.push_back(again);
      usual = false;
    }
    std::string text = space() + "{";
    for (size_t k = 0; k < order.size(); ++k) {
      const FieldValues& f = fields[order[k]];
      const size_t v = gen.OneIn(3) ? gen.Below(f.values.size()) : gen.Below(f.valid);
      usual = usual && v < f.valid;
      // One call of space() per statement: the order of the random draws
      // must not depend on the compiler's order of evaluation.
      if (k > 0) text += ",";
      text += space();
      text += "\"" + f.key + "\"";
      text += space();
      text += ":";
      text += space();
      text += f.values[v];
      text += space();
    }
    if (gen.OneIn(40)) {
      text += std::string(order.empty() ? "" : ",") + "\"meta\":{\"a\":1}";
      usual = false;
    }
    text += "}" + space();
    const bool took = Agrees(text);
    if (usual) {
      ++usual_count;
      EXPECT_TRUE(took) << "left to the general path: " << Printable(text);
    }
  }
  // Not vacuous: a good share of the bodies are usual ones.
  EXPECT_GT(usual_count, kBodies / 10);
}

// Valid bodies with one to three bytes deleted, inserted or replaced.
TEST(ReadVerifyBodyAgreementTest, MutatedBodies) {
  Generator gen(7);
  std::vector<std::string> seeds;
  for (const Case& c : HandWritten()) {
    const bool valid = c.expect == Expect::kTaken || c.expect == Expect::kValid;
    if (valid && c.text.size() < 300) seeds.push_back(c.text);
  }
  // Bytes that matter to JSON come up more often than the rest.
  const std::string significant = "{}[]\":,\\ \t\n0123456789-+.eEnultrfa/u";
  size_t taken = 0;
  constexpr int kPerSeed = 3000;
  for (const std::string& seed : seeds) {
    for (int i = 0; i < kPerSeed; ++i) {
      std::string text = seed;
      for (size_t m = 0, mutations = 1 + gen.Below(3); m < mutations; ++m) {
        const char byte = gen.OneIn(2) ? significant[gen.Below(significant.size())]
                                       : static_cast<char>(gen.Below(256));
        const size_t at = gen.Below(text.size() + 1);
        switch (gen.Below(3)) {
          case 0:
            if (at < text.size()) text.erase(at, 1);
            break;
          case 1:
            text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), byte);
            break;
          default:
            if (at < text.size()) text[at] = byte;
            break;
        }
      }
      taken += Agrees(text);
    }
  }
  // Some mutations leave a valid body (a changed letter in a token, added
  // whitespace): the fast path is exercised here too.
  EXPECT_GT(taken, seeds.size() * kPerSeed / 100);
}

}  // namespace
}  // namespace tl
