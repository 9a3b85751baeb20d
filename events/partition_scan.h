#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "events/event.h"
#include "events/kafka_reader.h"
#include "events/result.h"

namespace tl {

// One partition of a cluster topic as the fence rule reads it
// (partition_fence.h), from offset 0 to the end it had when the scan began.
struct PartitionSummary {
  int32_t partition = 0;
  int64_t end_offset = 0;  // records read (the partition's high watermark)
  uint64_t epoch = 0;      // the newest claim's epoch (0: never claimed)
  std::string owner;       // the newest claim's node
  uint64_t claims = 0;     // claim records that raised the epoch
  uint64_t counted = 0;    // events that count: the partition's history
  uint64_t fenced = 0;     // events written under an older epoch (after a takeover)
  uint64_t unlinked = 0;   // events of the current epoch that do not continue the chain
  uint64_t altered = 0;    // events whose hash does not match their contents
  uint64_t foreign = 0;    // records that are not a node's claim or event
  Position last_position;  // of the last counted event
  std::string last_hash = kGenesisHash;
};

// Reads every partition of a cluster topic (ScanTopic: each from offset 0,
// refused when history was dropped) through a PartitionFence each, calls
// `on_counted` for every event that counts, in partition order, and returns
// one summary per partition, empty ones included. An altered event is
// counted in the summary, not returned as an error: `cluster verify` decides.
Result<std::vector<PartitionSummary>> ScanClusterTopic(
    const ReaderOptions& opts,
    const std::function<void(int32_t partition, const Event&)>& on_counted = {});

}  // namespace tl
