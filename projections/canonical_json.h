#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tl {

// JSON text written straight into a buffer: the same bytes as nlohmann's
// dump() (compact, integers in decimal, strings escaped as dump() escapes
// them) without building a document. The token lines of the state digest and
// of snapshot files are written with it (token_line.h): the digest of a
// million tokens spent ~19 s building and dumping their documents.

// A fixed buffer of JSON text that hands its bytes to `flush` whenever the
// next piece might not fit, and on Flush(). Pieces are copied through a raw
// cursor: appending to a std::string (a call and a capacity check each time,
// ~70 times a token) was a large part of the digest.
// REQUIRES: capacity >= 128 (room for any literal, number or digest); `context`
// outlives the writer.
class CanonicalJsonWriter {
 public:
  using FlushFn = void (*)(void* context, std::string_view bytes);
  CanonicalJsonWriter(size_t capacity, FlushFn flush, void* context);
  CanonicalJsonWriter(const CanonicalJsonWriter&) = delete;
  CanonicalJsonWriter& operator=(const CanonicalJsonWriter&) = delete;

  template <size_t N>
  void Literal(const char (&text)[N]) {  // JSON text as is
    Room(N - 1);
    std::memcpy(cursor_, text, N - 1);
    cursor_ += N - 1;
  }
  void Raw(std::string_view text);  // JSON text as is
  void String(std::string_view s);  // as a JSON string (see events/json_text.h)
  // `n` bytes in lowercase hex, as a JSON string. REQUIRES: n <= 63.
  void HexString(const unsigned char* bytes, size_t n);
  void Int(int64_t v);
  void Uint(uint64_t v);
  // Hands over what is buffered.
  void Flush();

 private:
  void Room(size_t n) {
    if (static_cast<size_t>(end_ - cursor_) < n) Flush();
  }

  std::unique_ptr<char[]> buffer_;
  char* cursor_;
  char* end_;
  FlushFn flush_;
  void* context_;
};

}  // namespace tl
