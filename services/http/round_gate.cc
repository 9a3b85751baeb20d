#include "services/http/round_gate.h"

#include <algorithm>

namespace tl {

bool RoundGate::ShouldStart(size_t connections, bool slot_free, int64_t now_us) const {
  if (staged_ == 0 || !slot_free) return false;
  if (now_us - first_staged_us_ >= options_.max_gather_us) return true;
  return static_cast<double>(staged_) >= options_.gather_fraction * static_cast<double>(connections);
}

int64_t RoundGate::WaitUs(bool slot_free, int64_t now_us) const {
  if (staged_ == 0 || !slot_free) return -1;
  return std::max<int64_t>(0, first_staged_us_ + options_.max_gather_us - now_us);
}

}  // namespace tl
