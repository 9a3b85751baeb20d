#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tl {

// SHA-256 of `data`, as 64 lowercase hex characters.
std::string Sha256Hex(std::string_view data);
// SHA-256 of `a` followed by `b`, as hex (no concatenated copy is made).
std::string Sha256Hex(std::string_view a, std::string_view b);
// `n` bytes from the operating system's CSPRNG (OpenSSL RAND_bytes).
// Aborts if the generator fails: no token may be made from weak randomness.
std::string RandomBytes(size_t n);
// Lowercase hex of arbitrary bytes.
std::string ToHex(std::string_view bytes);

}  // namespace tl
