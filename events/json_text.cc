#include "events/json_text.h"

#include <charconv>

#include "events/event.h"

namespace tl {

bool IsPlainJsonText(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char* end = p + s.size();
  auto continuation = [&](unsigned char lo, unsigned char hi) {
    if (p == end || *p < lo || *p > hi) return false;
    ++p;
    return true;
  };
  while (p < end) {
    const unsigned char c = *p++;
    if (c < 0x80) {
      if (c < 0x20 || c == '"' || c == '\\') return false;
      continue;
    }
    // Well-formed UTF-8 (Unicode table 3-7): no overlong forms, surrogates or
    // code points past U+10FFFF, which dump() refuses. Whatever this rejects
    // goes through dump() itself.
    bool ok;
    if (c >= 0xc2 && c <= 0xdf) {
      ok = continuation(0x80, 0xbf);
    } else if (c == 0xe0) {
      ok = continuation(0xa0, 0xbf) && continuation(0x80, 0xbf);
    } else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
      ok = continuation(0x80, 0xbf) && continuation(0x80, 0xbf);
    } else if (c == 0xed) {
      ok = continuation(0x80, 0x9f) && continuation(0x80, 0xbf);
    } else if (c == 0xf0) {
      ok = continuation(0x90, 0xbf) && continuation(0x80, 0xbf) && continuation(0x80, 0xbf);
    } else if (c >= 0xf1 && c <= 0xf3) {
      ok = continuation(0x80, 0xbf) && continuation(0x80, 0xbf) && continuation(0x80, 0xbf);
    } else if (c == 0xf4) {
      ok = continuation(0x80, 0x8f) && continuation(0x80, 0xbf) && continuation(0x80, 0xbf);
    } else {
      ok = false;
    }
    if (!ok) return false;
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

}  // namespace tl
