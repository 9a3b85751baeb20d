#include "projections/created_data.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "projections/fold_batch.h"
#include "projections/test_events.h"

namespace tl {
namespace {

constexpr const char* kTokenId = "tok_0123456789abcdefABCDEF";

Event CreatedEnvelope(int64_t time_ms) {
  Event e;
  e.id = "evt_1";
  e.type = EventType::kCreated;
  e.token_id = kTokenId;
  e.version = Version(1);
  e.position = Position(7);
  e.time_ms = time_ms;
  e.actor = "system";
  e.data = nullptr;  // as a replay scan leaves it: the bytes are in raw_data
  return e;
}

// What the fast reader must agree with: nlohmann, then ApplyToToken.
// nullopt when the bytes are not a JSON object (the replay calls it damage).
std::optional<TokenState> Reference(std::string_view raw, int64_t time_ms) {
  Event e = CreatedEnvelope(time_ms);
  e.data = Json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (!e.data.is_object()) return std::nullopt;
  TokenState t;
  ApplyToToken(t, e);
  return t;
}

// Checks both ReadCompactCreated itself and FoldBatch::Add (with its
// fallback) against the reference. Returns whether the fast reader took it.
bool Check(const std::string& raw, int64_t time_ms) {
  SCOPED_TRACE("data: " + raw + " time_ms: " + std::to_string(time_ms));
  const std::optional<TokenState> want = Reference(raw, time_ms);

  // Into a state that is not default, as a reused batch slot may be.
  TokenState fast;
  fast.name = "left over";
  fast.credits = Credits{5, Refill{3, RefillInterval::kMonth}, 9};
  fast.meta = Json{{"x", 1}};
  const Event e = CreatedEnvelope(time_ms);
  const bool took = ReadCompactCreated(raw, e, fast);
  if (took) {
    EXPECT_TRUE(want.has_value()) << "fast reader accepted what nlohmann rejects";
    if (want) {
      EXPECT_EQ(fast, *want);
    }
  }

  FoldBatch batch;
  for (int round = 0; round < 2; ++round) {  // the second reuses the batch's slot
    batch.Clear();
    Event scanned = CreatedEnvelope(time_ms);
    batch.Add(scanned, raw);
    EXPECT_EQ(batch.size(), 1u);
    const FoldBatch::Item& item = batch[0];
    if (!want) {
      EXPECT_EQ(item.kind, FoldBatch::Item::kBadData);
      continue;
    }
    EXPECT_EQ(item.kind, FoldBatch::Item::kCreated);
    if (item.kind == FoldBatch::Item::kCreated) {
      EXPECT_EQ(batch.TakeState(item), *want);
    }
  }
  return took;
}

// The test events' token.created data, with a real hint and digest.
Json BaseData() {
  Json d = testing::EventMaker().Created(kTokenId, 0).data;
  d["name"] = "ci deploy";
  d["permissions"] = {"tokens:read", "usage:write"};
  d["hint"] = "tl_\xE2\x80\xA6x9Qa";
  d["secret_digest"] = std::string(64, 'a');
  return d;
}

constexpr int64_t kTime = 1'767'225'600'123;  // 2026-01-01T00:00:00.123Z

TEST(CreatedDataTest, CompactDataAsTheDeciderWritesItIsReadFast) {
  EXPECT_TRUE(Check(BaseData().dump(), kTime));
  Json d = BaseData();
  d["credits"] = {{"remaining", 100}, {"refill", {{"amount", 100}, {"interval", "month"}}}};
  d["rate_limit"] = {{"limit", 10}, {"window_ms", 60000}};
  d["expires_at"] = "2027-03-04T05:06:07.890Z";
  d["allowed_origins"] = {"https://a.example", "*.b.example"};
  d["allowed_ips"] = {"10.0.0.0/8", "::1/128"};
  d["description"] = "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x94\x91";
  EXPECT_TRUE(Check(d.dump(), kTime));
  d["credits"] = {{"remaining", 0}, {"refill", nullptr}};
  EXPECT_TRUE(Check(d.dump(), kTime));
  d["credits"] = {{"remaining", 5}, {"refill", {{"amount", 1}, {"interval", "day"}}}};
  EXPECT_TRUE(Check(d.dump(), -1));  // before 1970: PeriodStart floors
  d["meta"] = nullptr;
  EXPECT_TRUE(Check(d.dump(), kTime));
}

TEST(CreatedDataTest, EdgeCasesAgreeWithTheParsedPath) {
  const std::string digest(64, 'f');
  const std::vector<std::string> cases = {
      "{}",
      R"({"owner":"a"})",
      R"({"owner":null,"name":1,"description":true})",
      R"({"owner":"a\"b","name":"\\","description":"\n\t\u0000"})",
      R"({"name":"\u00e9\ud83d\udd11","hint":"\u2026"})",
      R"({"name":"\ud800"})",  // lone surrogate: nlohmann rejects
      R"({"owner":"a","owner":"b"})",
      R"({"credits":{"remaining":1,"remaining":2}})",
      R"({"credits":{}})",
      R"({"credits":{"refill":{}}})",
      R"({"credits":{"refill":{"amount":3}}})",
      R"({"credits":{"refill":{"interval":"month"}}})",
      R"({"credits":{"refill":{"amount":3,"interval":"year"}},"remaining":1})",
      R"({"credits":{"refill":{"amount":3,"interval":7},"remaining":1}})",
      R"({"credits":{"refill":[],"remaining":1}})",
      R"({"credits":{"refill":null,"remaining":-0}})",
      R"({"credits":{"remaining":1.5}})",
      R"({"credits":{"remaining":1e3}})",
      R"({"credits":{"remaining":01}})",
      R"({"credits":{"remaining":"7"}})",
      R"({"credits":{"remaining":123456789012345678}})",
      R"({"credits":{"remaining":1234567890123456789}})",
      R"({"credits":{"remaining":99999999999999999999}})",
      R"({"credits":{"remaining":-9223372036854775808}})",
      R"({"credits":{"remaining":1,"extra":2}})",
      R"({"credits":[]})",
      R"({"credits":"none"})",
      R"({"rate_limit":{}})",
      R"({"rate_limit":{"limit":5}})",
      R"({"rate_limit":{"window_ms":5,"limit":2}})",
      R"({"rate_limit":{"limit":5,"limit":6,"window_ms":1}})",
      R"({"rate_limit":{"limit":null,"window_ms":1}})",
      R"({"rate_limit":7})",
      R"({"expires_at":"2026-02-30T00:00:00.000Z"})",
      R"({"expires_at":"2026-01-01T00:00:00.000Z"})",
      R"({"expires_at":"2026-01-01T00:00:00Z"})",
      R"({"expires_at":"soon"})",
      R"({"expires_at":12})",
      R"({"expires_at":null})",
      R"({"permissions":[]})",
      R"({"permissions":["a:b",1,null,"c:d"]})",
      R"({"permissions":"a:b"})",
      R"({"permissions":[["a:b"]]})",
      R"({"allowed_origins":[""],"allowed_ips":["1.2.3.4/32"]})",
      R"({"meta":{}})",
      R"({"meta":null})",
      R"({"meta":{"team":"x","n":[1,{"deep":true}]}})",
      R"({"meta":[]})",
      R"({"meta":"x"})",
      R"({"secret_digest":")" + digest + R"("})",
      R"({"secret_digest":"short"})",
      R"({"secret_digest":""})",
      R"({"secret_digest":null})",
      R"({"unknown":1,"owner":"a"})",
      R"({ "owner" : "a" })",
      R"({"owner":"a"} )",
      R"({"owner":"a"}x)",
      R"({"owner":"a",})",
      R"({"owner":"a")",
      R"({"owner":"a)",
      "{\"owner\":\"a\x01\"}",
      "{\"owner\":\"\xC3\"}",
      "{\"owner\":\"\xC0\xAF\"}",      // overlong
      "{\"owner\":\"\xED\xA0\x80\"}",  // encoded surrogate
      "{\"owner\":\"\xF4\x90\x80\x80\"}",  // past U+10FFFF
      "{\"owner\":\"\xE0\x9F\xBF\"}",  // overlong 3-byte
      "{\"owner\":\"\xF0\x8F\xBF\xBF\"}",  // overlong 4-byte
      "{\"owner\":\"\x7F\"}",
      "[]",
      "null",
      "",
      "{",
  };
  for (const std::string& c : cases) Check(c, kTime);
}

// Random data objects: varied fields, types, strings (escapes, unicode,
// control characters), missing and repeated keys; each dumped compactly (the
// log's form), indented, and with a byte changed, inserted or removed.
class RandomData {
 public:
  explicit RandomData(uint32_t seed) : rng_(seed) {}

  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool Chance(int percent) { return Pick(100) < percent; }
  // Clean: only what the decider writes (no other types, no escapes, no
  // unknown keys, empty meta), in varied shapes.
  void set_clean(bool clean) { clean_ = clean; }
  bool Usual(int percent) { return clean_ || Chance(percent); }
  bool Rare(int percent) { return !clean_ && Chance(percent); }

  std::string Text() {
    static const std::vector<std::string> kPieces = {
        "a", "Z", "0", "_", "-", ":", "/", "*", ".", " ", "\"", "\\", "\n", "\t",
        std::string(1, '\0'), "\x1F", "\x7F", "\xC3\xA9", "\xE2\x80\xA6", "\xE6\x97\xA5",
        "\xF0\x9F\x94\x91", "\xEF\xBF\xBF", "\xF4\x8F\xBF\xBF"};
    std::string s;
    const int n = Pick(4) == 0 ? 0 : Pick(12);
    for (int i = 0; i < n; ++i) {
      // Mostly plain ASCII, as real names are.
      if (clean_) {
        s += Chance(90) ? kPieces[Pick(9)] : kPieces[17 + Pick(6)];  // no escapes
      } else {
        s += Chance(70) ? kPieces[Pick(9)] : kPieces[Pick(static_cast<int>(kPieces.size()))];
      }
    }
    return s;
  }

  int64_t Int() {
    switch (Pick(5)) {
      case 0:
        return Pick(3) - 1;
      case 1:
        return Pick(1'000'000);
      case 2:
        return -Pick(1'000'000);
      case 3:
        return std::uniform_int_distribution<int64_t>(-999'999'999'999'999'999,
                                                      999'999'999'999'999'999)(rng_);
      default:  // 19 digits: nlohmann's to read (the widest the fast reader takes is 18)
        if (clean_) return Chance(50) ? 999'999'999'999'999'999 : -999'999'999'999'999'999;
        return Chance(50) ? INT64_MAX : INT64_MIN;
    }
  }

  std::string Time() {
    static const std::vector<std::string> kTimes = {
        "2026-01-01T00:00:00.000Z", "2027-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z",
        "2026-02-29T00:00:00.000Z", "2024-02-29T12:00:00.000Z", "2026-01-01T00:00:00Z",
        "not a time",               ""};
    return kTimes[Pick(static_cast<int>(kTimes.size()))];
  }

  // Usually what the field holds; sometimes another type.
  Json Odd() {
    switch (Pick(7)) {
      case 0:
        return nullptr;
      case 1:
        return Int();
      case 2:
        return 1.5;
      case 3:
        return true;
      case 4:
        return Json::array({Text()});
      case 5:
        return Json::object();
      default:
        return Text();
    }
  }

  Json StringList() {
    Json a = Json::array();
    const int n = Pick(4) == 0 ? 0 : Pick(5);
    for (int i = 0; i < n; ++i) a.push_back(Usual(95) ? Json(Text()) : Odd());
    return a;
  }

  Json Refill() {
    if (Chance(30)) return nullptr;
    if (Rare(5)) return Odd();
    Json r = Json::object();
    if (Chance(90)) r["amount"] = Usual(95) ? Json(Int()) : Odd();
    if (Chance(90)) {
      static const char* kIntervals[] = {"day", "month", "year", ""};
      r["interval"] = Usual(95) ? Json(kIntervals[Pick(4)]) : Odd();
    }
    if (Rare(3)) r["extra"] = Odd();
    return r;
  }

  Json Credits() {
    if (Chance(40)) return nullptr;
    if (Rare(5)) return Odd();
    Json c = Json::object();
    if (Chance(90)) c["remaining"] = Usual(95) ? Json(Int()) : Odd();
    if (Chance(85)) c["refill"] = Refill();
    if (Rare(3)) c["extra"] = Odd();
    return c;
  }

  Json RateLimit() {
    if (Chance(40)) return nullptr;
    if (Rare(5)) return Odd();
    Json r = Json::object();
    if (Chance(90)) r["limit"] = Usual(95) ? Json(Int()) : Odd();
    if (Chance(90)) r["window_ms"] = Usual(95) ? Json(Int()) : Odd();
    if (Rare(3)) r["extra"] = Odd();
    return r;
  }

  Json Meta() {
    if (clean_ || Chance(60)) return Json::object();
    if (Chance(20)) return Odd();
    Json m = Json::object();
    const int n = Pick(3) + 1;
    for (int i = 0; i < n; ++i) m[Text()] = Chance(70) ? Json(Text()) : Json{{"k", Odd()}};
    return m;
  }

  Json Data() {
    Json d = Json::object();
    auto maybe = [&](const char* key, auto make) {
      if (Chance(92)) d[key] = Usual(96) ? make() : Odd();
    };
    maybe("owner", [&] { return Json(Text()); });
    maybe("name", [&] { return Json(Text()); });
    maybe("description", [&] { return Json(Text()); });
    maybe("permissions", [&] { return StringList(); });
    maybe("expires_at", [&] { return Chance(50) ? Json(nullptr) : Json(Time()); });
    maybe("credits", [&] { return Credits(); });
    maybe("rate_limit", [&] { return RateLimit(); });
    maybe("allowed_origins", [&] { return StringList(); });
    maybe("allowed_ips", [&] { return StringList(); });
    maybe("meta", [&] { return Meta(); });
    maybe("prefix", [&] { return Json(Text()); });
    maybe("hint", [&] { return Json(Text()); });
    maybe("secret_digest", [&] {
      if (Chance(20)) return Json(Text());
      static const char kHex[] = "0123456789abcdef";
      std::string h(64, '0');
      for (char& c : h) c = kHex[Pick(16)];
      return Json(h);
    });
    if (Rare(3)) d[Text()] = Odd();
    return d;
  }

  int64_t TimeMs() {
    return std::uniform_int_distribution<int64_t>(-100'000'000'000, 4'000'000'000'000)(rng_);
  }

  // One byte changed, inserted or removed.
  std::string Mutate(std::string s) {
    static const std::string kBytes = std::string("{}[]\":,\\ 0-9enul") + '\x80' + '\xC3' + '\0';
    const char b = kBytes[Pick(static_cast<int>(kBytes.size()))];
    const size_t at = s.empty() ? 0 : static_cast<size_t>(Pick(static_cast<int>(s.size())));
    switch (Pick(3)) {
      case 0:
        if (!s.empty()) s[at] = b;
        break;
      case 1:
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), b);
        break;
      default:
        if (!s.empty()) s.erase(at, 1);
        break;
    }
    return s;
  }

 private:
  std::mt19937 rng_;
  bool clean_ = false;
};

TEST(CreatedDataTest, RandomDataAgreesWithTheParsedPath) {
  RandomData r(20261127);
  int clean_fast = 0, clean_total = 0;
  for (int i = 0; i < 4000; ++i) {
    const bool clean = i % 2 == 0;
    r.set_clean(clean);
    const Json d = r.Data();
    const std::string compact = d.dump();
    const int64_t t = r.TimeMs();
    const bool fast = Check(compact, t);
    if (clean) {
      clean_fast += fast;
      ++clean_total;
      EXPECT_TRUE(fast) << compact;
    }
    if (i % 8 == 0) Check(d.dump(1), t);  // whitespace: parsed
    Check(r.Mutate(compact), t);
    // A key repeated: nlohmann keeps the last, the fast reader declines.
    if (i % 16 == 0 && compact.size() > 2) {
      Check(compact.substr(0, compact.size() - 1) + R"(,"owner":"again"})", t);
    }
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_EQ(clean_fast, clean_total);
}

}  // namespace
}  // namespace tl
