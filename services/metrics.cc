#include "services/metrics.h"

namespace tl {

void Metrics::CountRequest(std::string_view method, std::string_view route, int status,
                           double seconds) {
  std::string key = "method=\"" + std::string(method) + "\",route=\"" + std::string(route) +
                    "\",status=\"" + std::to_string(status) + "\"";
  latency_.Observe(seconds);
  std::lock_guard<std::mutex> l(mu_);
  ++requests_[key];
}

void Metrics::CountVerification(std::string_view code) {
  std::lock_guard<std::mutex> l(mu_);
  ++verifications_[std::string(code)];
}

std::string Metrics::Render(std::string_view extra) const {
  std::string out;
  out += "# HELP tokenledger_http_requests_total HTTP requests by route and status.\n";
  out += "# TYPE tokenledger_http_requests_total counter\n";
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [labels, n] : requests_) {
      out += "tokenledger_http_requests_total{" + labels + "} " + std::to_string(n) + "\n";
    }
    out += "# HELP tokenledger_verifications_total Verifications by result code.\n";
    out += "# TYPE tokenledger_verifications_total counter\n";
    for (const auto& [code, n] : verifications_) {
      out += "tokenledger_verifications_total{code=\"" + code + "\"} " + std::to_string(n) + "\n";
    }
  }
  out += "# HELP tokenledger_http_request_duration_seconds Time spent handling a request.\n";
  out += "# TYPE tokenledger_http_request_duration_seconds histogram\n";
  out += latency_.Render("tokenledger_http_request_duration_seconds");
  out += extra;
  return out;
}

}  // namespace tl
