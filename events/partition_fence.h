#pragma once

#include <cstdint>
#include <string>

#include "events/event.h"

namespace tl {

// Cluster mode keeps each token's events in one Kafka partition, written by
// the node that owns the partition. Ownership moves between nodes (Kafka's
// group assignment decides who should own what), and a node that lost a
// partition may still write to it for a while: paused, cut off, or slow to
// learn. The partition itself decides which writes count:
//
//   - An owner starts with a claim record carrying an epoch above every
//     epoch before it in the partition.
//   - Each event record carries the epoch of the claim it was written under.
//   - Reading the partition in offset order, an event counts only when its
//     epoch is the newest claim's, it is the next position (last + 1), it
//     links to the last event that counted (prev_hash) and its hash is right.
//     Everything else is fenced: skipped by every reader alike.
//   - An owner serves a partition only once it has read its own claim back
//     (it then holds every event that counts before it), and acknowledges an
//     event only once it has read it back as counted.
//
// Every reader folds the same records in the same order, so every reader
// agrees on which events count, and an acknowledged event is one every reader
// counts. A node that lost its partition sees the newer claim ahead of its
// own later writes and so never acknowledges them. PartitionFence is that
// fold for one partition: pure, no I/O. Not thread-safe.
class PartitionFence {
 public:
  enum class Verdict {
    kClaimed,     // a claim with a newer epoch: the partition changed hands
    kStaleClaim,  // a claim whose epoch is not newer: ignored
    kCounted,     // an event that counts
    kFenced,      // an event written under an older epoch (or before any claim)
    kUnlinked,    // an event of the current epoch that does not continue the chain
  };

  // A claim record `epoch` by `node_id`.
  Verdict OnClaim(uint64_t epoch, const std::string& node_id);
  // An event record written under `epoch`. Counts when the verdict is kCounted.
  Verdict OnEvent(uint64_t epoch, const Event& e);

  // The newest claim's epoch (0 before any claim) and its node.
  uint64_t epoch() const { return epoch_; }
  const std::string& owner() const { return owner_; }
  // The last event that counted: its position in the partition (0 when none)
  // and its hash (kGenesisHash when none). An owner's next event continues it.
  Position last_position() const { return last_position_; }
  const std::string& last_hash() const { return last_hash_; }

 private:
  uint64_t epoch_ = 0;
  std::string owner_;
  Position last_position_{0};
  std::string last_hash_ = kGenesisHash;
};

std::string_view VerdictName(PartitionFence::Verdict v);

}  // namespace tl
