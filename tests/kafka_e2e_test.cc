// End to end: the `tokenledger` binary (serve with the Kafka relay, replay,
// restore, consume, log export) run as child processes against a mock Kafka
// cluster that lives in this test process (each test its own). Commands go
// through the HTTP API on 127.0.0.1. Volumes stay far below the mock's
// ~5 MiB per-partition retention, and every read of the topic checks that
// each partition still starts at offset 0.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "events/event.h"
#include "events/kafka_mock.h"
#include "events/kafka_relay.h"
#include "events/kafka_test_util.h"
#include "events/cluster_record.h"
#include "events/partition_log.h"
#include "events/log_test_util.h"

#ifndef TOKENLEDGER_BIN
#error "TOKENLEDGER_BIN must name the tokenledger binary"
#endif

extern char** environ;

namespace tl {
namespace {

using namespace std::chrono_literals;
using tl::testing::ReadTopicRaw;
using tl::testing::TempDir;
using tl::testing::TopicMessage;

constexpr const char* kAdminSecret = "tl_e2e_bootstrap_admin_secret_0123456789abcdef";
constexpr const char* kTopic = "tokenledger.events";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// argv/envp for execve, built before fork: between fork and exec the child
// of a multi-threaded process may only call async-signal-safe functions.
struct ExecSpec {
  explicit ExecSpec(const std::vector<std::string>& args,
                    const std::vector<std::string>& extra_env) {
    strings.push_back(TOKENLEDGER_BIN);
    strings.insert(strings.end(), args.begin(), args.end());
    argc = strings.size();
    for (char** e = environ; *e != nullptr; ++e) {
      std::string kv(*e);
      // The child's Kafka settings come only from the test.
      if (kv.rfind("TOKENLEDGER_", 0) == 0) continue;
      strings.push_back(kv);
    }
    strings.insert(strings.end(), extra_env.begin(), extra_env.end());
    for (size_t i = 0; i < argc; ++i) argv.push_back(strings[i].data());
    argv.push_back(nullptr);
    for (size_t i = argc; i < strings.size(); ++i) envp.push_back(strings[i].data());
    envp.push_back(nullptr);
  }
  std::vector<std::string> strings;
  size_t argc = 0;
  std::vector<char*> argv;
  std::vector<char*> envp;
};

// Starts the binary with stdout to `stdout_fd` (or `stdout_path`) and stderr
// appended to `stderr_path`. The child dies with the test (PDEATHSIG).
pid_t Spawn(const ExecSpec& spec, int stdout_fd, const std::string& stdout_path,
            const std::string& stderr_path) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  int out =
      stdout_fd >= 0 ? stdout_fd : ::open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int err = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (out < 0 || err < 0) _exit(127);
  ::dup2(out, STDOUT_FILENO);
  ::dup2(err, STDERR_FILENO);
  ::execve(spec.argv[0], spec.argv.data(), spec.envp.data());
  _exit(127);
}

// Waits for `pid` up to `timeout`; SIGKILLs it after that. Returns the wait status.
int WaitOrKill(pid_t pid, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ADD_FAILURE() << "child " << pid << " did not exit in time; killed";
      return status;
    }
    std::this_thread::sleep_for(5ms);
  }
  return status;
}

struct ToolResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `tokenledger args...` to completion (killed after `timeout`).
ToolResult RunTool(const TempDir& tmp, const std::vector<std::string>& args,
                   std::chrono::milliseconds timeout = 30s) {
  static int runs = 0;
  const std::string out = tmp.sub("tool" + std::to_string(++runs) + ".out");
  const std::string err = out + ".err";
  ExecSpec spec(args, {});
  pid_t pid = Spawn(spec, -1, out, err);
  EXPECT_GT(pid, 0);
  int status = WaitOrKill(pid, timeout);
  ToolResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  return r;
}

// `tokenledger serve` on 127.0.0.1 with a port it picks, killed (SIGKILL) on
// destruction unless stopped before.
class ServeProcess {
 public:
  ServeProcess(const TempDir& tmp, const std::string& data, std::vector<std::string> extra_args,
               std::vector<std::string> extra_env = {})
      : stderr_path_(tmp.sub("serve.stderr")) {
    std::vector<std::string> args{"serve",       "--data",    data, "--listen",
                                  "127.0.0.1:0", "--threads", "16"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    extra_env.push_back(std::string("TOKENLEDGER_BOOTSTRAP_TOKEN=") + kAdminSecret);
    ExecSpec spec(args, extra_env);
    // stdout to a file rather than a pipe: nothing can block or break on it.
    // A new file per start, so an earlier start's port is never read.
    static int starts = 0;
    const std::string stdout_path = tmp.sub("serve" + std::to_string(++starts) + ".stdout");
    pid_ = Spawn(spec, -1, stdout_path, stderr_path_);
    // "listening on http://127.0.0.1:PORT" (after "bootstrap admin token ..."
    // on a first start).
    const std::string marker = "listening on http://127.0.0.1:";
    auto until = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < until) {
      std::string out = ReadFile(stdout_path);
      auto at = out.find(marker);
      if (at != std::string::npos && out.find('\n', at) != std::string::npos) {
        port_ = std::atoi(out.c_str() + at + marker.size());
        break;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    if (port_ == 0) ADD_FAILURE() << "serve did not start; stderr:\n" << ReadFile(stderr_path_);
  }
  ~ServeProcess() {
    if (pid_ > 0) Kill();
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int port() const { return port_; }
  bool started() const { return port_ != 0; }
  // A crash: no flush, no checkpoint, no snapshot.
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // SIGTERM and wait; the exit code (0 expected).
  int Stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = WaitOrKill(pid_, 20s);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string Stderr() const { return ReadFile(stderr_path_); }

 private:
  std::string stderr_path_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// A keep-alive HTTP client with a bearer secret.
class Api {
 public:
  explicit Api(int port, const std::string& secret = kAdminSecret) : client_("127.0.0.1", port) {
    client_.set_keep_alive(true);
    client_.set_connection_timeout(5, 0);
    client_.set_read_timeout(10, 0);
    client_.set_default_headers({{"Authorization", "Bearer " + secret}});
  }
  // Status code (0 when the connection failed) and the parsed body.
  std::pair<int, Json> Call(const std::string& method, const std::string& path,
                            const Json& body = nullptr) {
    const std::string text = body.is_null() ? "" : body.dump();
    httplib::Result r = method == "GET"    ? client_.Get(path.c_str())
                        : method == "POST" ? client_.Post(path.c_str(), text, "application/json")
                                           : client_.Patch(path.c_str(), text, "application/json");
    if (!r) return {0, nullptr};
    Json j = Json::parse(r->body, nullptr, /*allow_exceptions=*/false);
    return {r->status, j};
  }
  std::string GetText(const std::string& path) {
    auto r = client_.Get(path.c_str());
    return r && r->status == 200 ? r->body : "";
  }

 private:
  httplib::Client client_;
};

struct Token {
  std::string id;
  std::string secret;
  bool revoked = false;
};

// The admin creates a token; every secret handed out is remembered so the
// test can prove none of them reached Kafka.
struct Workload {
  std::vector<Token> tokens;
  std::vector<std::string> secrets{kAdminSecret};

  bool Create(Api& api, std::mt19937& rng) {
    Json body{{"name", "e2e-" + std::to_string(tokens.size())},
              {"owner", "team-" + std::to_string(rng() % 3)},
              {"permissions", Json::array({"reports:read", "datasets/sales:write"})}};
    if (rng() % 2 == 0) body["credits"] = static_cast<int64_t>(rng() % 50);
    auto [status, j] = api.Call("POST", "/v1/tokens", body);
    EXPECT_EQ(status, 201) << j.dump();
    if (status != 201) return false;
    tokens.push_back({j["id"].get<std::string>(), j["token"].get<std::string>()});
    secrets.push_back(tokens.back().secret);
    return true;
  }

  // One random command on a random token.
  void Step(Api& api, std::mt19937& rng) {
    if (tokens.empty() || rng() % 10 == 0) {
      Create(api, rng);
      return;
    }
    Token& t = tokens[rng() % tokens.size()];
    const std::string path = "/v1/tokens/" + t.id;
    int status = 0;
    Json j;
    switch (rng() % 8) {
      case 0:
        std::tie(status, j) =
            api.Call("PATCH", path, {{"name", "renamed-" + std::to_string(rng() % 100)}});
        if (!t.revoked) {
          EXPECT_EQ(status, 200) << j.dump();
        }
        break;
      case 1:
        std::tie(status, j) = api.Call("POST", path + "/credits", {{"add", 5}});
        break;
      case 2:
        std::tie(status, j) = api.Call("POST", path + "/regenerate", {{"grace_period_s", 0}});
        if (status == 200) {
          t.secret = j["token"].get<std::string>();
          secrets.push_back(t.secret);
        }
        break;
      case 3:
        if (rng() % 4 == 0) {
          std::tie(status, j) = api.Call("POST", path + "/revoke", {{"reason", "e2e"}});
          if (status == 200) t.revoked = true;
          break;
        }
        [[fallthrough]];
      default:
        // Every verification of a known secret records token.used or
        // token.use_denied (revoked, out of credits, missing permission).
        std::tie(status, j) =
            api.Call("POST", "/v1/verify",
                     {{"token", t.secret},
                      {"permissions",
                       rng() % 5 == 0 ? Json::array({"admin:all"}) : Json::array({"reports:read"})},
                      {"cost", 1 + static_cast<int>(rng() % 3)}});
        EXPECT_EQ(status, 200) << j.dump();
        break;
    }
  }
};

// `clients` concurrent clients (so appends interleave and share fsyncs, as
// in production), each creating 4 tokens then running `steps` random
// commands. Returns every secret handed out.
std::vector<std::string> RunWorkload(int port, unsigned seed, int clients, int steps) {
  std::vector<Workload> loads(clients);
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      Api api(port);
      std::mt19937 rng(seed + i);
      for (int n = 0; n < 4; ++n) loads[i].Create(api, rng);
      for (int n = 0; n < steps; ++n) loads[i].Step(api, rng);
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::string> secrets;
  for (const Workload& w : loads) secrets.insert(secrets.end(), w.secrets.begin(), w.secrets.end());
  return secrets;
}

// /readyz as JSON (null when unreachable or not 200).
Json Ready(Api& api) {
  auto [status, j] = api.Call("GET", "/readyz");
  return status == 200 ? j : Json(nullptr);
}

// Polls /readyz until the relay has every durable event acknowledged.
bool WaitCaughtUp(Api& api, std::chrono::milliseconds timeout, Json* last = nullptr) {
  auto until = std::chrono::steady_clock::now() + timeout;
  Json r;
  while (std::chrono::steady_clock::now() < until) {
    r = Ready(api);
    if (r.is_object() && r.contains("relay") && r["relay"]["lag_positions"] == 0 &&
        r["relay"]["acked_position"] == r["position"] && r["relay"]["state"] == "ok") {
      if (last != nullptr) *last = r;
      return true;
    }
    std::this_thread::sleep_for(20ms);
  }
  if (last != nullptr) *last = r;
  return false;
}

// One value of a Prometheus text exposition ("name value" line).
std::optional<double> Metric(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return std::nullopt;
}

// The local log of a stopped service, through `tokenledger log export`.
std::vector<Event> ExportLog(const TempDir& tmp, const std::string& data) {
  ToolResult r = RunTool(tmp, {"log", "export", "--data", data});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<Event> events;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    events.push_back(FromCloudEvent(Json::parse(line)));
  }
  return events;
}

struct TopicCheck {
  size_t messages = 0;
  size_t duplicates = 0;
  std::map<uint64_t, int> copies;  // position -> messages carrying it
};

// The topic against the log: after dropping duplicate positions it holds
// exactly the log's events (no gap, nothing extra, identical contents),
// each under its token id as key, one token's events in one partition in
// log order, and no secret anywhere.
TopicCheck CheckTopicMatchesLog(const std::vector<TopicMessage>& topic,
                                const std::vector<Event>& log,
                                const std::vector<std::string>& secrets) {
  TopicCheck c;
  c.messages = topic.size();
  std::map<uint64_t, const TopicMessage*> first;
  // Per partition, in offset order: a token's positions only grow, except
  // for re-sends of positions already seen there.
  std::vector<const TopicMessage*> sorted;
  for (const TopicMessage& m : topic) sorted.push_back(&m);
  std::sort(sorted.begin(), sorted.end(), [](const TopicMessage* a, const TopicMessage* b) {
    return std::tie(a->partition, a->offset) < std::tie(b->partition, b->offset);
  });
  std::map<std::pair<int, std::string>, uint64_t> newest;  // (partition, key) -> position
  std::map<std::string, int> partition_of;
  std::set<std::pair<int, uint64_t>> seen_in_partition;
  for (const TopicMessage* m : sorted) {
    const uint64_t pos = m->event.position.value();
    EXPECT_EQ(m->key, m->event.token_id) << "position " << pos;
    auto [it, fresh_token] = partition_of.emplace(m->key, m->partition);
    EXPECT_EQ(it->second, m->partition) << "token " << m->key << " in two partitions";
    const bool resent = !seen_in_partition.emplace(m->partition, pos).second;
    uint64_t& last = newest[{m->partition, m->key}];
    if (!resent) {
      EXPECT_GT(pos, last) << "token " << m->key << ": position " << pos << " after " << last
                           << " in partition " << m->partition;
      last = std::max(last, pos);
    }
    if (++c.copies[pos] == 1) {
      first[pos] = m;
    } else {
      ++c.duplicates;
      EXPECT_EQ(m->event, first[pos]->event) << "two different events at position " << pos;
    }
    for (const std::string& s : secrets) {
      EXPECT_EQ(m->value.find(s), std::string::npos) << "a secret in the message at " << pos;
    }
  }
  EXPECT_EQ(first.size(), log.size()) << "distinct positions on the topic vs events in the log";
  for (const Event& e : log) {
    auto it = first.find(e.position.value());
    if (it == first.end()) {
      ADD_FAILURE() << "position " << e.position.value() << " missing from the topic";
      continue;
    }
    EXPECT_EQ(it->second->event, e) << "position " << e.position.value();
  }
  return c;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::vector<std::string> RelayFlags(const MockKafkaCluster& cluster) {
  // A short reconnect back-off so catching up after an outage is quick.
  return {"--kafka-brokers", cluster.bootstrap(), "--kafka-property",
          "reconnect.backoff.max.ms=300"};
}

// ---------------------------------------------------------------------------

TEST(KafkaE2E, RandomWorkloadArrivesExactlyOnceInOrderPerToken) {
  MockKafkaCluster cluster(3);
  ASSERT_TRUE(cluster.CreateTopic(kTopic, 4).ok());
  TempDir tmp;
  const std::string data = tmp.sub("data");
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));

  ServeProcess serve(tmp, data, RelayFlags(cluster));
  ASSERT_TRUE(serve.started());
  const std::vector<std::string> secrets = RunWorkload(serve.port(), seed, 4, 60);

  Api api(serve.port());
  Json ready;
  ASSERT_TRUE(WaitCaughtUp(api, 15s, &ready)) << ready.dump() << "\n" << serve.Stderr();
  const std::string metrics = api.GetText("/metrics");
  EXPECT_EQ(Metric(metrics, "tokenledger_relay_acked_position"), ready["position"].get<double>());
  EXPECT_EQ(Metric(metrics, "tokenledger_relay_lag_positions"), 0.0);
  EXPECT_EQ(Metric(metrics, "tokenledger_relay_degraded"), 0.0);
  EXPECT_EQ(Metric(metrics, "tokenledger_relay_errors_total"), 0.0) << serve.Stderr();
  ASSERT_EQ(serve.Stop(), 0);
  EXPECT_NE(serve.Stderr().find("kafka relay started"), std::string::npos);

  std::vector<Event> log = ExportLog(tmp, data);
  // Most commands append one event (a few, like a rename to the same name, none).
  EXPECT_GT(log.size(), 200u);
  EXPECT_EQ(log.size(), ready["position"].get<size_t>());
  TopicCheck c = CheckTopicMatchesLog(ReadTopicRaw(cluster.bootstrap(), kTopic), log, secrets);
  // No crash and no error: exactly once, not only once after dedupe.
  EXPECT_EQ(c.duplicates, 0u);
  EXPECT_EQ(c.messages, log.size());
}

TEST(KafkaE2E, SigkillMidStreamThenRestartLeavesNoGap) {
  MockKafkaCluster cluster(3);
  // Slow acknowledgements keep events in flight when the process dies.
  for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_rtt(cluster.raw(), b, 40);
  TempDir tmp;
  const std::string data = tmp.sub("data");
  // Configured through the environment this time (the topic is auto-created).
  const std::vector<std::string> env{"TOKENLEDGER_KAFKA_BROKERS=" + cluster.bootstrap(),
                                     "TOKENLEDGER_KAFKA_TOPIC=audit.e2e"};
  std::vector<std::string> secrets{kAdminSecret};
  uint64_t killed_at = 0;
  {
    ServeProcess serve(tmp, data, {}, env);
    ASSERT_TRUE(serve.started());
    std::atomic<int> done{0};
    std::atomic<bool> failed{false};
    std::mutex secrets_mu;
    std::vector<std::thread> clients;
    for (int i = 0; i < 3; ++i) {
      clients.emplace_back([&, i] {
        Api api(serve.port());
        std::mt19937 rng(i);
        Workload w;
        if (!w.Create(api, rng)) return;
        {
          std::lock_guard<std::mutex> lock(secrets_mu);
          secrets.push_back(w.tokens[0].secret);
        }
        // Until the process dies under us.
        while (!failed.load()) {
          auto [status, j] = api.Call("POST", "/v1/verify", {{"token", w.tokens[0].secret}});
          if (status != 200) {
            failed.store(true);
            break;
          }
          ++done;
        }
      });
    }
    auto until = std::chrono::steady_clock::now() + 20s;
    while (done.load() < 150 && !failed.load() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(2ms);
    }
    EXPECT_GE(done.load(), 150);
    serve.Kill();  // commands still in flight
    for (auto& t : clients) t.join();
  }
  Result<Position> checkpoint = KafkaRelay::ReadCheckpoint(data + "/relay.checkpoint", "audit.e2e");
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.error().message;
  killed_at = checkpoint->value();
  EXPECT_GT(killed_at, 0u) << "the relay checkpointed nothing before the kill";

  for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_rtt(cluster.raw(), b, 0);
  {
    ServeProcess serve(tmp, data, {}, env);
    ASSERT_TRUE(serve.started());
    Api api(serve.port());
    // It resumed after the checkpoint, not from the start.
    EXPECT_NE(serve.Stderr().find("\"resume_after_position\":" + std::to_string(killed_at)),
              std::string::npos)
        << serve.Stderr();
    for (int i = 0; i < 20; ++i) {
      auto [status, j] = api.Call("POST", "/v1/verify", {{"token", secrets[1]}});
      EXPECT_EQ(status, 200);
    }
    Json ready;
    ASSERT_TRUE(WaitCaughtUp(api, 15s, &ready)) << ready.dump() << "\n" << serve.Stderr();
    ASSERT_EQ(serve.Stop(), 0);
  }
  std::vector<Event> log = ExportLog(tmp, data);
  ASSERT_GT(log.size(), killed_at);
  TopicCheck c = CheckTopicMatchesLog(ReadTopicRaw(cluster.bootstrap(), "audit.e2e"), log, secrets);
  // Duplicates only for events past the checkpoint (in flight at the kill).
  for (const auto& [pos, n] : c.copies) {
    if (pos <= killed_at) {
      EXPECT_EQ(n, 1) << "position " << pos << " re-sent";
    }
  }
  std::printf("killed with checkpoint at %llu of %zu events; %zu duplicates re-sent\n",
              static_cast<unsigned long long>(killed_at), log.size(), c.duplicates);
}

TEST(KafkaE2E, BrokerOutageKeepsCommandLatencyAndIsCaughtUp) {
  MockKafkaCluster cluster(3);
  ASSERT_TRUE(cluster.CreateTopic(kTopic, 4).ok());
  TempDir tmp;
  const std::string data = tmp.sub("data");
  ServeProcess serve(tmp, data, RelayFlags(cluster));
  ASSERT_TRUE(serve.started());
  Api api(serve.port());
  // Unlimited credits: every verification below is valid.
  auto [created, token] = api.Call("POST", "/v1/tokens", {{"name", "outage"}});
  ASSERT_EQ(created, 201) << token.dump();
  const std::string secret = token["token"].get<std::string>();
  auto timed_verifies = [&](int n) {
    std::vector<double> ms;
    for (int i = 0; i < n; ++i) {
      auto start = std::chrono::steady_clock::now();
      auto [status, j] = api.Call("POST", "/v1/verify", {{"token", secret}});
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
      EXPECT_EQ(status, 200);
      EXPECT_EQ(j.value("valid", false), true);
    }
    return ms;
  };
  timed_verifies(20);  // warm-up
  ASSERT_TRUE(WaitCaughtUp(api, 15s));
  const double up = Median(timed_verifies(60));

  cluster.SetAllBrokersDown();
  const double down = Median(timed_verifies(60));
  // The relay notices and says so; /readyz stays 200.
  Json ready;
  auto until = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < until) {
    ready = Ready(api);
    if (ready.is_object() && ready["relay"]["state"] == "degraded") break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(ready.is_object()) << "/readyz must stay 200 during an outage";
  EXPECT_EQ(ready["relay"]["state"], "degraded") << ready.dump();
  EXPECT_GT(ready["relay"]["lag_positions"].get<uint64_t>(), 0u);
  const std::string metrics = api.GetText("/metrics");
  EXPECT_EQ(Metric(metrics, "tokenledger_relay_degraded"), 1.0);
  EXPECT_GT(Metric(metrics, "tokenledger_relay_errors_total").value_or(0), 0.0);
  EXPECT_GT(Metric(metrics, "tokenledger_relay_lag_positions").value_or(0), 0.0);
  // Commands do not wait for Kafka. Generous: fsync noise on a shared disk.
  std::printf("median verify latency: %.2f ms brokers up, %.2f ms brokers down\n", up, down);
  EXPECT_LT(down, up * 3 + 5) << "up " << up << " ms, down " << down << " ms";

  cluster.SetAllBrokersUp();
  ASSERT_TRUE(WaitCaughtUp(api, 30s, &ready)) << ready.dump();
  ASSERT_EQ(serve.Stop(), 0);
  std::vector<Event> log = ExportLog(tmp, data);
  EXPECT_EQ(log.size(), ready["position"].get<size_t>());
  CheckTopicMatchesLog(ReadTopicRaw(cluster.bootstrap(), kTopic), log, {kAdminSecret, secret});
}

TEST(KafkaE2E, ReplayRestoreAndConsumeFromTheTopicMatchTheSource) {
  MockKafkaCluster cluster(3);
  ASSERT_TRUE(cluster.CreateTopic(kTopic, 4).ok());
  TempDir tmp;
  const std::string data = tmp.sub("data");
  const std::string brokers = cluster.bootstrap();
  Json ready;
  {
    ServeProcess serve(tmp, data, RelayFlags(cluster));
    ASSERT_TRUE(serve.started());
    RunWorkload(serve.port(), 11, 4, 30);
    Api api(serve.port());
    ASSERT_TRUE(WaitCaughtUp(api, 15s, &ready)) << ready.dump();
    ASSERT_EQ(serve.Stop(), 0);
  }
  const std::string digest = ready["digest"].get<std::string>();
  const std::string expected = "digest: " + digest +
                               "\nposition: " + std::to_string(ready["position"].get<uint64_t>()) +
                               "\n";

  ToolResult local = RunTool(tmp, {"replay", "--data", data});
  EXPECT_EQ(local.exit_code, 0) << local.err;
  EXPECT_EQ(local.out, expected);
  ToolResult kafka =
      RunTool(tmp, {"replay", "--from-kafka", "--brokers", brokers, "--topic", kTopic});
  EXPECT_EQ(kafka.exit_code, 0) << kafka.err;
  EXPECT_EQ(kafka.out, expected);

  const std::string restored = tmp.sub("restored");
  ToolResult restore = RunTool(tmp, {"restore", "--from-kafka", "--brokers", brokers, "--topic",
                                     kTopic, "--data", restored});
  EXPECT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_NE(restore.out.find(expected), std::string::npos) << restore.out;
  // A relay on the restored node resumes after what the topic already holds.
  Result<Position> resume = KafkaRelay::ReadCheckpoint(restored + "/relay.checkpoint", kTopic);
  ASSERT_TRUE(resume.ok()) << resume.error().message;
  EXPECT_EQ(resume->value(), ready["position"].get<uint64_t>());
  {
    ServeProcess serve(tmp, restored, {});
    ASSERT_TRUE(serve.started());
    Api api(serve.port());
    Json r = Ready(api);
    EXPECT_EQ(r["digest"], digest);
    EXPECT_EQ(r["position"], ready["position"]);
    EXPECT_FALSE(r.contains("relay"));  // no brokers, no relay
    // The restored node serves the old tokens: the admin secret still works.
    auto [status, j] = api.Call("GET", "/v1/tokens?limit=1");
    EXPECT_EQ(status, 200);
    ASSERT_EQ(serve.Stop(), 0);
  }

  // The audit tail prints each event once and verifies the chain.
  ToolResult consume = RunTool(tmp, {"consume", "--brokers", brokers, "--topic", kTopic, "--group",
                                     "e2e-audit", "--from-beginning", "--max-idle-ms", "3000"});
  EXPECT_EQ(consume.exit_code, 0) << consume.err;
  std::set<uint64_t> printed;
  std::istringstream lines(consume.out);
  for (std::string line; std::getline(lines, line);) {
    Event e = EventFromJson(Json::parse(line));
    EXPECT_TRUE(printed.insert(e.position.value()).second) << "printed twice: " << line;
  }
  EXPECT_EQ(printed.size(), ready["position"].get<size_t>());
  EXPECT_EQ(*printed.rbegin(), ready["position"].get<uint64_t>());

  // A forged event (wrong hash) makes the topic unusable for recovery, loudly.
  std::vector<Event> log = ExportLog(tmp, data);
  ASSERT_FALSE(log.empty());
  Event forged = log.back();
  forged.position = forged.position.next();
  forged.version = forged.version.next();
  forged.prev_hash = log.back().hash;
  forged.hash = log.back().hash;  // not ComputeHash(forged)
  {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), errstr, sizeof errstr);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    ASSERT_NE(rk, nullptr) << errstr;
    std::string value = ToCloudEvent(forged).dump();
    ASSERT_EQ(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(kTopic),
                                RD_KAFKA_V_KEY(forged.token_id.data(), forged.token_id.size()),
                                RD_KAFKA_V_VALUE(value.data(), value.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(rd_kafka_flush(rk, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(rk);
  }
  const std::string forged_position = std::to_string(forged.position.value());
  ToolResult bad =
      RunTool(tmp, {"replay", "--from-kafka", "--brokers", brokers, "--topic", kTopic});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("position " + forged_position), std::string::npos) << bad.err;
  EXPECT_EQ(bad.out, "");
  ToolResult bad_restore = RunTool(tmp, {"restore", "--from-kafka", "--brokers", brokers, "--topic",
                                         kTopic, "--data", tmp.sub("restored2")});
  EXPECT_EQ(bad_restore.exit_code, 1);
  EXPECT_NE(bad_restore.err.find("position " + forged_position), std::string::npos)
      << bad_restore.err;
}

// `cluster status` and `cluster verify` on a topic two nodes wrote: the
// newest owner of each partition, its events, a fenced write counted but no
// error, and an altered event refused with exit 3.
TEST(KafkaE2E, ClusterStatusAndVerifyReadEveryPartitionThroughTheFence) {
  constexpr const char* kClusterTopic = "cluster.cli";
  MockKafkaCluster cluster(3);
  ASSERT_TRUE(cluster.CreateTopic(kClusterTopic, 2, 3).ok());
  TempDir tmp;
  const std::string brokers = cluster.bootstrap();
  auto open = [&](const std::string& node, int32_t partition) {
    PartitionLogOptions o;
    o.brokers = brokers;
    o.topic = kClusterTopic;
    o.partition = partition;
    o.node_id = node;
    auto log = PartitionLog::Open(o, {});
    EXPECT_TRUE(log.ok());
    return std::move(log.value());
  };
  auto a0 = open("node-a", 0);
  auto a1 = open("node-a", 1);
  ASSERT_TRUE(a0->Claim().ok());
  ASSERT_TRUE(a1->Claim().ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(a0->AppendAndWait(testing::UnchainedEvent("evt_0_" + std::to_string(i), "tok_0")).ok());
  }
  ASSERT_TRUE(a1->AppendAndWait(testing::UnchainedEvent("evt_1_0", "tok_1")).ok());
  // node-b takes partition 0 over; node-a's next write there is fenced.
  auto b0 = open("node-b", 0);
  ASSERT_TRUE(b0->Claim().ok());
  ASSERT_TRUE(b0->AppendAndWait(testing::UnchainedEvent("evt_0_b", "tok_0")).ok());
  ASSERT_TRUE(testing::WaitFor([&] { return !a0->owns(); }, 10s));

  ToolResult status = RunTool(tmp, {"cluster", "status", "--brokers", brokers, "--topic", kClusterTopic});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  std::istringstream lines(status.out);
  std::string header, p0, p1;
  std::getline(lines, header);
  std::getline(lines, p0);
  std::getline(lines, p1);
  EXPECT_NE(header.find("owner"), std::string::npos) << status.out;
  auto words = [](const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> w;
    for (std::string x; in >> x;) w.push_back(x);
    return w;
  };
  EXPECT_EQ(words(p0), (std::vector<std::string>{"0", "node-b", "2", "4", "0", "6"})) << status.out;
  EXPECT_EQ(words(p1), (std::vector<std::string>{"1", "node-a", "1", "1", "0", "2"})) << status.out;

  ToolResult ok = RunTool(tmp, {"cluster", "verify", "--brokers", brokers, "--topic", kClusterTopic});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("events: 5 in 2 partitions"), std::string::npos) << ok.out;

  // What a paused node-a would write to partition 0 after the takeover, then
  // an event of the current epoch altered after it was hashed.
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), errstr, sizeof errstr);
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  ASSERT_NE(producer, nullptr) << errstr;
  Event late = testing::UnchainedEvent("evt_late", "tok_0");
  late.position = Position(4);
  late.prev_hash = kGenesisHash;
  late.hash = ComputeHash(late);
  ASSERT_EQ(ProduceEvent(producer, kClusterTopic, 0, 1, late, "tokenledger", nullptr),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_flush(producer, 10000);
  ToolResult fenced = RunTool(tmp, {"cluster", "verify", "--brokers", brokers, "--topic", kClusterTopic});
  EXPECT_EQ(fenced.exit_code, 0) << fenced.err;
  EXPECT_NE(fenced.out.find("partition 0: 4 events"), std::string::npos) << fenced.out;
  EXPECT_NE(fenced.out.find("1 fenced"), std::string::npos) << fenced.out;

  Event altered = late;
  altered.id = "evt_altered";
  altered.position = Position(5);
  altered.data = Json{{"cost", 1000}};
  ASSERT_EQ(ProduceEvent(producer, kClusterTopic, 0, 2, altered, "tokenledger", nullptr),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_flush(producer, 10000);
  rd_kafka_destroy(producer);
  ToolResult bad = RunTool(tmp, {"cluster", "verify", "--brokers", brokers, "--topic", kClusterTopic});
  EXPECT_EQ(bad.exit_code, 3) << bad.out;
  EXPECT_NE(bad.err.find("partition 0 holds 1 altered event(s)"), std::string::npos) << bad.err;

  ToolResult usage = RunTool(tmp, {"cluster", "verify", "--brokers", brokers});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("--topic"), std::string::npos) << usage.err;
}

}  // namespace
}  // namespace tl
