#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "events/event.h"
#include "events/result.h"

namespace tl {

struct ClusterLogOptions {
  std::string brokers;
  std::string topic;
  std::string group = "tokenledger-cluster";
  std::string node_id;
  std::chrono::milliseconds session_timeout{6000};
  std::chrono::milliseconds claim_timeout{10000};
  std::map<std::string, std::string> properties;  // extra librdkafka properties
};

// A node's view of the cluster topic: it follows every partition (each event
// that counts is handed to `on_counted`, whoever wrote it) and owns the
// partitions Kafka's group assigns it (ClusterMembership): on assignment it
// claims the partition (PartitionLog::Claim: caught up, then serving), on
// revocation it stops writing there. Append() writes to an owned partition
// and reports durable only once the event was read back as counted.
//
// `on_ownership(p, owned)` tells the caller when serving p starts (after the
// claim came back: everything before it was handed to `on_counted`) and
// stops. Both callbacks may run on several threads (one per partition).
// Thread-safe.
class ClusterLog {
 public:
  using CountedFn = std::function<void(int32_t partition, const Event&)>;
  using OwnershipFn = std::function<void(int32_t partition, bool owned)>;
  using DoneFn = std::function<void(Status)>;

  static Result<std::unique_ptr<ClusterLog>> Open(ClusterLogOptions options, CountedFn on_counted,
                                                  OwnershipFn on_ownership = {});
  // Leaves the group (partitions handed over in order), then stops reading.
  ~ClusterLog();
  ClusterLog(const ClusterLog&) = delete;
  ClusterLog& operator=(const ClusterLog&) = delete;

  int32_t partitions() const;
  bool Owns(int32_t partition) const;
  // Writes `e` as the next event of `partition` (position, prev_hash and hash
  // are filled in). kUnavailable when this node does not own it.
  void Append(int32_t partition, Event e, DoneFn done);
  Status AppendAndWait(int32_t partition, Event e);

  struct PartitionState {
    int32_t partition = 0;
    bool owned = false;  // this node serves it
    uint64_t epoch = 0;  // the newest claim read
    std::string owner;   // its node
    Position counted;    // the last event that counts, as read here
  };
  std::vector<PartitionState> State() const;

 private:
  class Impl;
  explicit ClusterLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tl
