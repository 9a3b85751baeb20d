// schemas/openapi.yaml and the routes HttpApi registers must be the same set
// of operations, in both directions.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "events/clock.h"
#include "events/log_test_util.h"
#include "services/http_api.h"
#include "services/ledger.h"

namespace tl {
namespace {

// "GET /v1/tokens/{id}"
using Operation = std::string;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot read " << path;
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// The operations under `paths:` in an OpenAPI document written in block style:
// path keys at two spaces of indent, method keys at four. A line-based reader
// is enough for the file we write ourselves; the test below checks that it
// found what it should on a small document.
std::vector<Operation> OperationsIn(const std::string& yaml) {
  static const std::regex kPath(R"(^  (/[^:\s]*)\s*:\s*(#.*)?$)");
  static const std::regex kMethod(
      R"(^    (get|put|post|delete|options|head|patch|trace)\s*:\s*(#.*)?$)");
  std::vector<Operation> out;
  std::istringstream in(yaml);
  std::string line;
  bool in_paths = false;
  std::string path;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.find_first_not_of(' ') == std::string::npos) continue;
    if (line[0] != ' ' && line[0] != '#') {  // a top-level key
      in_paths = line.rfind("paths:", 0) == 0;
      path.clear();
      continue;
    }
    if (!in_paths) continue;
    std::smatch m;
    if (std::regex_match(line, m, kPath)) {
      path = m[1];
    } else if (line.compare(0, 3, "   ") != 0 && line.compare(0, 2, "  ") == 0) {
      // Another key at path indent that is not a path: stop attributing methods.
      ADD_FAILURE() << "unexpected key under paths: " << line;
      path.clear();
    } else if (!path.empty() && std::regex_match(line, m, kMethod)) {
      std::string method = m[1];
      std::transform(method.begin(), method.end(), method.begin(),
                     [](char c) { return static_cast<char>(std::toupper(c)); });
      out.push_back(method + " " + path);
    }
  }
  return out;
}

TEST(OpenApiReaderTest, ReadsPathsAndMethodsOnly) {
  const std::string doc =
      "openapi: 3.1.0\n"
      "info:\n"
      "  title: x\n"
      "  /not-a-path: {}\n"
      "paths:\n"
      "  /a:\n"
      "    get:\n"
      "      responses:\n"
      "        post:\n"  // deeper: not an operation of /a
      "    parameters:\n"
      "      - name: q\n"
      "    post:   # comment\n"
      "\n"
      "  /b/{id}:\n"
      "    patch:\n"
      "components:\n"
      "  /c:\n"
      "    get:\n";
  EXPECT_EQ(OperationsIn(doc), (std::vector<Operation>{"GET /a", "POST /a", "PATCH /b/{id}"}));
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
  const std::vector<Operation> described_list =
      OperationsIn(ReadFile(std::string(TL_SCHEMA_DIR) + "/openapi.yaml"));
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
  const std::string yaml = ReadFile(std::string(TL_SCHEMA_DIR) + "/openapi.yaml");
  std::set<std::string> referenced;
  static const std::regex kRef(R"re(\$ref: "\./events/([a-z_.]+)\.schema\.json")re");
  for (auto it = std::sregex_iterator(yaml.begin(), yaml.end(), kRef); it != std::sregex_iterator();
       ++it) {
    referenced.insert((*it)[1]);
  }
  std::set<std::string> all;
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
