#include "services/kafka_cli.h"

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
#include <memory>
#include <optional>
#include <thread>

#include "events/kafka_mock.h"
#include "events/kafka_reader.h"
#include "services/cli_args.h"

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

struct ConsumeState {
  std::atomic<bool> assigned{false};
};

void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                 rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* state = static_cast<ConsumeState*>(opaque);
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative) {
      rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, partitions);
      if (e != nullptr) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, partitions);
    }
    state->assigned.store(true);
  } else {
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

}  // namespace

int RunConsume(const std::vector<std::string>& args) {
  CliArgs a(args, {.values = {"brokers", "topic", "group", "type", "property", "max-idle-ms"},
                   .switches = {"from-beginning"},
                   .repeatable = {"property"}});
  if (!a.ok()) {
    std::fprintf(stderr, "tokenledger consume: %s\n", a.error().c_str());
    return 2;
  }
  const std::string brokers = a.Get("brokers", "");
  const std::string topic = a.Get("topic", "tokenledger.events");
  const std::string group = a.Get("group", "");
  if (brokers.empty() || group.empty()) {
    std::fprintf(stderr,
                 "usage: tokenledger consume --brokers HOST:PORT[,...] [--topic T] --group G "
                 "[--from-beginning] [--type TYPE] [--property k=v]... [--max-idle-ms N]\n");
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
      {"log_level", "3"},
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
  ChainChecker checker;
  int exit_code = 0;
  bool was_assigned = false;
  auto started = std::chrono::steady_clock::now();
  auto last_activity = started;
  std::string last_warning;
  while (!g_interrupted.load()) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk, 100);
    auto now = std::chrono::steady_clock::now();
    if (!was_assigned && state.assigned.load()) {
      was_assigned = true;
      last_activity = now;  // the idle clock starts once there is something to read
    }
    if (msg == nullptr) {
      std::fflush(stdout);
      if (max_idle_ms) {
        // Before the first assignment allow for the group join (~3 s on the mock).
        int64_t limit = was_assigned ? *max_idle_ms : *max_idle_ms + 15000;
        if (std::chrono::duration_cast<std::chrono::milliseconds>(now - last_activity).count() >=
            limit) {
          break;
        }
      }
      continue;
    }
    last_activity = now;
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::string warning = rd_kafka_message_errstr(msg);
      if (warning != last_warning) {  // say each distinct problem once in a row
        std::fprintf(stderr, "tokenledger consume: kafka: %s\n", warning.c_str());
        last_warning = warning;
      }
      rd_kafka_message_destroy(msg);
      continue;
    }
    const std::string where =
        "partition " + std::to_string(msg->partition) + " offset " + std::to_string(msg->offset);
    Json j = Json::parse(static_cast<const char*>(msg->payload),
                         static_cast<const char*>(msg->payload) + msg->len, nullptr,
                         /*allow_exceptions=*/false);
    Event e;
    bool decoded = true;
    try {
      e = FromCloudEvent(j);
    } catch (const std::exception& ex) {
      std::fprintf(stderr,
                   "tokenledger consume: CHAIN BREAK: topic %s %s is not a tokenledger "
                   "CloudEvent (%s)\n",
                   topic.c_str(), where.c_str(), ex.what());
      decoded = false;
    }
    if (!decoded) {
      rd_kafka_message_destroy(msg);
      exit_code = 3;
      break;
    }
    if (Status st = checker.Feed(e); !st.ok()) {
      std::fprintf(stderr, "tokenledger consume: %s (topic %s %s)\n", st.error().message.c_str(),
                   topic.c_str(), where.c_str());
      rd_kafka_message_destroy(msg);
      exit_code = 3;
      break;
    }
    if (checker.last_was_new() && (!type_filter || e.type == *type_filter)) {
      std::string line = EventToJson(e).dump();
      line.push_back('\n');
      std::fwrite(line.data(), 1, line.size(), stdout);
    }
    rd_kafka_offset_store(msg->rkt, msg->partition, msg->offset);
    rd_kafka_message_destroy(msg);
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

int RunDevKafka(const std::vector<std::string>& args) {
  CliArgs a(args, {.values = {"brokers", "port"}});
  if (!a.ok()) {
    std::fprintf(stderr, "tokenledger dev-kafka: %s\n", a.error().c_str());
    return 2;
  }
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
