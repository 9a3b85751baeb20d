#include "services/metrics.h"

#include "services/decider.h"

namespace tl {
namespace {

// The verification codes counted without a lock, in kKnownCodes slots.
constexpr std::array<std::string_view, 9> kCodes = {
    kCodeNotFound,         kCodeRevoked,       kCodeExpired,
    kCodeOriginNotAllowed, kCodeIpNotAllowed,  kCodeForbidden,
    kCodeRateLimited,      kCodeUsageExceeded, kCodeValid};

std::string Labels(std::string_view method, std::string_view route, int status) {
  return "method=\"" + std::string(method) + "\",route=\"" + std::string(route) + "\",status=\"" +
         std::to_string(status) + "\"";
}

}  // namespace

Metrics::RouteId Metrics::AddRoute(std::string_view method, std::string_view route) {
  Route& r = routes_.emplace_back();
  r.method = method;
  r.route = route;
  return routes_.size() - 1;
}

void Metrics::CountRequest(RouteId route, std::string_view method, int status, double seconds) {
  Route& r = routes_[route];
  if (method != r.method || status < kMinStatus || status > kMaxStatus)
    return CountRequest(method, r.route, status, seconds);
  latency_.Observe(seconds);
  r.by_status[status - kMinStatus].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::CountRequest(std::string_view method, std::string_view route, int status,
                           double seconds) {
  std::string key = Labels(method, route, status);
  latency_.Observe(seconds);
  std::lock_guard<std::mutex> l(mu_);
  ++requests_[key];
}

void Metrics::CountVerification(std::string_view code) {
  static_assert(kCodes.size() == kKnownCodes);
  for (size_t i = 0; i < kCodes.size(); ++i) {
    if (kCodes[i] == code) {
      known_codes_[i].fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  ++verifications_[std::string(code)];
}

void Metrics::CountRefusedConnection(std::string_view reason) {
  (reason == "total" ? refused_total_ : refused_per_address_)
      .fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::Render(std::string_view extra) const {
  // One sorted view of both kinds of counters, as they were always rendered.
  std::map<std::string, uint64_t> requests;
  std::map<std::string, uint64_t> verifications;
  {
    std::lock_guard<std::mutex> l(mu_);
    requests = requests_;
    verifications = verifications_;
  }
  for (const Route& r : routes_) {
    for (size_t i = 0; i < r.by_status.size(); ++i) {
      if (uint64_t n = r.by_status[i].load(std::memory_order_relaxed); n > 0)
        requests[Labels(r.method, r.route, kMinStatus + static_cast<int>(i))] += n;
    }
  }
  for (size_t i = 0; i < kCodes.size(); ++i) {
    if (uint64_t n = known_codes_[i].load(std::memory_order_relaxed); n > 0)
      verifications[std::string(kCodes[i])] += n;
  }
  std::string out;
  out += "# HELP tokenledger_http_requests_total HTTP requests by route and status.\n";
  out += "# TYPE tokenledger_http_requests_total counter\n";
  for (const auto& [labels, n] : requests) {
    out += "tokenledger_http_requests_total{" + labels + "} " + std::to_string(n) + "\n";
  }
  out += "# HELP tokenledger_verifications_total Verifications by result code.\n";
  out += "# TYPE tokenledger_verifications_total counter\n";
  for (const auto& [code, n] : verifications) {
    out += "tokenledger_verifications_total{code=\"" + code + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP tokenledger_http_request_duration_seconds Time spent handling a request.\n";
  out += "# TYPE tokenledger_http_request_duration_seconds histogram\n";
  out += latency_.Render("tokenledger_http_request_duration_seconds");
  out +=
      "# HELP tokenledger_http_connections_refused_total Connections closed at accept, over the "
      "total or the per-address connection limit.\n";
  out += "# TYPE tokenledger_http_connections_refused_total counter\n";
  out += "tokenledger_http_connections_refused_total{reason=\"per_address\"} " +
         std::to_string(refused_per_address_.load(std::memory_order_relaxed)) + "\n";
  out += "tokenledger_http_connections_refused_total{reason=\"total\"} " +
         std::to_string(refused_total_.load(std::memory_order_relaxed)) + "\n";
  out += extra;
  return out;
}

}  // namespace tl
