#pragma once

// A strict, incremental HTTP/1.1 request parser (RFC 9112) for the data-plane
// server. Pure: no I/O, no state between calls, no allocation beyond the
// headers vector (and decoded_body for a chunked body). It faces untrusted
// clients, so it refuses what RFC 9112 lets a server refuse instead of
// guessing, in particular everything that lets two parsers disagree on where
// a request ends (request smuggling).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tl {

struct Http1Limits {
  // Request line + header lines + the blank line, counted from the start of
  // the buffer (so empty lines skipped before the request line count too).
  size_t max_head_bytes = 8 * 1024;
  // Of the body as delivered (after chunked decoding). A chunked body's
  // framing (size lines, extensions, CRLFs, trailer fields) may add at most
  // max_head_bytes more, so a whole request never exceeds
  // 2 * max_head_bytes + max_body_bytes bytes of the buffer.
  size_t max_body_bytes = 64 * 1024;
  size_t max_headers = 64;
};

struct Http1Header {
  std::string_view name, value;  // value without surrounding OWS
};

struct Http1Request {
  std::string_view method;  // "POST"
  std::string_view target;  // "/v1/verify?x=1" as sent
  std::string_view path;    // target up to '?'
  int minor_version = 1;    // HTTP/1.<minor>: 0 or 1
  std::vector<Http1Header> headers;
  // Points into the parsed buffer, or into decoded_body for chunked: do not
  // copy or move the request while using it (a short decoded_body lives
  // inside the string object).
  std::string_view body;
  std::string decoded_body;  // used only for Transfer-Encoding: chunked
  // After this request: 1.1 unless "Connection: close"; 1.0 only with
  // "Connection: keep-alive" (and without "close").
  bool keep_alive = true;
  size_t consumed = 0;   // bytes of the buffer this request occupied (head + body framing)
  bool chunked = false;  // the body came with Transfer-Encoding: chunked

  // The first header with this name, case-insensitively; empty view if none.
  std::string_view Header(std::string_view name) const;
};

enum class Http1Status { kNeedMore, kComplete, kError };

// The status to answer with, then close. `detail` is a short client-facing
// phrase; it never quotes anything the client sent (header values may hold
// secrets such as Authorization).
struct Http1Error {
  int status = 400;
  std::string detail;
};

// Parses the request at the start of `buf` into *out (reusing its vector's
// capacity).
// kNeedMore: buf holds only part of a request (nothing in *out is meaningful).
//   Call again with the same bytes plus what arrived since. A call costs
//   O(head + number of chunks), not O(body), so re-parsing on every read is
//   cheap; an obviously bad start (e.g. a TLS handshake) fails before the head
//   is complete.
// kComplete: *out is set; views point into `buf` (or out->decoded_body); the
//   caller keeps buf alive and unchanged while it uses them, and drops
//   out->consumed bytes after. Bytes past `consumed` are the next
//   (pipelined) request.
// kError: *error says what to answer; the connection must be closed after
//   answering (the parser does not know where the bad request ends).
// REQUIRES: out and error are not null.
Http1Status ParseHttp1Request(std::string_view buf, const Http1Limits& limits, Http1Request* out,
                              Http1Error* error);

// Parses only the head of the request at the start of `buf`: what a server
// needs to refuse a request (authentication, content coding, size) before it
// waits for the body. kComplete: method, target, path, minor_version,
// headers, keep_alive and chunked are set, body is empty and `consumed` is
// the length of the head; the framing headers were checked as
// ParseHttp1Request checks them (so a declared Content-Length over
// max_body_bytes is already a 413 here). kNeedMore and kError as
// ParseHttp1Request.
Http1Status ParseHttp1Head(std::string_view buf, const Http1Limits& limits, Http1Request* out,
                           Http1Error* error);

}  // namespace tl
