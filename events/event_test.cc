#include "events/event.h"

#include <gtest/gtest.h>

#include "events/crc32c.h"
#include "events/crypto.h"
#include "events/time_format.h"

namespace tl {
namespace {

Event Sample() {
  Event e;
  e.id = "evt_0001";
  e.type = EventType::kCreated;
  e.token_id = "tok_abc";
  e.version = Version(1);
  e.position = Position(1);
  e.time_ms = 1764258968123;
  e.actor = "system";
  e.data = Json{{"name", "ci"}, {"permissions", Json::array({"a:read"})}};
  e.prev_hash = kGenesisHash;
  e.hash = ComputeHash(e);
  return e;
}

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);  // the standard check value
  std::string zeros(32, '\0');
  EXPECT_EQ(Crc32c(zeros), 0x8A9136AAu);  // RFC 3720 B.4
  // Incremental equals one-shot.
  EXPECT_EQ(Crc32c("56789", Crc32c("1234")), Crc32c("123456789"));
}

TEST(Crypto, Sha256KnownVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("a", "bc"), Sha256Hex("abc"));
  EXPECT_EQ(RandomBytes(32).size(), 32u);
  EXPECT_NE(RandomBytes(16), RandomBytes(16));
}

TEST(Crypto, HmacSha256Rfc4231Vector) {
  // RFC 4231, test case 2.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_NE(HmacSha256Hex("Jeff", "what do ya want for nothing?"),
            HmacSha256Hex("Jefe", "what do ya want for nothing?"));
}

TEST(Crypto, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(Crypto, Sha256InPiecesEqualsSha256Hex) {
  Sha256 empty;
  EXPECT_EQ(empty.HexDigest(), Sha256Hex(""));
  const std::string text(100'000, 'x');
  Sha256 pieces;
  for (size_t at = 0; at < text.size(); at += 777)
    pieces.Update(std::string_view(text).substr(at, 777));
  EXPECT_EQ(pieces.HexDigest(), Sha256Hex(text));
}

TEST(TimeFormat, RoundTripsAndRejects) {
  EXPECT_EQ(FormatRfc3339Ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Ms(1764258968123), "2025-11-27T15:56:08.123Z");
  EXPECT_EQ(ParseRfc3339("2025-11-27T15:56:08.123Z"), 1764258968123);
  EXPECT_EQ(ParseRfc3339("2025-11-27T16:56:08.123+01:00"), 1764258968123);
  EXPECT_EQ(ParseRfc3339("2024-02-29T00:00:00Z"), 1709164800000);
  EXPECT_FALSE(ParseRfc3339("2025-02-29T00:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2025-11-27"));
  EXPECT_FALSE(ParseRfc3339("2025-11-27T15:56:08"));
  EXPECT_FALSE(ParseRfc3339("2025-13-01T00:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2025-11-27T15:56:08Zjunk"));
  std::string appended = "at ";
  AppendRfc3339Ms(appended, 1764258968123);
  EXPECT_EQ(appended, "at 2025-11-27T15:56:08.123Z");
  appended = "at ";
  AppendRfc3339Ms(appended, 253402300800001);  // past year 9999: printf's form
  EXPECT_EQ(appended, "at 10000-01-01T00:00:00.001Z");
  EXPECT_EQ(FormatRfc3339Ms(253402300800001), "10000-01-01T00:00:00.001Z");
}

TEST(Event, HashCoversEveryField) {
  Event e = Sample();
  EXPECT_EQ(e.hash, ComputeHash(e));
  Event changed = e;
  changed.data["name"] = "cj";
  EXPECT_NE(ComputeHash(changed), e.hash);
  changed = e;
  changed.prev_hash[0] = '1';
  EXPECT_NE(ComputeHash(changed), e.hash);
  changed = e;
  changed.position = Position(2);
  EXPECT_NE(ComputeHash(changed), e.hash);
}

TEST(Event, CanonicalBytesAreSortedCompactJson) {
  std::string c = CanonicalBytes(Sample());
  EXPECT_EQ(c.find(' '), std::string::npos);
  EXPECT_LT(c.find("\"actor\""), c.find("\"data\""));
  EXPECT_LT(c.find("\"data\""), c.find("\"id\""));
  EXPECT_EQ(c.find("\"hash\""), std::string::npos);
}

TEST(Event, FastCanonicalBytesEqualTheJsonObjectDump) {
  // The hash chain depends on these bytes never changing: the writer that
  // skips building a JSON object must match the dumped object byte for byte,
  // for plain ASCII and for strings that need escaping.
  const std::vector<std::string> strings = {"",
                                            "system",
                                            "tok_7Hq2Xw9KpL3mN5rT8vY1aZ",
                                            "quote\"back\\slash",
                                            "tab\tnl\n",
                                            "\x01\x1f\x7f",
                                            "caf\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x94\x91"};
  for (const std::string& s : strings) {
    Event e = Sample();
    e.actor = s;
    e.token_id = s;
    e.id = s;
    e.version = Version(18446744073709551615ull);
    e.position = Position(0);
    e.time_ms = -1;
    e.data = Json{{"s", s}, {"n", -3}, {"f", 0.5}, {"a", Json::array({nullptr, true})}};
    EXPECT_EQ(CanonicalBytes(e), ReferenceCanonicalBytes(e)) << s;
    EXPECT_EQ(CanonicalBytes(e, e.data.dump()), ReferenceCanonicalBytes(e)) << s;
  }
  for (EventType t : AllEventTypes()) {
    Event e = Sample();
    e.type = t;
    EXPECT_EQ(CanonicalBytes(e), ReferenceCanonicalBytes(e));
  }
  for (int64_t t : {int64_t{0}, int64_t{-86'400'001}, int64_t{253'402'300'800'001},
                    int64_t{-62'167'219'200'001}}) {
    Event e = Sample();
    e.time_ms = t;  // the last two lie outside four-digit years
    EXPECT_EQ(CanonicalBytes(e), ReferenceCanonicalBytes(e)) << t;
    EXPECT_EQ(ComputeHash(e), Sha256Hex(e.prev_hash, ReferenceCanonicalBytes(e))) << t;
  }
}

TEST(Event, HashOfAKnownEventNeverChanges) {
  // Computed once from the JSON-object form; a change here breaks every
  // existing log's chain.
  EXPECT_EQ(Sample().hash, Sha256Hex(kGenesisHash, ReferenceCanonicalBytes(Sample())));
  EXPECT_EQ(Sample().hash, "afdd7b961a85867ea46f5fbce8a8a4c136f14fa22a4434bf952c35d684920870");
}

TEST(Event, JsonAndCloudEventRoundTrip) {
  Event e = Sample();
  EXPECT_EQ(EventFromJson(EventToJson(e)), e);
  Json ce = ToCloudEvent(e);
  EXPECT_EQ(ce["specversion"], "1.0");
  EXPECT_EQ(ce["subject"], "tok_abc");
  EXPECT_EQ(ce["type"], "token.created");
  EXPECT_EQ(FromCloudEvent(ce), e);
  Json bad = EventToJson(e);
  bad.erase("token_id");
  EXPECT_THROW(EventFromJson(bad), std::invalid_argument);
  bad = EventToJson(e);
  bad["type"] = "token.exploded";
  EXPECT_THROW(EventFromJson(bad), std::invalid_argument);
}

TEST(EventType, NamesRoundTrip) {
  for (EventType t : AllEventTypes()) EXPECT_EQ(ParseEventType(EventTypeName(t)), t);
  EXPECT_EQ(AllEventTypes().size(), 8u);
  EXPECT_FALSE(ParseEventType("token.nope"));
}

TEST(Event, CloudEventTextIsBoundedBeforeItIsParsed) {
  Event e = Sample();
  const std::string text = ToCloudEvent(e).dump();
  EXPECT_EQ(FromCloudEventText(text), e);
  EXPECT_THROW(FromCloudEventText("not json"), std::invalid_argument);
  std::string deep = text;
  deep.insert(deep.size() - 1, R"(,"x":)" + std::string(100'000, '[') + std::string(100'000, ']'));
  EXPECT_THROW(FromCloudEventText(deep), std::invalid_argument);
}

}  // namespace
}  // namespace tl
