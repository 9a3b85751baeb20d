#include "services/cli/serve_command.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <thread>

#include "events/clock.h"
#include "events/json_log.h"
#include "events/kafka_relay.h"
#include "services/cli/cli_args.h"
#include "services/cli/secret_input.h"
#include "services/core/ledger.h"
#include "services/http/http_api.h"
#include "services/http/http_server.h"
#include "services/http/metrics.h"
#include "services/http/tls_context.h"

namespace tl {
namespace {

constexpr const char* kSynopsis =
    "usage: tokenledger serve --data DIR [--listen HOST:PORT] [--tls-cert FILE --tls-key FILE]\n"
    "         [--accept-log-loss] [--bootstrap-token-file PATH]\n"
    "         [--workers N] [--threads N] [--verify-listen HOST:PORT] [--verify-gather-us N]\n"
    "         [--head-timeout-ms N] [--idle-timeout-ms N] [--drain-timeout-ms N]\n"
    "         [--max-connections N] [--max-connections-per-address N]\n"
    "         [--max-headers N] [--max-header-bytes N] [--max-body-bytes N]\n"
    "         [--kafka-brokers HOST:PORT[,...] [--kafka-topic NAME] [--kafka-property k=v]...]\n";

// The why and the defaults, after the flags in --help and after a usage error.
constexpr const char* kDetails =
    "  Every route is served by one event-loop thread; --listen defaults to\n"
    "  127.0.0.1:8080. Routes that may block (management commands, lists, feeds,\n"
    "  usage, /readyz, /metrics, the console) run on --workers threads (default 4).\n"
    "  Bounds (closed or answered with a problem+json): the request head must arrive\n"
    "  within --head-timeout-ms of its first byte (default 10000, 408); a connection\n"
    "  idle between requests is closed after --idle-timeout-ms (default 60000);\n"
    "  --max-headers (default 64) and --max-header-bytes (default 8192) fields and\n"
    "  bytes of head (431); --max-body-bytes (default 65536, 413); bodies with a\n"
    "  Content-Encoding are refused (415); connections over --max-connections\n"
    "  (default 4096) or --max-connections-per-address (default 256) are closed at\n"
    "  accept. SIGTERM: /readyz answers 503, the listener closes, requests already\n"
    "  received are answered within --drain-timeout-ms (default 10000), then exit 0.\n"
    "  --tls-cert/--tls-key serve HTTPS on --listen (TLS 1.2+, AEAD ciphers only);\n"
    "  SIGHUP re-reads both for new connections. --threads is accepted and ignored\n"
    "  (the loop and --workers serve every connection).\n"
    "  --verify-listen also serves POST /v1/verify (only) on a second, plain-HTTP\n"
    "  port of the same event loop: the data plane for services that verify on\n"
    "  every request. --verify-gather-us bounds how long a group commit of\n"
    "  verifications waits for the next requests of the other connections\n"
    "  (0..100000, default 300; 0 = never).\n"
    "  --kafka-brokers turns on the relay of every event to Kafka (also\n"
    "  TOKENLEDGER_KAFKA_BROKERS); --kafka-topic defaults to tokenledger.events (also\n"
    "  TOKENLEDGER_KAFKA_TOPIC); --kafka-property passes any librdkafka property\n"
    "  (SASL, TLS, ...). Flags override the environment. The last position Kafka\n"
    "  acknowledged is kept in DIR/relay.checkpoint.\n"
    "  --accept-log-loss starts on a log that lost acknowledged events (it ends\n"
    "  before DIR/acknowledged.json or the newest snapshot, which serve refuses\n"
    "  otherwise): prints the positions dropped, sets such snapshots aside as\n"
    "  *.dropped and goes on from the log's end. One process at a time holds\n"
    "  DIR/LOCK. The first start on an empty DIR creates an admin token: its secret\n"
    "  is TOKENLEDGER_BOOTSTRAP_TOKEN or the contents of --bootstrap-token-file\n"
    "  (never printed), else a new one printed once.\n";

// Printed after a usage error.
std::string Usage() { return std::string(kSynopsis) + kDetails; }

constexpr std::chrono::milliseconds kRelayFlushOnStop{5000};

bool SplitHostPort(const std::string& s, std::string& host, int& port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto p = ParseUint(s.substr(colon + 1));
  if (host.empty() || !p || *p > 65535) return false;
  port = static_cast<int>(*p);
  return true;
}

std::optional<std::string> Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

void LogInfo(Json line) { WriteJsonLogLine("info", std::move(line)); }

// The relay's settings from flags and the environment (flags win); nullopt
// when no brokers are configured. Property values are never logged: they
// may hold SASL passwords.
Result<std::optional<RelayOptions>> RelayOptionsFrom(const CliArgs& a, const std::string& data) {
  std::optional<std::string> brokers = a.Get("kafka-brokers");
  if (!brokers) brokers = Env("TOKENLEDGER_KAFKA_BROKERS");
  if (!brokers) {
    if (a.Has("kafka-topic") || a.Has("kafka-property")) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "--kafka-topic and --kafka-property need --kafka-brokers (or "
                       "TOKENLEDGER_KAFKA_BROKERS)");
    }
    return std::optional<RelayOptions>();
  }
  RelayOptions o;
  o.brokers = *brokers;
  if (auto topic = a.Get("kafka-topic")) {
    o.topic = *topic;
  } else if (auto env = Env("TOKENLEDGER_KAFKA_TOPIC")) {
    o.topic = *env;
  }
  if (o.brokers.empty() || o.topic.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--kafka-brokers and --kafka-topic must not be empty");
  }
  auto properties = ParseKeyValues(a.GetAll("kafka-property"), "kafka-property");
  if (!properties.ok()) return properties.error();
  o.properties = std::move(properties).value();
  o.checkpoint_path = data + "/relay.checkpoint";
  return std::optional<RelayOptions>(std::move(o));
}

// Refuses a property librdkafka does not know (or a bad value) before the
// ledger is opened, so a typo stops `serve` before it creates anything.
Status CheckKafkaProperties(const RelayOptions& o) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  Status st = Ok{};
  for (const auto& [k, v] : o.properties) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      st = MakeError(ErrorCode::kInvalidArgument, "kafka property " + k + ": " + errstr);
      break;
    }
  }
  rd_kafka_conf_destroy(conf);
  return st;
}

std::string RelayMetrics(const RelayStats& s) {
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3f", s.lag_seconds);
  return MetricFamily(
             "tokenledger_relay_acked_position",
             "Highest log position Kafka acknowledged (every event up to it is on the topic).",
             "gauge", std::to_string(s.acked_position.value())) +
         MetricFamily("tokenledger_relay_lag_positions",
                      "Durable events not yet acknowledged by Kafka.", "gauge",
                      std::to_string(s.lag_positions)) +
         MetricFamily("tokenledger_relay_lag_seconds",
                      "Age of the oldest event not yet acknowledged by Kafka (0 when none).",
                      "gauge", seconds) +
         MetricFamily("tokenledger_relay_produced_total",
                      "Messages handed to the Kafka producer, re-sends included.", "counter",
                      std::to_string(s.produced)) +
         MetricFamily("tokenledger_relay_errors_total", "Kafka errors seen by the relay.",
                      "counter", std::to_string(s.errors)) +
         MetricFamily(
             "tokenledger_relay_degraded",
             "1 while the relay lags with recent errors, lags over 10 s, or is not running.",
             "gauge", s.degraded ? "1" : "0");
}

// For /readyz, which anyone can read: positions and counts only. The last
// error text stays in the service's log (it names brokers and topics).
Json RelayReady(const RelayStats& s) {
  return Json{{"relay",
               {{"state", s.degraded ? "degraded" : "ok"},
                {"acked_position", s.acked_position.value()},
                {"lag_positions", s.lag_positions},
                {"lag_seconds", s.lag_seconds},
                {"errors", s.errors}}}};
}

}  // namespace

const CommandSpec& ServeSpec() {
  static const CommandSpec spec{
      .name = "serve",
      .about = "run the server on a data directory",
      .flags =
          {
              {"data", "DIR", "the data directory (created when missing)"},
              {"listen", "HOST:PORT", "the main listener (default 127.0.0.1:8080)"},
              {"tls-cert", "FILE", "serve HTTPS with this certificate (PEM; with --tls-key)"},
              {"tls-key", "FILE", "the certificate's private key (PEM)"},
              {"accept-log-loss", "", "start on a log that lost acknowledged events"},
              {"bootstrap-token-file", "PATH",
               "the first admin token's secret from PATH (- : standard input)"},
              {"workers", "N", "threads for routes that may block (1..256, default 4)"},
              {"threads", "N", "accepted and ignored"},
              {"verify-listen", "HOST:PORT", "also serve POST /v1/verify alone on this port"},
              {"verify-gather-us", "N",
               "how long a group commit of verifications waits (0..100000, default 300)"},
              {"head-timeout-ms", "N", "a request head must arrive within N ms (default 10000)"},
              {"idle-timeout-ms", "N", "close a connection idle N ms (default 60000)"},
              {"drain-timeout-ms", "N", "on SIGTERM, answer what was received within N ms"},
              {"max-connections", "N", "connections at most (default 4096)"},
              {"max-connections-per-address", "N", "connections per client address (256)"},
              {"max-headers", "N", "header fields per request (default 64)"},
              {"max-header-bytes", "N", "bytes of request head (default 8192)"},
              {"max-body-bytes", "N", "bytes of request body (default 65536)"},
              {"kafka-brokers", "HOST:PORT[,...]",
               "relay every event to Kafka (also TOKENLEDGER_KAFKA_BROKERS)"},
              {"kafka-topic", "NAME",
               "the relay's topic (default tokenledger.events; also TOKENLEDGER_KAFKA_TOPIC)"},
              {"kafka-property", "KEY=VALUE", "any librdkafka property (repeat)", true},
          },
      .footer = kDetails,
  };
  return spec;
}

int RunServe(const CliArgs& a) {
  std::string host;
  int port = 0;
  if (!a.Has("data")) {
    std::cerr << "serve: --data DIR is required\n" << Usage();
    return 2;
  }
  if (!SplitHostPort(a.Get("listen", "127.0.0.1:8080"), host, port)) {
    std::cerr << "serve: --listen must be HOST:PORT, such as 127.0.0.1:8080\n" << Usage();
    return 2;
  }
  std::string verify_host;
  int verify_port = 0;
  if (a.Has("verify-listen") && !SplitHostPort(*a.Get("verify-listen"), verify_host, verify_port)) {
    std::cerr << "serve: --verify-listen must be HOST:PORT, such as 127.0.0.1:8081\n" << Usage();
    return 2;
  }
  HttpServerOptions server_options;
  // Each bound: flag, lowest and highest value, where it goes.
  struct Bound {
    const char* flag;
    uint64_t lo, hi;
    std::function<void(uint64_t)> set;
  };
  const Bound bounds[] = {
      {"workers", 1, 256, [&](uint64_t v) { server_options.workers = v; }},
      {"head-timeout-ms", 1, 3'600'000,
       [&](uint64_t v) { server_options.head_timeout_ms = static_cast<int64_t>(v); }},
      {"idle-timeout-ms", 1, 86'400'000,
       [&](uint64_t v) { server_options.idle_timeout_ms = static_cast<int64_t>(v); }},
      {"drain-timeout-ms", 0, 3'600'000,
       [&](uint64_t v) { server_options.drain_timeout_ms = static_cast<int64_t>(v); }},
      {"max-connections", 1, 1'000'000, [&](uint64_t v) { server_options.max_connections = v; }},
      {"max-connections-per-address", 1, 1'000'000,
       [&](uint64_t v) { server_options.max_connections_per_address = v; }},
      {"max-headers", 1, 10'000, [&](uint64_t v) { server_options.limits.max_headers = v; }},
      {"max-header-bytes", 256, 1 << 20,
       [&](uint64_t v) { server_options.limits.max_head_bytes = v; }},
      {"max-body-bytes", 0, 64 << 20,
       [&](uint64_t v) { server_options.limits.max_body_bytes = v; }},
  };
  for (const Bound& b : bounds) {
    if (!a.Has(b.flag)) continue;
    const auto v = ParseUint(*a.Get(b.flag));
    if (!v || *v < b.lo || *v > b.hi) {
      std::cerr << "serve: --" << b.flag << " must be a whole number from " << b.lo << " to "
                << b.hi << "\n"
                << Usage();
      return 2;
    }
    b.set(*v);
  }
  if (a.Has("verify-gather-us")) {
    const auto us = ParseUint(*a.Get("verify-gather-us"));
    if (!us || *us > 100'000) {
      std::cerr << "serve: --verify-gather-us must be a whole number of microseconds, 0 to 100000\n"
                << Usage();
      return 2;
    }
    server_options.gather.max_gather_us = static_cast<int64_t>(*us);
  }
  if (a.Has("tls-cert") != a.Has("tls-key")) {
    std::cerr << "serve: --tls-cert and --tls-key go together\n" << Usage();
    return 2;
  }
  auto relay_options = RelayOptionsFrom(a, *a.Get("data"));
  if (!relay_options.ok()) {
    std::cerr << "serve: " << relay_options.error().message << "\n" << Usage();
    return 2;
  }
  if (*relay_options) {
    if (Status st = CheckKafkaProperties(**relay_options); !st.ok()) {
      std::cerr << "serve: " << st.error().message << "\n";
      return 2;
    }
  }

  // Signals are taken by one thread with sigwait; block them everywhere else
  // before any thread starts.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);  // reloads the TLS certificate and key
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  SystemClock clock;
  LedgerOptions options;
  options.data_dir = *a.Get("data");
  options.clock = &clock;
  options.bootstrap_secret = Env("TOKENLEDGER_BOOTSTRAP_TOKEN");
  if (auto path = a.Get("bootstrap-token-file")) {
    if (options.bootstrap_secret) {
      std::cerr << "serve: give one of TOKENLEDGER_BOOTSTRAP_TOKEN or --bootstrap-token-file\n";
      return 2;
    }
    auto secret = ReadSecretFile(*path, "bootstrap-token-file");
    if (!secret.ok()) {
      std::cerr << "serve: " << secret.error().message << "\n";
      return 2;
    }
    options.bootstrap_secret = std::move(secret).value();
  }
  const bool operator_chose_secret = options.bootstrap_secret.has_value();
  // /readyz answers within a probe's timeout even at millions of tokens.
  options.digest_budget_ms = 250;
  options.accept_log_loss = a.Has("accept-log-loss");
  auto ledger = Ledger::Open(std::move(options));
  if (!ledger.ok()) {
    std::cerr << "serve: cannot open " << *a.Get("data") << ": " << ledger.error().message << "\n";
    return 1;
  }
  if (auto secret = (*ledger)->TakeBootstrapSecret()) {
    if (operator_chose_secret) {
      // The operator has it already: a secret is never printed needlessly.
      auto admin = (*ledger)->Authenticate(*secret);
      std::cout << "bootstrap admin token "
                << (admin.ok() ? admin->token_id : std::string("(id unknown)"))
                << " created from TOKENLEDGER_BOOTSTRAP_TOKEN" << std::endl;
    } else {
      // The one and only time this secret is shown.
      std::cout << "bootstrap admin token: " << *secret << std::endl;
    }
  }

  // Declared before the HTTP server so that it outlives the handlers that
  // read its stats, and after the ledger whose log it reads.
  std::unique_ptr<KafkaRelay> relay;
  if (*relay_options) {
    const RelayOptions& ro = **relay_options;
    relay = std::make_unique<KafkaRelay>((*ledger)->log(), ro);
    // Only a bad configuration fails here; unreachable brokers or a missing
    // topic are retried by the relay and show in its log lines and /readyz.
    if (Status st = relay->Start(); !st.ok()) {
      std::cerr << "serve: kafka relay: " << st.error().message << "\n";
      return 2;
    }
    RelayStats s = relay->Stats();
    LogInfo({{"msg", "kafka relay started"},
             {"brokers", ro.brokers},
             {"topic", ro.topic},
             {"resume_after_position", s.acked_position.value()},
             {"log_position", s.source_position.value()}});
  }

  HttpOptions http;
  if (relay) {
    KafkaRelay* r = relay.get();
    http.extra_metrics = [r] { return RelayMetrics(r->Stats()); };
    http.extra_ready = [r] { return RelayReady(r->Stats()); };
  }
  http.tls_cert = a.Get("tls-cert", "");
  http.tls_key = a.Get("tls-key", "");
  const bool tls = !http.tls_cert.empty();
  HttpApi api(**ledger, http);
  // The main port and the verify port share one event loop.
  HttpServer server(api, server_options);
  if (tls) {
    auto ctx = LoadTlsContext(http.tls_cert, http.tls_key);
    if (!ctx.ok()) {
      std::cerr << "serve: " << ctx.error().message << "\n";
      return 1;
    }
    server.SetTlsContext(std::move(ctx).value());
  }
  Result<int> bound = server.Bind(host, port, /*verify_only=*/false, tls);
  if (!bound.ok()) {
    std::cerr << "serve: " << bound.error().message << "\n";
    return 1;
  }
  auto loopback = [](const std::string& h) {
    return h == "127.0.0.1" || h == "::1" || h == "localhost";
  };
  if (!tls && !loopback(host)) {
    WriteJsonLogLine("warn", Json{{"msg",
                                   "the listener is plain HTTP on a non-loopback address: "
                                   "bearer and token secrets cross the network "
                                   "unencrypted (--tls-cert/--tls-key, or TLS in front)"},
                                  {"listen", host + ":" + std::to_string(*bound)}});
  }
  if (a.Has("verify-listen")) {
    auto vbound = server.Bind(verify_host, verify_port, /*verify_only=*/true);
    if (!vbound.ok()) {
      std::cerr << "serve: --verify-listen: " << vbound.error().message << "\n";
      return 1;
    }
    verify_port = *vbound;
    if (!loopback(verify_host)) {
      WriteJsonLogLine("warn", Json{{"msg",
                                     "the verify listener is plain HTTP: bearer and verified "
                                     "secrets cross the network unencrypted"},
                                    {"listen", verify_host + ":" + std::to_string(verify_port)}});
    }
  }
  std::cout << "listening on " << (tls ? "https" : "http") << "://" << host << ":" << *bound
            << std::endl;
  if (a.Has("verify-listen")) {
    std::cout << "verify listener (POST /v1/verify) on http://" << verify_host << ":" << verify_port
              << std::endl;
  }

  std::thread waiter([&] {
    for (;;) {
      int sig = 0;
      sigwait(&stop_signals, &sig);
      if (sig != SIGHUP) break;
      // A renewed certificate: new connections get it, open ones keep theirs.
      if (!tls) continue;
      auto ctx = LoadTlsContext(http.tls_cert, http.tls_key);
      if (ctx.ok()) {
        server.SetTlsContext(std::move(ctx).value());
        LogInfo({{"msg", "TLS certificate and key reloaded"}, {"cert", http.tls_cert}});
      } else {
        WriteJsonLogLine("error", Json{{"msg",
                                        "TLS reload failed; the previous certificate "
                                        "stays in use"},
                                       {"error", ctx.error().message}});
      }
    }
    server.Stop();  // graceful: answers what it has received, then Run returns
  });
  server.Run();
  // Run returned because of a signal (or a failure): wake the waiter in the
  // latter case so it can be joined.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  if (relay) {
    // Bounded: whatever Kafka has not acknowledged by then is re-sent by the
    // next start (the checkpoint only moves over acknowledged events).
    relay->Stop(kRelayFlushOnStop);
    RelayStats s = relay->Stats();
    LogInfo({{"msg", "kafka relay stopped"},
             {"acked_position", s.acked_position.value()},
             {"lag_positions", s.lag_positions}});
  }
  LogInfo({{"msg", "stopped; writing snapshot"}});
  return 0;
}

}  // namespace tl
