#include "services/http_api.h"

#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "events/time_format.h"
#include "services/console/console_assets.h"
#include "services/http_common.h"
#include "services/secret.h"

namespace tl {
namespace {

// What the logger needs to know about the request this thread is serving.
// cpp-httplib runs routing, the handler and the logger of one request on one
// thread, one request at a time, so thread-local state is exact.
struct RequestScope {
  std::chrono::steady_clock::time_point start;
  const void* route = nullptr;  // the HttpApi::RouteTag of the handler; nullptr: unmatched
  bool started = false;
};
thread_local RequestScope tls_request;

void WriteProblem(httplib::Response& res, const Problem& p) {
  res.status = p.status;
  if (p.status == 401) res.set_header("WWW-Authenticate", "Bearer");
  res.set_content(p.body, "application/problem+json");
}

void WriteProblem(httplib::Response& res, int status, std::string_view slug, std::string_view title,
                  std::string_view detail, std::string_view field = {}) {
  WriteProblem(res, MakeProblem(status, slug, title, detail, field));
}

void WriteError(httplib::Response& res, const Error& e) { WriteProblem(res, ProblemFor(e)); }

Error BadParam(std::string_view name, std::string_view why) {
  return MakeError(ErrorCode::kInvalidArgument, std::string(name) + " " + std::string(why),
                   std::string(name));
}

Result<uint64_t> UintParam(const httplib::Request& req, const char* name, uint64_t dflt,
                           uint64_t lo, uint64_t hi) {
  if (!req.has_param(name)) return dflt;
  std::string v = req.get_param_value(name);
  uint64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out < lo || out > hi) {
    return BadParam(name,
                    "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  return out;
}

Result<int64_t> TimeParam(const httplib::Request& req, const char* name, int64_t dflt) {
  if (!req.has_param(name)) return dflt;
  auto t = ParseRfc3339(req.get_param_value(name));
  if (!t) return BadParam(name, "must be an RFC 3339 time");
  return *t;
}

Result<Json> ParseBody(const httplib::Request& req) { return ParseJsonBody(req.body); }

// The first value of header `name` (as get_header_value), without a copy.
std::string_view HeaderView(const httplib::Headers& headers, const char* name) {
  auto it = headers.find(name);
  return it == headers.end() ? std::string_view() : std::string_view(it->second);
}

// Points into `req`.
std::string_view Bearer(const httplib::Request& req) {
  return BearerCredential(HeaderView(req.headers, "Authorization"));
}

Result<std::optional<Version>> IfMatch(const httplib::Request& req) {
  if (!req.has_header("If-Match")) return std::optional<Version>();
  std::string v = req.get_header_value("If-Match");
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

// RFC 9112 6.3: a request with neither Content-Length nor Transfer-Encoding
// has a body of length zero. cpp-httplib 0.11 instead reads a POST, PUT,
// PATCH or DELETE body until the connection closes, so a kept-alive client
// that sends none (`curl -X POST` without -d) waits for the read timeout and
// gets a bare 400. Declaring the length zero before routing makes httplib read
// nothing. The const_cast is sound: httplib's process_request owns the
// Request as a non-const local and calls the pre-routing handler before it
// reads the body.
void DeclareMissingBodyEmpty(const httplib::Request& req) {
  const std::string& m = req.method;
  if (m != "POST" && m != "PUT" && m != "PATCH" && m != "DELETE") return;  // httplib reads no body
  if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) return;
  const_cast<httplib::Request&>(req).set_header("Content-Length", "0");
}

Result<UsageQuery> UsageParams(const httplib::Request& req, int64_t now) {
  UsageQuery q;
  std::string bucket = req.has_param("bucket") ? req.get_param_value("bucket") : "hour";
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

}  // namespace

struct HttpApi::Reply {
  int status = 200;
  Json body;
};

HttpApi::HttpApi(Ledger& ledger, HttpOptions options)
    : ledger_(ledger), options_(std::move(options)) {
  if (!options_.tls_cert.empty() && !options_.tls_key.empty()) {
    server_ =
        std::make_unique<httplib::SSLServer>(options_.tls_cert.c_str(), options_.tls_key.c_str());
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& s = *server_;
  // Small JSON responses otherwise wait on Nagle + delayed ACK.
  s.set_tcp_nodelay(true);
  s.set_keep_alive_max_count(100000);
  s.set_payload_max_length(kMaxBodyBytes);
  const int threads = options_.threads;
  // cpp-httplib takes ownership of the raw pointer it is handed.
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };

  s.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    tls_request = RequestScope{std::chrono::steady_clock::now(), nullptr, true};
    DeclareMissingBodyEmpty(req);
    res.set_header("X-Content-Type-Options", "nosniff");  // every answer is what its type says
    std::string id = req.get_header_value("X-Request-Id");
    res.set_header("X-Request-Id", SaneRequestId(id) ? id : NewRequestId());
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&,
                                                              httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    switch (res.status) {
      case 404:
        WriteProblem(res, 404, "not-found", "Not found", "no such route");
        break;
      case 405:
        WriteProblem(res, 405, "method-not-allowed", "Method not allowed", "method not allowed");
        break;
      case 413:
        WriteProblem(res, 413, "payload-too-large", "Payload too large",
                     "the request body is larger than 64 KiB", "body");
        break;
      default:
        WriteProblem(res, res.status, "error", "Error", "the request could not be served");
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    // No internals (what(), stack) in the answer; the request log line has the route.
    WriteProblem(res, 500, "internal", "Internal error",
                 "the server could not complete the request");
  });
  s.set_logger(
      [this](const httplib::Request& req, const httplib::Response& res) { Log(req, res); });
  RegisterRoutes();
}

HttpApi::~HttpApi() { Stop(); }

Result<int> HttpApi::Bind(const std::string& host, int port) {
  if (!server_->is_valid()) {
    return MakeError(ErrorCode::kInvalidArgument, "TLS certificate or key could not be loaded");
  }
  int bound = port == 0 ? server_->bind_to_any_port(host.c_str())
                        : (server_->bind_to_port(host.c_str(), port) ? port : -1);
  if (bound < 0)
    return MakeError(ErrorCode::kIo, "cannot listen on " + host + ":" + std::to_string(port));
  return bound;
}

void HttpApi::Run() { server_->listen_after_bind(); }

void HttpApi::Stop() {
  if (server_) server_->stop();
}

void HttpApi::Log(const httplib::Request& req, const httplib::Response& res) {
  double seconds = 0;
  if (tls_request.started) {
    seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - tls_request.start).count();
  }
  const auto* route = static_cast<const RouteTag*>(tls_request.route);
  const std::string_view route_name =
      route != nullptr ? std::string_view(route->name) : "unmatched";
  if (route != nullptr) {
    metrics_.CountRequest(route->metrics_id, req.method, res.status, seconds);
  } else {
    metrics_.CountRequest(req.method, route_name, res.status, seconds);
  }
  thread_local std::string line;
  line.clear();
  // Never a secret in request_id: the pre-routing handler replaces one (SaneRequestId).
  AppendRequestLogLine(
      line, {req.method, req.path, req.remote_addr, HeaderView(res.headers, "X-Request-Id"),
             route_name, res.status, seconds});
  std::fwrite(line.data(), 1, line.size(), stderr);
  tls_request = RequestScope{};
}

void HttpApi::AddPublic(const std::string& method, const std::string& openapi_path,
                        const std::string& regex,
                        std::function<void(const httplib::Request&, httplib::Response&)> handler) {
  routes_.push_back({method, openapi_path});
  const std::string name = method + " " + openapi_path;
  const RouteTag* tag = &route_tags_.emplace_back(RouteTag{name, metrics_.AddRoute(method, name)});
  auto wrapped = [tag, handler = std::move(handler)](const httplib::Request& req,
                                                     httplib::Response& res) {
    tls_request.route = tag;
    handler(req, res);
  };
  if (method == "GET")
    server_->Get(regex, wrapped);
  else if (method == "POST")
    server_->Post(regex, wrapped);
  else if (method == "PATCH")
    server_->Patch(regex, wrapped);
  else if (method == "DELETE")
    server_->Delete(regex, wrapped);
}

void HttpApi::Add(const std::string& method, const std::string& openapi_path,
                  const std::string& regex, Handler handler) {
  AddPublic(
      method, openapi_path, regex,
      [this, handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
        Result<Caller> caller = ledger_.Authenticate(Bearer(req), req.remote_addr);
        if (!caller.ok()) return WriteError(res, caller.error());
        Result<Reply> reply = handler(req, *caller);
        if (!reply.ok()) return WriteError(res, reply.error());
        res.status = reply->status;
        res.set_content(reply->body.dump(), "application/json");
      });
}

void HttpApi::RegisterRoutes() {
  using Req = const httplib::Request&;
  const std::string kId = "/v1/tokens/([^/]+)";
  auto id_of = [](Req req) { return std::string(req.matches[1]); };
  auto ok = [](Result<Json> r, int status = 200) -> Result<Reply> {
    if (!r.ok()) return r.error();
    return Reply{status, std::move(r).value()};
  };

  AddPublic("GET", "/healthz", "/healthz", [](Req, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  AddPublic("GET", "/readyz", "/readyz", [this](Req, httplib::Response& res) {
    // Not ready while the log cannot be written (reads still work).
    if (std::optional<std::string> why = ledger_.WriteHealth()) {
      res.status = 503;
      res.set_content(Json{{"status", "unavailable"}, {"reason", *why}}.dump(), "application/json");
      return;
    }
    StateInfo state = ledger_.State();
    Json body{{"status", "ready"}, {"position", state.position.value()}, {"digest", state.digest}};
    if (options_.extra_ready) body.update(options_.extra_ready());
    res.set_content(body.dump(), "application/json");
  });
  AddPublic("GET", "/metrics", "/metrics", [this](Req, httplib::Response& res) {
    std::string extra = LedgerMetrics(ledger_);
    if (options_.extra_metrics) extra += options_.extra_metrics();
    res.set_content(metrics_.Render(extra), "text/plain; version=0.0.4");
  });

  AddPublic("GET", "/console", "/console",
            [](Req, httplib::Response& res) { res.set_redirect("/console/", 301); });
  AddPublic("GET", "/console/{path}", "/console/(.*)", [](Req req, httplib::Response& res) {
    const tokenledger::ConsoleAsset* asset =
        tokenledger::FindConsoleAsset(std::string(req.matches[1]));
    if (asset == nullptr) return WriteProblem(res, 404, "not-found", "Not found", "no such page");
    res.set_header("Cache-Control", "no-cache");
    // The console's buttons revoke and regenerate: no other site may frame it
    // (clickjacking), and it loads and posts nothing but its own files and /v1.
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                   "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_content(std::string(asset->body), std::string(asset->content_type).c_str());
  });

  Add("POST", "/v1/tokens", "/v1/tokens", [this, ok](Req req, const Caller& c) -> Result<Reply> {
    auto body = ParseBody(req);
    if (!body.ok()) return body.error();
    return ok(ledger_.Create(c, *body, req.get_header_value("Idempotency-Key")), 201);
  });
  Add("GET", "/v1/tokens", "/v1/tokens", [this, ok](Req req, const Caller& c) -> Result<Reply> {
    ListQuery q;
    auto limit = UintParam(req, "limit", 100, 1, 1000);
    if (!limit.ok()) return limit.error();
    q.limit = *limit;
    if (req.has_param("owner")) q.owner = req.get_param_value("owner");
    if (req.has_param("cursor")) q.cursor = req.get_param_value("cursor");
    if (req.has_param("status")) {
      std::string s = req.get_param_value("status");
      if (s == "active")
        q.status = TokenStatus::kActive;
      else if (s == "expired")
        q.status = TokenStatus::kExpired;
      else if (s == "revoked")
        q.status = TokenStatus::kRevoked;
      else
        return BadParam("status", "must be active, expired or revoked");
    }
    return ok(ledger_.List(c, std::move(q)));
  });
  Add("GET", "/v1/tokens/{id}", kId, [this, ok, id_of](Req req, const Caller& c) -> Result<Reply> {
    std::optional<std::string> as_of;
    if (req.has_param("as_of")) as_of = req.get_param_value("as_of");
    return ok(
        ledger_.Get(c, id_of(req), as_of ? std::optional<std::string_view>(*as_of) : std::nullopt));
  });
  Add("PATCH", "/v1/tokens/{id}", kId,
      [this, ok, id_of](Req req, const Caller& c) -> Result<Reply> {
        auto body = ParseBody(req);
        if (!body.ok()) return body.error();
        auto if_match = IfMatch(req);
        if (!if_match.ok()) return if_match.error();
        return ok(ledger_.Update(c, id_of(req), *body, *if_match));
      });
  Add("POST", "/v1/tokens/{id}/regenerate", kId + "/regenerate",
      [this, ok, id_of](Req req, const Caller& c) -> Result<Reply> {
        auto body = ParseBody(req);
        if (!body.ok()) return body.error();
        return ok(ledger_.Regenerate(c, id_of(req), *body));
      });
  Add("POST", "/v1/tokens/{id}/revoke", kId + "/revoke",
      [this, ok, id_of](Req req, const Caller& c) -> Result<Reply> {
        auto body = ParseBody(req);
        if (!body.ok()) return body.error();
        return ok(ledger_.Revoke(c, id_of(req), *body));
      });
  Add("POST", "/v1/tokens/{id}/credits", kId + "/credits",
      [this, ok, id_of](Req req, const Caller& c) -> Result<Reply> {
        auto body = ParseBody(req);
        if (!body.ok()) return body.error();
        return ok(ledger_.AdjustCredits(c, id_of(req), *body));
      });
  Add("GET", "/v1/tokens/{id}/events", kId + "/events",
      [this, ok, id_of](Req req, const Caller& c) -> Result<Reply> {
        auto after = UintParam(req, "after", 0, 0, UINT64_MAX >> 1);
        if (!after.ok()) return after.error();
        auto limit = UintParam(req, "limit", 100, 1, 1000);
        if (!limit.ok()) return limit.error();
        return ok(ledger_.StreamEvents(c, id_of(req), Version(*after), *limit));
      });
  Add("GET", "/v1/tokens/{id}/usage", kId + "/usage",
      [this, ok, id_of](Req req, const Caller& c) -> Result<Reply> {
        auto q = UsageParams(req, ledger_.Now());
        if (!q.ok()) return q.error();
        q->token_id = id_of(req);
        return ok(ledger_.Usage(c, std::move(q).value()));
      });
  // The hot path: authentication and the verification share one acquisition
  // of the state lock; the answers are those of Add's Authenticate + handler.
  AddPublic("POST", "/v1/verify", "/v1/verify", [this](Req req, httplib::Response& res) {
    Result<Ledger::VerifyReply> r =
        ledger_.AuthenticateAndVerify(Bearer(req), ReadVerifyRequest(req.body), req.remote_addr);
    if (!r.ok()) return WriteError(res, r.error());
    metrics_.CountVerification(r->code);
    res.status = 200;
    res.set_content(std::move(r->body), "application/json");
  });
  verify_route_ = route_tags_.back().metrics_id;
  Add("GET", "/v1/events", "/v1/events", [this, ok](Req req, const Caller& c) -> Result<Reply> {
    auto after = UintParam(req, "after", 0, 0, UINT64_MAX >> 1);
    if (!after.ok()) return after.error();
    auto limit = UintParam(req, "limit", 100, 1, 1000);
    if (!limit.ok()) return limit.error();
    std::optional<EventType> type;
    if (req.has_param("type")) {
      type = ParseEventType(req.get_param_value("type"));
      if (!type) return BadParam("type", "is not an event type");
    }
    return ok(ledger_.Feed(c, Position(*after), *limit, type));
  });
  Add("GET", "/v1/usage", "/v1/usage", [this, ok](Req req, const Caller& c) -> Result<Reply> {
    auto q = UsageParams(req, ledger_.Now());
    if (!q.ok()) return q.error();
    if (req.has_param("owner")) q->owner = req.get_param_value("owner");
    return ok(ledger_.Usage(c, std::move(q).value()));
  });
}

}  // namespace tl
