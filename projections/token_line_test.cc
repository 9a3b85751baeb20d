// The token lines of snapshot files read back with TokenLineReader, against
// the state that wrote them and against nlohmann's reading of the same lines.

#include "projections/token_line.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "projections/canonical_json.h"
#include "projections/projection.h"
#include "projections/test_documents.h"
#include "projections/test_events.h"

namespace tl {
namespace {

// The lines WriteTokenLines writes for `p`, without their '\n'.
std::vector<std::string> TokenLines(const Projection& p) {
  std::string text;
  CanonicalJsonWriter w(
      512, [](void* c, std::string_view b) { static_cast<std::string*>(c)->append(b); }, &text);
  p.WriteTokenLines(w);
  w.Flush();
  std::vector<std::string> lines;
  for (size_t at = 0; at < text.size();) {
    const size_t nl = text.find('\n', at);
    lines.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  return lines;
}

// `lines` read by TokenLineReader into a projection at `position`.
Result<Projection> ReadLines(const std::vector<std::string>& lines, Position position) {
  Projection::Builder builder(position);
  TokenLineReader reader([&builder](std::string_view code) { return builder.CodeId(code); });
  for (const std::string& line : lines) {
    TokenState state;
    UsageSeries usage;
    if (Status s = reader.Read(line, state, usage); !s.ok()) return s.error();
    if (Status s = builder.Add(std::move(state), std::move(usage)); !s.ok()) return s.error();
  }
  return std::move(builder).Finish();
}

// The same lines through nlohmann and Builder::Add(const Json&), as format-2
// snapshots were loaded before.
Result<Projection> ParseLines(const std::vector<std::string>& lines, Position position) {
  Projection::Builder builder(position);
  for (const std::string& line : lines) {
    const Json token = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (token.is_discarded()) return MakeError(ErrorCode::kCorruption, "not JSON");
    if (Status s = builder.Add(token); !s.ok()) return s.error();
  }
  return std::move(builder).Finish();
}

// Every token field and usage counter of `a` and `b`, one by one.
void ExpectSameTokens(const Projection& a, const Projection& b) {
  ASSERT_EQ(a.token_count(), b.token_count());
  EXPECT_EQ(a.last_position(), b.last_position());
  const Json doc = a.ToJson();
  for (const Json& token : doc["tokens"]) {
    const std::string id = token["state"]["id"].get<std::string>();
    const TokenState* ta = a.Find(id);
    const TokenState* tb = b.Find(id);
    ASSERT_NE(ta, nullptr);
    ASSERT_NE(tb, nullptr) << id;
    EXPECT_TRUE(*ta == *tb) << TokenStateJson(*ta) << "\n" << TokenStateJson(*tb);
    UsageQuery q;
    q.token_id = id;
    q.from_ms = std::numeric_limits<int64_t>::min();
    q.to_ms = std::numeric_limits<int64_t>::max();
    EXPECT_EQ(a.Usage(q), b.Usage(q)) << id;
  }
  EXPECT_EQ(a.Digest(), b.Digest());
}

TEST(TokenLineTest, RandomDocumentsReadBackFieldForField) {
  std::mt19937_64 rng(7);
  size_t lines_read = 0;
  for (int round = 0; round < 60; ++round) {
    auto written = Projection::FromJson(testing::RandomDocument(rng, 1 + round % 20));
    ASSERT_TRUE(written.ok()) << written.error().message;
    const std::vector<std::string> lines = TokenLines(*written);
    lines_read += lines.size();
    auto read = ReadLines(lines, written->last_position());
    ASSERT_TRUE(read.ok()) << "round " << round << ": " << read.error().message;
    ExpectSameTokens(*written, *read);
    // And the lines it reads are the lines it was given.
    EXPECT_EQ(TokenLines(*read), lines);
  }
  EXPECT_GT(lines_read, 500u);
}

TEST(TokenLineTest, FoldedStatesReadBackFieldForField) {
  for (uint32_t seed : {1u, 2u}) {
    Projection p;
    for (const Event& e : testing::RandomEvents(4'000, seed)) p.Apply(e);
    auto read = ReadLines(TokenLines(p), p.last_position());
    ASSERT_TRUE(read.ok()) << read.error().message;
    ExpectSameTokens(p, *read);
  }
}

// A line with every field set to something other than its default.
std::string FullLine() {
  testing::EventMaker m;
  Projection p;
  p.Apply(m.Created("tok_full", 1'767'225'600'123,
                    {{"owner", "own\"er"},
                     {"name", "n\\ame \xe4\xb8\xad"},
                     {"description", "line\nbreak \xf0\x9f\x98\x80"},
                     {"permissions", {"a:read", "b:write"}},
                     {"expires_at", "2026-06-01T00:00:00Z"},
                     {"credits", {{"remaining", 500}, {"refill", {{"amount", 100}, {"interval", "month"}}}}},
                     {"rate_limit", {{"limit", 10}, {"window_ms", 60'000}}},
                     {"allowed_origins", {"https://a.example"}},
                     {"allowed_ips", {"10.0.0.0/8", "::1/128"}},
                     {"meta", {{"team", "core"}, {"n", {1, 2.5, nullptr}}}},
                     {"hint", "tl_\xe2\x80\xa6" "abcd"},
                     {"secret_digest", std::string(64, 'a')}}));
  Event regen = m.Make(EventType::kRegenerated, "tok_full", 1'767'229'200'000,
                       {{"secret_digest", std::string(64, 'b')}, {"hint", "tl_…efgh"}});
  p.Apply(regen);
  p.Apply(m.Used("tok_full", 1'767'229'200'500, 3));
  p.Apply(m.Denied("tok_full", 1'767'229'200'600, "RATE_LIMITED"));
  p.Apply(m.Denied("tok_full", 1'767'232'800'000, "EXPIRED"));
  p.Apply(m.Denied("tok_full", 1'767'232'800'001, "FORBIDDEN"));
  p.Apply(m.Used("tok_full", 1'767'232'800'700, 2));
  return TokenLines(p).at(0);
}

Status ReadOne(std::string_view line) {
  std::vector<std::string> codes;
  TokenLineReader reader([&codes](std::string_view code) {
    codes.emplace_back(code);
    return static_cast<uint16_t>(codes.size() - 1);
  });
  TokenState state;
  UsageSeries usage;
  return reader.Read(line, state, usage);
}

// `line` with the first `from` replaced by `to`. REQUIRES: `from` occurs.
std::string Replaced(std::string line, std::string_view from, std::string_view to) {
  const size_t at = line.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) line.replace(at, from.size(), to);
  return line;
}

TEST(TokenLineTest, FullLineReadsAndEveryFieldIsSet) {
  const std::string line = FullLine();
  ASSERT_TRUE(ReadOne(line).ok()) << ReadOne(line).error().message << "\n" << line;
  for (const char* set : {"\"credits\":{", "\"refill\":{", "\"rate_limit\":{", "\"meta\":{\"",
                          "\"expires_at_ms\":1", "\"last_used_at_ms\":1", "\"recent_uses\":[1",
                          "\"previous_digest\":\"aaaa", "\"denied\":[[", "\"hours\":[[",
                          "\"permissions\":[\"", "\"allowed_ips\":[\"", "\"allowed_origins\":[\""}) {
    EXPECT_NE(line.find(set), std::string::npos) << set << " in " << line;
  }
}

TEST(TokenLineTest, EscapedFormsReadAsTheirText) {
  const std::string line = FullLine();
  auto read = ReadLines({line}, Position(1));
  ASSERT_TRUE(read.ok());
  // Escapes the writer does not use but JSON allows read as the same text.
  const std::string escaped = Replaced(
      Replaced(Replaced(line, "\"tok_full\"", "\"tok\\u005ffull\""), "\xe4\xb8\xad", "\\u4E2D"),
      "\xf0\x9f\x98\x80", "\\ud83d\\ude00");
  auto again = ReadLines({escaped}, Position(1));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->Digest(), read->Digest());
  EXPECT_TRUE(*again->Find("tok_full") == *read->Find("tok_full"));
}

TEST(TokenLineTest, DamagedLinesAreRefusedNamingTheField) {
  const std::string line = FullLine();
  struct Case {
    std::string line;
    std::string field;  // in the message
  };
  const std::vector<Case> cases = {
      // Wrong types.
      {Replaced(line, "\"owner\":\"own", "\"owner\":5,\"x\":\"own"), "owner"},
      {Replaced(line, "\"revoked\":false", "\"revoked\":0"), "revoked"},
      {Replaced(line, "\"created_at_ms\":1", "\"created_at_ms\":\"1"), "created_at_ms"},
      {Replaced(line, "\"version\":", "\"version\":-"), "version"},
      {Replaced(line, "\"permissions\":[\"a:read\"", "\"permissions\":[1"), "permissions"},
      {Replaced(line, "\"meta\":{", "\"meta\":[{"), "meta"},
      {Replaced(line, "\"expires_at_ms\":1", "\"expires_at_ms\":1.5,\"x\":1"), "expires_at_ms"},
      {Replaced(line, "\"interval\":\"month\"", "\"interval\":\"week\""), "credits"},
      // Unknown, missing, repeated or reordered fields; whitespace.
      {Replaced(line, "\"hint\":", "\"colour\":\"red\",\"hint\":"), "hint"},
      {Replaced(line, ",\"prefix\":\"tl\"", ""), "prefix"},
      {Replaced(line, "\"name\":", "\"name\":\"x\",\"name\":"), "owner"},
      {Replaced(line, "{\"state\":", "{\"state\": "), "allowed_ips"},
      {Replaced(line, ",\"usage\":", ",\"usage\" :"), "usage.denied"},
      // Bad strings.
      {Replaced(line, "own\\\"er", "own\\xer"), "owner"},
      {Replaced(line, "own\\\"er", "own\\u00"), "owner"},
      {Replaced(line, "own\\\"er", "own\\udc00er"), "owner"},
      {Replaced(line, "own\\\"er", "own\ter"), "owner"},
      {Replaced(line, "own\\\"er", "own\xc3" "er"), "owner"},
      // Out of range, or values FromJson refuses.
      {Replaced(line, "\"remaining\":", "\"remaining\":9223372036854775808,\"x\":"), "credits"},
      {Replaced(line, "\"limit\":10", "\"limit\":010"), "rate_limit"},
      {Replaced(line, "\"id\":\"tok_full\"", "\"id\":\"\""), "id"},
      {Replaced(line, "\"recent_uses\":[", "\"recent_uses\":[9999999999999,"), "recent_uses"},
      // Usage rows: bad hours, counts past uint32, out of order or repeated.
      {Replaced(line, "\"hours\":[[1767229200000,", "\"hours\":[[1767229200001,"), "usage.hours"},
      {Replaced(line, "\"hours\":[[1767229200000,1,", "\"hours\":[[1767229200000,4294967296,"),
       "usage.hours"},
      {Replaced(line, "\"hours\":[[1767229200000,1,3],", "\"hours\":[[1767236400000,1,3],"),
       "usage.hours"},
      {Replaced(line, "\"hours\":[", "\"hours\":[[7730941132800000,1,1],"), "usage.hours"},
      {Replaced(line, "\"EXPIRED\",1],[1767232800000,\"FORBIDDEN\"",
                "\"FORBIDDEN\",1],[1767232800000,\"EXPIRED\""),
       "usage.denied"},
      {Replaced(line, "\"denied\":[", "\"denied\":[[1767229200000,\"RATE_LIMITED\",1],"),
       "usage.denied"},
      {Replaced(line, "\"denied\":[[1767229200000,\"RATE_LIMITED\",1]",
                "\"denied\":[[1767229200000,\"RATE_LIMITED\",-1]"),
       "usage.denied"},
      // Trailing garbage, or a line cut short.
      {line + "x", "usage"},
      {line + " ", "usage"},
      {line + "}", "usage"},
      {line.substr(0, line.size() - 1), "usage"},
  };
  for (const Case& c : cases) {
    const Status s = ReadOne(c.line);
    ASSERT_FALSE(s.ok()) << c.line;
    EXPECT_EQ(s.error().code, ErrorCode::kCorruption);
    EXPECT_NE(s.error().message.find("\"" + c.field + "\""), std::string::npos)
        << s.error().message << "\n" << c.line;
    EXPECT_NE(s.error().message.find("at byte"), std::string::npos) << s.error().message;
  }
  // Every cut, anywhere.
  for (size_t size = 0; size < line.size(); ++size) {
    ASSERT_FALSE(ReadOne(std::string_view(line).substr(0, size)).ok()) << size;
  }
}

// Random damage to valid lines: what the reader accepts, nlohmann reads as
// the same token (it never takes a damaged line for a different state).
TEST(TokenLineTest, WhatItAcceptsOfDamagedLinesNlohmannReadsTheSame) {
  std::mt19937_64 rng(11);
  std::vector<std::string> lines = {FullLine()};
  for (int round = 0; round < 4; ++round) {
    auto p = Projection::FromJson(testing::RandomDocument(rng, 10));
    ASSERT_TRUE(p.ok());
    for (std::string& l : TokenLines(*p)) lines.push_back(std::move(l));
  }
  const std::string alphabet = "0123456789-.eE\"\\u{}[],:ntfabx \x01\xc3\xa9\x80";
  size_t accepted = 0, tried = 0;
  for (const std::string& good : lines) {
    for (int k = 0; k < 300; ++k) {
      std::string bad = good;
      const size_t at = std::uniform_int_distribution<size_t>(0, bad.size() - 1)(rng);
      const char c = alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
      switch (k % 3) {
        case 0:
          bad[at] = c;
          break;
        case 1:
          bad.insert(bad.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          bad.erase(at, 1);
          break;
      }
      if (bad == good) continue;
      ++tried;
      auto read = ReadLines({bad}, Position(1));
      if (!read.ok()) continue;
      ++accepted;
      auto parsed = ParseLines({bad}, Position(1));
      ASSERT_TRUE(parsed.ok()) << "accepted, but nlohmann refuses: " << bad;
      ExpectSameTokens(*parsed, *read);
    }
  }
  EXPECT_GT(tried, 1000u);
  EXPECT_GT(accepted, 0u);  // e.g. a digit changed: still a valid line
}

}  // namespace
}  // namespace tl
