#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "projections/token_state.h"
#include "projections/usage_series.h"

namespace tl {

// The state digest's serialization written straight into a buffer: the same
// bytes as nlohmann's dump() of the documents Projection::ToJson builds
// (compact, keys in std::map order, integers in decimal, strings escaped as
// dump() escapes them), without building those documents. The digest of a
// million tokens spent ~19 s building and dumping them.

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
  void Raw(std::string_view text);      // JSON text as is
  void String(std::string_view s);      // as a JSON string (see events/json_text.h)
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

// ToJson's "state" object of a token. Like dump(), throws Json::type_error
// for a string that is not valid UTF-8.
void WriteTokenStateJson(CanonicalJsonWriter& w, const TokenState& t);

// ToJson's "usage" object of a series whose denial codes are ids in `codes`.
void WriteUsageSeriesJson(CanonicalJsonWriter& w, const UsageSeries& s,
                          const std::vector<std::string>& codes);

// WriteTokenStateJson into a string, for tests.
std::string TokenStateJson(const TokenState& t);

}  // namespace tl
