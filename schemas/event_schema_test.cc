// Every event a real Ledger writes must match schemas/events/<type>.schema.json,
// and the schemas must be strict enough to reject what the code never writes.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "events/clock.h"
#include "events/log_test_util.h"
#include "events/time_format.h"
#include "schemas/schema_validator.h"
#include "services/ledger.h"

namespace tl {
namespace {

constexpr const char* kAdminSecret = "schema-test-admin-secret-0123456789-abcdef";
constexpr int64_t kMinuteMs = 60'000;

std::string SchemaPath(std::string_view type) {
  return std::string(TL_SCHEMA_DIR) + "/events/" + std::string(type) + ".schema.json";
}

// The validators of all 8 types, by wire name.
std::map<std::string, SchemaValidator> LoadEventSchemas() {
  std::map<std::string, SchemaValidator> out;
  for (EventType t : AllEventTypes()) {
    const std::string name(EventTypeName(t));
    auto json = ReadJsonFile(SchemaPath(name));
    if (!json.ok()) {
      ADD_FAILURE() << json.error().message;
      continue;
    }
    auto v = SchemaValidator::Create(std::move(json).value());
    if (!v.ok()) {
      ADD_FAILURE() << name << ": " << v.error().message;
      continue;
    }
    out.emplace(name, std::move(v).value());
  }
  return out;
}

std::string Describe(const std::optional<SchemaViolation>& v) {
  if (!v) return "valid";
  return v->pointer + " [" + v->keyword + "] " + v->reason;
}

// Drives a real Ledger through every command and verification outcome it can
// produce, remembering every secret it hands out.
class Workload {
 public:
  Workload() : clock_(*ParseRfc3339("2024-03-10T12:00:00Z")) {
    LedgerOptions options;
    options.data_dir = dir_.path();
    options.clock = &clock_;
    options.bootstrap_secret = kAdminSecret;
    options.warn = [](std::string_view) {};
    auto ledger = Ledger::Open(std::move(options));
    if (!ledger.ok()) {
      ADD_FAILURE() << "open: " << ledger.error().message;
      return;
    }
    ledger_ = std::move(ledger).value();
    secrets_.push_back(kAdminSecret);
    auto admin = ledger_->Authenticate(kAdminSecret);
    if (!admin.ok()) {
      ADD_FAILURE() << "admin: " << admin.error().message;
      return;
    }
    admin_ = *admin;
  }

  bool ok() const { return ledger_ != nullptr && !admin_.token_id.empty(); }
  Ledger& ledger() { return *ledger_; }
  FakeClock& clock() { return clock_; }
  const std::vector<std::string>& secrets() const { return secrets_; }

  // A successful command; its response.
  Json Must(Result<Json> r, const char* what) {
    if (!r.ok()) {
      ADD_FAILURE() << what << ": " << r.error().message << " (field " << r.error().field << ")";
      return Json::object();
    }
    if (auto it = r->find("token"); it != r->end()) secrets_.push_back(it->get<std::string>());
    return std::move(r).value();
  }

  Json Create(const Json& body) { return Must(ledger_->Create(admin_, body, ""), "create"); }
  Json Update(const std::string& id, const Json& body) {
    return Must(ledger_->Update(admin_, id, body, std::nullopt), "update");
  }
  Json Regenerate(const std::string& id, const Json& body) {
    return Must(ledger_->Regenerate(admin_, id, body), "regenerate");
  }
  Json Revoke(const std::string& id, const Json& body) {
    return Must(ledger_->Revoke(admin_, id, body), "revoke");
  }
  Json Credits(const std::string& id, const Json& body) {
    return Must(ledger_->AdjustCredits(admin_, id, body), "credits");
  }
  // The verification code.
  std::string Verify(const Json& body) {
    Json r = Must(ledger_->Verify(admin_, body), "verify");
    return r.value("code", std::string("?"));
  }

 private:
  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Ledger> ledger_;
  Caller admin_;
  std::vector<std::string> secrets_;
};

// Runs the workload; returns every event in the log as EventToJson renders it.
std::vector<Json> RunWorkload(Workload& w) {
  if (!w.ok()) return {};
  // A token with everything: credits with a refill, a rate limit, origins,
  // IPs, meta, permissions, an expiry and its own prefix.
  Json a =
      w.Create({{"name", "reports service"},
                {"description", "Reads the sales reports \u2014 nightly."},
                {"permissions", {"reports:read", "datasets/sales:read"}},
                {"expires_in", "30d"},
                {"credits", {{"remaining", 5}, {"refill", {{"amount", 10}, {"interval", "day"}}}}},
                {"rate_limit", {{"limit", 3}, {"window_ms", kMinuteMs}}},
                {"allowed_origins", {"https://app.example.com", "*.example.org"}},
                {"allowed_ips", {"10.0.0.0/8", "2001:DB8::/32"}},
                {"meta", {{"team", "sales"}, {"tier", 2}, {"tags", {"a", "b"}}}},
                {"prefix", "acme"}});
  const std::string id_a = a.value("id", "");
  const std::string secret_a = a.value("token", "");

  // A plain token: integer credits, no restrictions, short expiry.
  Json b = w.Create({{"name", "b"}, {"owner", "team-b"}, {"credits", 7}, {"expires_in", "1m"}});
  const std::string id_b = b.value("id", "");
  const std::string secret_b = b.value("token", "");
  // Unlimited credits, preset permissions, expiry at a given time.
  Json c = w.Create({{"name", "c"},
                     {"preset", "read-only"},
                     {"expires_at", "2030-01-31T00:00:00Z"},
                     {"credits", nullptr},
                     {"rate_limit", nullptr}});
  const std::string id_c = c.value("id", "");
  // Refill-only credits (remaining starts at the refill amount).
  w.Create({{"name", "d"}, {"credits", {{"refill", {{"amount", 100}, {"interval", "month"}}}}}});

  // Updates: every field that can change, some set, some cleared; and a
  // permission change in the same command.
  w.Update(id_a, {{"name", "reports service v2"},
                  {"description", "v2"},
                  {"expires_in", "60d"},
                  {"refill", {{"amount", 20}, {"interval", "month"}}},
                  {"rate_limit", {{"limit", 3}, {"window_ms", 2 * kMinuteMs}}},
                  {"allowed_origins", {"https://app.example.com"}},
                  {"allowed_ips", {"10.0.0.0/8", "::ffff:192.0.2.0/120"}},
                  {"meta", {{"team", "sales"}, {"tier", 3}}},
                  {"permissions", {"reports:read", "datasets/sales:read", "reports/q3:write"}}});
  w.Update(id_c, {{"expires_at", nullptr},
                  {"refill", {{"amount", 5}, {"interval", "day"}}},
                  {"allowed_origins", nullptr},
                  {"meta", nullptr},
                  {"description", nullptr},
                  {"rate_limit", {{"limit", 10}, {"window_ms", 1000}}}});
  w.Update(id_c, {{"rate_limit", nullptr}, {"refill", nullptr}, {"preset", "full-access"}});

  // A new secret with a grace period for the old one.
  Json regen = w.Regenerate(id_a, {{"grace_period_s", 3600}});
  const std::string secret_a2 = regen.value("token", "");
  w.Regenerate(id_c, Json(nullptr));  // no grace period

  const Json origin = "https://app.example.com";
  const Json ip = "10.1.2.3";
  std::vector<std::string> codes;
  auto verify = [&](Json body) { codes.push_back(w.Verify(body)); };
  // VALID with the new secret (list), and with the old one inside its grace
  // period (query string).
  verify({{"token", secret_a2}, {"permissions", {"reports:read"}}, {"origin", origin}, {"ip", ip}});
  verify({{"token", secret_a},
          {"permissions", "reports:read AND (datasets/sales:read OR reports/q3:write)"},
          {"cost", 2},
          {"origin", origin},
          {"ip", "10.9.9.9"}});
  // Denials, each a different check.
  verify({{"token", secret_a2}, {"origin", "https://evil.example.net"}, {"ip", ip}});
  // Outside 10.0.0.0/8 and the IPv4-mapped ::ffff:192.0.2.0/120.
  verify({{"token", secret_a2}, {"origin", origin}, {"ip", "192.168.1.1"}});
  verify({{"token", secret_a2}, {"permissions", {"admin:write"}}, {"origin", origin}, {"ip", ip}});
  verify({{"token", secret_a2}, {"cost", 1000}, {"origin", origin}, {"ip", ip}});
  // Third use of three in the window (cost 0), then the limit.
  verify({{"token", secret_a2},
          {"cost", 0},
          {"permissions", nullptr},
          {"origin", origin},
          {"ip", ip}});
  verify({{"token", secret_a2}, {"origin", origin}, {"ip", ip}});
  // Unknown secrets are never recorded (no stream to record them in).
  verify({{"token", "tl_not-a-real-secret"}});

  // Credits: set, add (negative and positive).
  w.Credits(id_a, {{"set", 50}});
  w.Credits(id_a, {{"add", -7}});
  w.Credits(id_b, {{"add", 1'000'000'000'000'000LL}});
  w.Credits(id_c, {{"set", 0}});

  // Expiry.
  w.clock().Advance(2 * kMinuteMs);
  verify({{"token", secret_b}});
  // A refill period passes; a VALID use after it.
  w.clock().Advance(24 * 60 * kMinuteMs);
  verify({{"token", secret_a2}, {"origin", origin}, {"ip", "10.0.0.1"}});

  // Revocation, with and without a reason; a second revoke records nothing.
  w.Revoke(id_a, {{"reason", "rotated \u2192 new service"}});
  w.Revoke(id_a, {{"reason", "again"}});
  w.Revoke(id_b, Json(nullptr));
  verify({{"token", secret_a2}, {"origin", origin}, {"ip", ip}});

  const std::vector<std::string> expected = {"VALID",          "VALID",        "ORIGIN_NOT_ALLOWED",
                                             "IP_NOT_ALLOWED", "FORBIDDEN",    "USAGE_EXCEEDED",
                                             "VALID",          "RATE_LIMITED", "NOT_FOUND",
                                             "EXPIRED",        "VALID",        "REVOKED"};
  EXPECT_EQ(codes, expected);

  const Position end = w.ledger().log().DurablePosition();
  std::vector<Event> events = w.ledger().log().Read(Position(1), end.value() + 10);
  EXPECT_EQ(events.size(), end.value());
  std::vector<Json> out;
  for (const Event& e : events) out.push_back(EventToJson(e));
  return out;
}

class EventSchemaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    schemas_ = new std::map<std::string, SchemaValidator>(LoadEventSchemas());
    workload_ = new Workload();
    events_ = new std::vector<Json>(RunWorkload(*workload_));
  }
  static void TearDownTestSuite() {
    delete events_;
    delete workload_;
    delete schemas_;
  }
  const SchemaValidator& SchemaOf(const Json& event) {
    return schemas_->at(event.at("type").get<std::string>());
  }

  static std::map<std::string, SchemaValidator>* schemas_;
  static Workload* workload_;
  static std::vector<Json>* events_;
};
std::map<std::string, SchemaValidator>* EventSchemaTest::schemas_ = nullptr;
Workload* EventSchemaTest::workload_ = nullptr;
std::vector<Json>* EventSchemaTest::events_ = nullptr;

TEST_F(EventSchemaTest, OneSchemaPerEventTypeAndNoOther) {
  ASSERT_EQ(schemas_->size(), AllEventTypes().size());
  std::set<std::string> files;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(TL_SCHEMA_DIR) + "/events")) {
    files.insert(entry.path().filename().string());
  }
  std::set<std::string> expected;
  for (EventType t : AllEventTypes()) {
    const std::string name(EventTypeName(t));
    expected.insert(name + ".schema.json");
    const Json& s = schemas_->at(name).schema();
    EXPECT_EQ(s.at("title"), name);
    EXPECT_EQ(s.at("properties").at("type").at("const"), name);
    EXPECT_EQ(s.at("additionalProperties"), false) << name;
    EXPECT_EQ(s.at("properties").at("data").at("additionalProperties"), false) << name;
  }
  EXPECT_EQ(files, expected);
}

// "No secret field may exist": no schema describes a property that could hold
// one, anywhere (properties named secret/token, or containing "secret" other
// than the digest).
TEST_F(EventSchemaTest, NoSchemaDescribesASecret) {
  for (const auto& [name, v] : *schemas_) {
    std::vector<std::pair<std::string, const Json*>> todo = {{"", &v.schema()}};
    while (!todo.empty()) {
      auto [where, node] = todo.back();
      todo.pop_back();
      if (node->is_array()) {
        for (size_t i = 0; i < node->size(); ++i) {
          todo.push_back({where + "/" + std::to_string(i), &(*node)[i]});
        }
        continue;
      }
      if (!node->is_object()) continue;
      for (auto it = node->begin(); it != node->end(); ++it) {
        if (it.key() == "properties") {
          for (auto p = it->begin(); p != it->end(); ++p) {
            const std::string& prop = p.key();
            EXPECT_NE(prop, "token") << name << where;
            EXPECT_TRUE(prop.find("secret") == std::string::npos || prop == "secret_digest")
                << name << where << ": " << prop;
          }
        }
        todo.push_back({where + "/" + it.key(), &it.value()});
      }
    }
  }
}

TEST_F(EventSchemaTest, EveryEventTheLedgerWritesMatchesItsSchema) {
  // 1 bootstrap + 4 creates + 5 from updates + 2 regenerates + 11 recorded
  // verifications (NOT_FOUND is not) + 4 credits + 2 revokes (the repeat adds none).
  ASSERT_EQ(events_->size(), 29u);
  std::map<std::string, int> seen;
  std::set<std::string> denial_codes;
  for (const Json& e : *events_) {
    const std::string type = e.at("type").get<std::string>();
    ++seen[type];
    if (type == "token.use_denied") denial_codes.insert(e.at("data").at("code").get<std::string>());
    auto v = SchemaOf(e).Validate(e);
    EXPECT_FALSE(v) << Describe(v) << "\n" << e.dump(2);
  }
  for (EventType t : AllEventTypes()) {
    EXPECT_GT(seen[std::string(EventTypeName(t))], 0) << EventTypeName(t) << " never produced";
  }
  EXPECT_EQ(denial_codes,
            (std::set<std::string>{"REVOKED", "EXPIRED", "ORIGIN_NOT_ALLOWED", "IP_NOT_ALLOWED",
                                   "FORBIDDEN", "RATE_LIMITED", "USAGE_EXCEEDED"}));
  // Both shapes of credits_adjusted, and an actor of each kind.
  int sets = 0, adds = 0, system_actor = 0;
  for (const Json& e : *events_) {
    if (e.at("actor") == "system") ++system_actor;
    if (e.at("type") != "token.credits_adjusted") continue;
    sets += e.at("data").contains("set");
    adds += e.at("data").contains("add");
  }
  EXPECT_GT(sets, 0);
  EXPECT_GT(adds, 0);
  EXPECT_EQ(system_actor, 1);  // the bootstrap admin token
}

TEST_F(EventSchemaTest, NoEventHoldsASecret) {
  ASSERT_GE(workload_->secrets().size(), 6u);  // admin, four creates, two regenerates
  for (const Json& e : *events_) {
    const std::string text = e.dump();
    for (const std::string& s : workload_->secrets()) {
      ASSERT_FALSE(s.empty());
      EXPECT_EQ(text.find(s), std::string::npos) << "a secret in " << text;
    }
  }
}

// The schemas reject what the code never writes: a new field must be described.
TEST_F(EventSchemaTest, MutationsOfEveryEventAreRejected) {
  std::set<std::string> mutated_types;
  for (const Json& original : *events_) {
    const SchemaValidator& schema = SchemaOf(original);
    mutated_types.insert(original.at("type").get<std::string>());

    Json extra_data = original;
    extra_data["data"]["extra"] = 1;
    auto v = schema.Validate(extra_data);
    ASSERT_TRUE(v) << extra_data.dump();
    EXPECT_EQ(v->pointer, "/data/extra") << Describe(v);

    Json secret = original;
    secret["data"]["secret"] = workload_->secrets().front();
    v = schema.Validate(secret);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->pointer, "/data/secret") << Describe(v);

    Json top_secret = original;
    top_secret["secret"] = "x";
    v = schema.Validate(top_secret);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->pointer, "/secret");

    Json wrong_type = original;
    wrong_type["version"] = "1";
    v = schema.Validate(wrong_type);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->pointer, "/version");

    Json other_type = original;
    other_type["type"] = original.at("type") == "token.revoked" ? "token.used" : "token.revoked";
    v = schema.Validate(other_type);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->pointer, "/type");

    Json upper_hash = original;
    std::string h = original.at("hash").get<std::string>();
    std::transform(h.begin(), h.end(), h.begin(),
                   [](char ch) { return static_cast<char>(std::toupper(ch)); });
    if (h != original.at("hash")) {
      upper_hash["hash"] = h;
      v = schema.Validate(upper_hash);
      ASSERT_TRUE(v);
      EXPECT_EQ(v->pointer, "/hash");
    }

    // Every field of the data given the wrong type is rejected at that field.
    for (auto it = original.at("data").begin(); it != original.at("data").end(); ++it) {
      if (it.key() == "meta") continue;  // caller's free-form object; still must be an object
      Json wrong = original;
      wrong["data"][it.key()] = Json::array({Json::object()});
      v = schema.Validate(wrong);
      ASSERT_TRUE(v) << it.key() << " in " << original.at("type");
      EXPECT_EQ(v->pointer.rfind("/data/" + it.key(), 0), 0u) << Describe(v);
    }
    // Dropping a field the decider always writes is rejected.
    for (const char* key : {"id", "time", "data", "prev_hash"}) {
      Json missing = original;
      missing.erase(key);
      EXPECT_TRUE(schema.Validate(missing)) << key;
    }
  }
  EXPECT_EQ(mutated_types.size(), AllEventTypes().size());
}

TEST_F(EventSchemaTest, SpecificDataRulesHold) {
  auto find = [&](std::string_view type) -> Json {
    for (const Json& e : *events_) {
      if (e.at("type") == type) return e;
    }
    ADD_FAILURE() << "no " << type;
    return Json::object();
  };
  const Json created = find("token.created");
  const SchemaValidator& s = SchemaOf(created);

  Json no_digest = created;
  no_digest["data"].erase("secret_digest");
  auto v = s.Validate(no_digest);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->keyword, "required");

  Json bad_interval = created;
  bad_interval["data"]["credits"] = {{"remaining", 1},
                                     {"refill", {{"amount", 1}, {"interval", "week"}}}};
  v = s.Validate(bad_interval);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->pointer, "/data/credits/refill/interval");

  Json bad_time = created;
  bad_time["data"]["expires_at"] = "2030-01-31T00:00:00Z";  // no milliseconds: not ours
  v = s.Validate(bad_time);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->keyword, "pattern");

  Json bad_perm = created;
  bad_perm["data"]["permissions"] = {"reports:read", "no-colon"};
  v = s.Validate(bad_perm);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->pointer, "/data/permissions/1");

  const Json adjusted = find("token.credits_adjusted");
  Json both = adjusted;
  both["data"]["set"] = 1;
  both["data"]["add"] = 1;
  v = SchemaOf(adjusted).Validate(both);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->keyword, "oneOf");
  Json negative = adjusted;
  negative["data"]["balance"] = -1;
  EXPECT_TRUE(SchemaOf(adjusted).Validate(negative));

  const Json updated = find("token.updated");
  Json empty = updated;
  empty["data"] = Json::object();
  v = SchemaOf(updated).Validate(empty);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->keyword, "minProperties");

  const Json denied = find("token.use_denied");
  Json not_found = denied;
  not_found["data"]["code"] = "NOT_FOUND";  // never recorded
  EXPECT_TRUE(SchemaOf(denied).Validate(not_found));
}

}  // namespace
}  // namespace tl
