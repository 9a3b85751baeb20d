#include "services/domain/secret.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "events/crypto.h"

namespace tl {
namespace {

// Deterministic "random" bytes: a counter, so tests are reproducible.
RandomBytesFn CountingBytes(uint8_t start = 0) {
  return [start](size_t n) mutable {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(start++);
    return s;
  };
}

RandomBytesFn ConstantBytes(uint8_t v) {
  return [v](size_t n) { return std::string(n, static_cast<char>(v)); };
}

TEST(Crc32IeeeTest, KnownVectors) {
  EXPECT_EQ(Crc32Ieee(""), 0u);
  EXPECT_EQ(Crc32Ieee("123456789"), 0xCBF43926u);  // the standard check value
  EXPECT_EQ(Crc32Ieee("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
}

TEST(GenerateSecretTest, ShapeAndFixedWidth) {
  // All-zero and all-0xFF bytes are the narrowest and widest base62 values.
  for (uint8_t v : {0x00, 0x01, 0x7F, 0xFF}) {
    const std::string s = GenerateSecret("tl", ConstantBytes(v));
    ASSERT_EQ(s.size(), 3 + kSecretBodyChars + kSecretCheckChars) << s;
    EXPECT_EQ(s.substr(0, 3), "tl_");
    EXPECT_TRUE(LooksLikeSecret(s)) << s;
  }
  EXPECT_EQ(GenerateSecret("tl", ConstantBytes(0)).substr(3, kSecretBodyChars),
            std::string(kSecretBodyChars, '0'));
}

TEST(GenerateSecretTest, DifferentBytesGiveDifferentSecrets) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) seen.insert(GenerateSecret("tl", RandomBytes));
  EXPECT_EQ(seen.size(), 200u);
  EXPECT_NE(GenerateSecret("tl", CountingBytes(0)), GenerateSecret("tl", CountingBytes(1)));
}

TEST(GenerateSecretTest, ChecksumCoversPrefixAndBody) {
  const std::string s = GenerateSecret("acme", CountingBytes());
  const size_t covered = s.size() - kSecretCheckChars;
  EXPECT_TRUE(LooksLikeSecret(s));
  // Same body, other prefix: the old checksum no longer fits.
  std::string other = "acmf" + s.substr(4);
  EXPECT_FALSE(LooksLikeSecret(other));
  EXPECT_EQ(covered, 5 + kSecretBodyChars);
}

TEST(LooksLikeSecretTest, DetectsEveryChangedCharacter) {
  const std::string s = GenerateSecret("tl", CountingBytes(7));
  const std::string alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') continue;
    for (char c : alphabet) {
      if (c == s[i]) continue;
      std::string changed = s;
      changed[i] = c;
      EXPECT_FALSE(LooksLikeSecret(changed)) << "position " << i << " -> " << c;
    }
  }
}

TEST(LooksLikeSecretTest, RejectsMalformed) {
  const std::string good = GenerateSecret("tl", CountingBytes());
  const struct {
    std::string s;
    const char* why;
  } cases[] = {
      {"", "empty"},
      {good.substr(1), "prefix cut"},
      {good + "0", "too long"},
      {good.substr(0, good.size() - 1), "too short"},
      {"TL" + good.substr(2), "upper-case prefix"},
      {"abcdefghi" + good.substr(2), "prefix longer than 8"},
      {good.substr(2), "no prefix"},
      {"tl-" + good.substr(3), "wrong separator"},
      {good.substr(0, 10) + "-" + good.substr(11), "non-base62 body"},
      {std::string(64, 'a'), "operator bootstrap secret"},
  };
  for (const auto& c : cases) EXPECT_FALSE(LooksLikeSecret(c.s)) << c.why;
}

TEST(RedactSecretsTest, ReplacesEverySecretWhereverItSits) {
  const std::string a = GenerateSecret("tl", CountingBytes(0));
  const std::string b = GenerateSecret("acme1234", CountingBytes(7));
  const std::string r = std::string(kRedactedSecret);
  const struct {
    std::string in, out;
  } cases[] = {
      {a, r},
      {"/v1/tokens/" + a, "/v1/tokens/" + r},
      {"'" + a + "' at offset 8 is not a permission",
       "'" + r + "' at offset 8 is not a permission"},
      {a + b, r + r},  // glued together
      {"x" + a + "y", "x" + r + "y"},
      {a + "_" + b + " and " + a, r + "_" + r + " and " + r},
      {"__" + b, "__" + r},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(ContainsSecret(c.in)) << c.in;
    EXPECT_EQ(RedactSecrets(c.in), c.out) << c.in;
  }
}

TEST(RedactSecretsTest, LeavesEverythingElseAlone) {
  const std::string a = GenerateSecret("tl", CountingBytes(0));
  std::string typo = a;
  typo[10] = typo[10] == 'a' ? 'b' : 'a';  // the checksum no longer fits
  for (const std::string& text :
       {std::string(), std::string("no token tok_0000000000000000000001"), std::string("_"),
        std::string("tl_"), a.substr(0, a.size() - 1), typo, std::string("UPPER") + a.substr(2),
        std::string("test-admin-secret-0123456789-abcdefghij"), std::string(200, '_')}) {
    EXPECT_FALSE(ContainsSecret(text)) << text;
    EXPECT_EQ(RedactSecrets(text), text);
  }
}

TEST(SecretPrefixTest, Rules) {
  EXPECT_TRUE(IsValidSecretPrefix("tl"));
  EXPECT_TRUE(IsValidSecretPrefix("a"));
  EXPECT_TRUE(IsValidSecretPrefix("abc12345"));
  EXPECT_FALSE(IsValidSecretPrefix(""));
  EXPECT_FALSE(IsValidSecretPrefix("abc123456"));
  EXPECT_FALSE(IsValidSecretPrefix("Tl"));
  EXPECT_FALSE(IsValidSecretPrefix("t_l"));
  EXPECT_FALSE(IsValidSecretPrefix("t-l"));
}

TEST(GenerateSecretDeathTest, RefusesShortRandomnessAndBadPrefix) {
  EXPECT_DEATH(GenerateSecret("tl", [](size_t n) { return std::string(n - 1, 'x'); }),
               "short random");
  EXPECT_DEATH(GenerateSecret("T L", RandomBytes), "invalid prefix");
}

TEST(SecretDigestTest, IsSha256HexAndWorksForBootstrapSecrets) {
  EXPECT_EQ(SecretDigest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string bootstrap = "operator-chosen-bootstrap-secret-0123456789";
  EXPECT_FALSE(LooksLikeSecret(bootstrap));
  EXPECT_EQ(SecretDigest(bootstrap), Sha256Hex(bootstrap));
}

TEST(SecretHintTest, PrefixEllipsisLastFour) {
  const std::string s = GenerateSecret("tl", CountingBytes());
  EXPECT_EQ(SecretHint(s), "tl_\u2026" + s.substr(s.size() - 4));
  EXPECT_EQ(SecretHint("operator-chosen-bootstrap-secret-wxyz"), "\u2026wxyz");
  EXPECT_EQ(SecretHint("ABC_longer-than-four"), "\u2026four");  // not a valid prefix
  // The hint never reveals more than 4 characters of the body.
  EXPECT_EQ(SecretHint(s).find(s.substr(3, 5)), std::string::npos);
}

TEST(TokenIdTest, ShapeAndValidation) {
  const std::string id = NewTokenId(CountingBytes());
  EXPECT_EQ(id.size(), 26u);
  EXPECT_TRUE(IsTokenId(id));
  EXPECT_EQ(NewTokenId(ConstantBytes(0)), "tok_" + std::string(22, '0'));
  EXPECT_TRUE(IsTokenId(NewTokenId(ConstantBytes(0xFF))));
  EXPECT_NE(NewTokenId(RandomBytes), NewTokenId(RandomBytes));
  EXPECT_FALSE(IsTokenId(""));
  EXPECT_FALSE(IsTokenId("tok_"));
  EXPECT_FALSE(IsTokenId(id.substr(0, 25)));
  EXPECT_FALSE(IsTokenId(id + "a"));
  EXPECT_FALSE(IsTokenId("tak_" + id.substr(4)));
  EXPECT_FALSE(IsTokenId("tok_" + std::string(21, 'a') + "-"));
}

// Client text is repeated only when it is too short to be any secret.
TEST(IsSafeToEchoTest, ShortPlainTextOnly) {
  for (const char* ok : {"trace-42", "a", "tok_AAAAAAAAAAAAAAAAAAAAAA", "A.b_c-9",
                         "0123456789012345678901234567890"}) {
    EXPECT_TRUE(IsSafeToEcho(ok)) << ok;
    EXPECT_EQ(EchoOrRedact(ok), ok);
  }
  const std::string minted = GenerateSecret("tl", CountingBytes());
  for (const std::string& bad :
       {std::string(), std::string(kMinSecretChars, 'a'), minted,
        std::string("test-admin-secret-0123456789-abcdefghij"), std::string("a b"),
        std::string("a/b"), std::string("caf\xc3\xa9"), std::string("a\0b", 3)}) {
    EXPECT_FALSE(IsSafeToEcho(bad)) << bad;
    EXPECT_EQ(EchoOrRedact(bad), kRedactedSecret) << bad;
  }
  EXPECT_FALSE(IsSafeToEcho("a:b"));
  EXPECT_TRUE(IsSafeToEcho("a:b", ":"));
  EXPECT_FALSE(IsSafeToEcho(std::string(kMinSecretChars, 'a') + ":b", ":"));
  EXPECT_EQ(kMaxEchoChars + 1, kMinSecretChars);
}

}  // namespace
}  // namespace tl
