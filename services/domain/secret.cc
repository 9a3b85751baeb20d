#include "services/domain/secret.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <tuple>
#include <utility>
#include <vector>

#include "events/crypto.h"

namespace tl {
namespace {

constexpr std::string_view kBase62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr size_t kSecretRandomBytes = 32;
constexpr size_t kTokenIdRandomBytes = 16;
constexpr size_t kTokenIdChars = 22;
constexpr std::string_view kTokenIdPrefix = "tok_";

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "tokenledger: broken invariant: %s\n", what);
  std::abort();
}

bool IsBase62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool AllBase62(std::string_view s) {
  for (char c : s) {
    if (!IsBase62(c)) return false;
  }
  return true;
}

// Big-endian bytes as a base62 number, left-padded with '0' to `width`.
// REQUIRES: 62^width > 256^bytes.size() (checked: aborts on overflow).
std::string Base62Fixed(std::string_view bytes, size_t width) {
  std::vector<uint8_t> num(bytes.begin(), bytes.end());
  std::string out(width, '0');
  size_t pos = width;
  size_t start = 0;  // index of the first non-zero byte of `num`
  while (start < num.size()) {
    if (num[start] == 0) {
      ++start;
      continue;
    }
    // Long division of num[start..] by 62; the remainder is the next digit.
    uint32_t rem = 0;
    for (size_t i = start; i < num.size(); ++i) {
      uint32_t cur = (rem << 8) | num[i];
      num[i] = static_cast<uint8_t>(cur / 62);
      rem = cur % 62;
    }
    if (pos == 0) Die("base62 value wider than its fixed width");
    out[--pos] = kBase62[rem];
  }
  return out;
}

std::string Base62Fixed(uint32_t v, size_t width) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                         static_cast<char>(v >> 8), static_cast<char>(v)};
  return Base62Fixed(std::string_view(bytes, 4), width);
}

std::string Checksum(std::string_view covered) {
  return Base62Fixed(Crc32Ieee(covered), kSecretCheckChars);
}

// Where the first secret in `text` at or after `from` starts, and its length;
// {npos, 0} when there is none. A secret is `<prefix>_` + 49 base62 chars
// whose last 6 are the checksum of what precedes them; every prefix length
// ending at each '_' is tried, so a secret glued to other text is found too.
std::pair<size_t, size_t> FindSecret(std::string_view text, size_t from) {
  constexpr size_t kTail = kSecretBodyChars + kSecretCheckChars;
  for (size_t us = text.find('_', from); us != std::string_view::npos;
       us = text.find('_', us + 1)) {
    if (text.size() - us - 1 < kTail) break;  // no room after this '_' nor any later one
    const std::string_view tail = text.substr(us + 1, kTail);
    if (!AllBase62(tail)) continue;
    const std::string_view check = tail.substr(kSecretBodyChars);
    for (size_t len = 1; len <= 8 && len <= us - from; ++len) {
      const size_t start = us - len;
      if (!IsValidSecretPrefix(text.substr(start, 1))) break;
      if (Checksum(text.substr(start, len + 1 + kSecretBodyChars)) == check) {
        return {start, len + 1 + kTail};
      }
    }
  }
  return {std::string_view::npos, 0};
}

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}

constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

}  // namespace

uint32_t Crc32Ieee(std::string_view data) {
  uint32_t c = 0xFFFFFFFFu;
  for (char ch : data) c = kCrcTable[(c ^ static_cast<uint8_t>(ch)) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

bool IsValidSecretPrefix(std::string_view prefix) {
  if (prefix.empty() || prefix.size() > 8) return false;
  for (char c : prefix) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

std::string GenerateSecret(std::string_view prefix, const RandomBytesFn& random_bytes) {
  if (!IsValidSecretPrefix(prefix)) Die("GenerateSecret: invalid prefix");
  const std::string raw = random_bytes(kSecretRandomBytes);
  if (raw.size() != kSecretRandomBytes) Die("GenerateSecret: short random read");
  std::string s;
  s.reserve(prefix.size() + 1 + kSecretBodyChars + kSecretCheckChars);
  s.append(prefix);
  s.push_back('_');
  s += Base62Fixed(raw, kSecretBodyChars);
  s += Checksum(s);
  return s;
}

bool LooksLikeSecret(std::string_view s) {
  const size_t us = s.find('_');
  if (us == std::string_view::npos || !IsValidSecretPrefix(s.substr(0, us))) return false;
  if (s.size() != us + 1 + kSecretBodyChars + kSecretCheckChars) return false;
  const std::string_view tail = s.substr(us + 1);
  if (!AllBase62(tail)) return false;
  const size_t covered = s.size() - kSecretCheckChars;
  return Checksum(s.substr(0, covered)) == s.substr(covered);
}

bool ContainsSecret(std::string_view text) {
  return FindSecret(text, 0).first != std::string_view::npos;
}

std::string RedactSecrets(std::string_view text) {
  std::string out;
  size_t done = 0;
  for (auto [start, len] = FindSecret(text, 0); start != std::string_view::npos;
       std::tie(start, len) = FindSecret(text, done)) {
    out.append(text.substr(done, start - done));
    out.append(kRedactedSecret);
    done = start + len;
  }
  out.append(text.substr(done));
  return out;
}

bool IsSafeToEcho(std::string_view text, std::string_view also) {
  if (text.empty() || text.size() > kMaxEchoChars) return false;
  for (char c : text) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '.' || c == '_' || c == '-';
    if (!plain && also.find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::string_view EchoOrRedact(std::string_view text, std::string_view also) {
  return IsSafeToEcho(text, also) ? text : kRedactedSecret;
}

std::string SecretDigest(std::string_view secret) { return Sha256Hex(secret); }

std::string SecretHint(std::string_view secret) {
  const std::string_view last4 = secret.size() > 4 ? secret.substr(secret.size() - 4) : secret;
  std::string hint;
  const size_t us = secret.find('_');
  if (us != std::string_view::npos && IsValidSecretPrefix(secret.substr(0, us)) &&
      secret.size() >= us + 1 + 4) {
    hint.append(secret.substr(0, us + 1));
  }
  hint.append("\u2026");
  hint.append(last4);
  return hint;
}

std::string NewTokenId(const RandomBytesFn& random_bytes) {
  const std::string raw = random_bytes(kTokenIdRandomBytes);
  if (raw.size() != kTokenIdRandomBytes) Die("NewTokenId: short random read");
  std::string id(kTokenIdPrefix);
  id += Base62Fixed(raw, kTokenIdChars);
  return id;
}

bool IsTokenId(std::string_view s) {
  return s.size() == kTokenIdPrefix.size() + kTokenIdChars && s.starts_with(kTokenIdPrefix) &&
         AllBase62(s.substr(kTokenIdPrefix.size()));
}

}  // namespace tl
