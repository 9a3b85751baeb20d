#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace tl {

// A latency histogram with fixed buckets (Prometheus style, cumulative on
// output). Lock-free; Observe is safe from any thread.
class Histogram {
 public:
  static constexpr std::array<double, 14> kBoundsSeconds = {0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                                            0.0025,  0.005,  0.01,    0.025,  0.05,
                                                            0.1,     0.25,   0.5,     1.0};

  void Observe(double seconds) {
    size_t i = 0;
    while (i < kBoundsSeconds.size() && seconds > kBoundsSeconds[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_micros_.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
  }

  // Prometheus text lines for metric `name` with extra `labels` ("" or `k="v",...`).
  std::string Render(std::string_view name, std::string_view labels = {}) const;

 private:
  std::array<std::atomic<uint64_t>, kBoundsSeconds.size() + 1> counts_{};
  std::atomic<uint64_t> sum_micros_{0};
};

}  // namespace tl
