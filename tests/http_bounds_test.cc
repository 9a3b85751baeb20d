// What one request can make the server spend, on a real socket: JSON nesting
// and the permission-matching work of a verification are refused where they
// are accepted, with a problem+json answer that names the bound.

#include <gtest/gtest.h>

#include <string>

#include "events/json_text.h"
#include "services/domain/permissions.h"
#include "tests/http_test_util.h"

namespace tl {
namespace {

using testing::Reply;
using testing::TestServer;

std::string Nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(HttpBoundsTest, DeeplyNestedBodiesAreRefusedBeforeAnythingReadsThem) {
  TestServer s;
  Json weak = s.CreateToken({{"name", "no-ledger-permissions"}, {"permissions", {"a:read"}}});
  Json target = s.CreateToken({{"name", "target"}});
  const std::string path = "/v1/tokens/" + target["id"].get<std::string>();
  const uint64_t before = s.Position();
  for (size_t depth : {kMaxJsonDepth, size_t{30'000}}) {
    const std::string body = R"({"meta":{"x":)" + Nested(depth) + "}}";
    for (const std::string& secret :
         {std::string(testing::kAdminSecret), weak["token"].get<std::string>()}) {
      auto c = s.NewClient();
      httplib::Result r =
          c->Patch(path, {{"Authorization", "Bearer " + secret}}, body, "application/json");
      ASSERT_TRUE(r) << "the server did not answer a body nested " << depth << " deep";
      EXPECT_TRUE(r->status == 400 || r->status == 403) << r->status << " " << r->body;
      if (secret == testing::kAdminSecret) {
        EXPECT_EQ(r->status, 400);
        EXPECT_EQ(r->get_header_value("Content-Type"), "application/problem+json");
        EXPECT_NE(r->body.find("64 levels"), std::string::npos) << r->body;
      }
    }
  }
  EXPECT_EQ(s.Position(), before);  // nothing appended
  EXPECT_EQ(s.Get("/healthz").status, 200);
  // Just within the bound is served.
  Reply ok = s.Patch(path, Json::parse(R"({"meta":{"x":)" + Nested(kMaxJsonDepth - 3) + "}}"));
  EXPECT_EQ(ok.status, 200) << ok.raw;
}

TEST(HttpBoundsTest, PermissionMatchingWorkIsBoundedWhereItsInputsAreAccepted) {
  TestServer s;
  // A grant with more wildcards than matching is bounded for is refused.
  Reply wild = s.Post("/v1/tokens", {{"name", "w"}, {"permissions", {"a*b*c*d*e:*"}}});
  EXPECT_EQ(wild.status, 400) << wild.raw;
  EXPECT_EQ(wild.body["field"], "permissions[0]");
  // The most a token may hold, each with the most wildcards...
  Json perms = Json::array();
  for (int i = 0; i < 100; ++i) perms.push_back("r*" + std::to_string(i) + "*x*:*");
  Json t = s.CreateToken({{"name", "globs"}, {"permissions", perms}});
  // ...checked against the most a query may name.
  std::string query = "q0:read";
  for (size_t i = 1; i < kMaxQueryPermissions; ++i) query += " OR q" + std::to_string(i) + ":read";
  Json v = s.Verify({{"token", t["token"]}, {"permissions", query}});
  EXPECT_EQ(v["code"], "FORBIDDEN");
  Reply over = s.Post("/v1/verify", {{"token", t["token"]}, {"permissions", query + " OR z:read"}});
  EXPECT_EQ(over.status, 400) << over.raw;
  EXPECT_EQ(over.body["field"], "permissions");
  Json list = Json::array();
  for (size_t i = 0; i <= kMaxQueryPermissions; ++i) list.push_back("q" + std::to_string(i) + ":r");
  Reply over_list = s.Post("/v1/verify", {{"token", t["token"]}, {"permissions", list}});
  EXPECT_EQ(over_list.status, 400) << over_list.raw;
}

}  // namespace
}  // namespace tl
