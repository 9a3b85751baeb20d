// The benchmark baseline for POST /v1/verify: cpp-httplib with the settings
// HttpApi uses (tcp_nodelay, keep-alive count, thread pool, 64 KiB bodies)
// and a handler that returns a fixed JSON body of the size of a VALID
// verification answer. Whatever /v1/verify costs beyond this is ours.
//
//   bare_http_server [--listen 127.0.0.1:PORT] [--threads N]
// Prints "listening on http://HOST:PORT" once bound; stops on SIGINT/SIGTERM.

#include <httplib.h>
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

namespace {

// The shape and size of a VALID answer of tokenledger's /v1/verify.
constexpr const char* kBody =
    R"({"code":"VALID","expires_at":null,"meta":{},"name":"bench","owner":"admin",)"
    R"("permissions":[],"rate_limit":null,"remaining":999999999990,)"
    R"("token_id":"tok_0123456789abcdefABCDEF","valid":true})";

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  int threads = 64;  // HttpOptions::threads default
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--listen")
      listen = argv[i + 1];
    else if (flag == "--threads")
      threads = std::atoi(argv[i + 1]);
    else {
      std::cerr << "usage: bare_http_server [--listen HOST:PORT] [--threads N]\n";
      return 2;
    }
  }
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || threads <= 0) {
    std::cerr << "bare_http_server: bad --listen or --threads\n";
    return 2;
  }
  const std::string host = listen.substr(0, colon);
  const int port = std::atoi(listen.c_str() + colon + 1);

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  httplib::Server server;
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(100000);
  server.set_payload_max_length(64 * 1024);
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  server.Post("/v1/verify", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(kBody, "application/json");
  });
  const int bound = port == 0 ? server.bind_to_any_port(host.c_str())
                              : (server.bind_to_port(host.c_str(), port) ? port : -1);
  if (bound < 0) {
    std::cerr << "bare_http_server: cannot listen on " << listen << "\n";
    return 1;
  }
  std::cout << "listening on http://" << host << ":" << bound << std::endl;
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    server.stop();
  });
  server.listen_after_bind();
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return 0;
}
