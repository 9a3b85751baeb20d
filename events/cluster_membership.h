#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "events/result.h"

namespace tl {

struct MembershipOptions {
  std::string brokers;
  std::string topic;
  std::string group = "tokenledger-cluster";  // every node of one cluster shares it
  std::string node_id;                        // this node's group.instance-free client id
  // A node that stops heartbeating (killed, paused, cut off) loses its
  // partitions after this long. A token service sits on the request path:
  // keep it short.
  std::chrono::milliseconds session_timeout{6000};
  std::map<std::string, std::string> properties;  // extra librdkafka properties
};

// Which partitions of the cluster topic this node should own, as Kafka's
// consumer-group assignment decides (cooperative-sticky: a rebalance moves
// only the partitions that change hands). The member consumes nothing itself
// (its partitions stay paused); the partitions are read and written by their
// PartitionLog. Calls back on its own thread:
//   - on_assigned(p): this node should now own p (claim it, catch up, serve).
//   - on_revoked(p, lost): stop serving p before returning. `lost` is true
//     when the group already gave p to another node (this node was evicted:
//     paused or cut off past the session timeout); false for an orderly
//     hand-over, where returning from the callback lets the next owner start.
// Thread-safe.
class ClusterMembership {
 public:
  using AssignedFn = std::function<void(const std::vector<int32_t>&)>;
  using RevokedFn = std::function<void(const std::vector<int32_t>&, bool lost)>;

  static Result<std::unique_ptr<ClusterMembership>> Join(MembershipOptions options,
                                                         AssignedFn on_assigned,
                                                         RevokedFn on_revoked);
  // Leaves the group: on_revoked runs for every partition held (orderly).
  ~ClusterMembership();
  ClusterMembership(const ClusterMembership&) = delete;
  ClusterMembership& operator=(const ClusterMembership&) = delete;

  // The partitions assigned now, ascending.
  std::vector<int32_t> assigned() const;
  // Rebalances seen since Join (each assignment or revocation counts once).
  uint64_t rebalances() const;

 private:
  class Impl;
  explicit ClusterMembership(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tl
