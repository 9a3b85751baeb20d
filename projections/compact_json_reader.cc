#include "projections/compact_json_reader.h"

#include <cstdint>

#include "events/json_text.h"

namespace tl {

bool CompactJsonReader::Bool(bool& v) {
  if (Eat(std::string_view("true"))) {
    v = true;
    return true;
  }
  if (Eat(std::string_view("false"))) {
    v = false;
    return true;
  }
  return false;
}

bool CompactJsonReader::Digits(uint64_t& v) {
  const size_t start = i_;
  uint64_t x = 0;
  while (i_ < text_.size() && text_[i_] >= '0' && text_[i_] <= '9') {
    const auto digit = static_cast<uint64_t>(text_[i_] - '0');
    if (__builtin_mul_overflow(x, 10, &x) || __builtin_add_overflow(x, digit, &x)) return false;
    ++i_;
  }
  const size_t n = i_ - start;
  if (n == 0 || (n > 1 && text_[start] == '0')) return false;
  const char next = Peek();
  if (next == '.' || next == 'e' || next == 'E') return false;
  v = x;
  return true;
}

bool CompactJsonReader::Uint(uint64_t& v) { return Digits(v); }

bool CompactJsonReader::Int(int64_t& v) {
  const bool negative = Eat('-');
  uint64_t magnitude;
  if (!Digits(magnitude)) return false;
  if (negative) {
    if (magnitude == 0 || magnitude > uint64_t{1} << 63) return false;  // "-0" or too small
    v = static_cast<int64_t>(0 - magnitude);  // two's complement, INT64_MIN included
  } else {
    if (magnitude > static_cast<uint64_t>(INT64_MAX)) return false;
    v = static_cast<int64_t>(magnitude);
  }
  return true;
}

bool CompactJsonReader::Hex4(uint32_t& v) {
  if (text_.size() - i_ < 4) return false;
  v = 0;
  for (int k = 0; k < 4; ++k) {
    const char c = text_[i_++];
    uint32_t d;
    if (c >= '0' && c <= '9') {
      d = static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return false;
    }
    v = v << 4 | d;
  }
  return true;
}

namespace {

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | cp >> 6);
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | cp >> 12);
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | cp >> 18);
    out += static_cast<char>(0x80 | (cp >> 12 & 0x3f));
    out += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

}  // namespace

bool CompactJsonReader::String(std::string& out) {
  out.clear();
  if (!Eat('"')) return false;
  const auto* base = reinterpret_cast<const unsigned char*>(text_.data());
  const unsigned char* end = base + text_.size();
  for (bool first_run = true;; first_run = false) {
    // A run of bytes that stand for themselves.
    const unsigned char* p = base + i_;
    const unsigned char* run = p;
    while (p < end) {
      const unsigned char c = *p;
      if (c < 0x80) {
        if (c < 0x20 || c == '"' || c == '\\') break;
        ++p;
      } else {
        const size_t n = Utf8SequenceLength(p, end);
        if (n == 0) return false;
        p += n;
      }
    }
    i_ = static_cast<size_t>(p - base);
    if (p == end || *p < 0x20) return false;  // cut off, or a raw control character
    const auto* text = reinterpret_cast<const char*>(run);
    const auto n = static_cast<size_t>(p - run);
    ++i_;
    if (*p == '"' && first_run && out.capacity() < n) {
      // The whole string, into a block of its size: appending to a string
      // with too little room doubles it (a 16-29 byte text gets 30), which
      // over a million tokens' names is megabytes of slack.
      out = std::string(text, n);
      return true;
    }
    out.append(text, n);
    if (*p == '"') return true;
    // An escape.
    if (i_ == text_.size()) return false;
    switch (text_[i_++]) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp;
        if (!Hex4(cp)) return false;
        if (cp >= 0xdc00 && cp <= 0xdfff) return false;  // a low surrogate alone
        if (cp >= 0xd800 && cp <= 0xdbff) {              // must be followed by a low one
          uint32_t low;
          if (!Eat(std::string_view("\\u")) || !Hex4(low) || low < 0xdc00 || low > 0xdfff) {
            return false;
          }
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        }
        AppendUtf8(out, cp);
        break;
      }
      default:
        return false;
    }
  }
}

bool CompactJsonReader::SkipComposite(std::string_view& text) {
  const size_t start = i_;
  if (Peek() != '{' && Peek() != '[') return false;
  std::string scratch;
  size_t depth = 0;
  while (i_ < text_.size()) {
    const char c = text_[i_];
    if (c == '"') {
      if (!String(scratch)) return false;
      continue;
    }
    ++i_;
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) {
        text = text_.substr(start, i_ - start);
        return true;
      }
    }
  }
  return false;
}

}  // namespace tl
