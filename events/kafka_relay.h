#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "events/clock.h"
#include "events/event_source.h"
#include "events/result.h"

namespace tl {

struct RelayOptions {
  std::string brokers;  // bootstrap.servers, "HOST:PORT,..."
  std::string topic = "tokenledger.events";
  // Any librdkafka property (SASL, TLS, client.id, ...), applied after our
  // defaults. enable.idempotence and acks are forced back to true / all.
  std::vector<std::pair<std::string, std::string>> properties;
  // A file holding the last position Kafka acknowledged, replaced atomically.
  // Empty: no checkpoint; every start re-sends the whole log (duplicates only).
  std::string checkpoint_path;
  std::string source = "tokenledger";  // CloudEvents `source`
  // Events in flight (produced, not yet acknowledged) at most; the relay
  // stops reading the log beyond that during an outage instead of buffering
  // the whole log in memory.
  size_t max_in_flight = 20000;
  // Stats().degraded turns on when the oldest unacknowledged event is older
  // than this, or when errors were seen recently and events are waiting.
  std::chrono::milliseconds degraded_lag{10000};
  // Where "now" comes from for lag_seconds; nullptr = the system clock.
  const Clock* clock = nullptr;
  // Whether to log errors to stderr (tests turn it off to keep output short).
  bool log_errors = true;
};

struct RelayStats {
  Position acked_position;   // every event <= this is acknowledged by Kafka
  Position source_position;  // the log's durable position
  uint64_t lag_positions = 0;
  double lag_seconds = 0;  // age of the oldest unacknowledged event
  uint64_t produced = 0;   // messages handed to librdkafka (re-sends included)
  uint64_t errors = 0;
  std::string last_error;  // empty when there was none
  bool degraded = false;
  bool running = false;
};

// The Kafka message value for `e`: byte for byte ToCloudEvent(e, source).dump(),
// built without the intermediate JSON object (the relay's hot path; several
// times faster). Throws like dump() on invalid UTF-8.
std::string EncodeCloudEvent(const Event& e, std::string_view source);

// Streams every event of an EventSource to a Kafka topic in position order:
// key = token id, value = the CloudEvents JSON. Durably remembers the last
// acknowledged position (RelayOptions::checkpoint_path) and resumes after it,
// so no event is ever skipped; events in flight at a crash are sent again and
// consumers drop them by position.
//
// The relay only reads the source, from its own thread: the log's writers
// never wait for Kafka. Outages are retried forever with back-off.
//
// "source" must outlive the relay. Start/Stop are not thread-safe with each
// other; Stats() is thread-safe.
class KafkaRelay {
 public:
  KafkaRelay(const EventSource& source, RelayOptions opts);
  // Stops without waiting for in-flight events (they are re-sent next time).
  ~KafkaRelay();
  KafkaRelay(const KafkaRelay&) = delete;
  KafkaRelay& operator=(const KafkaRelay&) = delete;

  // Reads the checkpoint and starts the relay thread. Errors only for a bad
  // configuration (unknown librdkafka property); unreachable brokers are not
  // an error. REQUIRES: not running.
  Status Start();
  // Waits up to `flush_timeout` for in-flight events to be acknowledged,
  // records the checkpoint and stops the thread. Events not acknowledged by
  // then are dropped from memory and re-sent by the next relay.
  void Stop(std::chrono::milliseconds flush_timeout = std::chrono::seconds(5));

  RelayStats Stats() const;

  // Reads a checkpoint file: 0 when absent or written for another topic (a
  // new topic must receive the whole log). Errors when it exists but is
  // unreadable or damaged.
  static Result<Position> ReadCheckpoint(const std::string& path, const std::string& topic);
  // Replaces the checkpoint atomically (tmp + fsync + rename + fsync dir).
  static Status WriteCheckpoint(const std::string& path, const std::string& topic,
                                Position position);

  struct Impl;  // public for the librdkafka callbacks only

 private:
  const EventSource& source_;
  RelayOptions opts_;
  std::shared_ptr<Impl> impl_;
  std::thread thread_;
};

}  // namespace tl
