#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "events/event.h"
#include "events/result.h"

namespace tl {

struct PartitionLogOptions {
  std::string brokers;  // bootstrap.servers
  std::string topic;    // the cluster topic
  int32_t partition = 0;
  std::string node_id;                 // who claims; named in claim records and errors
  std::string source = "tokenledger";  // CloudEvents `source` of the events written
  // Extra librdkafka properties for the producer and the consumer. The
  // producer's acks=all, enable.idempotence and enable.gapless.guarantee are
  // forced: an acknowledgement must mean "in the partition, in order".
  std::map<std::string, std::string> properties;
  // How long Claim() may take (reading the partition to its end, writing the
  // claim, reading it back).
  std::chrono::milliseconds claim_timeout{10000};
};

// Calls `start` with a completion and waits until the completion ran: the
// blocking form of an Append(..., done).
Status AwaitDone(const std::function<void(std::function<void(Status)>)>& start);

// One node's writer and reader of one partition of a cluster topic: the
// partition is the log of record of its tokens, fenced by claim records (see
// events/partition_fence.h for the rule and why it is safe).
//
// Every record of the partition is read, in offset order, by one thread that
// folds it through a PartitionFence and hands each event that counts to
// `on_counted`, whether this node wrote it or another did. As owner (after
// Claim()), Append() writes events that continue the chain and reports each
// one as durable only once it was read back as counted: written with
// acks=all and behind this node's own claim with no newer claim before it.
// An event read back as fenced, or a newer claim read, ends the ownership:
// every write waiting and every later Append() fails with kUnavailable
// naming the new owner.
//
// Thread-safe. `on_counted` runs on the reader thread, in partition order.
class PartitionLog {
 public:
  using CountedFn = std::function<void(const Event&)>;
  using DoneFn = std::function<void(Status)>;

  // Starts reading the partition from its beginning.
  static Result<std::unique_ptr<PartitionLog>> Open(PartitionLogOptions options,
                                                    CountedFn on_counted);
  ~PartitionLog();
  PartitionLog(const PartitionLog&) = delete;
  PartitionLog& operator=(const PartitionLog&) = delete;

  // Reads the partition to its current end, writes a claim with an epoch
  // above every epoch seen, and reads until the claim comes back. Ok: this
  // node owns the partition and `on_counted` was called for every event that
  // counts before the claim. kConflict when another claim came first (the
  // caller may try again), kUnavailable on a timeout or a Kafka error.
  Status Claim();

  // Writes `e` as the partition's next event: fills e.position (the
  // partition's own sequence, from 1), e.prev_hash and e.hash. `done` runs
  // once, on the reader thread (or at once for a refusal): Ok when `e` was
  // read back as counted, an error when it never will be. Events appended
  // one after another are written in that order.
  void Append(Event e, DoneFn done);
  // Append, waiting for the outcome.
  Status AppendAndWait(Event e);

  // Gives the partition up in order: no Append() is taken from now on, and
  // the call returns once every write already taken was settled (read back,
  // or failed), or after `timeout`. Another node may then claim it.
  void Release(std::chrono::milliseconds timeout);

  // Whether this node owns the partition now (claimed, not fenced since).
  bool owns() const;
  // The newest claim read: its epoch and node.
  uint64_t epoch() const;
  std::string owner() const;
  // The last event that counted, as read back.
  Position counted_position() const;
  // Events of this node fenced (read back not counted) since Open.
  uint64_t fenced_writes() const;

 private:
  class Impl;
  explicit PartitionLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tl
