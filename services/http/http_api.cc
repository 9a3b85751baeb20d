#include "services/http/http_api.h"

#include <strings.h>

#include <charconv>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "events/time_format.h"
#include "services/console/console_assets.h"
#include "services/domain/secret.h"
#include "services/http/http_common.h"
#include "services/http/ledger_json.h"

namespace tl {
namespace {

ApiAnswer ProblemAnswer(const Problem& p) {
  ApiAnswer a;
  a.status = p.status;
  a.content_type = "application/problem+json";
  a.body = p.body;
  if (p.status == 401) a.headers.emplace_back("WWW-Authenticate", "Bearer");
  return a;
}

ApiAnswer ProblemAnswer(int status, std::string_view slug, std::string_view title,
                        std::string_view detail, std::string_view field = {}) {
  return ProblemAnswer(MakeProblem(status, slug, title, detail, field));
}

ApiAnswer ErrorAnswer(const Error& e) { return ProblemAnswer(ProblemFor(e)); }

ApiAnswer JsonAnswer(int status, std::string body) {
  ApiAnswer a;
  a.status = status;
  a.content_type = "application/json";
  a.body = std::move(body);
  return a;
}

Error BadParam(std::string_view name, std::string_view why) {
  return MakeError(ErrorCode::kInvalidArgument, std::string(name) + " " + std::string(why),
                   std::string(name));
}

Result<uint64_t> UintParam(const ApiRequest& req, const char* name, uint64_t dflt, uint64_t lo,
                           uint64_t hi) {
  const std::string* v = req.Param(name);
  if (v == nullptr) return dflt;
  uint64_t out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size() || out < lo || out > hi) {
    return BadParam(name,
                    "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  return out;
}

Result<int64_t> TimeParam(const ApiRequest& req, const char* name, int64_t dflt) {
  const std::string* v = req.Param(name);
  if (v == nullptr) return dflt;
  auto t = ParseRfc3339(*v);
  if (!t) return BadParam(name, "must be an RFC 3339 time");
  return *t;
}

Result<Json> ParseBody(const ApiRequest& req) { return ParseJsonBody(req.body); }

// Points into `req`.
std::string_view Bearer(const ApiRequest& req) {
  return BearerCredential(req.Header("Authorization"));
}

Result<std::optional<Version>> IfMatch(const ApiRequest& req) {
  if (!req.HasHeader("If-Match")) return std::optional<Version>();
  std::string v(req.Header("If-Match"));
  // RFC 9110 13.1.1: "*" matches any current version; a missing token is 404 anyway.
  if (v == "*") return std::optional<Version>();
  if (v.rfind("W/", 0) == 0) v = v.substr(2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || v.empty()) {
    return BadParam("If-Match", "must be a token version number");
  }
  return std::optional<Version>(Version(n));
}

Result<UsageQuery> UsageParams(const ApiRequest& req, int64_t now) {
  UsageQuery q;
  const std::string* b = req.Param("bucket");
  const std::string bucket = b != nullptr ? *b : "hour";
  if (bucket == "hour") {
    q.bucket = UsageQuery::Bucket::kHour;
  } else if (bucket == "day") {
    q.bucket = UsageQuery::Bucket::kDay;
  } else {
    return BadParam("bucket", "must be hour or day");
  }
  // Buckets count when they start before `to`: by default the one holding
  // `now` counts even when it starts exactly now.
  auto to = TimeParam(req, "to", now + 1);
  if (!to.ok()) return to.error();
  const int64_t span = q.bucket == UsageQuery::Bucket::kHour ? 24LL * 3600000 : 30LL * 86400000;
  auto from = TimeParam(req, "from", *to - span);
  if (!from.ok()) return from.error();
  if (*from >= *to) return BadParam("from", "must be before to");
  q.from_ms = *from;
  q.to_ms = *to;
  return q;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

HttpFields ParseQueryString(std::string_view query) {
  HttpFields out;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    out.emplace_back(
        PercentDecode(pair.substr(0, eq), true),
        eq == std::string_view::npos ? std::string() : PercentDecode(pair.substr(eq + 1), true));
  }
  return out;
}

std::string_view ApiRequest::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n.size() == name.size() && strncasecmp(n.data(), name.data(), n.size()) == 0) return v;
  }
  return {};
}

bool ApiRequest::HasHeader(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n.size() == name.size() && strncasecmp(n.data(), name.data(), n.size()) == 0) return true;
  }
  return false;
}

const std::string* ApiRequest::Param(std::string_view name) const {
  for (const auto& [n, v] : query) {
    if (n == name) return &v;
  }
  return nullptr;
}

struct HttpApi::Entry {
  ApiRoute route;
  std::regex pattern;
  PublicHandler handler;
};

HttpApi::HttpApi(Ledger& ledger, HttpOptions options)
    : ledger_(ledger), options_(std::move(options)) {
  RegisterRoutes();
}

HttpApi::~HttpApi() = default;

const ApiRoute* HttpApi::Match(std::string_view method, std::string_view path,
                               bool* path_known) const {
  // HEAD is GET without the body (RFC 9110 9.3.2).
  const std::string_view as = method == "HEAD" ? std::string_view("GET") : method;
  *path_known = false;
  const std::string p(path);
  for (const Entry& e : entries_) {
    if (!std::regex_match(p, e.pattern)) continue;
    if (e.route.method == as) return &e.route;
    *path_known = true;
  }
  return nullptr;
}

ApiAnswer HttpApi::Handle(const ApiRequest& req) const {
  const std::string_view as = req.method == "HEAD" ? std::string_view("GET") : req.method;
  bool path_known = false;
  std::string allow;
  for (const Entry& e : entries_) {
    std::smatch m;
    if (!std::regex_match(req.path, m, e.pattern)) continue;
    if (e.route.method != as) {
      path_known = true;
      if (allow.find(e.route.method) == std::string::npos) {
        allow += allow.empty() ? "" : ", ";
        allow += e.route.method;
      }
      continue;
    }
    ApiAnswer a;
    try {
      a = e.handler(req, m.size() > 1 ? m[1].str() : std::string());
    } catch (const std::exception&) {
      // No internals (what(), stack) in the answer; the request log line has the route.
      a = ProblemAnswer(500, "internal", "Internal error",
                        "the server could not complete the request");
    }
    a.route = &e.route;
    return a;
  }
  if (path_known) {
    ApiAnswer a =
        ProblemAnswer(405, "method-not-allowed", "Method not allowed", "method not allowed");
    a.headers.emplace_back("Allow", allow);
    return a;
  }
  return ProblemAnswer(404, "not-found", "Not found", "no such route");
}

const ApiRoute* HttpApi::AddPublic(const std::string& method, const std::string& openapi_path,
                                   const std::string& regex, PublicHandler handler,
                                   bool needs_bearer) {
  routes_.push_back({method, openapi_path});
  const std::string name = method + " " + openapi_path;
  Entry& e = entries_.emplace_back(
      Entry{ApiRoute{method, openapi_path, name, metrics_.AddRoute(method, name), needs_bearer},
            std::regex(regex), std::move(handler)});
  return &e.route;
}

void HttpApi::Add(const std::string& method, const std::string& openapi_path,
                  const std::string& regex, Handler handler) {
  AddPublic(
      method, openapi_path, regex,
      [this, handler = std::move(handler)](const ApiRequest& req, const std::string& id) {
        Result<Caller> caller = ledger_.Authenticate(Bearer(req), req.remote);
        if (!caller.ok()) return ErrorAnswer(caller.error());
        Result<ApiAnswer> answer = handler(req, id, *caller);
        if (!answer.ok()) return ErrorAnswer(answer.error());
        return std::move(answer).value();
      },
      /*needs_bearer=*/true);
}

void HttpApi::RegisterRoutes() {
  using Req = const ApiRequest&;
  using Id = const std::string&;
  const std::string kId = "/v1/tokens/([^/]+)";
  auto ok = [](Result<Json> r, int status = 200) -> Result<ApiAnswer> {
    if (!r.ok()) return r.error();
    return JsonAnswer(status, r->dump());
  };

  healthz_route_ = AddPublic("GET", "/healthz", "/healthz",
                             [](Req, Id) { return JsonAnswer(200, R"({"status":"ok"})"); });
  AddPublic("GET", "/readyz", "/readyz", [this](Req, Id) {
    if (stopping_.load(std::memory_order_relaxed)) {
      // Load balancers stop sending here; requests already sent are answered.
      return JsonAnswer(503, R"({"status":"stopping"})");
    }
    // Not ready while the log cannot be written (reads still work).
    if (std::optional<std::string> why = ledger_.WriteHealth()) {
      return JsonAnswer(503, Json{{"status", "unavailable"}, {"reason", *why}}.dump());
    }
    StateInfo state = ledger_.State();
    Json body{{"status", "ready"}, {"position", state.position.value()}, {"digest", state.digest}};
    if (options_.extra_ready) body.update(options_.extra_ready());
    return JsonAnswer(200, body.dump());
  });
  AddPublic("GET", "/metrics", "/metrics", [this](Req, Id) {
    std::string extra = LedgerMetrics(ledger_);
    if (options_.extra_metrics) extra += options_.extra_metrics();
    ApiAnswer a;
    a.content_type = "text/plain; version=0.0.4";
    a.body = metrics_.Render(extra);
    return a;
  });

  AddPublic("GET", "/console", "/console", [](Req, Id) {
    ApiAnswer a;
    a.status = 301;
    a.headers.emplace_back("Location", "/console/");
    return a;
  });
  AddPublic("GET", "/console/{path}", "/console/(.*)", [](Req, Id path) {
    const tokenledger::ConsoleAsset* asset = tokenledger::FindConsoleAsset(path);
    if (asset == nullptr) return ProblemAnswer(404, "not-found", "Not found", "no such page");
    ApiAnswer a;
    a.headers.emplace_back("Cache-Control", "no-cache");
    // The console's buttons revoke and regenerate: no other site may frame it
    // (clickjacking), and it loads and posts nothing but its own files and /v1.
    a.headers.emplace_back(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    a.headers.emplace_back("X-Frame-Options", "DENY");
    a.headers.emplace_back("Referrer-Policy", "no-referrer");
    a.content_type = std::string(asset->content_type);
    a.body = std::string(asset->body);
    return a;
  });

  Add("POST", "/v1/tokens", "/v1/tokens", [this, ok](Req req, Id, const Caller& c) {
    auto body = ParseBody(req);
    if (!body.ok()) return Result<ApiAnswer>(body.error());
    return ok(CreateFromJson(ledger_, c, *body, req.Header("Idempotency-Key")), 201);
  });
  Add("GET", "/v1/tokens", "/v1/tokens",
      [this, ok](Req req, Id, const Caller& c) -> Result<ApiAnswer> {
        ListQuery q;
        auto limit = UintParam(req, "limit", 100, 1, 1000);
        if (!limit.ok()) return limit.error();
        q.limit = *limit;
        if (const std::string* owner = req.Param("owner")) q.owner = *owner;
        if (const std::string* cursor = req.Param("cursor")) q.cursor = *cursor;
        if (const std::string* s = req.Param("status")) {
          if (*s == "active")
            q.status = TokenStatus::kActive;
          else if (*s == "expired")
            q.status = TokenStatus::kExpired;
          else if (*s == "revoked")
            q.status = TokenStatus::kRevoked;
          else
            return BadParam("status", "must be active, expired or revoked");
        }
        return ok(ListJson(ledger_, c, std::move(q)));
      });
  Add("GET", "/v1/tokens/{id}", kId, [this, ok](Req req, Id id, const Caller& c) {
    const std::string* as_of = req.Param("as_of");
    return ok(
        GetJson(ledger_, c, id, as_of ? std::optional<std::string_view>(*as_of) : std::nullopt));
  });
  Add("PATCH", "/v1/tokens/{id}", kId,
      [this, ok](Req req, Id id, const Caller& c) -> Result<ApiAnswer> {
        auto body = ParseBody(req);
        if (!body.ok()) return body.error();
        auto if_match = IfMatch(req);
        if (!if_match.ok()) return if_match.error();
        return ok(UpdateFromJson(ledger_, c, id, *body, *if_match));
      });
  Add("POST", "/v1/tokens/{id}/regenerate", kId + "/regenerate",
      [this, ok](Req req, Id id, const Caller& c) -> Result<ApiAnswer> {
        auto body = ParseBody(req);
        if (!body.ok()) return body.error();
        return ok(RegenerateFromJson(ledger_, c, id, *body));
      });
  Add("POST", "/v1/tokens/{id}/revoke", kId + "/revoke",
      [this, ok](Req req, Id id, const Caller& c) -> Result<ApiAnswer> {
        auto body = ParseBody(req);
        if (!body.ok()) return body.error();
        return ok(RevokeFromJson(ledger_, c, id, *body));
      });
  Add("POST", "/v1/tokens/{id}/credits", kId + "/credits",
      [this, ok](Req req, Id id, const Caller& c) -> Result<ApiAnswer> {
        auto body = ParseBody(req);
        if (!body.ok()) return body.error();
        return ok(AdjustCreditsFromJson(ledger_, c, id, *body));
      });
  Add("GET", "/v1/tokens/{id}/events", kId + "/events",
      [this, ok](Req req, Id id, const Caller& c) -> Result<ApiAnswer> {
        auto after = UintParam(req, "after", 0, 0, UINT64_MAX >> 1);
        if (!after.ok()) return after.error();
        auto limit = UintParam(req, "limit", 100, 1, 1000);
        if (!limit.ok()) return limit.error();
        return ok(StreamEventsJson(ledger_, c, id, Version(*after), *limit));
      });
  Add("GET", "/v1/tokens/{id}/usage", kId + "/usage",
      [this, ok](Req req, Id id, const Caller& c) -> Result<ApiAnswer> {
        auto q = UsageParams(req, ledger_.Now());
        if (!q.ok()) return q.error();
        q->token_id = id;
        return ok(ledger_.Usage(c, std::move(q).value()));
      });
  // The hot path: authentication and the verification share one acquisition
  // of the state lock; the answers are those of Add's Authenticate + handler.
  // (The event loop stages it instead of waiting: http_server.h.)
  verify_route_ = AddPublic(
      "POST", "/v1/verify", "/v1/verify",
      [this](Req req, Id) {
        Result<Ledger::VerifyReply> r =
            ledger_.AuthenticateAndVerify(Bearer(req), ReadVerifyRequest(req.body), req.remote);
        if (!r.ok()) return ErrorAnswer(r.error());
        metrics_.CountVerification(r->code);
        return JsonAnswer(200, std::move(r->body));
      },
      /*needs_bearer=*/true);
  Add("GET", "/v1/events", "/v1/events",
      [this, ok](Req req, Id, const Caller& c) -> Result<ApiAnswer> {
        auto after = UintParam(req, "after", 0, 0, UINT64_MAX >> 1);
        if (!after.ok()) return after.error();
        auto limit = UintParam(req, "limit", 100, 1, 1000);
        if (!limit.ok()) return limit.error();
        std::optional<EventType> type;
        if (const std::string* t = req.Param("type")) {
          type = ParseEventType(*t);
          if (!type) return BadParam("type", "is not an event type");
        }
        return ok(FeedJson(ledger_, c, Position(*after), *limit, type));
      });
  Add("GET", "/v1/usage", "/v1/usage",
      [this, ok](Req req, Id, const Caller& c) -> Result<ApiAnswer> {
        auto q = UsageParams(req, ledger_.Now());
        if (!q.ok()) return q.error();
        if (const std::string* owner = req.Param("owner")) q->owner = *owner;
        return ok(ledger_.Usage(c, std::move(q).value()));
      });
}

}  // namespace tl
