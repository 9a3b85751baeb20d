#include "services/domain/permissions.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

namespace tl {
namespace {

TEST(IsValidPermissionTest, Table) {
  const struct {
    const char* p;
    bool valid;
  } cases[] = {
      {"reports:read", true},
      {"datasets/sales:read", true},
      {"a:b", true},
      {"*:*", true},
      {"api.v2_x-y:write", true},
      {"ledger:admin", true},
      {"", false},
      {":", false},
      {"reports:", false},
      {":read", false},
      {"reports", false},
      {"a:b:c", false},
      {"re ports:read", false},
      {"reports:re(ad", false},
      {"reports:rëad", false},
      {"reports:read\n", false},
  };
  for (const auto& c : cases) EXPECT_EQ(IsValidPermission(c.p), c.valid) << c.p;
  EXPECT_TRUE(IsValidPermission(std::string(kMaxPermissionLength - 2, 'a') + ":b"));
  EXPECT_FALSE(IsValidPermission(std::string(kMaxPermissionLength - 1, 'a') + ":b"));
}

TEST(GrantsTest, Table) {
  const struct {
    const char* granted;
    const char* required;
    bool grants;
  } cases[] = {
      {"reports:read", "reports:read", true},
      {"reports:read", "reports:write", false},
      {"reports:*", "reports:write", true},
      {"*:read", "reports:read", true},
      {"*:read", "reports:write", false},
      {"*:*", "datasets/sales:delete", true},
      {"datasets/*:read", "datasets/sales:read", true},
      {"datasets/*:read", "datasets/sales/eu:read", true},  // '*' spans '/'
      {"datasets/*:read", "datasets:read", false},
      {"data*:read", "datasets:read", true},
      {"*sets:read", "datasets:read", true},
      {"d*t*s:read", "datasets:read", true},
      {"d*x*s:read", "datasets:read", false},
      {"reports:re*", "reports:read", true},
      {"reports:*d", "reports:read", true},
      {"reports:*d", "reports:write", false},
      // Never across ':'.
      {"reports*", "reports:read", false},
      {"re*ad", "reports:read", false},
      {"*:read", "a:b:read", false},
      {"a*:*b", "a:b", true},
      {"a*:*b", "ax:yb", true},
      {"a*:*b", "ax:by", false},
      // Ledger permissions need the identical string.
      {"*:*", "ledger:admin", false},
      {"*:admin", "ledger:admin", false},
      {"ledger:*", "ledger:admin", false},
      {"led*:admin", "ledger:admin", false},
      {"ledger:admin", "ledger:admin", true},
      {"ledger:admin", "ledger:read", false},  // implication is Authorize's business
      {"*:read", "ledger:read", false},
      // "ledger" as part of a longer resource is an ordinary resource.
      {"*:read", "ledger/x:read", true},
      {"*:*", "ledgers:read", true},
      // Invalid inputs grant nothing.
      {"reports", "reports:read", false},
      {"*:*", "reports", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Grants(c.granted, c.required), c.grants) << c.granted << " -> " << c.required;
  }
}

TEST(GrantsTest, PathologicalPatternStaysCheap) {
  const std::string pattern = std::string(100, '*') + "b:*";
  const std::string text = std::string(200, 'a') + ":x";
  EXPECT_FALSE(Grants(pattern, text));
}

TEST(SatisfiesTest, AnyGrantSuffices) {
  const std::vector<std::string> granted = {"reports:read", "datasets/*:write"};
  EXPECT_TRUE(Satisfies(granted, "reports:read"));
  EXPECT_TRUE(Satisfies(granted, "datasets/x:write"));
  EXPECT_FALSE(Satisfies(granted, "datasets/x:read"));
  EXPECT_FALSE(Satisfies({}, "reports:read"));
}

PermissionQuery Parse(std::string_view text) {
  auto q = ParsePermissionQuery(text);
  EXPECT_TRUE(q.ok()) << text << ": " << (q.ok() ? "" : q.error().message);
  return q.ok() ? q.value() : PermissionQuery{};
}

TEST(ParsePermissionQueryTest, CanonicalFormShowsPrecedence) {
  const struct {
    const char* in;
    const char* canonical;
  } cases[] = {
      {"a:r", "a:r"},
      {"  a:r  ", "a:r"},
      {"a:r AND b:r", "a:r AND b:r"},
      {"a:r OR b:r AND c:r", "a:r OR (b:r AND c:r)"},
      {"a:r AND b:r OR c:r", "(a:r AND b:r) OR c:r"},
      {"a:r AND (b:r OR c:r)", "a:r AND (b:r OR c:r)"},
      {"(a:r)", "a:r"},
      {"((a:r OR b:r))", "a:r OR b:r"},
      {"a:r AND b:r AND c:r", "a:r AND b:r AND c:r"},
      {"a:r AND (b:r AND c:r)", "a:r AND b:r AND c:r"},  // flattened
      {"(a:r OR b:r)AND(c:r OR d:r)", "(a:r OR b:r) AND (c:r OR d:r)"},
      {"datasets/sales:read AND (reports:read OR reports:write)",
       "datasets/sales:read AND (reports:read OR reports:write)"},
  };
  for (const auto& c : cases) EXPECT_EQ(ToString(Parse(c.in)), c.canonical) << c.in;
}

TEST(ParsePermissionQueryTest, PrecedenceDecidesEvaluation) {
  // a OR b AND c == a OR (b AND c): true with only a.
  EXPECT_TRUE(Evaluate(Parse("a:r OR b:r AND c:r"), {"a:r"}));
  EXPECT_FALSE(Evaluate(Parse("(a:r OR b:r) AND c:r"), {"a:r"}));
  // a AND b OR c == (a AND b) OR c: true with only c.
  EXPECT_TRUE(Evaluate(Parse("a:r AND b:r OR c:r"), {"c:r"}));
  EXPECT_FALSE(Evaluate(Parse("a:r AND (b:r OR c:r)"), {"c:r"}));
}

TEST(ParsePermissionQueryTest, Errors) {
  const struct {
    std::string in;
    const char* fragment;  // expected in the message
  } cases[] = {
      {"", "empty"},
      {"   ", "empty"},
      {"a:r AND", "expected a permission or '(' at offset 7, found the end"},
      {"AND a:r", "expected a permission or '(' at offset 0, found 'AND'"},
      {"a:r OR OR b:r", "found 'OR'"},
      {"a:r b:r", "expected AND, OR or the end of the query at offset 4, found 'b:r'"},
      {"(a:r", "expected ')'"},
      {"a:r)", "found ')'"},
      {"()", "found ')'"},
      {"a:r and b:r", "found 'and'"},
      {"reports", "'reports' at offset 0 is not a permission"},
      {"a:r AND b", "'b' at offset 8 is not a permission"},
      // Only short, plain words are quoted back: a client may paste a secret.
      {"a:r AND " + std::string(32, 's'), "'[redacted]' at offset 8 is not a permission"},
      {"a:r " + std::string(30, 'x') + ":y", "found '[redacted]'"},
      {std::string(20, '(') + "a:r" + std::string(20, ')'), "deeper than"},
      {std::string(kMaxQueryLength + 1, ' '), "longer than"},
  };
  for (const auto& c : cases) {
    auto q = ParsePermissionQuery(c.in);
    ASSERT_FALSE(q.ok()) << c.in;
    EXPECT_EQ(q.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(q.error().field, "permissions");
    EXPECT_NE(q.error().message.find(c.fragment), std::string::npos)
        << c.in << ": " << q.error().message;
  }
  // Exactly at the depth limit still parses.
  EXPECT_TRUE(ParsePermissionQuery(std::string(kMaxQueryDepth, '(') + "a:r" +
                                   std::string(kMaxQueryDepth, ')'))
                  .ok());
}

TEST(EvaluateTest, UsesGrantsSemantics) {
  const std::vector<std::string> granted = {"datasets/*:read", "reports:write", "*:*"};
  EXPECT_TRUE(Evaluate(Parse("datasets/sales:read AND (reports:read OR reports:write)"), granted));
  EXPECT_FALSE(Evaluate(Parse("ledger:admin"), granted));
  EXPECT_FALSE(Evaluate(Parse("x:y AND ledger:read"), granted));
  EXPECT_TRUE(Evaluate(Parse("ledger:read OR x:y"), granted));
}

TEST(PermissionQueryFromJsonTest, ListAndString) {
  auto list = PermissionQueryFromJson(Json::array({"a:r", "b:w"}));
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(ToString(*list), "a:r AND b:w");
  EXPECT_TRUE(Evaluate(*list, {"a:r", "b:w"}));
  EXPECT_FALSE(Evaluate(*list, {"a:r"}));

  auto empty = PermissionQueryFromJson(Json::array());
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(Evaluate(*empty, {}));

  auto str = PermissionQueryFromJson(Json("a:r OR b:w"));
  ASSERT_TRUE(str.ok());
  EXPECT_TRUE(Evaluate(*str, {"b:w"}));

  auto bad_elem = PermissionQueryFromJson(Json::array({"a:r", 3}), "perms");
  ASSERT_FALSE(bad_elem.ok());
  EXPECT_EQ(bad_elem.error().field, "perms[1]");
  auto bad_perm = PermissionQueryFromJson(Json::array({"a:r", "nope"}));
  ASSERT_FALSE(bad_perm.ok());
  EXPECT_EQ(bad_perm.error().field, "permissions[1]");
  auto bad_type = PermissionQueryFromJson(Json(5));
  ASSERT_FALSE(bad_type.ok());
  EXPECT_EQ(bad_type.error().field, "permissions");
  auto bad_query = PermissionQueryFromJson(Json("a:r AND"), "q");
  ASSERT_FALSE(bad_query.ok());
  EXPECT_EQ(bad_query.error().field, "q");
}

TEST(PresetPermissionsTest, Names) {
  EXPECT_EQ(PresetPermissions("read-only"), std::vector<std::string>{"*:read"});
  EXPECT_EQ(PresetPermissions("full-access"), std::vector<std::string>{"*:*"});
  EXPECT_EQ(PresetPermissions("admin"), std::nullopt);
  // full-access still does not reach the ledger.
  EXPECT_FALSE(Satisfies(*PresetPermissions("full-access"), "ledger:write"));
}

// The obvious exponential-time glob: the reference GlobMatch is checked against.
bool SlowGlob(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern[0] == '*') {
    for (size_t skip = 0; skip <= text.size(); ++skip) {
      if (SlowGlob(pattern.substr(1), text.substr(skip))) return true;
    }
    return false;
  }
  return !text.empty() && pattern[0] == text[0] && SlowGlob(pattern.substr(1), text.substr(1));
}

TEST(GrantsTest, AgreesWithTheObviousGlobOnRandomPermissions) {
  std::mt19937 rng(7);
  auto word = [&](const char* alphabet, size_t max_len) {
    std::string w;
    const size_t n = 1 + rng() % max_len;
    for (size_t i = 0; i < n; ++i) w += alphabet[rng() % std::strlen(alphabet)];
    return w;
  };
  for (int i = 0; i < 20'000; ++i) {
    const std::string granted = word("ab*", 7) + ":" + word("ab*", 5);
    const std::string required = word("ab", 9) + ":" + word("ab", 6);
    const size_t gc = granted.find(':'), rc = required.find(':');
    const bool expected = SlowGlob(granted.substr(0, gc), required.substr(0, rc)) &&
                          SlowGlob(granted.substr(gc + 1), required.substr(rc + 1));
    ASSERT_EQ(Grants(granted, required), expected) << granted << " vs " << required;
  }
}

TEST(IsValidGrantTest, BoundsWildcards) {
  EXPECT_TRUE(IsValidGrant("*:*"));
  EXPECT_TRUE(IsValidGrant("a*b*c:*d*"));
  EXPECT_FALSE(IsValidGrant("a*b*c*:*d*"));  // five
  EXPECT_FALSE(IsValidGrant("not a permission"));
  EXPECT_TRUE(
      IsValidPermission("a*b*c*:*d*"));  // still matched as held (replay), never granted anew
}

TEST(ParsePermissionQueryTest, BoundsThePermissionsNamed) {
  std::string q = "p0:r";
  for (size_t i = 1; i < kMaxQueryPermissions; ++i) q += " OR p" + std::to_string(i) + ":r";
  EXPECT_TRUE(ParsePermissionQuery(q).ok());
  auto over = ParsePermissionQuery(q + " OR x:r");
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.error().message.find(std::to_string(kMaxQueryPermissions)), std::string::npos);
  Json list = Json::array();
  for (size_t i = 0; i < kMaxQueryPermissions; ++i) list.push_back("p" + std::to_string(i) + ":r");
  EXPECT_TRUE(PermissionQueryFromJson(list).ok());
  list.push_back("x:r");
  EXPECT_FALSE(PermissionQueryFromJson(list).ok());
}

}  // namespace
}  // namespace tl
