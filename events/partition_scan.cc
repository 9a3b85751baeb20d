#include "events/partition_scan.h"

#include <librdkafka/rdkafka.h>

#include <map>

#include "events/cluster_record.h"
#include "events/partition_fence.h"

namespace tl {

Result<std::vector<PartitionSummary>> ScanClusterTopic(
    const ReaderOptions& opts, const std::function<void(int32_t, const Event&)>& on_counted) {
  std::map<int32_t, std::pair<PartitionFence, PartitionSummary>> seen;
  Result<int> partitions = ScanTopic(opts, [&](const rd_kafka_message_t& m) -> Status {
    auto& [fence, summary] = seen[m.partition];
    summary.end_offset = m.offset + 1;
    ClusterRecord r = DecodeClusterRecord(&m);
    switch (r.kind) {
      case ClusterRecord::Kind::kForeign:
        ++summary.foreign;
        break;
      case ClusterRecord::Kind::kClaim:
        if (fence.OnClaim(r.epoch, r.node) == PartitionFence::Verdict::kClaimed) ++summary.claims;
        break;
      case ClusterRecord::Kind::kEvent:
        switch (fence.OnEvent(r.epoch, *r.event)) {
          case PartitionFence::Verdict::kCounted:
            ++summary.counted;
            if (on_counted) on_counted(m.partition, *r.event);
            break;
          case PartitionFence::Verdict::kFenced:
            ++summary.fenced;
            break;
          default:
            ++(r.event->hash == ComputeHash(*r.event) ? summary.unlinked : summary.altered);
            break;
        }
        break;
    }
    return Ok{};
  });
  if (!partitions.ok()) return partitions.error();
  std::vector<PartitionSummary> out;
  for (int32_t p = 0; p < *partitions; ++p) {
    PartitionSummary s;
    if (auto it = seen.find(p); it != seen.end()) {
      const PartitionFence& fence = it->second.first;
      s = it->second.second;
      s.epoch = fence.epoch();
      s.owner = fence.owner();
      s.last_position = fence.last_position();
      s.last_hash = fence.last_hash();
    }
    s.partition = p;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace tl
