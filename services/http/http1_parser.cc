#include "services/http/http1_parser.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>

namespace tl {
namespace {

using CharSet = std::array<bool, 256>;

constexpr CharSet MakeSet(std::string_view members, bool alnum) {
  CharSet set{};
  for (char c : members) set[static_cast<unsigned char>(c)] = true;
  if (alnum) {
    for (int c = '0'; c <= '9'; ++c) set[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) set[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) set[c] = true;
  }
  return set;
}

// RFC 9110 §5.6.2.
constexpr CharSet kTchar = MakeSet("!#$%&'*+-.^_`|~", true);
// RFC 3986 pchar (but '%', checked apart) plus '/' and '?': what an
// origin-form target may hold. Anything else ('#', '"', '{', '\\', controls,
// spaces) has no business in a request to us, and proxies disagree on it.
constexpr CharSet kTargetChar = MakeSet("-._~!$&'()*+,;=:@/?", true);
// RFC 3986 host [":" port]: reg-name, IP-literal, pct-encoded.
constexpr CharSet kHostChar = MakeSet("-._~!$&'()*+,;=:[]%", true);

bool In(const CharSet& set, char c) { return set[static_cast<unsigned char>(c)]; }

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return In(kTchar, c); });
}

// field-vchar / SP / HTAB: obs-text (0x80-0xFF) is allowed, controls and DEL
// (NUL, bare CR, ...) are not.
bool IsFieldValueChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7F);
}

bool IsOws(char c) { return c == ' ' || c == '\t'; }

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Calls f(element) for each element of a comma-separated list, OWS trimmed
// (empty elements included: callers decide whether they are allowed).
template <typename F>
void ForEachListElement(std::string_view list, F f) {
  for (;;) {
    const size_t comma = list.find(',');
    f(TrimOws(list.substr(0, comma)));
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

size_t SaturatingAdd(size_t a, size_t b) {
  return b > std::numeric_limits<size_t>::max() - a ? std::numeric_limits<size_t>::max() : a + b;
}

Http1Status Fail(Http1Error* error, int status, const char* detail) {
  error->status = status;
  error->detail = detail;
  return Http1Status::kError;
}

struct Line {
  std::string_view text;  // without the LF and a CR before it
  bool had_cr = false;    // ended in CRLF rather than a bare LF
  size_t next = 0;        // offset just past the LF
};

enum class LineStatus { kOk, kNeedMore, kTooLong };

// The line that starts at `pos`, if its LF lies before offset `window` (the
// line may not end past it).
LineStatus NextLine(std::string_view buf, size_t pos, size_t window, Line* line) {
  const size_t end = std::min(buf.size(), window);
  const void* lf = pos < end ? std::memchr(buf.data() + pos, '\n', end - pos) : nullptr;
  if (lf == nullptr) return buf.size() >= window ? LineStatus::kTooLong : LineStatus::kNeedMore;
  const size_t lf_at = static_cast<const char*>(lf) - buf.data();
  line->text = buf.substr(pos, lf_at - pos);
  line->had_cr = !line->text.empty() && line->text.back() == '\r';
  if (line->had_cr) line->text.remove_suffix(1);
  line->next = lf_at + 1;
  return LineStatus::kOk;
}

// RFC 9112 §2.2: empty lines (CRLF or LF) before the request line are ignored.
size_t SkipEmptyLines(std::string_view buf, size_t window) {
  size_t pos = 0;
  const size_t end = std::min(buf.size(), window);
  while (pos < end) {
    if (buf[pos] == '\n') {
      ++pos;
    } else if (buf[pos] == '\r' && pos + 1 < buf.size() && buf[pos + 1] == '\n') {
      pos += 2;
    } else {
      break;
    }
  }
  return pos;
}

// Whether an incomplete first line can still become a request line: refuses
// early what is plainly no HTTP/1 request (a TLS handshake, a stray byte)
// instead of waiting for max_head_bytes of it.
bool CouldBeRequestLine(std::string_view partial) {
  if (partial == "\r") return true;  // the first half of an empty line's CRLF
  size_t i = 0;
  while (i < partial.size() && In(kTchar, partial[i])) ++i;
  if (i == partial.size()) return true;
  if (partial[i] != ' ' || i == 0) return false;
  return i + 1 == partial.size() || partial[i + 1] == '/';
}

bool IsValidTarget(std::string_view target) {
  if (target.empty() || target[0] != '/') return false;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == '%') {
      if (i + 2 >= target.size() || !IsHexDigit(target[i + 1]) || !IsHexDigit(target[i + 2])) {
        return false;
      }
      i += 2;
    } else if (!In(kTargetChar, target[i])) {
      return false;
    }
  }
  return true;
}

// request-line = method SP request-target SP HTTP-version (RFC 9112 §3).
Http1Status ParseRequestLine(std::string_view line, Http1Request* out, Http1Error* error) {
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || !IsToken(line.substr(0, sp1))) {
    return Fail(error, 400, "malformed request line");
  }
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return Fail(error, 400, "malformed request line");
  out->method = line.substr(0, sp1);
  out->target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (!IsValidTarget(out->target)) return Fail(error, 400, "invalid request target");
  out->path = out->target.substr(0, out->target.find('?'));

  // HTTP-version = "HTTP/" DIGIT "." DIGIT
  const std::string_view version = line.substr(sp2 + 1);
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !is_digit(version[5]) ||
      version[6] != '.' || !is_digit(version[7])) {
    return Fail(error, 400, "malformed HTTP version");
  }
  if (version[5] != '1' || version[7] > '1') return Fail(error, 505, "HTTP version not supported");
  out->minor_version = version[7] - '0';
  return Http1Status::kComplete;
}

// field-line = field-name ":" OWS field-value OWS (RFC 9112 §5).
Http1Status ParseFieldLine(std::string_view line, Http1Header* header, Http1Error* error) {
  if (IsOws(line[0])) return Fail(error, 400, "obsolete line folding");
  const size_t colon = line.find(':');
  // A name that is no token also covers whitespace before the colon (§5.1).
  if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) {
    return Fail(error, 400, "malformed header field");
  }
  const std::string_view value = line.substr(colon + 1);
  if (!std::all_of(value.begin(), value.end(), IsFieldValueChar)) {
    return Fail(error, 400, "invalid character in header field");
  }
  header->name = line.substr(0, colon);
  header->value = TrimOws(value);
  return Http1Status::kComplete;
}

// What the head's fields say about framing and the connection.
struct Framing {
  int host_count = 0;
  bool has_content_length = false;
  std::string_view content_length;  // digits without leading zeros
  bool has_transfer_encoding = false;
  int chunked_count = 0;      // "chunked" elements across Transfer-Encoding fields
  bool other_coding = false;  // any other transfer coding
  bool close = false;
  bool keep_alive = false;
};

Http1Status ReadFraming(const std::vector<Http1Header>& headers, Framing* f, Http1Error* error) {
  bool bad = false;
  for (const Http1Header& h : headers) {
    if (EqualsIgnoreCase(h.name, "host")) {
      ++f->host_count;
      if (!std::all_of(h.value.begin(), h.value.end(), [](char c) { return In(kHostChar, c); })) {
        return Fail(error, 400, "invalid Host header");
      }
    } else if (EqualsIgnoreCase(h.name, "content-length")) {
      // Content-Length = 1*DIGIT; a list of identical values (or repeated
      // fields) is what some senders produce and is accepted (RFC 9110 §8.6).
      bool conflict = false;
      ForEachListElement(h.value, [&](std::string_view v) {
        if (v.empty() ||
            !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
          bad = true;
          return;
        }
        const size_t nonzero = v.find_first_not_of('0');
        v = nonzero == std::string_view::npos ? std::string_view("0") : v.substr(nonzero);
        if (f->has_content_length && v != f->content_length) conflict = true;
        f->has_content_length = true;
        f->content_length = v;
      });
      if (bad) return Fail(error, 400, "invalid Content-Length");
      if (conflict) return Fail(error, 400, "conflicting Content-Length");
    } else if (EqualsIgnoreCase(h.name, "transfer-encoding")) {
      f->has_transfer_encoding = true;
      ForEachListElement(h.value, [&](std::string_view v) {
        if (v.empty()) return;  // empty list elements are ignored (RFC 9110 §5.6.1)
        if (EqualsIgnoreCase(v, "chunked")) {
          ++f->chunked_count;
        } else {
          f->other_coding = true;
        }
      });
    } else if (EqualsIgnoreCase(h.name, "connection")) {
      ForEachListElement(h.value, [&](std::string_view v) {
        if (v.empty()) return;
        if (!IsToken(v)) bad = true;
        if (EqualsIgnoreCase(v, "close")) f->close = true;
        if (EqualsIgnoreCase(v, "keep-alive")) f->keep_alive = true;
      });
      if (bad) return Fail(error, 400, "invalid Connection header");
    }
  }
  return Http1Status::kComplete;
}

// quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE, starting at s[*i].
bool SkipQuotedString(std::string_view s, size_t* i) {
  auto qdtext = [](unsigned char c) {
    return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5B) ||
           (c >= 0x5D && c <= 0x7E) || c >= 0x80;
  };
  for (++*i; *i < s.size(); ++*i) {
    const auto c = static_cast<unsigned char>(s[*i]);
    if (c == '"') {
      ++*i;
      return true;
    }
    if (c == '\\') {
      if (++*i == s.size() || !IsFieldValueChar(s[*i])) return false;
    } else if (!qdtext(c)) {
      return false;
    }
  }
  return false;
}

// chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
// (RFC 9112 §7.1.1). Ignored, but checked: lenient extension parsing is a
// known way to make two parsers disagree on where a chunk ends.
bool IsValidChunkExt(std::string_view s) {
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < s.size() && IsOws(s[i])) ++i;
  };
  auto skip_token = [&] {
    const size_t start = i;
    while (i < s.size() && In(kTchar, s[i])) ++i;
    return i > start;
  };
  while (i < s.size()) {
    skip_ws();
    if (i == s.size() || s[i] != ';') return false;
    ++i;
    skip_ws();
    if (!skip_token()) return false;
    const size_t before_ws = i;
    skip_ws();
    if (i < s.size() && s[i] == '=') {
      ++i;
      skip_ws();
      if (i < s.size() && s[i] == '"') {
        if (!SkipQuotedString(s, &i)) return false;
      } else if (!skip_token()) {
        return false;
      }
    } else {
      i = before_ws;  // the whitespace must lead to another ';'
    }
  }
  return true;
}

// Walks a chunked body (RFC 9112 §7.1) that starts at `pos`. On kComplete
// sets *end past the trailer section and *decoded_size; appends the data to
// *sink when it is not null (a first pass without a sink finds out whether
// the body is complete, so partial bodies are never copied).
Http1Status ScanChunked(std::string_view buf, size_t pos, const Http1Limits& limits,
                        std::string* sink, size_t* end, size_t* decoded_size, Http1Error* error) {
  // Framing bytes (size lines, CRLFs, trailers) may add up to max_head_bytes:
  // enough for any sane sender, and a bound on the buffer a client can fill.
  size_t framing_left = limits.max_head_bytes;
  size_t decoded = 0;
  Line line;
  auto next_line = [&](Http1Status* status) {
    switch (NextLine(buf, pos, SaturatingAdd(pos, framing_left), &line)) {
      case LineStatus::kNeedMore:
        *status = Http1Status::kNeedMore;
        return false;
      case LineStatus::kTooLong:
        *status = Fail(error, 413, "chunked framing too large");
        return false;
      case LineStatus::kOk:
        break;
    }
    // Chunked framing wants CRLF: a bare LF here is what smuggling tricks use.
    if (!line.had_cr) {
      *status = Fail(error, 400, "malformed chunked body");
      return false;
    }
    framing_left -= line.next - pos;
    pos = line.next;
    return true;
  };

  Http1Status status;
  for (;;) {
    if (!next_line(&status)) return status;
    // chunk-size = 1*HEXDIG, then extensions.
    size_t digits = 0, size = 0;
    const size_t remaining = limits.max_body_bytes - decoded;
    while (digits < line.text.size() && IsHexDigit(line.text[digits])) {
      if (size > (std::numeric_limits<size_t>::max() - 15) / 16) {
        return Fail(error, 413, "request body too large");
      }
      size = size * 16 + HexValue(line.text[digits++]);
      if (size > remaining) return Fail(error, 413, "request body too large");
    }
    if (digits == 0 || !IsValidChunkExt(line.text.substr(digits))) {
      return Fail(error, 400, "malformed chunked body");
    }
    if (size == 0) break;  // last-chunk

    // chunk-data CRLF; a wrong byte where the CRLF belongs fails at once.
    // (Written as differences: size may be close to SIZE_MAX.)
    const size_t have = buf.size() - pos;
    if (have <= size) return Http1Status::kNeedMore;
    if (buf[pos + size] != '\r') return Fail(error, 400, "malformed chunked body");
    if (have - size == 1) return Http1Status::kNeedMore;
    if (buf[pos + size + 1] != '\n') return Fail(error, 400, "malformed chunked body");
    if (framing_left < 2) return Fail(error, 413, "chunked framing too large");
    framing_left -= 2;
    if (sink != nullptr) sink->append(buf.data() + pos, size);
    decoded += size;
    pos += size + 2;
  }

  // trailer-section = *( field-line CRLF ), then CRLF. Fields are checked
  // like header fields and then ignored.
  for (;;) {
    if (!next_line(&status)) return status;
    if (line.text.empty()) break;
    Http1Header trailer;
    if (ParseFieldLine(line.text, &trailer, error) != Http1Status::kComplete) {
      return Http1Status::kError;
    }
  }
  *end = pos;
  *decoded_size = decoded;
  return Http1Status::kComplete;
}

bool ParseDecimal(std::string_view digits, size_t* value) {
  size_t v = 0;
  for (char c : digits) {
    const size_t d = static_cast<size_t>(c - '0');
    if (v > (std::numeric_limits<size_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  *value = v;
  return true;
}

}  // namespace

std::string_view Http1Request::Header(std::string_view name) const {
  for (const Http1Header& h : headers) {
    if (EqualsIgnoreCase(h.name, name)) return h.value;
  }
  return {};
}

namespace {

// The head (request line, fields, the blank line) and what its fields say
// about framing. On kComplete, *head_end is the offset just past the head.
Http1Status ParseHead(std::string_view buf, const Http1Limits& limits, Http1Request* out,
                      Http1Error* error, Framing* framing, size_t* head_end_out) {
  out->method = out->target = out->path = out->body = {};
  out->minor_version = 1;
  out->headers.clear();
  out->decoded_body.clear();
  out->keep_alive = true;
  out->consumed = 0;
  out->chunked = false;

  // --- head ------------------------------------------------------------------
  const size_t window = limits.max_head_bytes;
  size_t pos = SkipEmptyLines(buf, window);
  Line line;
  switch (NextLine(buf, pos, window, &line)) {
    case LineStatus::kNeedMore:
      if (!CouldBeRequestLine(buf.substr(pos))) return Fail(error, 400, "malformed request line");
      return Http1Status::kNeedMore;
    case LineStatus::kTooLong:
      return Fail(error, 431, "request head too large");
    case LineStatus::kOk:
      break;
  }
  if (ParseRequestLine(line.text, out, error) != Http1Status::kComplete) {
    return Http1Status::kError;
  }
  pos = line.next;
  for (;;) {
    switch (NextLine(buf, pos, window, &line)) {
      case LineStatus::kNeedMore:
        return Http1Status::kNeedMore;
      case LineStatus::kTooLong:
        return Fail(error, 431, "request head too large");
      case LineStatus::kOk:
        break;
    }
    pos = line.next;
    if (line.text.empty()) break;
    if (out->headers.size() >= limits.max_headers) {
      return Fail(error, 431, "too many header fields");
    }
    Http1Header header;
    if (ParseFieldLine(line.text, &header, error) != Http1Status::kComplete) {
      return Http1Status::kError;
    }
    out->headers.push_back(header);
  }
  const size_t head_end = pos;

  // --- what the fields say -----------------------------------------------------
  Framing f;
  if (ReadFraming(out->headers, &f, error) != Http1Status::kComplete) return Http1Status::kError;
  if (f.host_count > 1) return Fail(error, 400, "multiple Host headers");
  if (f.host_count == 0 && out->minor_version == 1) return Fail(error, 400, "missing Host header");
  if (f.has_transfer_encoding) {
    // Both framings at once is the classic smuggling request (RFC 9112 §6.3).
    if (f.has_content_length) {
      return Fail(error, 400, "both Transfer-Encoding and Content-Length");
    }
    if (out->minor_version == 0) return Fail(error, 400, "Transfer-Encoding in HTTP/1.0");
    if (f.other_coding) return Fail(error, 501, "unsupported transfer coding");
    // "chunked" more than once, or an empty field.
    if (f.chunked_count != 1) return Fail(error, 400, "invalid Transfer-Encoding");
  }
  out->keep_alive = out->minor_version == 1 ? !f.close : f.keep_alive && !f.close;
  size_t length = 0;
  if (!f.has_transfer_encoding && f.has_content_length &&
      (!ParseDecimal(f.content_length, &length) || length > limits.max_body_bytes)) {
    return Fail(error, 413, "request body too large");
  }
  *framing = f;
  *head_end_out = head_end;
  return Http1Status::kComplete;
}

}  // namespace

Http1Status ParseHttp1Head(std::string_view buf, const Http1Limits& limits, Http1Request* out,
                           Http1Error* error) {
  Framing f;
  size_t head_end = 0;
  const Http1Status st = ParseHead(buf, limits, out, error, &f, &head_end);
  if (st != Http1Status::kComplete) return st;
  out->chunked = f.has_transfer_encoding;
  out->consumed = head_end;
  return Http1Status::kComplete;
}

Http1Status ParseHttp1Request(std::string_view buf, const Http1Limits& limits, Http1Request* out,
                              Http1Error* error) {
  Framing f;
  size_t head_end = 0;
  const Http1Status head = ParseHead(buf, limits, out, error, &f, &head_end);
  if (head != Http1Status::kComplete) return head;

  // --- body ----------------------------------------------------------------------
  if (f.has_transfer_encoding) {
    size_t end = 0, decoded_size = 0;
    const Http1Status scanned =
        ScanChunked(buf, head_end, limits, nullptr, &end, &decoded_size, error);
    if (scanned != Http1Status::kComplete) return scanned;
    out->decoded_body.reserve(decoded_size);
    if (ScanChunked(buf, head_end, limits, &out->decoded_body, &end, &decoded_size, error) !=
        Http1Status::kComplete) {
      return Fail(error, 500, "internal parser error");  // the same bytes parsed once already
    }
    out->chunked = true;
    out->body = out->decoded_body;
    out->consumed = end;
    return Http1Status::kComplete;
  }
  size_t length = 0;
  if (f.has_content_length) ParseDecimal(f.content_length, &length);  // checked by ParseHead
  // Neither header: no body, whatever the method (RFC 9112 §6.3).
  if (buf.size() - head_end < length) return Http1Status::kNeedMore;
  out->body = buf.substr(head_end, length);
  out->consumed = head_end + length;
  return Http1Status::kComplete;
}

}  // namespace tl
