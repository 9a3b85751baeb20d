#include "events/json_text.h"

#include <charconv>
#include <cstdint>
#include <cstring>

#include "events/event.h"

namespace tl {

namespace {

// Whether none of the 8 bytes in `w` is a control character, '"', '\\' or
// past ASCII: the usual case, decided for 8 bytes at once (ids, hashes and
// token ids go through here on every append). Exact: a byte b has its
// marker bit set iff b < 0x20, b == '"', b == '\\' or b >= 0x80.
bool EightPlainAsciiBytes(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  auto zero_byte = [](uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  // (w & 0x7f..) + (0x80 - 0x20) sets bit 7 of each byte that is >= 0x20
  // (without carries between bytes): its complement marks bytes < 0x20.
  const uint64_t below_space = ~((w & ~kHigh) + (kOnes * (0x80 - 0x20))) & kHigh;
  const uint64_t marked =
      below_space | zero_byte(w ^ (kOnes * '"')) | zero_byte(w ^ (kOnes * '\\')) | (w & kHigh);
  return marked == 0;
}

}  // namespace

bool IsPlainJsonText(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char* end = p + s.size();
  while (end - p >= 8) {
    uint64_t w;
    std::memcpy(&w, p, sizeof w);
    if (!EightPlainAsciiBytes(w)) break;  // the byte-wise loop below decides
    p += 8;
  }
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      if (c < 0x20 || c == '"' || c == '\\') return false;
      ++p;
      continue;
    }
    // What this rejects goes through dump() itself.
    const size_t n = Utf8SequenceLength(p, end);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

void AppendJsonString(std::string& out, std::string_view s) {
  if (!IsPlainJsonText(s)) {
    out += Json(std::string(s)).dump();
    return;
  }
  out += '"';
  out += s;
  out += '"';
}

void AppendJsonUint(std::string& out, uint64_t v) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

void AppendJsonInt(std::string& out, int64_t v) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

bool JsonDepthWithin(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

}  // namespace tl
