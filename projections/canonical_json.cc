#include "projections/canonical_json.h"

#include <algorithm>
#include <charconv>

#include "events/json_text.h"

namespace tl {
namespace {

constexpr size_t kMaxDecimal = 20;  // digits of UINT64_MAX, or '-' and those of INT64_MIN

}  // namespace

CanonicalJsonWriter::CanonicalJsonWriter(size_t capacity, FlushFn flush, void* context)
    : buffer_(new char[capacity]),
      cursor_(buffer_.get()),
      end_(buffer_.get() + capacity),
      flush_(flush),
      context_(context) {}

void CanonicalJsonWriter::Flush() {
  if (cursor_ == buffer_.get()) return;
  flush_(context_, std::string_view(buffer_.get(), static_cast<size_t>(cursor_ - buffer_.get())));
  cursor_ = buffer_.get();
}

void CanonicalJsonWriter::Raw(std::string_view text) {
  Room(text.size());
  if (static_cast<size_t>(end_ - cursor_) < text.size()) {  // larger than the buffer
    flush_(context_, text);
    return;
  }
  std::memcpy(cursor_, text.data(), text.size());
  cursor_ += text.size();
}

void CanonicalJsonWriter::String(std::string_view s) {
  if (!IsPlainJsonText(s)) {
    std::string escaped;
    AppendJsonString(escaped, s);
    Raw(escaped);
    return;
  }
  Room(s.size() + 2);
  if (static_cast<size_t>(end_ - cursor_) < s.size() + 2) {
    Literal("\"");
    Raw(s);
    Literal("\"");
    return;
  }
  *cursor_++ = '"';
  std::memcpy(cursor_, s.data(), s.size());
  cursor_ += s.size();
  *cursor_++ = '"';
}

void CanonicalJsonWriter::HexString(const unsigned char* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  Room(2 * n + 2);
  *cursor_++ = '"';
  for (size_t i = 0; i < n; ++i) {
    *cursor_++ = kDigits[bytes[i] >> 4];
    *cursor_++ = kDigits[bytes[i] & 15];
  }
  *cursor_++ = '"';
}

void CanonicalJsonWriter::Int(int64_t v) {
  Room(kMaxDecimal);
  cursor_ = std::to_chars(cursor_, end_, v).ptr;
}

void CanonicalJsonWriter::Uint(uint64_t v) {
  Room(kMaxDecimal);
  cursor_ = std::to_chars(cursor_, end_, v).ptr;
}

}  // namespace tl
