// The digest written directly against the digest of the dumped documents.

#include "projections/token_line.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>

#include "events/crypto.h"
#include "projections/projection.h"
#include "projections/test_documents.h"
#include "projections/test_events.h"

namespace tl {
namespace {

using testing::RandomDocument;
using testing::RandomEvents;

// The digest as it was computed before it was written directly: each token
// object of ToJson dumped, one a line, after a header line and the position.
std::string DumpedDigest(const Projection& p) {
  const Json doc = p.ToJson();
  std::string text = "tokenledger-projection-v1\n" + doc["last_position"].dump() + "\n";
  for (const Json& token : doc["tokens"]) text += token.dump() + "\n";
  return Sha256Hex(text);
}

// Every token's state, written directly, against ToJson's dumped "state".
// TokenStateJson's writer holds 256 bytes, so this also crosses its flushes
// mid-token and hands it strings longer than its buffer.
void ExpectStatesAsDumped(const Projection& p) {
  const Json doc = p.ToJson();
  for (const Json& token : doc["tokens"]) {
    const Json& state = token["state"];
    const TokenState* t = p.Find(state["id"].get<std::string>());
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(TokenStateJson(*t), state.dump());
  }
}

TEST(CanonicalJsonTest, DigestOfFoldedStatesIsTheDumpedOne) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    const std::vector<Event> events = RandomEvents(3'000, seed);
    Projection p;
    EXPECT_EQ(p.Digest(), DumpedDigest(p));
    for (size_t i = 0; i < events.size(); ++i) {
      p.Apply(events[i]);
      if (i % 500 == 0) {
        EXPECT_EQ(p.Digest(), DumpedDigest(p)) << "seed " << seed << " at " << i;
      }
    }
    EXPECT_EQ(p.Digest(), DumpedDigest(p)) << "seed " << seed;
    ExpectStatesAsDumped(p);
  }
}

TEST(CanonicalJsonTest, DigestOfUnusualStatesIsTheDumpedOne) {
  std::mt19937_64 rng(2026);
  for (int round = 0; round < 40; ++round) {
    auto p = Projection::FromJson(RandomDocument(rng, 1 + round));
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->Digest(), DumpedDigest(*p)) << "round " << round;
    ExpectStatesAsDumped(*p);
  }
}

}  // namespace
}  // namespace tl
