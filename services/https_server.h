#pragma once

#include <memory>
#include <string>

#include "events/result.h"
#include "services/http_api.h"

namespace httplib {
class SSLServer;
}  // namespace httplib

namespace tl {

// HTTPS for the routes of `api` (serve --tls-cert/--tls-key), on
// cpp-httplib's SSLServer: a thread per connection, its parser and its
// limits, the answers and log lines of every transport. Plain HTTP is served
// by HttpServer (http_server.h), whose bounds this server does not have;
// terminating TLS in front of HttpServer gives them.
//
// Thread-safety: Run() on one thread; Stop() from any.
class HttpsServer {
 public:
  // `api` must outlive this. `threads`: connections served at once.
  HttpsServer(HttpApi& api, int threads);
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  // Binds host:port (port 0 picks a free one). Returns the bound port.
  Result<int> Bind(const std::string& host, int port);
  // Serves until Stop(). REQUIRES: Bind succeeded.
  void Run();
  void Stop();

 private:
  HttpApi& api_;
  std::unique_ptr<httplib::SSLServer> server_;
};

}  // namespace tl
