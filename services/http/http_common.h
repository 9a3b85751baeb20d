#pragma once

#include <string>
#include <string_view>

#include "events/event.h"
#include "events/result.h"
#include "services/domain/commands.h"

namespace tl {

// What every HTTP transport (HttpServer's event loop, HttpsServer) answers
// and logs the same way: problem bodies, request bodies,
// request ids, bearer credentials and request log lines. No I/O here.

constexpr size_t kMaxBodyBytes = 64 * 1024;

// An application/problem+json answer (RFC 9457).
struct Problem {
  int status = 500;
  std::string body;
};
// `detail` and `field` may quote client input, so secrets are redacted from both.
Problem MakeProblem(int status, std::string_view slug, std::string_view title,
                    std::string_view detail, std::string_view field = {});
// The one mapping of error codes to HTTP answers. Storage failures (500) say
// nothing of internals.
Problem ProblemFor(const Error& e);

// A request body: one JSON document whose objects never repeat a key (parsers
// disagree on which of two values wins, so a proxy or an audit trail reading
// the other one would see another request than the ledger decided on). An
// empty body is JSON null.
Result<Json> ParseJsonBody(std::string_view body);

// The body of POST /v1/verify: ReadVerifyBody's shortcut when it applies,
// else ParseJsonBody + ParseVerify (the same command, or their errors).
VerifyBody ReadVerifyRequest(std::string_view body);

// A fresh request id ("1a2b3c4d-0000002a"): random per process, then a counter.
std::string NewRequestId();
// Whether a client's X-Request-Id may be echoed and logged: IsSafeToEcho
// (1-31 characters of A-Z a-z 0-9 . _ -, too short to be a secret of any
// form: a client may send one by mistake). Otherwise a fresh id is used.
bool SaneRequestId(std::string_view id);

// `path` as a request log line shows it: each segment that IsSafeToEcho
// allows (with '~') as it is, any other replaced by kRedactedSecret, so
// neither a secret nor any other long text a client put in a path is logged
// ("/v1/tokens/<secret>/events" -> "/v1/tokens/[redacted]/events").
std::string LoggablePath(std::string_view path);
// LoggablePath(path) appended to `out`, without allocating.
void AppendLoggablePath(std::string& out, std::string_view path);

// The credential of an `Authorization: Bearer <secret>` header value; empty
// when the value is not of that scheme. Points into `authorization`.
std::string_view BearerCredential(std::string_view authorization);

// One request log line: a JSON object (keys in Json's sorted order) and a
// newline. Only the path (LoggablePath), never the query string, headers or
// body; a method that is not IsSafeToEcho is redacted too. `request_id` must
// be SaneRequestId or generated.
struct RequestLogEntry {
  std::string_view method;
  std::string_view path;
  std::string_view remote;
  std::string_view request_id;
  std::string_view route;  // "POST /v1/verify", or "unmatched"
  int status = 0;
  double seconds = 0;
};
void AppendRequestLogLine(std::string& out, const RequestLogEntry& entry);

}  // namespace tl
