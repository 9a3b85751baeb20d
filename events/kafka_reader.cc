#include "events/kafka_reader.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace tl {
namespace {

// How many positions the checker remembers for link and duplicate checks.
constexpr size_t kRemembered = 200000;

std::string Short(const std::string& hash) { return hash.substr(0, 16) + "…"; }

Error Corruption(std::string message) {
  return MakeError(ErrorCode::kCorruption, std::move(message));
}

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
  void operator()(const rd_kafka_metadata_t* md) const { rd_kafka_metadata_destroy(md); }
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
};
template <typename T>
using KafkaPtr = std::unique_ptr<T, KafkaDeleter>;

}  // namespace

Status ChainChecker::Feed(const Event& e) {
  last_was_new_ = false;
  const uint64_t p = e.position.value();
  if (p == 0) return Corruption("event " + e.id + " has position 0");
  std::string computed = ComputeHash(e);
  if (computed != e.hash) {
    return Corruption("CHAIN BREAK at position " + std::to_string(p) +
                      ": the event's hash does not match its contents (recorded " + Short(e.hash) +
                      ", computed " + Short(computed) + ")");
  }
  if (p == 1 && e.prev_hash != kGenesisHash) {
    return Corruption("CHAIN BREAK at position 1: prev_hash is not the genesis hash");
  }
  if (auto it = seen_.find(p); it != seen_.end()) {
    if (it->second.hash != e.hash) {
      return Corruption("CHAIN BREAK at position " + std::to_string(p) +
                        ": seen twice with different contents (hash " + Short(it->second.hash) +
                        " and " + Short(e.hash) + ")");
    }
    return Ok{};  // a duplicate: dropped
  }
  if (p < forgotten_below_) return Ok{};  // far behind: almost surely a duplicate
  if (auto prev = seen_.find(p - 1); prev != seen_.end() && prev->second.hash != e.prev_hash) {
    return Corruption("CHAIN BREAK between positions " + std::to_string(p - 1) + " and " +
                      std::to_string(p) + ": prev_hash of " + std::to_string(p) + " is " +
                      Short(e.prev_hash) + " but the hash of " + std::to_string(p - 1) + " is " +
                      Short(prev->second.hash));
  }
  if (auto next = seen_.find(p + 1); next != seen_.end() && next->second.prev_hash != e.hash) {
    return Corruption("CHAIN BREAK between positions " + std::to_string(p) + " and " +
                      std::to_string(p + 1) + ": prev_hash of " + std::to_string(p + 1) + " is " +
                      Short(next->second.prev_hash) + " but the hash of " + std::to_string(p) +
                      " is " + Short(e.hash));
  }
  seen_.emplace(p, Seen{e.prev_hash, e.hash});
  if (seen_.size() > kRemembered) {
    forgotten_below_ = seen_.begin()->first + 1;
    seen_.erase(seen_.begin());
  }
  lowest_ = count_ == 0 ? p : std::min(lowest_, p);
  highest_ = std::max(highest_, p);
  ++count_;
  last_was_new_ = true;
  return Ok{};
}

Status ChainChecker::Finish(bool expect_from_one) const {
  if (count_ == 0) return Ok{};
  const uint64_t lo = expect_from_one ? 1 : lowest_;
  if (count_ == highest_ - lo + 1) return Ok{};
  uint64_t expected = lo;
  for (const auto& [p, seen] : seen_) {
    if (p < expected) continue;
    if (p > expected) break;
    ++expected;
  }
  std::string where = expected < forgotten_below_
                          ? "below position " + std::to_string(forgotten_below_)
                          : "at position " + std::to_string(expected);
  return Corruption("CHAIN BREAK: hole " + where + " (" + std::to_string(count_) + " of " +
                    std::to_string(highest_ - lo + 1) + " positions from " + std::to_string(lo) +
                    " to " + std::to_string(highest_) + " present)");
}

Status PositionOrder::Add(Event e, const std::string& where,
                          const std::function<Status(const Event&)>& on_event) {
  const uint64_t pos = e.position.value();
  if (pos < next_) {
    // A re-sent copy of an event already delivered (it must be identical),
    // or one from before where a tail started.
    if (Status st = checker_.Feed(e); !st.ok()) {
      return Corruption(st.error().message + " (" + where + ")");
    }
    return checker_.last_was_new() ? on_event(e) : Status(Ok{});
  }
  if (auto it = held_.find(pos); it != held_.end()) {
    if (it->second != e) {
      return Corruption("CHAIN BREAK at position " + std::to_string(pos) +
                        ": seen twice with different contents (" + where + ")");
    }
    return Ok{};
  }
  held_.emplace(pos, std::move(e));
  while (!held_.empty() && held_.begin()->first == next_) {
    auto node = held_.extract(held_.begin());
    if (Status st = checker_.Feed(node.mapped()); !st.ok()) return st;
    ++next_;
    if (Status st = on_event(node.mapped()); !st.ok()) return st;
  }
  return Ok{};
}

Status PositionOrder::CheckNoHole(const std::string& topic) const {
  if (held_.empty()) return Ok{};
  return Corruption("CHAIN BREAK: position " + std::to_string(next_) +
                    " is missing from kafka topic " + topic +
                    " (next present: " + std::to_string(held_.begin()->first) +
                    ", highest: " + std::to_string(held_.rbegin()->first) + ")");
}

Result<int> TopicPartitionCount(rd_kafka_t* rk, const std::string& brokers,
                                const std::string& topic, std::chrono::milliseconds timeout) {
  // Metadata of all topics: asking for this one by name makes brokers that
  // auto-create topics (the mock does even when the client says not to)
  // create it, and a mistyped name would look like an empty topic.
  const rd_kafka_metadata_t* md_raw = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk, /*all_topics=*/1, nullptr, &md_raw, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return MakeError(ErrorCode::kUnavailable,
                     "kafka brokers " + brokers + " unreachable (no answer in " +
                         std::to_string(timeout.count()) + " ms): " + rd_kafka_err2str(err));
  }
  KafkaPtr<const rd_kafka_metadata_t> md(md_raw);
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (topic != t.topic || t.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) continue;
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return MakeError(ErrorCode::kUnavailable,
                       "kafka topic " + topic + ": " + rd_kafka_err2str(t.err));
    }
    if (t.partition_cnt > 0) return t.partition_cnt;
  }
  return MakeError(ErrorCode::kNotFound, "kafka topic " + topic + " does not exist");
}

Result<int> ScanTopic(const ReaderOptions& opts,
                      const std::function<Status(const rd_kafka_message_s&)>& on_message) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> props{
      {"bootstrap.servers", opts.brokers},
      // assign() needs no group, but librdkafka wants an id; nothing is committed.
      {"group.id", "tokenledger-reader"},
      {"enable.auto.commit", "false"},
      {"enable.partition.eof", "true"},
      {"auto.offset.reset", "earliest"},
      {"allow.auto.create.topics", "false"},
      {"log_level", "3"},
  };
  props.insert(props.end(), opts.properties.begin(), opts.properties.end());
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return MakeError(ErrorCode::kInvalidArgument, "kafka property " + k + ": " + errstr, k);
    }
  }
  rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (raw == nullptr) {
    rd_kafka_conf_destroy(conf);
    return MakeError(ErrorCode::kInvalidArgument, std::string("kafka consumer: ") + errstr);
  }
  KafkaPtr<rd_kafka_t> rk(raw);

  // Which partitions, and where each one ends right now.
  const int metadata_timeout_ms =
      static_cast<int>(std::min<int64_t>(opts.stall_timeout.count(), kMetadataTimeout.count()));
  Result<int> partition_count = TopicPartitionCount(rk.get(), opts.brokers, opts.topic,
                                                    std::chrono::milliseconds(metadata_timeout_ms));
  if (!partition_count.ok()) return partition_count.error();
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  const int partitions = *partition_count;
  std::vector<int64_t> end(partitions, 0);
  std::vector<int64_t> next_offset(partitions, 0);
  KafkaPtr<rd_kafka_topic_partition_list_t> assignment(
      rd_kafka_topic_partition_list_new(partitions));
  int open_partitions = 0;
  for (int p = 0; p < partitions; ++p) {
    int64_t lo = 0;
    int64_t hi = 0;
    err = rd_kafka_query_watermark_offsets(rk.get(), opts.topic.c_str(), p, &lo, &hi,
                                           metadata_timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return MakeError(ErrorCode::kUnavailable, "kafka topic " + opts.topic + " partition " +
                                                    std::to_string(p) + ": " +
                                                    rd_kafka_err2str(err));
    }
    if (lo != 0) {
      return Corruption("kafka topic " + opts.topic + " partition " + std::to_string(p) +
                        " starts at offset " + std::to_string(lo) +
                        ", not 0: retention dropped older events, so the topic no longer "
                        "holds the whole history");
    }
    end[p] = hi;
    if (hi > 0) {
      rd_kafka_topic_partition_list_add(assignment.get(), opts.topic.c_str(), p)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
      ++open_partitions;
    }
  }
  if (open_partitions == 0) {
    // Brokers that auto-create topics (the mock does, even for a consumer's
    // metadata request) make a mistyped name look like an empty topic; a
    // restore from nothing is never what was meant.
    return MakeError(ErrorCode::kNotFound,
                     "kafka topic " + opts.topic + " does not exist or holds no events");
  }
  {
    err = rd_kafka_assign(rk.get(), assignment.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return MakeError(ErrorCode::kUnavailable,
                       std::string("kafka assign: ") + rd_kafka_err2str(err));
    }
  }

  auto last_progress = std::chrono::steady_clock::now();
  while (open_partitions > 0) {
    KafkaPtr<rd_kafka_message_t> msg(rd_kafka_consumer_poll(rk.get(), 100));
    if (!msg) {
      if (std::chrono::steady_clock::now() - last_progress > opts.stall_timeout) {
        std::string stuck;
        for (int p = 0; p < partitions; ++p) {
          if (next_offset[p] < end[p]) {
            stuck += " partition " + std::to_string(p) + " at offset " +
                     std::to_string(next_offset[p]) + " of " + std::to_string(end[p]) + ";";
          }
        }
        return MakeError(ErrorCode::kUnavailable,
                         "kafka topic " + opts.topic + ": no progress for " +
                             std::to_string(opts.stall_timeout.count()) + " ms:" + stuck);
      }
      continue;
    }
    const int p = msg->partition;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (p >= 0 && p < partitions && next_offset[p] < end[p] && msg->offset >= end[p]) {
        next_offset[p] = end[p];
        --open_partitions;
      }
      continue;
    }
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;  // transient; librdkafka retries
    if (p < 0 || p >= partitions || next_offset[p] >= end[p]) continue;  // past the snapshot
    last_progress = std::chrono::steady_clock::now();
    next_offset[p] = msg->offset + 1;
    if (next_offset[p] >= end[p]) --open_partitions;

    if (Status st = on_message(*msg); !st.ok()) return st.error();
  }
  return partitions;
}

Status ReadTopic(const ReaderOptions& opts, const std::function<Status(const Event&)>& on_event) {
  PositionOrder order;
  Result<int> scanned = ScanTopic(opts, [&](const rd_kafka_message_t& msg) -> Status {
    const std::string where =
        "partition " + std::to_string(msg.partition) + " offset " + std::to_string(msg.offset);
    Event e;
    try {
      e = FromCloudEventText(std::string_view(static_cast<const char*>(msg.payload), msg.len));
    } catch (const std::exception& ex) {
      return Corruption("kafka topic " + opts.topic + " " + where +
                        ": not a tokenledger CloudEvent (" + ex.what() + ")");
    }
    return order.Add(std::move(e), where, on_event);
  });
  if (!scanned.ok()) return scanned.error();
  if (Status hole = order.CheckNoHole(opts.topic); !hole.ok()) return hole;
  return order.checker().Finish(/*expect_from_one=*/true);
}

Result<std::vector<Event>> ReadAllEvents(const ReaderOptions& opts) {
  std::vector<Event> events;
  Status st = ReadTopic(opts, [&](const Event& e) -> Status {
    events.push_back(e);
    return Ok{};
  });
  if (!st.ok()) return st.error();
  return events;
}

}  // namespace tl
