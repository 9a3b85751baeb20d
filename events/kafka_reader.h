#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "events/event.h"
#include "events/result.h"

struct rd_kafka_s;          // librdkafka's rd_kafka_t
struct rd_kafka_message_s;  // librdkafka's rd_kafka_message_t

namespace tl {

// Verifies the hash chain of events that may arrive in any order and more
// than once (a Kafka topic read across partitions): every event's hash must
// be ComputeHash of its contents, position 1 must link to kGenesisHash, each
// event's prev_hash must equal the hash of the event one position before it
// whenever both were seen, and a position seen twice must carry the same
// hash. Remembers the newest 200,000 positions; an event older than that is
// only checked against its own hash. Not thread-safe.
class ChainChecker {
 public:
  // Feeds one event. Returns an error of kind kCorruption naming the
  // position(s) at the first break found; the checker stays usable.
  // Returns Ok for a duplicate of an event already seen (it is "dropped").
  Status Feed(const Event& e);
  // True when the last Feed() saw `e.position` for the first time.
  bool last_was_new() const { return last_was_new_; }
  // With `expect_from_one`: errors unless positions 1..highest were all seen;
  // otherwise errors when the seen positions have holes between the lowest
  // and the highest. Names the first missing position.
  Status Finish(bool expect_from_one) const;
  uint64_t highest() const { return highest_; }
  uint64_t count() const { return count_; }

 private:
  struct Seen {
    std::string prev_hash;
    std::string hash;
  };
  // The most recent positions seen (at most 200,000): enough for link and
  // duplicate checks across partitions that run apart by that much.
  std::map<uint64_t, Seen> seen_;
  uint64_t forgotten_below_ = 0;  // positions below this were dropped from seen_
  uint64_t lowest_ = 0;
  uint64_t highest_ = 0;
  uint64_t count_ = 0;  // distinct positions seen
  bool last_was_new_ = false;
};

// Puts events read from several partitions back into position order: an
// event is held until every position before it was delivered, then the chain
// is verified (ChainChecker) and `on_event` is called, in order. Duplicates
// are checked against the first copy and dropped. An event below the first
// position to deliver that was never seen (a tail that started in the middle
// of the topic) is verified and delivered at once. Not thread-safe.
class PositionOrder {
 public:
  // `first`: the first position to deliver (1 for a whole topic).
  explicit PositionOrder(uint64_t first = 1) : next_(first) {}
  // Adds one event. Errors (kCorruption, naming the position; `where` is
  // appended) at a chain break, or with `on_event`'s error, which stops the
  // delivery of held events.
  Status Add(Event e, const std::string& where,
             const std::function<Status(const Event&)>& on_event);
  // The next position to deliver; events at or above it are held or new.
  uint64_t next() const { return next_; }
  bool holding() const { return !held_.empty(); }
  // kCorruption "CHAIN BREAK: position N is missing from kafka topic T ..."
  // when events are held behind a missing position; Ok otherwise.
  Status CheckNoHole(const std::string& topic) const;
  const ChainChecker& checker() const { return checker_; }

 private:
  ChainChecker checker_;
  std::map<uint64_t, Event> held_;  // arrived ahead of next_
  uint64_t next_;
};

// The number of partitions of `topic`, asked with a metadata request of at
// most `timeout`: kUnavailable when the brokers do not answer by then,
// kNotFound when the topic does not exist. `rk` is any client handle;
// `brokers` only names them in the message.
Result<int> TopicPartitionCount(rd_kafka_s* rk, const std::string& brokers,
                                const std::string& topic, std::chrono::milliseconds timeout);

// How long readers wait for the brokers' first metadata answer.
inline constexpr std::chrono::milliseconds kMetadataTimeout{10000};

struct ReaderOptions {
  std::string brokers;
  std::string topic = "tokenledger.events";
  std::vector<std::pair<std::string, std::string>> properties;  // any librdkafka property
  // Give up when no message arrived for this long while some partition has
  // not reached its high watermark yet.
  std::chrono::milliseconds stall_timeout{30000};
};

// Reads every message of the topic as it is when the call starts: every
// partition from offset 0 to its high watermark, by assign() (no group join),
// each partition in offset order (partitions interleaved). Errors as
// ReadTopic's for the topic itself (missing, empty, not starting at offset 0,
// unreachable, stalled); an error returned by `on_message` stops the read.
// The topic's partition count.
Result<int> ScanTopic(const ReaderOptions& opts,
                      const std::function<Status(const rd_kafka_message_s&)>& on_message);

// Reads the whole topic as it is when the call starts (as ScanTopic), decodes each
// message with FromCloudEvent, drops duplicate positions, and calls
// `on_event` in position order 1, 2, 3... with the chain verified up to that
// event. Errors (kCorruption) name the position or partition/offset at fault:
// a message that is not one of our CloudEvents, a broken chain, a hole, a
// partition whose first offset is not 0 (retention dropped history).
// kNotFound when the topic does not exist or is empty; kUnavailable when the brokers
// cannot be reached. An error returned by `on_event` stops the read.
Status ReadTopic(const ReaderOptions& opts, const std::function<Status(const Event&)>& on_event);

// The whole verified history of a topic, in position order.
Result<std::vector<Event>> ReadAllEvents(const ReaderOptions& opts);

}  // namespace tl
