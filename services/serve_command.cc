#include "services/serve_command.h"

#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <thread>

#include "events/clock.h"
#include "services/cli_args.h"
#include "services/http_api.h"
#include "services/ledger.h"

namespace tl {
namespace {

constexpr const char* kUsage =
    "usage: tokenledger serve --data DIR --listen HOST:PORT [--tls-cert FILE --tls-key FILE] "
    "[--threads N]\n";

bool SplitHostPort(const std::string& s, std::string& host, int& port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
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

}  // namespace

int RunServe(const std::vector<std::string>& args) {
  CliArgs a(args, {"data", "listen", "tls-cert", "tls-key", "threads", "kafka-brokers",
                   "kafka-topic", "kafka-property"});
  std::string host;
  int port = 0;
  if (!a.ok() || !a.Has("data") || !SplitHostPort(a.Get("listen", "127.0.0.1:8080"), host, port)) {
    std::cerr << (a.ok() ? "" : a.error() + "\n") << kUsage;
    return 2;
  }
  if (a.Has("tls-cert") != a.Has("tls-key")) {
    std::cerr << "serve: --tls-cert and --tls-key go together\n" << kUsage;
    return 2;
  }

  // Signals are taken by one thread with sigwait; block them everywhere else
  // before any thread starts.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  SystemClock clock;
  LedgerOptions options;
  options.data_dir = *a.Get("data");
  options.clock = &clock;
  options.bootstrap_secret = Env("TOKENLEDGER_BOOTSTRAP_TOKEN");
  auto ledger = Ledger::Open(std::move(options));
  if (!ledger.ok()) {
    std::cerr << "serve: cannot open " << *a.Get("data") << ": " << ledger.error().message << "\n";
    return 1;
  }
  if (auto secret = (*ledger)->TakeBootstrapSecret()) {
    // The one and only time this secret is shown.
    std::cout << "bootstrap admin token: " << *secret << std::endl;
  }

  HttpOptions http;
  http.tls_cert = a.Get("tls-cert", "");
  http.tls_key = a.Get("tls-key", "");
  if (auto t = ParseUint(a.Get("threads", "64")); t && *t > 0 && *t <= 1024) {
    http.threads = static_cast<int>(*t);
  }
  HttpApi api(**ledger, http);
  auto bound = api.Bind(host, port);
  if (!bound.ok()) {
    std::cerr << "serve: " << bound.error().message << "\n";
    return 1;
  }
  std::cout << "listening on " << (http.tls_cert.empty() ? "http" : "https") << "://" << host << ":"
            << *bound << std::endl;

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    api.Stop();
  });
  api.Run();
  // Run returned because of a signal (or a listen failure): wake the waiter
  // in the latter case so it can be joined.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  std::cerr << R"({"level":"info","msg":"stopped; writing snapshot"})" << std::endl;
  return 0;
}

}  // namespace tl
