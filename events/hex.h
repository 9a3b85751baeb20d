#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

namespace tl {

// `v` in lowercase hex, zero-padded to at least `min_digits` (what printf's
// "%0*llx" writes, without printf's cost on hot paths: event ids, request ids).
inline void AppendHex(std::string& out, uint64_t v, int min_digits) {
  char digits[16];
  int n = 0;
  do {
    digits[n++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v != 0);
  out.append(static_cast<size_t>(std::max(0, min_digits - n)), '0');
  while (n > 0) out.push_back(digits[--n]);
}

}  // namespace tl
