#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "events/histogram.h"

namespace tl {

// Counters for /metrics (Prometheus text format). Thread-safe.
class Metrics {
 public:
  void CountRequest(std::string_view method, std::string_view route, int status, double seconds);
  void CountVerification(std::string_view code);
  // Renders everything this class counts; `extra` is appended verbatim
  // (gauges owned by others: log position, fsync latency, relay lag).
  std::string Render(std::string_view extra) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> requests_;       // `method="…",route="…",status="…"` -> n
  std::map<std::string, uint64_t> verifications_;  // code -> n
  Histogram latency_;
};

}  // namespace tl
