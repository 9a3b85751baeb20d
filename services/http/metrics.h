#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>

#include "events/histogram.h"
#include "events/thread_annotations.h"

namespace tl {

// The version this binary was built as (CMake's PROJECT_VERSION).
std::string_view BuildVersion();

// One metric family with a single sample: HELP, TYPE and the value line.
// `help` is plain text (no newline or backslash).
std::string MetricFamily(std::string_view name, std::string_view help, std::string_view type,
                         std::string_view value);

// The standard process_* families (CPU, memory, descriptors, start time) of
// this process, read from /proc, and tokenledger_build_info.
std::string ProcessMetrics();

class Ledger;
// The log's and the ledger's families (positions, appends, fsyncs and their
// latencies) followed by ProcessMetrics().
std::string LedgerMetrics(const Ledger& ledger);

// The label a request's method is counted under: one of a fixed set, or
// "OTHER", so that clients cannot grow /metrics with made-up methods.
std::string_view MetricMethod(std::string_view method);

// Counters for /metrics (Prometheus text format). Thread-safe.
class Metrics {
 public:
  // A route known before serving. Requests on it are counted without a lock
  // or an allocation. Not thread-safe: call before any Count*.
  using RouteId = size_t;
  RouteId AddRoute(std::string_view method, std::string_view route);
  // `method` is the request's (HEAD on a GET route differs from the route's).
  void CountRequest(RouteId route, std::string_view method, int status, double seconds);
  // Any route, counted under a lock (unmatched requests: their method is the client's).
  void CountRequest(std::string_view method, std::string_view route, int status, double seconds);
  void CountVerification(std::string_view code);
  // A connection closed at accept: `reason` is "total" or "per_address".
  void CountRefusedConnection(std::string_view reason);
  // Renders everything this class counts; `extra` is appended verbatim
  // (gauges owned by others: log position, fsync latency, relay lag).
  std::string Render(std::string_view extra) const;

 private:
  static constexpr int kMinStatus = 100;
  static constexpr int kMaxStatus = 599;
  struct Route {
    std::string method;
    std::string route;
    std::array<std::atomic<uint64_t>, kMaxStatus - kMinStatus + 1> by_status{};
  };
  static constexpr size_t kKnownCodes = 9;

  mutable Mutex mu_;
  // `method="…",route="…",status="…"` -> n
  std::map<std::string, uint64_t> requests_ TL_GUARDED_BY(mu_);
  // code -> n, codes not in kKnownCodes
  std::map<std::string, uint64_t> verifications_ TL_GUARDED_BY(mu_);
  std::deque<Route> routes_;  // by RouteId; never moves
  std::array<std::atomic<uint64_t>, kKnownCodes> known_codes_{};
  Histogram latency_;
  std::atomic<uint64_t> refused_total_{0};
  std::atomic<uint64_t> refused_per_address_{0};
};

}  // namespace tl
