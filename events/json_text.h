#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tl {

// Pieces of JSON text written straight into a buffer, byte for byte as
// nlohmann's dump() writes the same values: for canonical forms (event
// envelopes, the state digest) that must not drift from the reference bytes
// but need not build a Json to get them.

// `s` as a JSON string. Plain text (the usual case) is copied; anything else
// goes through the library itself, so like dump() it throws Json::type_error
// for text that is not valid UTF-8.
void AppendJsonString(std::string& out, std::string_view s);
// Whether dump() writes `s` as itself in quotes: valid UTF-8 without control
// characters, '"' or '\\' (dump() escapes only those and passes other
// UTF-8 through).
bool IsPlainJsonText(std::string_view s);

// The length of the well-formed multi-byte UTF-8 sequence at `p` (Unicode
// table 3-7: no overlong forms, surrogates or code points past U+10FFFF, which
// nlohmann's lexer and dump() refuse), or 0 when there is none.
// REQUIRES: p < end and *p >= 0x80.
inline size_t Utf8SequenceLength(const unsigned char* p, const unsigned char* end) {
  auto cont = [&](size_t k, unsigned char lo = 0x80, unsigned char hi = 0xbf) {
    return static_cast<size_t>(end - p) > k && p[k] >= lo && p[k] <= hi;
  };
  const unsigned char c = *p;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c == 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c == 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

// How deep JSON text nests arrays and objects: every document read from
// outside the process is checked against a bound before it is parsed, so that
// nothing downstream (serialising, copying, comparing) recurses without bound.
constexpr size_t kMaxJsonDepth = 64;
// Whether `text` never opens more than `max_depth` arrays and objects inside
// one another (brackets inside strings do not count). O(size), no allocation,
// no recursion; says nothing of whether the text is otherwise valid JSON.
bool JsonDepthWithin(std::string_view text, size_t max_depth = kMaxJsonDepth);

// An integer in decimal.
void AppendJsonUint(std::string& out, uint64_t v);
void AppendJsonInt(std::string& out, int64_t v);

}  // namespace tl
