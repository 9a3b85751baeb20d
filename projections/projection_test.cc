#include "projections/projection.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "projections/test_events.h"

namespace tl {
namespace {

using testing::EventMaker;
using testing::RandomEvents;
using testing::T;

std::vector<std::string> Ids(const ListPage& page) {
  std::vector<std::string> ids;
  for (const TokenState* t : page.tokens) ids.push_back(t->id);
  return ids;
}

TEST(ProjectionTest, ApplyIsIdempotent) {
  EventMaker m;
  std::vector<Event> events = {
      m.Created("a", 1000, {{"credits", {{"remaining", 10}, {"refill", nullptr}}}}),
      m.Used("a", 2000, 3),
      m.Used("a", 3000, 3),
  };
  Projection p;
  for (const Event& e : events) p.Apply(e);
  const std::string digest = p.Digest();
  EXPECT_EQ(p.last_position(), Position(3));
  EXPECT_EQ(p.Find("a")->credits->remaining, 4);
  for (const Event& e : events) p.Apply(e);  // replayed overlap: ignored
  p.Apply(events[1]);
  EXPECT_EQ(p.Find("a")->credits->remaining, 4);
  EXPECT_EQ(p.Digest(), digest);
  EXPECT_EQ(p.token_count(), 1u);
  EXPECT_EQ(p.Find("missing"), nullptr);
}

// The replay folds token.used / token.use_denied from their encoded data
// with its own reader; whatever the bytes, the result must be Apply's.
TEST(ProjectionTest, ApplyEncodedMatchesApply) {
  const std::vector<std::pair<EventType, std::string>> cases = {
      {EventType::kUsed, R"({"cost":2,"ip":"10.1.0.7","origin":null,"permissions":["read"]})"},
      {EventType::kUsed, R"({"cost":3,"permissions":null})"},
      {EventType::kUsed, R"({ "cost" : 4 , "ip" : "x" })"},
      {EventType::kUsed, R"({"ip":"10.0.0.1","cost":-2})"},
      {EventType::kUsed, R"({"cost":1.5})"},
      {EventType::kUsed, R"({"cost":2e0})"},
      {EventType::kUsed, R"({"cost":"7"})"},
      {EventType::kUsed, R"({"cost":true})"},
      {EventType::kUsed, R"({"cost":123456789012345678901})"},
      {EventType::kUsed, R"({"cost":1,"cost":5})"},
      {EventType::kUsed, R"({"cost":6,"meta":{"cost":1}})"},
      {EventType::kUsed, R"({"cost":3,"permissions":[["read"],1,null]})"},
      {EventType::kUsed, R"({"origin":"https:\/\/a.example","cost":2})"},
      {EventType::kUsed, "{\"ip\":\"caf\xc3\xa9\",\"cost\":2}"},
      {EventType::kUsed, R"({})"},
      {EventType::kUseDenied, R"({"code":"RATE_LIMITED","cost":1,"ip":"10.0.0.3","origin":null})"},
      {EventType::kUseDenied, R"({"code":"EXPIRED"})"},
      {EventType::kUseDenied, R"({"code":"ORIGIN_NOT_ALLOWED","code":"EXPIRED"})"},
      {EventType::kUseDenied, R"({"code":"WEIRD\u0041"})"},
      {EventType::kUseDenied, R"({"code":null})"},
      {EventType::kUseDenied, R"({"code":12})"},
      {EventType::kUseDenied, R"({"cost":1})"},
  };
  EventMaker m;
  Projection by_json, by_bytes;
  const Event created = m.Created("a", T("2026-03-01T00:00:00Z"),
                                  {{"credits", {{"remaining", 1000}, {"refill", nullptr}}},
                                   {"rate_limit", {{"limit", 100}, {"window_ms", 60'000}}}});
  by_json.Apply(created);
  by_bytes.Apply(created);
  int64_t t = T("2026-03-01T01:00:00Z");
  for (const auto& [type, data] : cases) {
    SCOPED_TRACE(data);
    t += 1'800'000;
    Event e = m.Make(type, "a", t, Json::parse(data));
    by_json.Apply(e);
    Event raw = e;
    raw.data = nullptr;
    ASSERT_TRUE(by_bytes.ApplyEncoded(raw, data));
    EXPECT_EQ(by_bytes.Find("a")->credits->remaining, by_json.Find("a")->credits->remaining);
    EXPECT_EQ(by_bytes.Digest(), by_json.Digest());
  }
  EXPECT_EQ(by_json.Find("a")->credits->remaining,
            1000 - 2 - 3 - 4 + 0 - 0 - 0 - 0 - 0 - 5 - 6 - 3 - 2 - 2);
  // Events of other types and streams go through Apply.
  Event revoked = m.Make(EventType::kRevoked, "a", t + 1, {{"reason", "done"}});
  by_json.Apply(revoked);
  ASSERT_TRUE(by_bytes.ApplyEncoded(revoked, R"({"reason":"done"})"));
  EXPECT_TRUE(by_bytes.Find("a")->revoked);
  EXPECT_EQ(by_bytes.Digest(), by_json.Digest());

  // Bytes that are not a JSON object are refused and change nothing.
  for (const char* bad : {"", "{", R"({"cost":1)", R"({"cost":1}x)", "[1]", "nope", "null"}) {
    SCOPED_TRACE(bad);
    Event e = m.Make(EventType::kUsed, "a", t + 2, nullptr);
    EXPECT_FALSE(by_bytes.ApplyEncoded(e, bad));
    EXPECT_EQ(by_bytes.Digest(), by_json.Digest());
  }
}

TEST(ProjectionTest, EventsOfUnknownStreamOnlyMovePosition) {
  EventMaker m;
  Projection p;
  p.Apply(m.Used("ghost", 1000, 1));
  EXPECT_EQ(p.last_position(), Position(1));
  EXPECT_EQ(p.token_count(), 0u);
}

TEST(ProjectionTest, DigestIndexFollowsRegenerate) {
  EventMaker m;
  Projection p;
  p.Apply(m.Created("a", 1000));
  p.Apply(m.Created("b", 1001));
  bool is_previous = true;
  ASSERT_NE(p.FindByDigest("digest-a", &is_previous), nullptr);
  EXPECT_EQ(p.FindByDigest("digest-a", &is_previous)->id, "a");
  EXPECT_FALSE(is_previous);
  EXPECT_EQ(p.FindByDigest("nope", &is_previous), nullptr);
  EXPECT_EQ(p.FindByDigest("", nullptr), nullptr);

  p.Apply(m.Make(
      EventType::kRegenerated, "a", 2000,
      {{"secret_digest", "a2"}, {"hint", "h"}, {"previous_valid_until", "2026-01-01T00:00:00Z"}}));
  const TokenState* t = p.FindByDigest("a2", &is_previous);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->id, "a");
  EXPECT_FALSE(is_previous);
  t = p.FindByDigest("digest-a", &is_previous);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->id, "a");
  EXPECT_TRUE(is_previous);
  EXPECT_EQ(t->previous_valid_until_ms, T("2026-01-01T00:00:00Z"));

  p.Apply(m.Make(
      EventType::kRegenerated, "a", 3000,
      {{"secret_digest", "a3"}, {"hint", "h"}, {"previous_valid_until", "2026-01-01T00:00:00Z"}}));
  EXPECT_EQ(p.FindByDigest("digest-a", &is_previous), nullptr);
  ASSERT_NE(p.FindByDigest("a2", &is_previous), nullptr);
  EXPECT_TRUE(is_previous);
  ASSERT_NE(p.FindByDigest("a3", &is_previous), nullptr);
  EXPECT_FALSE(is_previous);
  EXPECT_EQ(p.FindByDigest("digest-b", nullptr)->id, "b");

  // The index survives a copy and a JSON round trip.
  Projection copy = p;
  ASSERT_NE(copy.FindByDigest("a2", &is_previous), nullptr);
  EXPECT_NE(copy.FindByDigest("a2", &is_previous), p.FindByDigest("a2", nullptr));
  auto restored = Projection::FromJson(p.ToJson());
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  ASSERT_NE(restored->FindByDigest("a2", &is_previous), nullptr);
  EXPECT_TRUE(is_previous);
  EXPECT_EQ(restored->FindByDigest("a3", nullptr)->id, "a");
}

TEST(ProjectionTest, CopyIsIndependent) {
  EventMaker m;
  Projection p;
  p.Apply(m.Created("a", 1000, {{"credits", {{"remaining", 10}, {"refill", nullptr}}}}));
  Projection copy = p;
  copy.Apply(m.Used("a", 2000, 4));
  EXPECT_EQ(p.Find("a")->credits->remaining, 10);
  EXPECT_EQ(copy.Find("a")->credits->remaining, 6);
  EXPECT_NE(p.Digest(), copy.Digest());
  p = copy;
  EXPECT_EQ(p.Digest(), copy.Digest());
  EXPECT_NE(p.Find("a"), copy.Find("a"));
}

class ListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // created times: t1 < t2 = t2 < t3 < t4; owners acme / other.
    p_.Apply(m_.Created("t1", 1000, {{"owner", "acme"}}));
    p_.Apply(m_.Created("t2b", 2000, {{"owner", "acme"}}));
    p_.Apply(m_.Created("t2a", 2000, {{"owner", "other"}}));
    p_.Apply(m_.Created("t3", 3000, {{"owner", "acme"}, {"expires_at", "1970-01-01T00:00:05Z"}}));
    p_.Apply(m_.Created("t4", 4000, {{"owner", "acme"}}));
    p_.Apply(m_.Make(EventType::kRevoked, "t2b", 4500, {{"reason", ""}}));
  }
  EventMaker m_;
  Projection p_;
};

TEST_F(ListTest, NewestFirstWithIdTiebreak) {
  auto page = p_.List({.limit = 10}, 0);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Ids(*page), (std::vector<std::string>{"t4", "t3", "t2b", "t2a", "t1"}));
  EXPECT_EQ(page->next_cursor, "");
}

TEST_F(ListTest, PagesThroughEverythingOnce) {
  std::vector<std::string> seen;
  ListQuery q{.limit = 2};
  int pages = 0;
  do {
    auto page = p_.List(q, 0);
    ASSERT_TRUE(page.ok());
    auto ids = Ids(*page);
    seen.insert(seen.end(), ids.begin(), ids.end());
    q.cursor = page->next_cursor;
    ++pages;
  } while (!q.cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"t4", "t3", "t2b", "t2a", "t1"}));
}

TEST_F(ListTest, ExactPageHasNoNextCursor) {
  auto page = p_.List({.limit = 5}, 0);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->tokens.size(), 5u);
  EXPECT_EQ(page->next_cursor, "");
}

TEST_F(ListTest, FiltersByOwnerAndStatus) {
  auto acme = p_.List({.owner = "acme", .limit = 10}, 0);
  ASSERT_TRUE(acme.ok());
  EXPECT_EQ(Ids(*acme), (std::vector<std::string>{"t4", "t3", "t2b", "t1"}));
  auto none = p_.List({.owner = "nobody", .limit = 10}, 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->tokens.empty());

  auto active_before =
      p_.List({.owner = "acme", .status = TokenStatus::kActive, .limit = 10}, 4999);
  ASSERT_TRUE(active_before.ok());
  EXPECT_EQ(Ids(*active_before), (std::vector<std::string>{"t4", "t3", "t1"}));
  auto active_after = p_.List({.owner = "acme", .status = TokenStatus::kActive, .limit = 10}, 5000);
  EXPECT_EQ(Ids(*active_after), (std::vector<std::string>{"t4", "t1"}));
  auto expired = p_.List({.status = TokenStatus::kExpired, .limit = 10}, 5000);
  EXPECT_EQ(Ids(*expired), (std::vector<std::string>{"t3"}));
  auto revoked = p_.List({.status = TokenStatus::kRevoked, .limit = 1}, 5000);
  EXPECT_EQ(Ids(*revoked), (std::vector<std::string>{"t2b"}));
  EXPECT_EQ(revoked->next_cursor, "");

  // Paging with a filter.
  auto first = p_.List({.status = TokenStatus::kActive, .limit = 2}, 5000);
  EXPECT_EQ(Ids(*first), (std::vector<std::string>{"t4", "t2a"}));
  ASSERT_FALSE(first->next_cursor.empty());
  auto second =
      p_.List({.status = TokenStatus::kActive, .limit = 2, .cursor = first->next_cursor}, 5000);
  EXPECT_EQ(Ids(*second), (std::vector<std::string>{"t1"}));
  EXPECT_EQ(second->next_cursor, "");
}

TEST_F(ListTest, RejectsBadCursorAndLimit) {
  for (const char* bad : {"!!!", "a", "Zm9v" /* "foo" */, "OnQx" /* ":t1" */}) {
    auto page = p_.List({.limit = 10, .cursor = bad}, 0);
    ASSERT_FALSE(page.ok()) << bad;
    EXPECT_EQ(page.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(page.error().field, "cursor");
  }
  for (size_t limit : {size_t{0}, size_t{1001}}) {
    auto page = p_.List({.limit = limit}, 0);
    ASSERT_FALSE(page.ok());
    EXPECT_EQ(page.error().field, "limit");
  }
  EXPECT_TRUE(p_.List({.limit = 1000}, 0).ok());
}

TEST(UsageTest, HourAndDayBucketsWithDenials) {
  EventMaker m;
  Projection p;
  p.Apply(m.Created("a", T("2026-05-10T00:00:00Z"), {{"owner", "acme"}}));
  p.Apply(m.Created("b", T("2026-05-10T00:00:00Z"), {{"owner", "acme"}}));
  p.Apply(m.Created("c", T("2026-05-10T00:00:00Z"), {{"owner", "zeta"}}));
  p.Apply(m.Used("a", T("2026-05-10T10:05:00Z"), 2));
  p.Apply(m.Used("a", T("2026-05-10T10:59:59.999Z"), 3));
  p.Apply(m.Used("a", T("2026-05-10T11:00:00Z"), 1));
  p.Apply(m.Denied("a", T("2026-05-10T11:30:00Z"), "RATE_LIMITED"));
  p.Apply(m.Denied("a", T("2026-05-10T11:31:00Z"), "RATE_LIMITED"));
  p.Apply(m.Denied("a", T("2026-05-11T02:00:00Z"), "FORBIDDEN"));
  p.Apply(m.Used("b", T("2026-05-10T10:30:00Z"), 10));
  p.Apply(m.Used("c", T("2026-05-10T10:30:00Z"), 100));

  const int64_t from = T("2026-05-10T00:00:00Z");
  const int64_t to = T("2026-05-12T00:00:00Z");
  Json hourly = p.Usage({.token_id = "a", .from_ms = from, .to_ms = to});
  Json expected_hourly = {
      {"total",
       {{"uses", 3}, {"credits_spent", 6}, {"denied", {{"RATE_LIMITED", 2}, {"FORBIDDEN", 1}}}}},
      {"buckets",
       {{{"start", "2026-05-10T10:00:00.000Z"},
         {"uses", 2},
         {"credits_spent", 5},
         {"denied", Json::object()}},
        {{"start", "2026-05-10T11:00:00.000Z"},
         {"uses", 1},
         {"credits_spent", 1},
         {"denied", {{"RATE_LIMITED", 2}}}},
        {{"start", "2026-05-11T02:00:00.000Z"},
         {"uses", 0},
         {"credits_spent", 0},
         {"denied", {{"FORBIDDEN", 1}}}}}}};
  EXPECT_EQ(hourly, expected_hourly);

  Json daily =
      p.Usage({.owner = "acme", .from_ms = from, .to_ms = to, .bucket = UsageQuery::Bucket::kDay});
  Json expected_daily = {
      {"total",
       {{"uses", 4}, {"credits_spent", 16}, {"denied", {{"RATE_LIMITED", 2}, {"FORBIDDEN", 1}}}}},
      {"buckets",
       {{{"start", "2026-05-10T00:00:00.000Z"},
         {"uses", 4},
         {"credits_spent", 16},
         {"denied", {{"RATE_LIMITED", 2}}}},
        {{"start", "2026-05-11T00:00:00.000Z"},
         {"uses", 0},
         {"credits_spent", 0},
         {"denied", {{"FORBIDDEN", 1}}}}}}};
  EXPECT_EQ(daily, expected_daily);

  // Everything, and a range that cuts hours out: [10:00, 11:00) only.
  Json all = p.Usage({.from_ms = from, .to_ms = to, .bucket = UsageQuery::Bucket::kDay});
  EXPECT_EQ(all["total"]["uses"], 5);
  EXPECT_EQ(all["total"]["credits_spent"], 116);
  Json narrow = p.Usage({.from_ms = T("2026-05-10T10:00:00Z"), .to_ms = T("2026-05-10T11:00:00Z")});
  EXPECT_EQ(narrow["total"]["uses"], 4);
  EXPECT_EQ(narrow["total"]["denied"], Json::object());
  ASSERT_EQ(narrow["buckets"].size(), 1u);

  // A token filter that contradicts the owner filter sees nothing.
  Json mismatch = p.Usage({.token_id = "c", .owner = "acme", .from_ms = from, .to_ms = to});
  EXPECT_EQ(mismatch["total"]["uses"], 0);
  EXPECT_TRUE(mismatch["buckets"].empty());

  // Usage survives the JSON round trip (owner sums are rebuilt).
  auto restored = Projection::FromJson(p.ToJson());
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(
      restored->Usage(
          {.owner = "acme", .from_ms = from, .to_ms = to, .bucket = UsageQuery::Bucket::kDay}),
      expected_daily);
}

// ---- randomized: live fold == snapshot + tail.

Projection Fold(const std::vector<Event>& events, size_t begin, size_t end, Projection p = {}) {
  for (size_t i = begin; i < end; ++i) p.Apply(events[i]);
  return p;
}

TEST(ProjectionRandomTest, SnapshotPlusTailEqualsFullFold) {
  const std::vector<Event> events = RandomEvents(10'000, 42);
  const Projection full = Fold(events, 0, events.size());
  const std::string want = full.Digest();
  ASSERT_GT(full.token_count(), 100u);
  EXPECT_EQ(full.last_position(), Position(10'000));

  for (size_t k : {size_t{0}, size_t{1}, size_t{137}, size_t{2500}, size_t{5000}, size_t{9999},
                   size_t{10'000}}) {
    const Projection head = Fold(events, 0, k);
    // Through text, as a snapshot file would be.
    auto restored = Projection::FromJson(Json::parse(head.ToJson().dump()));
    ASSERT_TRUE(restored.ok()) << restored.error().message;
    EXPECT_EQ(restored->Digest(), head.Digest()) << "k=" << k;
    EXPECT_EQ(restored->ToJson(), head.ToJson()) << "k=" << k;
    const Projection resumed = Fold(events, k, events.size(), std::move(restored.value()));
    EXPECT_EQ(resumed.Digest(), want) << "k=" << k;
    // Overlapping replay from the start changes nothing.
    EXPECT_EQ(Fold(events, 0, events.size(), resumed).Digest(), want) << "k=" << k;
    // Reads agree too, not only the digest.
    const int64_t now = events.back().time_ms;
    auto a = full.List({.limit = 1000}, now);
    auto b = resumed.List({.limit = 1000}, now);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a->tokens.size(), b->tokens.size());
    for (size_t i = 0; i < a->tokens.size(); ++i) EXPECT_EQ(*a->tokens[i], *b->tokens[i]);
    UsageQuery uq{.from_ms = 0, .to_ms = now + 1, .bucket = UsageQuery::Bucket::kDay};
    EXPECT_EQ(full.Usage(uq), resumed.Usage(uq));
  }
}

TEST(ProjectionRandomTest, DigestSeesEveryStateChange) {
  const std::vector<Event> events = RandomEvents(2'000, 7);
  const Projection base = Fold(events, 0, events.size());
  const std::string base_digest = base.Digest();
  std::mt19937 rng(99);
  int checked = 0;
  // Index of the last event of each stream.
  std::map<std::string, size_t> last_of_stream;
  for (size_t i = 0; i < events.size(); ++i) last_of_stream[events[i].token_id] = i;
  for (int round = 0; round < 60;) {
    const size_t i = std::uniform_int_distribution<size_t>(0, events.size() - 1)(rng);
    const EventType type = events[i].type;
    // A configuration event's time survives only until the next one
    // overwrites updated_at; the others always leave a trace.
    if (type != EventType::kCreated && type != EventType::kUsed && type != EventType::kUseDenied &&
        last_of_stream[events[i].token_id] != i) {
      continue;
    }
    ++round;
    std::vector<Event> changed = events;
    Event& e = changed[i];
    // Moving an event an hour changes a time it sets (created/updated/
    // last_used) or the hour its counters land in.
    e.time_ms += 3'600'000;
    EXPECT_NE(Fold(changed, 0, changed.size()).Digest(), base_digest)
        << "event " << i << " " << EventToJson(e).dump();
    ++checked;
  }
  // Data-only changes, with times untouched.
  for (size_t i = 0; i < events.size(); ++i) {
    std::vector<Event> changed = events;
    Event& e = changed[i];
    if (e.type == EventType::kUsed) {
      e.data["cost"] = e.data["cost"].get<int64_t>() + 1;  // credits_spent moves even if unlimited
    } else if (e.type == EventType::kUseDenied) {
      e.data["code"] = "SOMETHING_ELSE";
    } else if (e.type == EventType::kCreated) {
      e.data["meta"] = {{"changed", true}};
    } else {
      continue;
    }
    EXPECT_NE(Fold(changed, 0, changed.size()).Digest(), base_digest) << "event " << i;
    if (++checked > 120) break;
  }
  EXPECT_GT(checked, 100);
}

TEST(ProjectionJsonTest, RejectsMalformedDocuments) {
  EventMaker m;
  Projection p;
  p.Apply(m.Created("a", 1000));
  p.Apply(m.Created("b", 1000));
  p.Apply(m.Used("a", 2000, 1));
  const Json good = p.ToJson();
  ASSERT_TRUE(Projection::FromJson(good).ok());

  std::vector<Json> bad;
  bad.push_back(Json::array());
  bad.push_back(Json{{"tokens", Json::array()}});
  Json j = good;
  j["last_position"] = "3";
  bad.push_back(j);
  j = good;
  j["tokens"][0]["state"].erase("secret_digest");
  bad.push_back(j);
  j = good;
  j["tokens"][0]["state"]["version"] = -1;
  bad.push_back(j);
  j = good;
  j["tokens"][1] = j["tokens"][0];  // duplicate id
  bad.push_back(j);
  j = good;
  j["tokens"][0]["usage"]["hours"] = Json::array({Json::array({1, 1, 1})});  // not an hour start
  bad.push_back(j);
  j = good;
  j["tokens"][0]["state"]["credits"] = {
      {"remaining", 1}, {"refill", {{"amount", 1}, {"interval", "week"}}}, {"period_start_ms", 0}};
  bad.push_back(j);
  for (const Json& doc : bad) {
    auto r = Projection::FromJson(doc);
    ASSERT_FALSE(r.ok()) << doc.dump();
    EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
  }
}

// Unlimited credits and the largest cost a verify accepts (10^15): ~9,300
// uses in one hour exceed int64. The counters hold at the limit instead of
// overflowing (undefined behaviour, which UBSan reports).
TEST(ProjectionTest, CreditsSpentSaturateInsteadOfOverflowing) {
  EventMaker m;
  Projection p;
  p.Apply(m.Created("a", T("2026-05-10T00:00:00Z")));
  p.Apply(m.Created("b", T("2026-05-10T00:00:00Z")));
  constexpr int64_t kCost = 1'000'000'000'000'000;
  for (int i = 0; i < 9'300; ++i) p.Apply(m.Used("a", T("2026-05-10T10:00:00Z") + i, kCost));
  // In a later hour, each token alone stays in range but the owner's sum
  // over both hours does not.
  p.Apply(m.Used("b", T("2026-05-10T11:00:00Z"), kCost));
  const int64_t from = T("2026-05-10T00:00:00Z");
  const int64_t to = T("2026-05-11T00:00:00Z");
  Json a = p.Usage({.token_id = "a", .from_ms = from, .to_ms = to});
  EXPECT_EQ(a["total"]["uses"], 9'300);
  EXPECT_EQ(a["total"]["credits_spent"], INT64_MAX);
  EXPECT_EQ(a["buckets"][0]["credits_spent"], INT64_MAX);
  Json owner = p.Usage({.owner = "acme", .from_ms = from, .to_ms = to,
                        .bucket = UsageQuery::Bucket::kDay});
  EXPECT_EQ(owner["total"]["credits_spent"], INT64_MAX);
  Json b = p.Usage({.token_id = "b", .from_ms = from, .to_ms = to});
  EXPECT_EQ(b["total"]["credits_spent"], kCost);
}

}  // namespace
}  // namespace tl
