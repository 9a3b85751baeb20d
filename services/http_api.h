#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "events/result.h"
#include "services/ledger.h"
#include "services/metrics.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace tl {

struct HttpOptions {
  std::string tls_cert;  // both set: HTTPS
  std::string tls_key;
  // Worker threads; a kept-alive connection holds one, so size it for clients.
  int threads = 64;
  // Extra Prometheus text for /metrics (relay gauges); may be empty.
  std::function<std::string()> extra_metrics;
  // Extra fields for /readyz (relay state); may be empty.
  std::function<Json()> extra_ready;
};

struct RouteInfo {
  std::string method;        // "GET", "POST", "PATCH"
  std::string openapi_path;  // "/v1/tokens/{id}"
};

// The HTTP front end: turns requests into Ledger commands and queries,
// answers errors as application/problem+json, logs one JSON line per request
// to stderr (never a secret), and counts requests for /metrics.
class HttpApi {
 public:
  // `ledger` must outlive this object.
  HttpApi(Ledger& ledger, HttpOptions options);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Binds host:port (port 0 picks a free one). Returns the bound port.
  Result<int> Bind(const std::string& host, int port);
  // Serves until Stop(). REQUIRES: Bind succeeded.
  void Run();
  // Thread-safe; Run returns soon after.
  void Stop();
  // Every route registered, for the OpenAPI coverage test.
  const std::vector<RouteInfo>& Routes() const { return routes_; }
  // Shared with the data plane (VerifyServer) so that /metrics counts both
  // listeners' verifications under one route.
  Metrics& metrics() { return metrics_; }
  Metrics::RouteId verify_route() const { return verify_route_; }

 private:
  struct Reply;
  // A registered route as the request log and the metrics name it.
  struct RouteTag {
    std::string name;  // "POST /v1/verify"
    Metrics::RouteId metrics_id;
  };
  using Handler = std::function<Result<Reply>(const httplib::Request&, const Caller&)>;
  void RegisterRoutes();
  void Add(const std::string& method, const std::string& openapi_path, const std::string& regex,
           Handler handler);
  void AddPublic(const std::string& method, const std::string& openapi_path,
                 const std::string& regex,
                 std::function<void(const httplib::Request&, httplib::Response&)> handler);
  void Log(const httplib::Request& req, const httplib::Response& res);

  Ledger& ledger_;
  const HttpOptions options_;
  std::unique_ptr<httplib::Server> server_;
  Metrics metrics_;
  std::vector<RouteInfo> routes_;
  std::deque<RouteTag> route_tags_;  // stable addresses: handlers point at their tag
  Metrics::RouteId verify_route_ = 0;
};

}  // namespace tl
