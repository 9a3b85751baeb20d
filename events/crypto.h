#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tl {

// SHA-256 of `data`, as 64 lowercase hex characters.
std::string Sha256Hex(std::string_view data);
// SHA-256 of `a` followed by `b`, as hex (no concatenated copy is made).
std::string Sha256Hex(std::string_view a, std::string_view b);
// SHA-256 of bytes handed over in pieces, so a large text needs no buffer of
// its own. Aborts if OpenSSL fails, as Sha256Hex does. Not thread-safe.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view bytes);
  // The digest of everything updated so far, as hex. REQUIRES: called once.
  std::string HexDigest();

 private:
  struct Context;
  std::unique_ptr<Context> ctx_;
};

// HMAC-SHA256 of `data` under `key`, as 64 lowercase hex characters.
std::string HmacSha256Hex(std::string_view key, std::string_view data);
// Whether two strings are equal, in a time that does not depend on where
// they differ (for comparing MACs and digests an attacker chose).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// `n` bytes from the operating system's CSPRNG (OpenSSL RAND_bytes).
// Aborts if the generator fails: no token may be made from weak randomness.
std::string RandomBytes(size_t n);
// Lowercase hex of arbitrary bytes.
std::string ToHex(std::string_view bytes);

namespace hex_detail {
// Lower-case hex digit -> value, anything else -> 0x10. A table rather than
// range tests: hash digits are random, so the branches mispredicted half the
// time (PutHash in events/log_format.cc was ~5% of log_append_bench's
// samples).
inline constexpr std::array<uint8_t, 256> kLowerHexValue = [] {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) v = 0x10;
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<uint8_t>(c - 'a' + 10);
  return t;
}();
}  // namespace hex_detail

// The inverse of ToHex for lowercase hex only: writes hex.size() / 2 bytes
// to `out` and returns true when `hex` is of even length and every character
// is one of 0-9a-f; else false (`out` then holds garbage).
inline bool FromLowerHex(std::string_view hex, unsigned char* out) {
  if (hex.size() % 2 != 0) return false;
  unsigned bad = 0;
  for (size_t i = 0; i < hex.size() / 2; ++i) {
    const unsigned hi = hex_detail::kLowerHexValue[static_cast<uint8_t>(hex[2 * i])];
    const unsigned lo = hex_detail::kLowerHexValue[static_cast<uint8_t>(hex[2 * i + 1])];
    bad |= hi | lo;
    out[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return (bad & 0x10) == 0;
}

}  // namespace tl
