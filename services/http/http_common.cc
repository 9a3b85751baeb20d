#include "services/http/http_common.h"

#include <strings.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <vector>

#include "events/crypto.h"
#include "events/hex.h"
#include "events/json_text.h"
#include "events/time_format.h"
#include "services/domain/secret.h"
#include "services/http/verify_body.h"

namespace tl {
namespace {

struct ProblemKind {
  int status;
  const char* slug;
  const char* title;
};

ProblemKind KindOf(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return {400, "invalid-request", "Invalid request"};
    case ErrorCode::kUnauthenticated:
      return {401, "unauthenticated", "Authentication required"};
    case ErrorCode::kForbidden:
      return {403, "forbidden", "Forbidden"};
    case ErrorCode::kNotFound:
      return {404, "not-found", "Not found"};
    case ErrorCode::kConflict:
      return {409, "conflict", "Conflict"};
    case ErrorCode::kPreconditionFailed:
      return {412, "precondition-failed", "Precondition failed"};
    case ErrorCode::kUnavailable:
      return {503, "unavailable", "Service unavailable"};
    case ErrorCode::kStorageUnavailable:
      return {503, "storage-unavailable", "Storage unavailable"};
    case ErrorCode::kCorruption:
    case ErrorCode::kIo:
      return {500, "internal", "Internal error"};
  }
  return {500, "internal", "Internal error"};
}

// `s` as a JSON string, exactly as Json(s).dump(-1, ' ', false, replace)
// writes it; printable ASCII (the usual case) without building a Json. Log
// lines take any bytes a client sent: invalid UTF-8 is replaced, not thrown.
void AppendLogString(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
      out += Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
      return;
    }
  }
  out += '"';
  out += s;
  out += '"';
}

// A double as Json's dump writes it (shortest round trip, always a fraction or exponent).
void AppendJsonNumber(std::string& out, double x) {
  if (!std::isfinite(x)) {
    out += "null";
    return;
  }
  char buf[64];
  char* end = nlohmann::detail::to_chars(buf, buf + sizeof buf, x);
  out.append(buf, end);
}

Error BadBody(std::string_view name, std::string_view why) {
  return MakeError(ErrorCode::kInvalidArgument, std::string(name) + " " + std::string(why),
                   std::string(name));
}

}  // namespace

Problem MakeProblem(int status, std::string_view slug, std::string_view title,
                    std::string_view detail, std::string_view field) {
  Json body{{"type", "urn:tokenledger:problem:" + std::string(slug)},
            {"title", title},
            {"status", status},
            {"detail", RedactSecrets(detail)}};
  if (!field.empty()) body["field"] = RedactSecrets(field);
  return Problem{status, body.dump()};
}

Problem ProblemFor(const Error& e) {
  ProblemKind k = KindOf(e.code);
  if (k.status == 500) {
    return MakeProblem(k.status, k.slug, k.title, "the server could not complete the request",
                       e.field);
  }
  const std::string_view slug = e.type.empty() ? std::string_view(k.slug) : e.type;
  return MakeProblem(k.status, slug, k.title, e.message, e.field);
}

Result<Json> ParseJsonBody(std::string_view body) {
  if (body.empty()) return Json(nullptr);
  // nlohmann's lexer takes a NUL for the end of the input, so `{}\0junk`
  // would pass; JSON text never holds a raw NUL.
  if (body.find('\0') != std::string_view::npos) return BadBody("body", "is not valid JSON");
  if (!JsonDepthWithin(body)) {
    return BadBody("body", "nests arrays and objects more than " + std::to_string(kMaxJsonDepth) +
                               " levels deep");
  }
  thread_local std::vector<std::vector<std::string>> keys;  // of each open object
  size_t depth = 0;
  std::optional<std::string> repeated;
  auto check_keys = [&](int, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        if (keys.size() <= depth) keys.emplace_back();
        keys[depth++].clear();
        break;
      case Json::parse_event_t::object_end:
        --depth;
        break;
      case Json::parse_event_t::key: {
        std::vector<std::string>& seen = keys[depth - 1];
        const std::string& key = parsed.get_ref<const std::string&>();
        if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
          if (!repeated) repeated = key;
        } else {
          seen.push_back(key);
        }
        break;
      }
      default:
        break;
    }
    return true;
  };
  Json j = Json::parse(body, check_keys, /*allow_exceptions=*/false);
  if (j.is_discarded()) return BadBody("body", "is not valid JSON");
  if (repeated) {
    if (!IsSafeToEcho(*repeated)) return BadBody("body", "repeats a key in one object");
    return BadBody(*repeated, "appears twice in one object");
  }
  return j;
}

VerifyBody ReadVerifyRequest(std::string_view body) {
  if (std::optional<VerifyCommand> cmd = ReadVerifyBody(body)) return {Ok{}, std::move(*cmd)};
  Result<Json> json = ParseJsonBody(body);
  if (!json.ok()) return {json.error(), json.error()};
  return {Ok{}, ParseVerify(*json)};
}

std::string NewRequestId() {
  static std::atomic<uint64_t> counter{0};
  static const std::string prefix = ToHex(RandomBytes(4));
  std::string id;
  id.reserve(prefix.size() + 1 + 16);
  id.append(prefix).append(1, '-');
  AppendHex(id, counter.fetch_add(1) + 1, 8);
  return id;
}

bool SaneRequestId(std::string_view id) { return IsSafeToEcho(id); }

std::string LoggablePath(std::string_view path) {
  std::string out;
  AppendLoggablePath(out, path);
  return out;
}

void AppendLoggablePath(std::string& out, std::string_view path) {
  size_t start = 0;
  for (;;) {
    const size_t slash = path.find('/', start);
    const std::string_view segment = path.substr(start, slash - start);
    // Empty segments ("//", a trailing "/") hold nothing to hide.
    if (!segment.empty()) out += EchoOrRedact(segment, "~");
    if (slash == std::string_view::npos) break;
    out += '/';
    start = slash + 1;
  }
}

std::string_view BearerCredential(std::string_view h) {
  constexpr std::string_view kScheme = "Bearer ";
  if (h.size() <= kScheme.size() || strncasecmp(h.data(), kScheme.data(), kScheme.size()) != 0) {
    return {};
  }
  return h.substr(kScheme.size());
}

void AppendRequestLogLine(std::string& line, const RequestLogEntry& e) {
  line += "{\"duration_ms\":";
  AppendJsonNumber(line, e.seconds * 1000.0);
  line += e.status >= 500 ? ",\"level\":\"error\"" : ",\"level\":\"info\"";
  line += ",\"method\":";
  AppendLogString(line, EchoOrRedact(e.method));
  line += ",\"msg\":\"request\",\"path\":";
  // A client may put a secret in a path.
  // Every character LoggablePath keeps needs no escaping in a JSON string.
  line += '"';
  AppendLoggablePath(line, e.path);
  line += '"';
  line += ",\"remote\":";
  AppendLogString(line, e.remote);
  line += ",\"request_id\":";
  AppendLogString(line, e.request_id);
  line += ",\"route\":";
  AppendLogString(line, e.route);
  line += ",\"status\":";
  line += std::to_string(e.status);
  line += ",\"time\":";
  AppendLogString(line, FormatRfc3339Ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count()));
  line += "}\n";
}

}  // namespace tl
