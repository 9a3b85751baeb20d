#include "events/histogram.h"

#include <cstdio>

namespace tl {

std::string Histogram::Render(std::string_view name, std::string_view labels) const {
  std::string out;
  std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  char buf[64];
  for (size_t i = 0; i <= kBoundsSeconds.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    if (i < kBoundsSeconds.size()) {
      std::snprintf(buf, sizeof buf, "%g", kBoundsSeconds[i]);
    } else {
      std::snprintf(buf, sizeof buf, "+Inf");
    }
    out += std::string(name) + "_bucket{" + std::string(labels) + sep + "le=\"" + buf + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  std::snprintf(buf, sizeof buf, "%.6f", sum_micros_.load(std::memory_order_relaxed) / 1e6);
  std::string braces;
  if (!labels.empty()) {
    braces.append("{").append(labels).append("}");
  }
  out += std::string(name) + "_sum" + braces + " " + buf + "\n";
  out += std::string(name) + "_count" + braces + " " + std::to_string(cumulative) + "\n";
  return out;
}

}  // namespace tl
