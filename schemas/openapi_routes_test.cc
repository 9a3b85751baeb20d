// schemas/openapi.yaml and the routes HttpApi registers must be the same set
// of operations, in both directions. The document is read by a YAML parser
// (python3-yaml, through schemas/openapi_operations.py).

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "events/clock.h"
#include "events/file_util.h"
#include "events/log_test_util.h"
#include "schemas/script_run.h"
#include "services/http/http_api.h"
#include "services/core/ledger.h"

namespace tl {
namespace {

// "GET /v1/tokens/{id}"
using Operation = std::string;

// What openapi_operations.py prints for `args` (one item a line); a failure
// when it cannot read the document.
std::vector<std::string> OpenApiScript(const std::vector<std::string>& args) {
  testing::TempDir scratch;
  const testing::ScriptRun run =
      testing::RunSchemaScript("openapi_operations.py", args, scratch.path());
  EXPECT_EQ(run.exit_code, 0) << "openapi_operations.py: " << run.Describe();
  return run.Lines();
}

const std::string& OpenApiPath() {
  static const std::string path = std::string(TL_SCHEMA_DIR) + "/openapi.yaml";
  return path;
}

// The reader itself on a small document: methods only (not path item
// fields, not keys deeper down), flow style, and a repeated key refused.
TEST(OpenApiReaderTest, ReadsPathsAndMethodsOnly) {
  testing::TempDir dir;
  const std::string doc = dir.sub("doc.yaml");
  ASSERT_TRUE(WriteFileAtomically(doc,
                                  "openapi: 3.1.0\n"
                                  "info: {title: x, version: '1', /not-a-path: {}}\n"
                                  "paths:\n"
                                  "  /a:\n"
                                  "    summary: s\n"
                                  "    get:\n"
                                  "      responses:\n"
                                  "        post: {}\n"  // deeper: not an operation of /a
                                  "    parameters:\n"
                                  "      - name: q\n"
                                  "    post:   # comment\n"
                                  "      {responses: {}}\n"
                                  "  '/b/{id}': {patch: {}, x-internal: true}\n"
                                  "components:\n"
                                  "  /c:\n"
                                  "    get: {}\n")
                  .ok());
  EXPECT_EQ(OpenApiScript({doc}), (std::vector<Operation>{"GET /a", "POST /a", "PATCH /b/{id}"}));

  const std::string twice = dir.sub("twice.yaml");
  ASSERT_TRUE(WriteFileAtomically(twice, "paths:\n  /a:\n    get: {}\n  /a:\n    post: {}\n").ok());
  const testing::ScriptRun run =
      testing::RunSchemaScript("openapi_operations.py", {twice}, dir.path());
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  EXPECT_NE(run.err.find("found the key '/a' twice"), std::string::npos) << run.Describe();
}

class OpenApiRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LedgerOptions options;
    options.data_dir = dir_.path();
    options.clock = &clock_;
    options.warn = [](std::string_view) {};
    auto ledger = Ledger::Open(std::move(options));
    ASSERT_TRUE(ledger.ok()) << ledger.error().message;
    ledger_ = std::move(ledger).value();
    // Routes are registered by the constructor; no socket is needed.
    api_ = std::make_unique<HttpApi>(*ledger_, HttpOptions{});
  }

  testing::TempDir dir_;
  FakeClock clock_{1'700'000'000'000};
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<HttpApi> api_;
};

TEST_F(OpenApiRoutesTest, DescribedOperationsAreExactlyTheRegisteredRoutes) {
  std::multiset<Operation> registered;
  for (const RouteInfo& r : api_->Routes()) registered.insert(r.method + " " + r.openapi_path);
  const std::vector<Operation> described_list = OpenApiScript({OpenApiPath()});
  const std::multiset<Operation> described(described_list.begin(), described_list.end());

  ASSERT_GE(registered.size(), 17u);  // the five public routes and twelve /v1 ones
  for (const Operation& op : registered) {
    EXPECT_EQ(registered.count(op), 1u) << op << " registered twice";
    EXPECT_EQ(described.count(op), 1u) << op << " is registered but not described in openapi.yaml";
  }
  for (const Operation& op : described) {
    EXPECT_EQ(described.count(op), 1u) << op << " described twice";
    EXPECT_EQ(registered.count(op), 1u) << op << " is described in openapi.yaml but not registered";
  }
}

// The Event schema of the API is the per-type event schemas, all of them.
TEST(OpenApiEventsTest, EventSchemaReferencesEveryEventType) {
  const std::vector<std::string> referenced_list = OpenApiScript({"--event-refs", OpenApiPath()});
  const std::multiset<std::string> referenced(referenced_list.begin(), referenced_list.end());
  std::multiset<std::string> all;
  for (EventType t : AllEventTypes()) {
    const std::string name(EventTypeName(t));
    all.insert(name);
    EXPECT_TRUE(
        std::filesystem::exists(std::string(TL_SCHEMA_DIR) + "/events/" + name + ".schema.json"))
        << name;
  }
  EXPECT_EQ(referenced, all);
}

}  // namespace
}  // namespace tl
