#pragma once

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

// `n` bytes from the operating system's CSPRNG (OpenSSL RAND_bytes).
// Aborts if the generator fails: no token may be made from weak randomness.
std::string RandomBytes(size_t n);
// Lowercase hex of arbitrary bytes.
std::string ToHex(std::string_view bytes);

}  // namespace tl
