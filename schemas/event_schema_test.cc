// Every event a real Ledger writes must match schemas/events/<type>.schema.json,
// and the schemas must be strict enough to reject what the code never writes.
// The validation is python-jsonschema's (Draft202012Validator, with format
// checking), through schemas/validate_events.py.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "events/clock.h"
#include "events/file_util.h"
#include "events/log_test_util.h"
#include "events/time_format.h"
#include "schemas/script_run.h"
#include "services/core/ledger.h"
#include "services/http/ledger_json.h"

namespace tl {
namespace {

constexpr const char* kAdminSecret = "schema-test-admin-secret-0123456789-abcdef";
constexpr int64_t kMinuteMs = 60'000;

std::string SchemaPath(std::string_view type) {
  return std::string(TL_SCHEMA_DIR) + "/events/" + std::string(type) + ".schema.json";
}

// The schemas of all 8 types, by wire name.
std::map<std::string, Json> LoadEventSchemas() {
  std::map<std::string, Json> out;
  for (EventType t : AllEventTypes()) {
    const std::string name(EventTypeName(t));
    auto text = ReadWholeFile(SchemaPath(name));
    if (!text.ok()) {
      ADD_FAILURE() << text.error().message;
      continue;
    }
    Json schema = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (schema.is_discarded()) {
      ADD_FAILURE() << name << ": not JSON";
      continue;
    }
    out.emplace(name, std::move(schema));
  }
  return out;
}

// One line of validate_events.py's input: an event and what python-jsonschema
// must say of it. An invalid event is located where jsonschema's best_match
// puts it (what jsonschema.validate raises): `at` that exact JSON pointer,
// `within` it or below; `keyword` the failing keyword, `says` a piece of the
// message (additionalProperties is reported at the object, naming the
// unexpected property in its message).
struct Case {
  std::string name;
  Json event;
  bool valid = false;
  std::optional<std::string> at, within, keyword, says;
  std::optional<std::string> schema;  // another type's schema than the event's own

  Json ToJson() const {
    Json j = {{"name", name}, {"event", event}, {"expect", valid ? "valid" : "invalid"}};
    if (schema) j["schema"] = *schema;
    if (at) j["at"] = *at;
    if (within) j["within"] = *within;
    if (keyword) j["keyword"] = *keyword;
    if (says) j["says"] = *says;
    return j;
  }
};

Case Valid(std::string name, Json event) {
  return {.name = std::move(name), .event = std::move(event), .valid = true};
}
Case InvalidAt(std::string name, Json event, std::string at, std::string keyword) {
  return {.name = std::move(name),
          .event = std::move(event),
          .at = std::move(at),
          .keyword = std::move(keyword)};
}
Case InvalidWithin(std::string name, Json event, std::string within) {
  return {.name = std::move(name), .event = std::move(event), .within = std::move(within)};
}
Case Unexpected(std::string name, Json event, std::string at, const std::string& property) {
  return {.name = std::move(name),
          .event = std::move(event),
          .at = std::move(at),
          .keyword = "additionalProperties",
          .says = "'" + property + "'"};
}

// Runs validate_events.py over `cases` (as one file of JSON lines) and
// expects it to confirm every one: "ok <n> <name>: ..." for each, exit 0.
void ExpectValidatorConfirms(const std::vector<Case>& cases) {
  ASSERT_FALSE(cases.empty());
  testing::TempDir dir;
  std::string lines;
  for (const Case& c : cases) lines += c.ToJson().dump() + "\n";
  const std::string path = dir.sub("cases.jsonl");
  ASSERT_TRUE(WriteFileAtomically(path, lines).ok());
  const testing::ScriptRun run = testing::RunSchemaScript("validate_events.py", {path}, dir.path());
  ASSERT_TRUE(run.exit_code == 0 || run.exit_code == 1)
      << "validate_events.py did not run: " << run.Describe();
  const std::vector<std::string> out = run.Lines();
  ASSERT_EQ(out.size(), cases.size()) << run.out << run.Describe();
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string ok = "ok " + std::to_string(i + 1) + " " + cases[i].name + ": ";
    EXPECT_EQ(out[i].rfind(ok, 0), 0u) << out[i] << "\n" << cases[i].event.dump(2);
  }
  EXPECT_EQ(run.exit_code, 0) << run.Describe();
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

  Json Create(const Json& body) {
    return Must(CreateFromJson(*ledger_, admin_, body, ""), "create");
  }
  Json Update(const std::string& id, const Json& body) {
    return Must(UpdateFromJson(*ledger_, admin_, id, body, std::nullopt), "update");
  }
  Json Regenerate(const std::string& id, const Json& body) {
    return Must(RegenerateFromJson(*ledger_, admin_, id, body), "regenerate");
  }
  Json Revoke(const std::string& id, const Json& body) {
    return Must(RevokeFromJson(*ledger_, admin_, id, body), "revoke");
  }
  Json Credits(const std::string& id, const Json& body) {
    return Must(AdjustCreditsFromJson(*ledger_, admin_, id, body), "credits");
  }
  // The verification code.
  std::string Verify(const Json& body) {
    Json r = Must(VerifyFromJson(*ledger_, admin_, body), "verify");
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
    schemas_ = new std::map<std::string, Json>(LoadEventSchemas());
    workload_ = new Workload();
    events_ = new std::vector<Json>(RunWorkload(*workload_));
  }
  static void TearDownTestSuite() {
    delete events_;
    delete workload_;
    delete schemas_;
  }
  static const Json& Find(std::string_view type) {
    for (const Json& e : *events_) {
      if (e.at("type") == type) return e;
    }
    ADD_FAILURE() << "no " << type;
    static const Json kNone = Json::object();
    return kNone;
  }

  static std::map<std::string, Json>* schemas_;
  static Workload* workload_;
  static std::vector<Json>* events_;
};
std::map<std::string, Json>* EventSchemaTest::schemas_ = nullptr;
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
    const Json& s = schemas_->at(name);
    EXPECT_EQ(s.at("$schema"), "https://json-schema.org/draft/2020-12/schema") << name;
    EXPECT_EQ(s.at("title"), name);
    EXPECT_EQ(s.at("properties").at("type").at("const"), name);
    EXPECT_EQ(s.at("additionalProperties"), false) << name;
    EXPECT_EQ(s.at("properties").at("data").at("additionalProperties"), false) << name;
  }
  EXPECT_EQ(files, expected);
}

// validate_events.py loads every schema before it reads a line: each must
// pass Draft202012Validator.check_schema, use only draft 2020-12 keywords and
// only formats it asserts.
TEST_F(EventSchemaTest, EverySchemaIsAValidDraft202012Schema) {
  testing::TempDir dir;
  const std::string empty = dir.sub("empty.jsonl");
  ASSERT_TRUE(WriteFileAtomically(empty, "").ok());
  const testing::ScriptRun run =
      testing::RunSchemaScript("validate_events.py", {empty}, dir.path());
  EXPECT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(run.out, "");
}

// "No secret field may exist": no schema describes a property that could hold
// one, anywhere (properties named secret/token, or containing "secret" other
// than the digest).
TEST_F(EventSchemaTest, NoSchemaDescribesASecret) {
  for (const auto& [name, schema] : *schemas_) {
    std::vector<std::pair<std::string, const Json*>> todo = {{"", &schema}};
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
  std::vector<Case> cases;
  for (const Json& e : *events_) {
    const std::string type = e.at("type").get<std::string>();
    ++seen[type];
    if (type == "token.use_denied") denial_codes.insert(e.at("data").at("code").get<std::string>());
    cases.push_back(Valid("position " + std::to_string(e.at("position").get<int64_t>()), e));
  }
  ExpectValidatorConfirms(cases);
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
  ASSERT_FALSE(events_->empty());
  std::set<std::string> mutated_types;
  std::vector<Case> cases;
  for (const Json& original : *events_) {
    const std::string type = original.at("type").get<std::string>();
    const std::string of = " of position " + std::to_string(original.at("position").get<int64_t>());
    mutated_types.insert(type);

    Json extra_data = original;
    extra_data["data"]["extra"] = 1;
    cases.push_back(Unexpected("extra data field" + of, extra_data, "/data", "extra"));

    Json secret = original;
    secret["data"]["secret"] = workload_->secrets().front();
    cases.push_back(Unexpected("data.secret" + of, secret, "/data", "secret"));

    Json top_secret = original;
    top_secret["secret"] = "x";
    cases.push_back(Unexpected("secret" + of, top_secret, "", "secret"));

    Json wrong_type = original;
    wrong_type["version"] = "1";
    cases.push_back(InvalidAt("version as a string" + of, wrong_type, "/version", "type"));

    Json other_type = original;
    other_type["type"] = type == "token.revoked" ? "token.used" : "token.revoked";
    // Against the original type's schema: the type is the one thing wrong.
    cases.push_back(InvalidAt("other type" + of, other_type, "/type", "const"));
    cases.back().schema = type;

    std::string h = original.at("hash").get<std::string>();
    std::transform(h.begin(), h.end(), h.begin(),
                   [](char ch) { return static_cast<char>(std::toupper(ch)); });
    if (h != original.at("hash")) {
      Json upper_hash = original;
      upper_hash["hash"] = h;
      cases.push_back(InvalidAt("uppercase hash" + of, upper_hash, "/hash", "pattern"));
    }

    // Every field of the data given the wrong type is rejected at that field.
    for (auto it = original.at("data").begin(); it != original.at("data").end(); ++it) {
      Json wrong = original;
      wrong["data"][it.key()] = Json::array({Json::object()});
      cases.push_back(
          InvalidWithin("data." + it.key() + " as [{}]" + of, wrong, "/data/" + it.key()));
    }
    // Dropping a field the decider always writes is rejected.
    for (const char* key : {"id", "time", "data", "prev_hash"}) {
      Json missing = original;
      missing.erase(key);
      Case c = InvalidAt(std::string("no ") + key + of, missing, "", "required");
      c.says = "'" + std::string(key) + "'";
      cases.push_back(std::move(c));
    }
  }
  EXPECT_EQ(mutated_types.size(), AllEventTypes().size());
  ExpectValidatorConfirms(cases);
}

TEST_F(EventSchemaTest, SpecificDataRulesHold) {
  std::vector<Case> cases;
  const Json& created = Find("token.created");

  Json no_digest = created;
  no_digest["data"].erase("secret_digest");
  cases.push_back(InvalidAt("created without secret_digest", no_digest, "/data", "required"));

  Json bad_interval = created;
  bad_interval["data"]["credits"] = {{"remaining", 1},
                                     {"refill", {{"amount", 1}, {"interval", "week"}}}};
  cases.push_back(
      InvalidAt("refill every week", bad_interval, "/data/credits/refill/interval", "enum"));

  Json bad_time = created;
  bad_time["data"]["expires_at"] = "2030-01-31T00:00:00Z";  // no milliseconds: not ours
  cases.push_back(
      InvalidAt("expires_at without milliseconds", bad_time, "/data/expires_at", "pattern"));

  // Our form, but no such day: only the date-time format assertion sees it.
  Json no_such_day = created;
  no_such_day["time"] = "2024-02-30T12:00:00.000Z";
  cases.push_back(InvalidAt("time on February 30", no_such_day, "/time", "format"));

  Json bad_perm = created;
  bad_perm["data"]["permissions"] = {"reports:read", "no-colon"};
  cases.push_back(
      InvalidAt("permission without a colon", bad_perm, "/data/permissions/1", "pattern"));

  const Json& adjusted = Find("token.credits_adjusted");
  Json both = adjusted;
  both["data"]["set"] = 1;
  both["data"]["add"] = 1;
  cases.push_back(InvalidAt("credits set and add at once", both, "/data", "oneOf"));
  Json negative = adjusted;
  negative["data"]["balance"] = -1;
  cases.push_back(InvalidAt("negative balance", negative, "/data/balance", "minimum"));

  const Json& updated = Find("token.updated");
  Json empty = updated;
  empty["data"] = Json::object();
  cases.push_back(InvalidAt("update that changes nothing", empty, "/data", "minProperties"));

  const Json& denied = Find("token.use_denied");
  Json not_found = denied;
  not_found["data"]["code"] = "NOT_FOUND";  // never recorded
  cases.push_back(InvalidAt("denial NOT_FOUND", not_found, "/data/code", "enum"));

  // The untouched originals pass, so each rejection above is the mutation's.
  for (const Json* e : {&created, &adjusted, &updated, &denied}) {
    cases.push_back(Valid("original " + e->at("type").get<std::string>(), *e));
  }
  ExpectValidatorConfirms(cases);
}

}  // namespace
}  // namespace tl
