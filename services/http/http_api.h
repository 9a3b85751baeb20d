#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/result.h"
#include "services/core/ledger.h"
#include "services/http/metrics.h"

namespace tl {

struct HttpOptions {
  std::string tls_cert;  // both set: HTTPS
  std::string tls_key;
  // Extra Prometheus text for /metrics (relay gauges); may be empty.
  std::function<std::string()> extra_metrics;
  // Extra fields for /readyz (relay state); may be empty.
  std::function<Json()> extra_ready;
};

struct RouteInfo {
  std::string method;        // "GET", "POST", "PATCH"
  std::string openapi_path;  // "/v1/tokens/{id}"
};

using HttpFields = std::vector<std::pair<std::string, std::string>>;

// A request as every transport hands it to the routes: owned, so it can move
// to a worker thread.
struct ApiRequest {
  std::string method;  // "GET"; HEAD is served by the GET route
  std::string path;    // percent-decoded, without the query
  HttpFields query;    // decoded ('+' is a space), in order
  HttpFields headers;  // as sent
  std::string body;
  std::string remote;  // the peer's address, for the log

  // The first header with this name, case-insensitively; empty if none.
  std::string_view Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  // The first query parameter with this name, or nullptr.
  const std::string* Param(std::string_view name) const;
};

// A registered route.
struct ApiRoute {
  std::string method;
  std::string openapi_path;
  std::string name;  // "POST /v1/verify": the request log's and the metrics' route label
  Metrics::RouteId metrics_id = 0;
  // Answers 401 without a valid bearer: a transport may check it as soon as
  // the head is complete, before it reads the body.
  bool needs_bearer = false;
};

// An answer, transport-neutral. X-Request-Id, X-Content-Type-Options and the
// framing headers are the transport's.
struct ApiAnswer {
  int status = 200;
  std::string content_type;
  std::string body;
  HttpFields headers;  // extra: WWW-Authenticate, Allow, Location, the console's CSP, ...
  const ApiRoute* route = nullptr;  // nullptr: no route matched
};

// The API's routes: turns requests into Ledger commands and queries and
// answers errors as application/problem+json. No I/O: a transport (the event
// loop of http_server.h, or the TLS server) parses, logs and counts.
//
// Thread-safety: Handle, Match and SetStopping may be called from any thread
// once constructed.
class HttpApi {
 public:
  // `ledger` must outlive this object.
  HttpApi(Ledger& ledger, HttpOptions options);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Routes, authenticates and runs the request; never throws (a handler's
  // exception is a 500 that says nothing of internals).
  ApiAnswer Handle(const ApiRequest& req) const;
  // The route for method and (decoded) path; nullptr when none.
  // *path_known: some route serves the path with another method (405).
  const ApiRoute* Match(std::string_view method, std::string_view path, bool* path_known) const;

  // /readyz answers 503 from now on: the server is stopping.
  void SetStopping() { stopping_.store(true, std::memory_order_relaxed); }

  const HttpOptions& options() const { return options_; }
  Ledger& ledger() const { return ledger_; }
  // Every route registered, for the OpenAPI coverage test.
  const std::vector<RouteInfo>& Routes() const { return routes_; }
  Metrics& metrics() { return metrics_; }
  Metrics::RouteId verify_route() const { return verify_route_->metrics_id; }
  const ApiRoute& verify() const { return *verify_route_; }
  const ApiRoute& healthz() const { return *healthz_route_; }

 private:
  struct Entry;
  using Handler =
      std::function<Result<ApiAnswer>(const ApiRequest&, const std::string& id, const Caller&)>;
  using PublicHandler = std::function<ApiAnswer(const ApiRequest&, const std::string& id)>;
  void RegisterRoutes();
  // A route that needs a bearer; its handler's Json answers as application/json.
  void Add(const std::string& method, const std::string& openapi_path, const std::string& regex,
           Handler handler);
  const ApiRoute* AddPublic(const std::string& method, const std::string& openapi_path,
                            const std::string& regex, PublicHandler handler,
                            bool needs_bearer = false);

  Ledger& ledger_;
  const HttpOptions options_;
  Metrics metrics_;
  std::vector<RouteInfo> routes_;
  std::deque<Entry> entries_;  // stable addresses: answers point at their route
  const ApiRoute* verify_route_ = nullptr;
  const ApiRoute* healthz_route_ = nullptr;
  std::atomic<bool> stopping_{false};
};

// Percent-decodes `in` ('+' as a space when plus_is_space); a '%' not
// followed by two hex digits stays as it is.
std::string PercentDecode(std::string_view in, bool plus_is_space);
// "a=1&b=x+y" -> {{"a","1"},{"b","x y"}}.
HttpFields ParseQueryString(std::string_view query);

}  // namespace tl
