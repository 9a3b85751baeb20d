#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tl {

// Reads JSON text in the compact form nlohmann's dump() and
// CanonicalJsonWriter write (no whitespace; integers in plain decimal) a piece
// at a time, for readers that know the layout they expect and would rather not
// build a document. Text from other writers may have whitespace between
// pieces: their readers call SkipWhitespace wherever JSON allows it. Every
// other method either consumes one well-formed piece and returns true, or
// returns false; after a false the position is unspecified and the caller
// gives up. Nothing is ever read past the end of the text.
// REQUIRES: the text outlives the reader.
class CompactJsonReader {
 public:
  explicit CompactJsonReader(std::string_view text) : text_(text) {}

  size_t offset() const { return i_; }
  bool AtEnd() const { return i_ == text_.size(); }
  char Peek() const { return i_ < text_.size() ? text_[i_] : '\0'; }

  // Exactly these bytes (punctuation, a key with its quotes and colon, ...).
  bool Eat(char c) {
    if (Peek() != c) return false;
    ++i_;
    return true;
  }
  bool Eat(std::string_view literal) {
    if (text_.compare(i_, literal.size(), literal) != 0) return false;
    i_ += literal.size();
    return true;
  }

  // JSON's insignificant whitespace (space, tab, LF, CR), possibly none.
  void SkipWhitespace() {
    while (i_ < text_.size() &&
           (text_[i_] == ' ' || text_[i_] == '\t' || text_[i_] == '\n' || text_[i_] == '\r')) {
      ++i_;
    }
  }

  bool Null() { return Eat(std::string_view("null")); }
  bool Bool(bool& v);

  // An integer as std::to_chars writes it: an optional '-' (not before a lone
  // 0), no leading zeros, no fraction or exponent, in the type's range.
  bool Int(int64_t& v);
  bool Uint(uint64_t& v);

  // A string, its escapes decoded (any JSON escape, \u surrogate pairs
  // included) into `out`. Unescaped bytes must be well-formed UTF-8 without
  // control characters, as nlohmann's lexer requires.
  bool String(std::string& out);

  // Steps over one object or array without interpreting it and views its
  // text: brackets are balanced and strings well formed, anything else is
  // left to whoever parses `text` (e.g. nlohmann, for an arbitrary value).
  bool SkipComposite(std::string_view& text);

 private:
  // A run of digits (no leading zero, not followed by '.', 'e' or 'E') that
  // fits 64 bits.
  bool Digits(uint64_t& v);
  // Four hex digits of a \u escape.
  bool Hex4(uint32_t& v);

  std::string_view text_;
  size_t i_ = 0;
};

}  // namespace tl
