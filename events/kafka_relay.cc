#include "events/kafka_relay.h"

#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "events/file_util.h"
#include "events/json_log.h"
#include "events/thread_annotations.h"
#include "events/thread_name.h"
#include "events/time_format.h"

namespace tl {
namespace {

constexpr size_t kReadBatch = 512;
constexpr int64_t kCheckpointEveryMs = 200;
constexpr int64_t kErrorLogEveryMs = 10000;
constexpr int64_t kRecentErrorMs = 30000;
constexpr std::chrono::milliseconds kMinBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{10000};
constexpr const char* kCheckpointFormat = "tokenledger.relay-checkpoint.v1";
// CloudEvents Kafka protocol binding, structured content mode: the value is
// the whole event in the JSON event format.
constexpr const char* kContentTypeHeader = "content-type";
constexpr const char* kCloudEventsJson = "application/cloudevents+json";

// Whether a librdkafka property's value is a credential (SASL password,
// OAuth secret, private key, key password): such values are cut out of
// every log line, whatever librdkafka puts in its messages.
bool IsSecretProperty(const std::string& key) {
  for (const char* word :
       {"password", "secret", "oauthbearer.config", "ssl.key.pem", "ssl_key", "ssl.keystore"}) {
    if (key.find(word) != std::string::npos) return true;
  }
  return false;
}

Error IoError(const std::string& what, const std::string& path) {
  return MakeError(ErrorCode::kIo, what + " " + path + ": " + std::strerror(errno));
}

// Properties a relay always sets before the caller's, and the ones the
// caller cannot weaken: they are what makes "no gap, in order" hold.
const std::vector<std::pair<std::string, std::string>>& DefaultProperties() {
  static const std::vector<std::pair<std::string, std::string>> props{
      {"linger.ms", "1"},  // latency matters more than batching here
      // Same partition for a key as Java clients compute, so consumers and
      // tools written for the JVM agree on where a token lives.
      {"partitioner", "murmur2_random"},
      // Never give up on a message: an outage is waited out, not turned into
      // a hole that would force re-sending and reordering.
      {"message.timeout.ms", "0"},
      // Come back quickly after an outage (librdkafka's default is 10 s).
      {"reconnect.backoff.max.ms", "2000"},
      {"queue.buffering.max.messages", "1000000"},
  };
  return props;
}

const std::vector<std::pair<std::string, std::string>>& ForcedProperties() {
  static const std::vector<std::pair<std::string, std::string>> props{
      {"enable.idempotence", "true"},
      {"acks", "all"},
  };
  return props;
}

// Appends `v` as a JSON string exactly as nlohmann::json::dump() writes it.
// Plain ASCII is copied; anything else goes through nlohmann itself.
void AppendJsonString(std::string_view v, std::string* out) {
  for (unsigned char c : v) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      *out += Json(std::string(v)).dump();
      return;
    }
  }
  out->push_back('"');
  out->append(v);
  out->push_back('"');
}

// Appends `j` exactly as j.dump() writes it. Event data is small objects of
// strings, integers, booleans and nulls: those are written directly (no
// per-character escaping state machine for plain ASCII); anything else
// (floats, non-ASCII or escaped text) goes through nlohmann itself.
void AppendJson(const Json& j, std::string* out) {
  switch (j.type()) {
    case Json::value_t::object: {
      out->push_back('{');
      bool first = true;
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(it.key(), out);
        out->push_back(':');
        AppendJson(it.value(), out);
      }
      out->push_back('}');
      return;
    }
    case Json::value_t::array: {
      out->push_back('[');
      bool first = true;
      for (const Json& v : j) {
        if (!first) out->push_back(',');
        first = false;
        AppendJson(v, out);
      }
      out->push_back(']');
      return;
    }
    case Json::value_t::string:
      AppendJsonString(j.get_ref<const std::string&>(), out);
      return;
    case Json::value_t::number_integer:
      *out += std::to_string(j.get<int64_t>());
      return;
    case Json::value_t::number_unsigned:
      *out += std::to_string(j.get<uint64_t>());
      return;
    case Json::value_t::boolean:
      *out += j.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::null:
      *out += "null";
      return;
    default:
      *out += j.dump();
      return;
  }
}

}  // namespace

std::string EncodeCloudEvent(const Event& e, std::string_view source) {
  // Keys in the order nlohmann's sorted object map writes them.
  std::string out;
  out.reserve(512);
  out += "{\"data\":";
  AppendJson(e.data, &out);
  out += ",\"datacontenttype\":\"application/json\",\"id\":";
  AppendJsonString(e.id, &out);
  out += ",\"source\":";
  AppendJsonString(source, &out);
  out += ",\"specversion\":\"1.0\",\"subject\":";
  AppendJsonString(e.token_id, &out);
  out += ",\"time\":";
  AppendJsonString(FormatRfc3339Ms(e.time_ms), &out);
  out += ",\"tlactor\":";
  AppendJsonString(e.actor, &out);
  out += ",\"tlhash\":";
  AppendJsonString(e.hash, &out);
  out += ",\"tlposition\":";
  out += std::to_string(e.position.value());
  out += ",\"tlprevhash\":";
  AppendJsonString(e.prev_hash, &out);
  out += ",\"tlversion\":";
  out += std::to_string(e.version.value());
  out += ",\"type\":";
  AppendJsonString(EventTypeName(e.type), &out);
  out += '}';
  return out;
}

struct KafkaRelay::Impl {
  struct InFlight {
    int64_t time_ms;
    bool acked;
  };

  Impl(const EventSource& s, const RelayOptions& o)
      : source(s), opts(o), clock(o.clock != nullptr ? o.clock : &system_clock) {}

  const EventSource& source;
  const RelayOptions opts;
  SystemClock system_clock;
  const Clock* clock;

  std::atomic<bool> stop{false};
  std::atomic<int64_t> flush_timeout_ms{0};

  // Shared with Stats().
  mutable Mutex mu;
  uint64_t acked TL_GUARDED_BY(mu) = 0;
  int64_t oldest_unacked_time_ms TL_GUARDED_BY(mu) = -1;  // -1: not read yet
  uint64_t produced TL_GUARDED_BY(mu) = 0;
  uint64_t errors TL_GUARDED_BY(mu) = 0;
  std::string last_error TL_GUARDED_BY(mu);
  int64_t last_error_ms TL_GUARDED_BY(mu) = 0;
  std::string last_logged TL_GUARDED_BY(mu);
  int64_t last_logged_ms TL_GUARDED_BY(mu) = 0;
  bool running TL_GUARDED_BY(mu) = false;

  // Relay thread only (librdkafka callbacks run inside rd_kafka_poll/flush,
  // which only the relay thread calls).
  rd_kafka_t* rk = nullptr;
  uint64_t window_base = 0;     // every position <= window_base is acknowledged
  std::deque<InFlight> window;  // positions window_base+1 .. next-1
  uint64_t next = 1;
  bool rewind = false;  // a message was lost: re-send after window_base
  uint64_t checkpointed = 0;
  int64_t last_checkpoint_ms = 0;
  std::chrono::milliseconds backoff = kMinBackoff;

  void RecordError(const std::string& message) {
    int64_t now = clock->NowMs();
    bool log = false;
    {
      MutexLock lock(mu);
      ++errors;
      last_error = message;
      last_error_ms = now;
      // Say it once per kErrorLogEveryMs: an outage must be visible in the
      // log without flooding it.
      if (message != last_logged || now - last_logged_ms >= kErrorLogEveryMs) {
        last_logged = message;
        last_logged_ms = now;
        log = true;
      }
    }
    if (log && opts.log_errors) Log("error", message, {});
  }

  // One JSON log line naming the relay, with credentials cut out.
  void Log(const char* level, const std::string& message, Json fields) const {
    fields["msg"] = "kafka relay: " + Redact(message);
    fields["topic"] = opts.topic;
    fields["brokers"] = Redact(opts.brokers);
    WriteJsonLogLine(level, std::move(fields));
  }

  std::string Redact(std::string text) const {
    for (const auto& [key, value] : opts.properties) {
      if (value.empty() || !IsSecretProperty(key)) continue;
      for (size_t at = text.find(value); at != std::string::npos; at = text.find(value, at)) {
        text.replace(at, value.size(), "[redacted]");
      }
    }
    return text;
  }

  void Publish() {
    MutexLock lock(mu);
    acked = window_base;
    oldest_unacked_time_ms = window.empty() ? -1 : window.front().time_ms;
  }

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    auto position = reinterpret_cast<uintptr_t>(msg->_private);
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      // A success is true whichever producer generation sent it.
      if (position > self->window_base && position < self->next) {
        self->window[position - self->window_base - 1].acked = true;
      }
      return;
    }
    if (msg->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
        msg->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
      return;  // we purged it on purpose; it will be re-sent
    }
    self->RecordError("delivery of position " + std::to_string(position) +
                      " failed: " + rd_kafka_err2str(msg->err) + "; re-sending from position " +
                      std::to_string(self->window_base + 1));
    self->rewind = true;
  }

  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char fatal[512];
      rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(rk, fatal, sizeof fatal);
      self->RecordError(std::string("fatal producer error, recreating the producer: ") +
                        rd_kafka_err2name(ferr) + ": " + fatal);
      self->rewind = true;
      return;
    }
    self->RecordError(std::string(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))) + ": " +
                      reason);
  }

  static void OnLog(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
    // librdkafka's own log lines (connection refused, ...): the relay
    // reports errors through OnError; keep warnings and worse on stderr.
    if (level > 4) return;
    const auto* self = static_cast<const Impl*>(rd_kafka_opaque(rk));
    self->Log(level <= 3 ? "error" : "warn", buf, {{"librdkafka", fac}});
  }

  // Builds a configuration; nullptr and `error` set when a property is refused.
  rd_kafka_conf_t* MakeConf(std::string* error) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char errstr[512];
    auto set = [&](const std::string& k, const std::string& v) {
      if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) !=
          RD_KAFKA_CONF_OK) {
        *error = "kafka property " + k + ": " + errstr;
        return false;
      }
      return true;
    };
    bool ok = set("bootstrap.servers", opts.brokers);
    for (const auto& [k, v] : DefaultProperties()) ok = ok && set(k, v);
    for (const auto& [k, v] : opts.properties) ok = ok && set(k, v);
    for (const auto& [k, v] : ForcedProperties()) ok = ok && set(k, v);
    if (!opts.log_errors) ok = ok && set("log_level", "0");
    if (!ok) {
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, &Impl::OnDelivery);
    rd_kafka_conf_set_error_cb(conf, &Impl::OnError);
    rd_kafka_conf_set_log_cb(conf, &Impl::OnLog);
    return conf;
  }

  bool CreateProducer() {
    std::string error;
    rd_kafka_conf_t* conf = MakeConf(&error);
    if (conf == nullptr) {
      RecordError(error);
      return false;
    }
    char errstr[512];
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (rk == nullptr) {
      rd_kafka_conf_destroy(conf);
      RecordError(std::string("cannot create producer: ") + errstr);
      return false;
    }
    return true;
  }

  // Drops everything not yet acknowledged and the producer that holds it; the
  // relay then starts again right after the last acknowledged position.
  void DestroyProducer() {
    if (rk == nullptr) return;
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk, 0);  // serve the reports already here (successes count)
    Advance();
    rd_kafka_destroy(rk);
    rk = nullptr;
    window.clear();
    next = window_base + 1;
    Publish();
  }

  // Moves window_base over the acknowledged prefix.
  void Advance() {
    bool moved = false;
    while (!window.empty() && window.front().acked) {
      window.pop_front();
      ++window_base;
      moved = true;
    }
    if (moved) {
      backoff = kMinBackoff;
      Publish();
    }
  }

  void MaybeCheckpoint(bool force) {
    if (opts.checkpoint_path.empty() || window_base == checkpointed) return;
    int64_t now = clock->NowMs();
    if (!force && now - last_checkpoint_ms < kCheckpointEveryMs) return;
    last_checkpoint_ms = now;
    Status st = WriteCheckpoint(opts.checkpoint_path, opts.topic, Position(window_base));
    if (!st.ok()) {
      RecordError("checkpoint: " + st.error().message);
      return;
    }
    checkpointed = window_base;
  }

  // Sleeps `d` unless asked to stop.
  void Pause(std::chrono::milliseconds d) {
    auto until = std::chrono::steady_clock::now() + d;
    while (!stop.load() && std::chrono::steady_clock::now() < until) {
      if (rk != nullptr) {
        rd_kafka_poll(rk, 10);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  }

  // Hands `e` to librdkafka, waiting while its queue is full. False when it
  // refused the message for another reason (already recorded).
  bool Produce(const Event& e) {
    std::string value;
    try {
      value = EncodeCloudEvent(e, opts.source);
    } catch (const std::exception& ex) {
      // Cannot happen for events the log accepted (valid UTF-8); never skip.
      RecordError("cannot encode position " + std::to_string(e.position.value()) + ": " +
                  ex.what());
      return false;
    }
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(opts.topic.c_str()),
          RD_KAFKA_V_KEY(e.token_id.data(), e.token_id.size()),
          RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_HEADER(kContentTypeHeader, kCloudEventsJson, -1),
          RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(e.position.value()))),
          RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return true;
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !stop.load()) {
        rd_kafka_poll(rk, 10);
        Advance();
        continue;
      }
      RecordError("cannot produce position " + std::to_string(e.position.value()) + ": " +
                  rd_kafka_err2str(err));
      return false;
    }
  }

  void Run() {
    NameThisThread("tl-kafka-relay");
    while (!stop.load()) {
      if (rk == nullptr && !CreateProducer()) {
        Pause(backoff);
        backoff = std::min(backoff * 2, kMaxBackoff);
        continue;
      }
      if (rewind) {
        rewind = false;
        DestroyProducer();
        MaybeCheckpoint(true);
        Pause(backoff);
        backoff = std::min(backoff * 2, kMaxBackoff);
        continue;
      }
      size_t sent = 0;
      if (window.size() < opts.max_in_flight) {
        size_t want = std::min(kReadBatch, opts.max_in_flight - window.size());
        std::vector<Event> events = source.Read(Position(next), want);
        for (const Event& e : events) {
          if (e.position.value() != next) {
            // The log promises gapless positions; relaying past a hole would
            // make the topic lie. Say so and try again later.
            RecordError("source returned position " + std::to_string(e.position.value()) +
                        " where " + std::to_string(next) + " was expected");
            Pause(backoff);
            backoff = std::min(backoff * 2, kMaxBackoff);
            break;
          }
          if (!Produce(e)) {
            Pause(backoff);
            backoff = std::min(backoff * 2, kMaxBackoff);
            break;
          }
          window.push_back({e.time_ms, false});
          ++next;
          ++sent;
        }
        if (sent > 0) {
          MutexLock lock(mu);
          produced += sent;
          if (oldest_unacked_time_ms < 0) oldest_unacked_time_ms = window.front().time_ms;
        }
      }
      rd_kafka_poll(rk, 0);
      Advance();
      MaybeCheckpoint(false);
      if (sent == 0 && !rewind) {
        if (!window.empty()) {
          rd_kafka_poll(rk, 5);  // waiting for acknowledgements
          Advance();
        } else {
          source.WaitForNew(Position(next - 1), std::chrono::milliseconds(100));
        }
      }
    }
    if (rk != nullptr) {
      // Bounded flush: whatever is acknowledged in time is checkpointed, the
      // rest is re-sent by the next relay.
      auto deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(flush_timeout_ms.load());
      while (!window.empty() && !rewind && std::chrono::steady_clock::now() < deadline) {
        rd_kafka_poll(rk, 5);
        Advance();
      }
      DestroyProducer();
    }
    MaybeCheckpoint(true);
  }
};

KafkaRelay::KafkaRelay(const EventSource& source, RelayOptions opts)
    : source_(source), opts_(std::move(opts)) {}

KafkaRelay::~KafkaRelay() { Stop(std::chrono::milliseconds(0)); }

Status KafkaRelay::Start() {
  if (thread_.joinable()) return MakeError(ErrorCode::kConflict, "kafka relay already running");
  auto impl = std::make_shared<Impl>(source_, opts_);
  // Refuse a bad configuration now, while the caller can still report it.
  std::string error;
  rd_kafka_conf_t* conf = impl->MakeConf(&error);
  if (conf == nullptr) return MakeError(ErrorCode::kInvalidArgument, error, "kafka-property");
  rd_kafka_conf_destroy(conf);
  if (opts_.brokers.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "kafka brokers not set", "kafka-brokers");
  }
  // A user value for a forced property is overridden: say so rather than
  // let an operator believe `acks=1` took effect.
  for (const auto& [key, value] : opts_.properties) {
    for (const auto& [forced_key, forced_value] : ForcedProperties()) {
      if (key == forced_key && value != forced_value) {
        impl->Log("warn",
                  "kafka property " + key + "=" + value +
                      " ignored: the relay always produces with " + forced_key + "=" + forced_value,
                  {});
      }
    }
  }

  uint64_t start = 0;
  if (!opts_.checkpoint_path.empty()) {
    Result<Position> cp = ReadCheckpoint(opts_.checkpoint_path, opts_.topic);
    if (cp.ok()) {
      start = cp->value();
    } else {
      // Starting over only sends duplicates, never skips: safe, but loud.
      impl->RecordError("unusable checkpoint (" + cp.error().message +
                        "); re-sending the whole log from position 1");
    }
  }
  Position durable = source_.DurablePosition();
  if (start > durable.value()) {
    // The checkpoint is ahead of the log (a log restored from an older
    // copy?). Re-send from the log's end rather than skip future events.
    impl->RecordError("checkpoint position " + std::to_string(start) +
                      " is beyond the log's durable position " + std::to_string(durable.value()) +
                      "; resuming after the log's end");
    start = durable.value();
  }
  impl->window_base = start;
  impl->checkpointed = start;
  impl->next = start + 1;
  impl->Publish();
  {
    MutexLock lock(impl->mu);
    impl->running = true;
  }
  impl_ = impl;
  thread_ = std::thread([impl] { impl->Run(); });
  return Ok{};
}

void KafkaRelay::Stop(std::chrono::milliseconds flush_timeout) {
  if (!thread_.joinable()) return;
  impl_->flush_timeout_ms.store(flush_timeout.count());
  impl_->stop.store(true);
  thread_.join();
  MutexLock lock(impl_->mu);
  impl_->running = false;
}

RelayStats KafkaRelay::Stats() const {
  RelayStats s;
  s.source_position = source_.DurablePosition();
  if (impl_ == nullptr) {
    s.lag_positions = s.source_position.value();
    return s;
  }
  int64_t oldest;
  int64_t last_error_ms;
  {
    MutexLock lock(impl_->mu);
    s.acked_position = Position(impl_->acked);
    oldest = impl_->oldest_unacked_time_ms;
    s.produced = impl_->produced;
    s.errors = impl_->errors;
    s.last_error = impl_->last_error;
    last_error_ms = impl_->last_error_ms;
    s.running = impl_->running;
  }
  int64_t now = impl_->clock->NowMs();
  if (s.source_position > s.acked_position) {
    s.lag_positions = s.source_position.value() - s.acked_position.value();
    if (oldest < 0) {
      std::vector<Event> first = source_.Read(s.acked_position.next(), 1);
      if (!first.empty()) oldest = first.front().time_ms;
    }
    if (oldest >= 0) s.lag_seconds = std::max<int64_t>(0, now - oldest) / 1000.0;
  }
  bool recent_errors = s.errors > 0 && now - last_error_ms < kRecentErrorMs;
  s.degraded = s.lag_seconds * 1000 >= static_cast<double>(impl_->opts.degraded_lag.count()) ||
               (recent_errors && s.lag_positions > 0) || !s.running;
  return s;
}

Result<Position> KafkaRelay::ReadCheckpoint(const std::string& path, const std::string& topic) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path)) return Position(0);
    return IoError("cannot open checkpoint", path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  Json j = Json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.value("format", "") != kCheckpointFormat || !j.contains("position") ||
      !j["position"].is_number_unsigned() || !j.contains("topic") || !j["topic"].is_string()) {
    return MakeError(ErrorCode::kCorruption, "checkpoint " + path + " is damaged");
  }
  if (j["topic"].get<std::string>() != topic) return Position(0);
  return Position(j["position"].get<uint64_t>());
}

Status KafkaRelay::WriteCheckpoint(const std::string& path, const std::string& topic,
                                   Position position) {
  std::string body =
      Json{{"format", kCheckpointFormat}, {"topic", topic}, {"position", position.value()}}.dump() +
      "\n";
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kPrivateFileMode);
  if (fd < 0) return IoError("cannot create", tmp);
  ssize_t n = ::write(fd, body.data(), body.size());
  if (n != static_cast<ssize_t>(body.size()) || ::fsync(fd) != 0) {
    Status st = IoError("cannot write", tmp);
    ::close(fd);
    return st;
  }
  if (::close(fd) != 0) return IoError("cannot close", tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return IoError("cannot rename to", path);
  // The rename itself must survive a power cut too.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return IoError("cannot open directory", dir);
  int rc = ::fsync(dfd);
  ::close(dfd);
  if (rc != 0) return IoError("cannot sync directory", dir);
  return Ok{};
}

}  // namespace tl
