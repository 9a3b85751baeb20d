#include "events/partition_fence.h"

namespace tl {

PartitionFence::Verdict PartitionFence::OnClaim(uint64_t epoch, const std::string& node_id) {
  if (epoch <= epoch_) return Verdict::kStaleClaim;
  epoch_ = epoch;
  owner_ = node_id;
  return Verdict::kClaimed;
}

PartitionFence::Verdict PartitionFence::OnEvent(uint64_t epoch, const Event& e) {
  if (epoch_ == 0 || epoch != epoch_) return Verdict::kFenced;
  if (e.position != last_position_.next() || e.prev_hash != last_hash_ ||
      e.hash != ComputeHash(e)) {
    return Verdict::kUnlinked;
  }
  last_position_ = e.position;
  last_hash_ = e.hash;
  return Verdict::kCounted;
}

std::string_view VerdictName(PartitionFence::Verdict v) {
  switch (v) {
    case PartitionFence::Verdict::kClaimed:
      return "claimed";
    case PartitionFence::Verdict::kStaleClaim:
      return "stale claim";
    case PartitionFence::Verdict::kCounted:
      return "counted";
    case PartitionFence::Verdict::kFenced:
      return "fenced";
    case PartitionFence::Verdict::kUnlinked:
      return "unlinked";
  }
  return "unknown";
}

}  // namespace tl
