#include "services/cli/kafka_cli.h"

#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include "events/kafka_mock.h"
#include "events/kafka_reader.h"
#include "services/cli/cli_args.h"

namespace tl {
namespace {

std::atomic<bool> g_interrupted{false};

void OnSignal(int) { g_interrupted.store(true); }

// Installs SIGINT/SIGTERM handlers for the life of a subcommand and puts the
// previous ones back afterwards (the binary may have its own).
class SignalScope {
 public:
  SignalScope() {
    g_interrupted.store(false);
    struct sigaction sa {};
    sa.sa_handler = &OnSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~SignalScope() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// Filled by the rebalance callback, which runs inside our own poll.
struct ConsumeState {
  std::atomic<bool> assigned{false};
  std::set<int32_t> partitions;  // assigned now
  // Partition -> the offset of its last committed message, read once more so
  // that the run knows which position the last one printed up to.
  std::map<int32_t, int64_t> reread;
};

// Moves each partition that has a committed offset back by one message
// (see ConsumeState::reread).
void RereadLastCommitted(rd_kafka_t* rk, rd_kafka_topic_partition_list_t* partitions,
                         ConsumeState* state) {
  if (rd_kafka_committed(rk, partitions, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  for (int i = 0; i < partitions->cnt; ++i) {
    rd_kafka_topic_partition_t& p = partitions->elems[i];
    if (p.offset > 0) {
      --p.offset;
      state->reread[p.partition] = p.offset;
    }
  }
}

void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                 rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* state = static_cast<ConsumeState*>(opaque);
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    RereadLastCommitted(rk, partitions, state);
    if (cooperative) {
      rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, partitions);
      if (e != nullptr) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, partitions);
    }
    for (int i = 0; i < partitions->cnt; ++i)
      state->partitions.insert(partitions->elems[i].partition);
    state->assigned.store(true);
  } else {
    for (int i = 0; i < partitions->cnt; ++i)
      state->partitions.erase(partitions->elems[i].partition);
    if (cooperative) {
      rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, partitions);
      if (e != nullptr) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  }
}

// Copies bytes both ways between two sockets until either side closes or
// `stop` is set.
void Pump(int a, int b, const std::atomic<bool>& stop) {
  char buf[64 * 1024];
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  while (!stop.load()) {
    int n = ::poll(fds, 2, 200);
    if (n < 0 && errno != EINTR) break;
    bool closed = false;
    for (int i = 0; i < 2 && !closed; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
      if (r <= 0) {
        closed = true;
        break;
      }
      for (ssize_t off = 0; off < r;) {
        ssize_t w = ::write(fds[1 - i].fd, buf + off, r - off);
        if (w <= 0) {
          closed = true;
          break;
        }
        off += w;
      }
    }
    if (closed) break;
  }
  ::close(a);
  ::close(b);
}

// Listens on 127.0.0.1:`port` and forwards every connection to
// 127.0.0.1:`target_port` (the first mock broker). Loopback only.
class LoopbackForwarder {
 public:
  LoopbackForwarder() = default;
  ~LoopbackForwarder() {
    stop_.store(true);
    if (acceptor_.joinable()) acceptor_.join();
    for (auto& t : pumps_) t.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }
  LoopbackForwarder(const LoopbackForwarder&) = delete;
  LoopbackForwarder& operator=(const LoopbackForwarder&) = delete;

  Status Start(int port, int target_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) return MakeError(ErrorCode::kIo, std::strerror(errno));
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
      return MakeError(ErrorCode::kIo, "cannot listen on 127.0.0.1:" + std::to_string(port) + ": " +
                                           std::strerror(errno));
    }
    target_port_ = target_port;
    acceptor_ = std::thread([this] { Accept(); });
    return Ok{};
  }

 private:
  void Accept() {
    pollfd pfd{listen_fd_, POLLIN, 0};
    while (!stop_.load()) {
      if (::poll(&pfd, 1, 200) <= 0) continue;
      int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(target_port_));
      if (upstream < 0 ||
          ::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if (upstream >= 0) ::close(upstream);
        ::close(client);
        continue;
      }
      pumps_.emplace_back([this, client, upstream] { Pump(client, upstream, stop_); });
    }
  }

  int listen_fd_ = -1;
  int target_port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> pumps_;  // only the acceptor thread adds
};

// A position missing this long while later ones were read is a chain break
// (the relay may deliver a token's partition a little after another's, and
// a partition's leader can be briefly away).
constexpr std::chrono::seconds kHoleWait{30};

// Which messages of each partition are done with (printed, filtered out or a
// dropped duplicate), so that only a done prefix of a partition is stored
// for commit: nothing held behind a missing position is committed past.
class DoneOffsets {
 public:
  void Received(int32_t partition, int64_t offset) { pending_[partition][offset] = false; }
  // Marks one message done and stores the partition's done prefix.
  void Done(rd_kafka_t* rk, const std::string& topic, int32_t partition, int64_t offset) {
    auto& offsets = pending_[partition];
    offsets[offset] = true;
    int64_t store = -1;
    while (!offsets.empty() && offsets.begin()->second) {
      store = offsets.begin()->first;
      offsets.erase(offsets.begin());
    }
    if (store < 0) return;
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = store + 1;
    rd_kafka_offsets_store(rk, list);  // fails only for a partition no longer assigned
    rd_kafka_topic_partition_list_destroy(list);
  }

 private:
  std::map<int32_t, std::map<int64_t, bool>> pending_;
};

struct Location {
  int32_t partition;
  int64_t offset;
};

}  // namespace

constexpr const char* kConsumeUsage =
    "usage: tokenledger consume --brokers HOST:PORT[,...] [--topic NAME] --group G\n"
    "         [--from-beginning] [--type TYPE] [--property k=v]... [--max-idle-ms N]\n"
    "  Prints each event once, in position order, as a JSON line, verifies the hash\n"
    "  chain and commits offsets. --topic defaults to tokenledger.events. The brokers\n"
    "  must answer within 10 s and the topic must exist, else exit 1. A chain break\n"
    "  (an altered event, or a position missing while later ones were read, for 30 s\n"
    "  or until --max-idle-ms ends the run) is reported with its positions, nothing\n"
    "  past it is printed or committed, exit 3. --max-idle-ms N exits after N ms\n"
    "  without a message; otherwise runs until SIGINT/SIGTERM.\n";

const CommandSpec& ConsumeSpec() {
  static const CommandSpec spec{
      .name = "consume",
      .about = "tail the Kafka topic as an audit consumer, verifying the hash chain",
      .flags = {{"brokers", "HOST:PORT[,...]", "the Kafka brokers"},
                {"topic", "NAME", "the topic (default tokenledger.events)"},
                {"group", "G", "the consumer group"},
                {"from-beginning", "", "start at the earliest offset when G has none"},
                {"type", "TYPE", "print only events of this type (token.revoked, ...)"},
                {"property", "KEY=VALUE", "any librdkafka property (repeat)", true},
                {"max-idle-ms", "N", "exit after N ms without a message"}},
      .footer = kConsumeUsage,
  };
  return spec;
}

namespace {

// Parses `args` as the flags of `spec`: prints the help or the error;
// nullopt with the exit code in `code` then.
std::optional<CliArgs> ParseOwnArgs(const std::vector<std::string>& args, const CommandSpec& spec,
                                    int& code) {
  CliArgs a(args, spec);
  if (a.help_requested()) {
    std::fputs(a.help_text().c_str(), stdout);
    code = 0;
    return std::nullopt;
  }
  if (!a.ok()) {
    std::fprintf(stderr, "tokenledger %s: %s\n", spec.name.c_str(), a.error().c_str());
    code = 2;
    return std::nullopt;
  }
  return a;
}

}  // namespace

int RunConsume(const std::vector<std::string>& args) {
  int code = 0;
  auto a = ParseOwnArgs(args, ConsumeSpec(), code);
  return a ? RunConsume(*a) : code;
}

int RunConsume(const CliArgs& a) {
  const std::string brokers = a.Get("brokers", "");
  const std::string topic = a.Get("topic", "tokenledger.events");
  const std::string group = a.Get("group", "");
  if (brokers.empty() || group.empty()) {
    std::fputs(kConsumeUsage, stderr);
    return 2;
  }
  std::optional<EventType> type_filter;
  if (a.Has("type")) {
    type_filter = ParseEventType(a.Get("type", ""));
    if (!type_filter) {
      std::fprintf(stderr, "tokenledger consume: unknown event type %s\n",
                   a.Get("type", "").c_str());
      return 2;
    }
  }
  std::optional<int64_t> max_idle_ms;
  if (a.Has("max-idle-ms")) {
    max_idle_ms = ParseUint(a.Get("max-idle-ms", ""));
    if (!max_idle_ms) {
      std::fprintf(stderr, "tokenledger consume: --max-idle-ms expects a number\n");
      return 2;
    }
  }
  auto props = ParseKeyValues(a.GetAll("property"), "property");
  if (!props.ok()) {
    std::fprintf(stderr, "tokenledger consume: %s\n", props.error().message.c_str());
    return 2;
  }

  ConsumeState state;
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> settings{
      {"bootstrap.servers", brokers},
      {"group.id", group},
      {"session.timeout.ms", "6000"},
      {"auto.offset.reset", a.Has("from-beginning") ? "earliest" : "latest"},
      // Offsets are stored only after an event was verified and printed, so
      // a chain break is not committed past and shows up again next time.
      {"enable.auto.commit", "true"},
      {"enable.auto.offset.store", "false"},
      {"auto.commit.interval.ms", "1000"},
      // End-of-partition reports tell where the run starts (see below).
      {"enable.partition.eof", "true"},
      {"allow.auto.create.topics", "false"},
      // librdkafka's own log lines stay off: its errors arrive as consumer
      // errors and are reported once each below.
      {"log_level", "0"},
  };
  settings.insert(settings.end(), props->begin(), props->end());
  for (const auto& [k, v] : settings) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      std::fprintf(stderr, "tokenledger consume: kafka property %s: %s\n", k.c_str(), errstr);
      return 2;
    }
  }
  rd_kafka_conf_set_opaque(conf, &state);
  rd_kafka_conf_set_rebalance_cb(conf, &OnRebalance);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    std::fprintf(stderr, "tokenledger consume: %s\n", errstr);
    return 1;
  }
  rd_kafka_poll_set_consumer(rk);
  // A clear error, not a wait forever, when the brokers do not answer or the
  // topic does not exist (as replay/restore --from-kafka do).
  if (Result<int> count = TopicPartitionCount(rk, brokers, topic, kMetadataTimeout); !count.ok()) {
    std::fprintf(stderr, "tokenledger consume: %s\n", count.error().message.c_str());
    rd_kafka_destroy(rk);
    return 1;
  }
  rd_kafka_topic_partition_list_t* subscription = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(subscription, topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, subscription);
  rd_kafka_topic_partition_list_destroy(subscription);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::fprintf(stderr, "tokenledger consume: subscribe to %s: %s\n", topic.c_str(),
                 rd_kafka_err2str(err));
    rd_kafka_destroy(rk);
    return 1;
  }

  SignalScope signals;
  // Events are printed in position order. Where the run starts is decided
  // once every assigned partition has delivered a message or reached its
  // end: right after the highest position an earlier run of the group
  // committed (its last message per partition is read again), else position
  // 1 when every partition was read from offset 0, else (a tail of only new
  // events) the lowest position read so far. Until then messages wait in
  // `early`. Known limit: a re-sent duplicate that is the last committed
  // message of every partition makes the start too low, and the positions
  // between are then reported missing.
  std::optional<PositionOrder> order;
  std::vector<std::pair<Event, Location>> early;
  std::map<int32_t, bool> first_at_zero;  // partition -> its first report was at offset 0
  std::map<uint64_t, std::vector<Location>> held_at;  // held position -> its copies
  DoneOffsets done;
  uint64_t printed_before = 0;  // the highest position an earlier run committed
  int exit_code = 0;
  bool was_assigned = false;
  auto started = std::chrono::steady_clock::now();
  auto last_activity = started;
  auto hole_since = started;  // when order->next() last moved while holding
  std::string last_warning;

  auto print = [&](const Event& e) -> Status {
    if (!type_filter || e.type == *type_filter) {
      std::string line = EventToJson(e).dump();
      line.push_back('\n');
      std::fwrite(line.data(), 1, line.size(), stdout);
    }
    if (auto it = held_at.find(e.position.value()); it != held_at.end()) {
      for (const Location& l : it->second) done.Done(rk, topic, l.partition, l.offset);
      held_at.erase(it);
    }
    return Ok{};
  };
  auto add = [&](Event e, Location at) -> Status {
    const uint64_t pos = e.position.value();
    const bool below = pos < order->next();
    const uint64_t before = order->next();
    if (!below) held_at[pos].push_back(at);
    Status st = order->Add(std::move(e),
                           "topic " + topic + " partition " + std::to_string(at.partition) +
                               " offset " + std::to_string(at.offset),
                           print);
    if (!st.ok()) return st;
    if (below) done.Done(rk, topic, at.partition, at.offset);
    if (order->next() != before) hole_since = std::chrono::steady_clock::now();
    return Ok{};
  };
  auto start = [&](bool force) -> Status {
    if (order) return Ok{};
    bool all_reported = !state.partitions.empty();
    bool all_at_zero = true;
    for (int32_t p : state.partitions) {
      auto it = first_at_zero.find(p);
      if (it == first_at_zero.end()) {
        all_reported = false;
      } else {
        all_at_zero = all_at_zero && it->second;
      }
    }
    if (early.empty() || (!all_reported && !force)) return Ok{};
    uint64_t first = 1;
    if (printed_before > 0) {
      first = printed_before + 1;
    } else if (!all_reported || !all_at_zero) {
      first = early.front().first.position.value();
      for (const auto& [e, at] : early) first = std::min(first, e.position.value());
    }
    order.emplace(first);
    hole_since = std::chrono::steady_clock::now();
    for (auto& [e, at] : early) {
      if (Status st = add(std::move(e), at); !st.ok()) return st;
    }
    early.clear();
    return Ok{};
  };
  auto report = [&](const Status& st) {
    std::fprintf(stderr, "tokenledger consume: %s\n", st.error().message.c_str());
    exit_code = 3;
  };

  while (!g_interrupted.load()) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk, 100);
    auto now = std::chrono::steady_clock::now();
    if (!was_assigned && state.assigned.load()) {
      was_assigned = true;
      last_activity = now;  // the idle clock starts once there is something to read
    }
    if (msg == nullptr) {
      std::fflush(stdout);
      if (order && order->holding() && now - hole_since >= kHoleWait) {
        report(order->CheckNoHole(topic));
        break;
      }
      if (max_idle_ms) {
        // Before the first assignment allow for the group join (~3 s on the mock).
        int64_t limit = was_assigned ? *max_idle_ms : *max_idle_ms + 15000;
        if (std::chrono::duration_cast<std::chrono::milliseconds>(now - last_activity).count() >=
            limit) {
          // Idle with events held: the position they wait for is not on the topic.
          Status st = start(/*force=*/true);
          if (st.ok() && order) st = order->CheckNoHole(topic);
          if (!st.ok()) report(st);
          break;
        }
      }
      continue;
    }
    last_activity = now;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      first_at_zero.emplace(msg->partition, msg->offset == 0);
      rd_kafka_message_destroy(msg);
      if (Status st = start(/*force=*/false); !st.ok()) {
        report(st);
        break;
      }
      continue;
    }
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::string warning = rd_kafka_message_errstr(msg);
      if (warning != last_warning) {  // say each distinct problem once in a row
        std::fprintf(stderr, "tokenledger consume: kafka: %s\n", warning.c_str());
        last_warning = warning;
      }
      rd_kafka_message_destroy(msg);
      continue;
    }
    const Location at{msg->partition, msg->offset};
    first_at_zero.emplace(at.partition, at.offset == 0);
    if (auto it = state.reread.find(at.partition);
        it != state.reread.end() && it->second == at.offset) {
      // Printed by an earlier run: only says where that run stopped.
      state.reread.erase(it);
      Json j = Json::parse(static_cast<const char*>(msg->payload),
                           static_cast<const char*>(msg->payload) + msg->len, nullptr, false);
      rd_kafka_message_destroy(msg);
      if (j.is_object() && j.contains("tlposition") && j["tlposition"].is_number_unsigned()) {
        printed_before = std::max(printed_before, j["tlposition"].get<uint64_t>());
      }
      if (Status st = start(/*force=*/false); !st.ok()) {
        report(st);
        break;
      }
      continue;
    }
    const std::string text(static_cast<const char*>(msg->payload), msg->len);
    rd_kafka_message_destroy(msg);
    Event e;
    try {
      e = FromCloudEventText(text);
    } catch (const std::exception& ex) {
      report(MakeError(ErrorCode::kCorruption,
                       "CHAIN BREAK: topic " + topic + " partition " +
                           std::to_string(at.partition) + " offset " + std::to_string(at.offset) +
                           " is not a tokenledger CloudEvent (" + ex.what() + ")"));
      break;
    }
    done.Received(at.partition, at.offset);
    Status st = Ok{};
    if (order) {
      st = add(std::move(e), at);
    } else {
      early.emplace_back(std::move(e), at);
      st = start(/*force=*/false);
    }
    if (!st.ok()) {
      report(st);
      break;
    }
  }
  std::fflush(stdout);
  err = rd_kafka_commit(rk, nullptr, /*async=*/0);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    std::fprintf(stderr, "tokenledger consume: commit: %s\n", rd_kafka_err2str(err));
    if (exit_code == 0) exit_code = 1;
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return exit_code;
}

const CommandSpec& DevKafkaSpec() {
  static const CommandSpec spec{
      .name = "dev-kafka",
      .about = "an in-memory Kafka cluster for development and tests",
      .flags = {{"brokers", "N", "how many brokers (1..32, default 3)"},
                {"port", "P", "also listen on 127.0.0.1:P (a fixed bootstrap address)"}},
      .footer =
          "librdkafka's mock cluster on loopback: prints \"bootstrap: HOST:PORT,...\" "
          "and runs\nuntil SIGINT/SIGTERM.",
  };
  return spec;
}

int RunDevKafka(const std::vector<std::string>& args) {
  int code = 0;
  auto a = ParseOwnArgs(args, DevKafkaSpec(), code);
  return a ? RunDevKafka(*a) : code;
}

int RunDevKafka(const CliArgs& a) {
  auto brokers = ParseUint(a.Get("brokers", "3"));
  if (!brokers || *brokers < 1 || *brokers > 32) {
    std::fprintf(stderr, "tokenledger dev-kafka: --brokers expects 1..32\n");
    return 2;
  }
  std::optional<int64_t> port;
  if (a.Has("port")) {
    port = ParseUint(a.Get("port", ""));
    if (!port || *port < 1 || *port > 65535) {
      std::fprintf(stderr, "tokenledger dev-kafka: --port expects 1..65535\n");
      return 2;
    }
  }
  SignalScope signals;
  MockKafkaCluster cluster(static_cast<int>(*brokers));
  std::string bootstrap = cluster.bootstrap();
  LoopbackForwarder forwarder;
  if (port) {
    // The first broker's port, from "127.0.0.1:PORT,...".
    std::string first = bootstrap.substr(0, bootstrap.find(','));
    auto target = ParseUint(first.substr(first.rfind(':') + 1));
    Status st = target ? forwarder.Start(static_cast<int>(*port), static_cast<int>(*target))
                       : Status(MakeError(ErrorCode::kIo, "unexpected bootstrap " + bootstrap));
    if (!st.ok()) {
      std::fprintf(stderr, "tokenledger dev-kafka: %s\n", st.error().message.c_str());
      return 1;
    }
    bootstrap = "127.0.0.1:" + std::to_string(*port) + "," + bootstrap;
  }
  std::printf("bootstrap: %s\n", bootstrap.c_str());
  std::fflush(stdout);
  while (!g_interrupted.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return 0;
}

Result<std::vector<Event>> ReadEventsFromKafka(
    const std::string& brokers, const std::string& topic,
    const std::vector<std::pair<std::string, std::string>>& properties) {
  ReaderOptions opts;
  opts.brokers = brokers;
  opts.topic = topic;
  opts.properties = properties;
  return ReadAllEvents(opts);
}

}  // namespace tl
