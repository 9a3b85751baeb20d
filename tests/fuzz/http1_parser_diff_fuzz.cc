// http1_parser_diff: ParseHttp1Request (services/http/http1_parser.h) against
// Boost.Beast's request_parser, the reference. When both accept, method,
// target, version, header fields (names, values, order), body and the bytes
// consumed agree. When one accepts and the other refuses, the input must be
// one of the intended differences listed in README.md (Classify below);
// anything else aborts. Also checks ParseHttp1Request alone: consumed <= size,
// kNeedMore on every strict prefix of an accepted request, the same result
// for the request without what follows it, determinism.

#include <algorithm>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "services/http/http1_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace http = boost::beast::http;

// Small limits, so that the fuzzer reaches them (and their differences).
constexpr size_t kHeadLimit = 1024;
constexpr size_t kBodyLimit = 2048;

tl::Http1Limits Limits() {
  tl::Http1Limits limits;
  limits.max_head_bytes = kHeadLimit;
  limits.max_body_bytes = kBodyLimit;
  limits.max_headers = 64;
  return limits;
}

struct Field {
  std::string name, value;
  bool operator==(const Field&) const = default;
};

enum class Verdict { kAccept, kRefuse, kNeedMore };
const char* Name(Verdict v) {
  return v == Verdict::kAccept ? "accepts" : v == Verdict::kRefuse ? "refuses" : "needs more";
}

struct Parsed {
  Verdict verdict = Verdict::kNeedMore;
  std::string method, target, body;
  int version = 11;
  std::vector<Field> fields;
  size_t consumed = 0;
  std::string error;  // ours: the detail; Beast: the error code's message
  http::error beast_error{};
};

Parsed Ours(std::string_view input, tl::Http1Request& req) {
  Parsed out;
  tl::Http1Error error;
  const tl::Http1Status status = tl::ParseHttp1Request(input, Limits(), &req, &error);
  if (status == tl::Http1Status::kNeedMore) return out;
  if (status == tl::Http1Status::kError) {
    out.verdict = Verdict::kRefuse;
    out.error = error.detail;
    FUZZ_CHECK(error.status >= 400 && error.status < 600, "status %d", error.status);
    return out;
  }
  out.verdict = Verdict::kAccept;
  out.method = req.method;
  out.target = req.target;
  out.version = 10 + req.minor_version;
  for (const tl::Http1Header& h : req.headers)
    out.fields.push_back({std::string(h.name), std::string(h.value)});
  out.body = req.body;
  out.consumed = req.consumed;
  return out;
}

Parsed Beast(std::string_view input) {
  Parsed out;
  http::request_parser<http::string_body> parser;
  parser.eager(true);
  parser.header_limit(kHeadLimit);
  parser.body_limit(kBodyLimit);
  size_t used = 0;
  boost::system::error_code ec;
  for (int rounds = 0; !parser.is_done() && rounds < 100000; ++rounds) {
    const size_t n =
        parser.put(boost::asio::const_buffer(input.data() + used, input.size() - used), ec);
    used += n;
    // All the bytes there are were given: Beast's read loop would read more
    // before calling again.
    if (ec == http::error::need_more) return out;
    if (ec) {
      out.verdict = Verdict::kRefuse;
      out.error = ec.message();
      if (ec.category() == http::make_error_code(http::error::need_more).category()) {
        out.beast_error = static_cast<http::error>(ec.value());
      }
      return out;
    }
    if (n == 0 && !parser.is_done()) return out;
  }
  if (!parser.is_done()) return out;
  const auto& req = parser.get();
  out.verdict = Verdict::kAccept;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  out.version = static_cast<int>(req.version());
  for (const auto& f : req)
    out.fields.push_back({std::string(f.name_string()), std::string(f.value())});
  out.body = req.body();
  out.consumed = used;
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<Field> Grouped(std::vector<Field> fields) {
  std::stable_sort(fields.begin(), fields.end(),
                   [](const Field& a, const Field& b) { return Lower(a.name) < Lower(b.name); });
  return fields;
}

// --- what the input holds, for classifying a disagreement --------------------

// The head as lines: from the start to the first empty line (or the end),
// split on LF, a CR before it removed. `bare_lf`: some line ended in LF alone.
struct Head {
  std::vector<std::string_view> lines;
  bool bare_lf = false;
  bool leading_empty = false;  // empty lines before the request line
  bool complete = false;       // an empty line ended it
};

Head SplitHead(std::string_view in) {
  Head head;
  size_t pos = 0;
  bool first = true;
  while (pos < in.size()) {
    const size_t lf = in.find('\n', pos);
    if (lf == std::string_view::npos) {
      head.lines.push_back(in.substr(pos));
      return head;
    }
    std::string_view line = in.substr(pos, lf - pos);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    } else {
      head.bare_lf = true;
    }
    pos = lf + 1;
    if (line.empty()) {
      if (first) {
        head.leading_empty = true;
        continue;
      }
      head.complete = true;
      return head;
    }
    first = false;
    head.lines.push_back(line);
  }
  return head;
}

// A line folded onto the one before it (starting with SP or HTAB), in the
// head or in a chunked body's trailer section.
bool HasObsFold(const Head& head, std::string_view in) {
  for (size_t i = 1; i < head.lines.size(); ++i) {
    if (head.lines[i].front() == ' ' || head.lines[i].front() == '\t') return true;
  }
  const size_t head_end = in.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return false;
  const std::string_view rest = in.substr(head_end);
  return rest.find("\r\n ") != std::string_view::npos ||
         rest.find("\r\n\t") != std::string_view::npos;
}

// Whether some line after the head starts with hex digits and then ';'.
bool HasChunkExtension(std::string_view in) {
  const size_t head_end = in.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return false;
  size_t pos = head_end + 4;
  while (pos < in.size()) {
    size_t i = pos;
    while (i < in.size() && std::isxdigit(static_cast<unsigned char>(in[i]))) ++i;
    while (i < in.size() && (in[i] == ' ' || in[i] == '\t')) ++i;
    if (i > pos && i < in.size() && in[i] == ';') return true;
    const size_t lf = in.find('\n', pos);
    if (lf == std::string_view::npos) return false;
    pos = lf + 1;
  }
  return false;
}

// Whether a line after the head names Transfer-Encoding, Content-Length,
// Connection or Proxy-Connection.
bool HasFramingField(std::string_view in) {
  const size_t head_end = in.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return false;
  const std::string rest = Lower(in.substr(head_end));
  for (const char* name :
       {"\ntransfer-encoding:", "\ncontent-length:", "\nconnection:", "\nproxy-connection:"}) {
    if (rest.find(name) != std::string::npos) return true;
  }
  return false;
}

// The intended difference that explains `ours` and `beast` disagreeing on
// `in`, or nullptr. Each kind is a row of README.md's table: refusals of ours
// are told by their detail (each names one rule Beast does not have),
// refusals of Beast by its error and what the input holds.
const char* Classify(std::string_view in, const Parsed& ours, const Parsed& beast, bool chunked) {
  const Head head = SplitHead(in);
  // Both bound the head and the body, but count differently: ours counts the
  // head from the start of the buffer (empty lines before the request line
  // included) and a chunked body's framing against the head limit; Beast
  // counts the header alone and each chunk header on its own.
  const bool ours_limit =
      ours.verdict == Verdict::kRefuse &&
      (ours.error == "request head too large" || ours.error == "too many header fields" ||
       ours.error == "chunked framing too large" || ours.error == "request body too large");
  const bool beast_limit =
      beast.verdict == Verdict::kRefuse && (beast.beast_error == http::error::header_limit ||
                                            beast.beast_error == http::error::body_limit);
  if ((ours_limit || beast_limit) && in.size() + 64 >= kHeadLimit) return "limits";
  // Beast has no limit on the number of fields.
  if (ours.error == "too many header fields" && head.lines.size() > Limits().max_headers) {
    return "limits";
  }
  if (beast.verdict == Verdict::kAccept) {
    // Stricter here, on purpose.
    if (ours.error == "obsolete line folding" && HasObsFold(head, in)) return "obs-fold";
    static constexpr std::pair<const char*, const char*> kOursOnly[] = {
        {"invalid request target", "target form"},
        {"HTTP version not supported", "version"},
        {"missing Host header", "Host"},
        {"multiple Host headers", "Host"},
        {"invalid Host header", "Host"},
        {"both Transfer-Encoding and Content-Length", "CL+TE"},
        {"Transfer-Encoding in HTTP/1.0", "TE in 1.0"},
        {"unsupported transfer coding", "TE coding"},
        {"invalid Transfer-Encoding", "TE coding"},
    };
    // Beast takes any byte but CR and LF in a chunk extension (a quoted
    // string with controls, a '=' without a value, ...); we hold them to the
    // grammar of RFC 9112 §7.1.1.
    if (ours.error == "malformed chunked body" && HasChunkExtension(in)) return "chunk-ext";
    for (const auto& [detail, kind] : kOursOnly) {
      if (ours.error == detail) return kind;
    }
    return nullptr;
  }
  if (ours.verdict == Verdict::kAccept) {
    if (head.leading_empty) return "leading empty lines";
    if (head.bare_lf) return "bare LF";
    // Beast applies Transfer-Encoding, Content-Length and Connection in a
    // trailer section as if they were header fields; we check trailer fields'
    // syntax and ignore them (RFC 9110 §6.5: framing fields do not belong
    // there and are not merged).
    if (chunked && HasFramingField(in.substr(0, ours.consumed))) return "framing field in trailer";
  }
  return nullptr;
}

void CheckOursAlone(std::string_view in, const Parsed& ours) {
  tl::Http1Request req;
  const Parsed again = Ours(in, req);
  FUZZ_CHECK(again.verdict == ours.verdict && again.error == ours.error &&
                 again.fields == ours.fields && again.body == ours.body &&
                 again.consumed == ours.consumed,
             "not deterministic");
  if (ours.verdict != Verdict::kAccept) return;
  FUZZ_CHECK(ours.consumed > 0 && ours.consumed <= in.size(), "consumed %zu of %zu", ours.consumed,
             in.size());
  // The request alone parses the same (what follows it is the next request).
  const std::string_view alone = in.substr(0, ours.consumed);
  const Parsed cut = Ours(alone, req);
  FUZZ_CHECK(cut.verdict == Verdict::kAccept && cut.fields == ours.fields &&
                 cut.body == ours.body && cut.consumed == ours.consumed,
             "the request without the bytes after it parses differently");
  // Every strict prefix is incomplete (all of them for short requests, a
  // spread for long ones).
  const size_t step = alone.size() <= 512 ? 1 : alone.size() / 256;
  for (size_t n = 0; n < alone.size(); n += step) {
    const Parsed prefix = Ours(alone.substr(0, n), req);
    FUZZ_CHECK(prefix.verdict == Verdict::kNeedMore, "prefix of %zu bytes %s (%s) of %s", n,
               Name(prefix.verdict), prefix.error.c_str(), tl::fuzz::Printable(alone).c_str());
  }
  const Parsed last = Ours(alone.substr(0, alone.size() - 1), req);
  FUZZ_CHECK(last.verdict == Verdict::kNeedMore, "prefix of all but one byte %s",
             Name(last.verdict));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  tl::Http1Request req;
  const Parsed ours = Ours(in, req);
  const Parsed beast = Beast(in);
  CheckOursAlone(in, ours);

  if (ours.verdict == Verdict::kAccept && beast.verdict == Verdict::kAccept) {
    FUZZ_CHECK(ours.method == beast.method, "method %s vs %s", ours.method.c_str(),
               beast.method.c_str());
    FUZZ_CHECK(ours.target == beast.target, "target %s vs %s",
               tl::fuzz::Printable(ours.target).c_str(), tl::fuzz::Printable(beast.target).c_str());
    FUZZ_CHECK(ours.version == beast.version, "version %d vs %d", ours.version, beast.version);
    // Beast keeps fields of one name together (a repeated name goes after
    // the last field of that name) and adds a chunked body's trailer fields,
    // which we check and drop: compare the fields grouped by name, in order
    // within each name, ours a subsequence of Beast's (equal if not chunked).
    const std::vector<Field> ours_fields = Grouped(ours.fields);
    const std::vector<Field> beast_fields = Grouped(beast.fields);
    size_t j = 0;
    for (const Field& f : ours_fields) {
      while (j < beast_fields.size() && !(beast_fields[j] == f) && req.chunked) ++j;
      FUZZ_CHECK(j < beast_fields.size() && beast_fields[j] == f,
                 "field '%s: %s' not in Beast's fields: %s", tl::fuzz::Printable(f.name).c_str(),
                 tl::fuzz::Printable(f.value).c_str(), tl::fuzz::Printable(in).c_str());
      ++j;
    }
    FUZZ_CHECK(req.chunked || ours_fields.size() == beast_fields.size(), "%zu fields vs %zu",
               ours_fields.size(), beast_fields.size());
    FUZZ_CHECK(ours.body == beast.body, "body differs (%zu vs %zu bytes)", ours.body.size(),
               beast.body.size());
    FUZZ_CHECK(ours.consumed == beast.consumed, "consumed %zu vs %zu", ours.consumed,
               beast.consumed);
    return 0;
  }
  if (ours.verdict == beast.verdict) return 0;
  // One refusing while the other waits for more: the refusing one saw enough
  // to refuse earlier (ours checks the request line before the head ends).
  // Only accept-vs-refuse and accept-vs-wait are disagreements on framing.
  if (ours.verdict != Verdict::kAccept && beast.verdict != Verdict::kAccept) return 0;
  const char* kind = Classify(in, ours, beast, req.chunked);
  FUZZ_CHECK(kind != nullptr, "ours %s (%s), Beast %s (%s): %s", Name(ours.verdict),
             ours.error.c_str(), Name(beast.verdict), beast.error.c_str(),
             tl::fuzz::Printable(in).c_str());
  // TL_FUZZ_KINDS=1: say which difference each input showed (to see what a
  // corpus covers: fuzz_http1_parser_diff -runs=0 DIR 2>&1 | grep ^kind).
  static const bool print_kinds = std::getenv("TL_FUZZ_KINDS") != nullptr;
  if (print_kinds) {
    std::fprintf(stderr, "kind: %s (ours %s, Beast %s)\n", kind, Name(ours.verdict),
                 Name(beast.verdict));
  }
  return 0;
}
