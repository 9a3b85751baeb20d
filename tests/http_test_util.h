#pragma once

// A real HttpApi on a loopback socket for integration tests: a fresh data
// dir, a FakeClock (tests move time instead of sleeping), a Ledger and the
// server on its own thread, plus a small JSON client.

#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "events/clock.h"
#include "events/log_test_util.h"
#include "events/time_format.h"
#include "services/http_api.h"
#include "services/ledger.h"

namespace tl::testing {

// An operator-chosen admin secret (TOKENLEDGER_BOOTSTRAP_TOKEN): known to the
// test without reading stdout.
inline constexpr const char* kAdminSecret = "test-admin-secret-0123456789-abcdefghij";

// 2024-03-10T12:00:00Z: mid-day, mid-month, so day and month boundaries are
// both ahead and known.
inline int64_t DefaultStartMs() { return *ParseRfc3339("2024-03-10T12:00:00Z"); }

// One HTTP exchange, the body parsed when it is JSON.
struct Reply {
  int status = 0;
  Json body;  // discarded (is_discarded()) when not JSON
  std::string raw;
  std::string content_type;
  httplib::Headers headers;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

inline Reply ToReply(const httplib::Result& r) {
  Reply out;
  if (!r) {
    ADD_FAILURE() << "HTTP request failed: " << httplib::to_string(r.error());
    out.body = Json::parse("", nullptr, false);
    return out;
  }
  out.status = r->status;
  out.raw = r->body;
  out.headers = r->headers;
  out.content_type = r->get_header_value("Content-Type");
  out.body = Json::parse(r->body, nullptr, false);
  return out;
}

struct ServerOptions {
  int64_t start_ms = DefaultStartMs();
  HttpOptions http;
  int threads = 16;
  uint64_t max_feed_scan = 10'000;  // LedgerOptions::max_feed_scan
};

// Owns everything a test server needs; stops and cleans up on destruction.
class TestServer {
 public:
  explicit TestServer(ServerOptions options = {}) : clock_(options.start_ms) {
    Open(options);
    HttpOptions http = options.http;
    http.threads = options.threads;
    api_ = std::make_unique<HttpApi>(*ledger_, std::move(http));
    auto port = api_->Bind("127.0.0.1", 0);
    if (!port.ok()) {
      ADD_FAILURE() << "bind: " << port.error().message;
      return;
    }
    port_ = *port;
    tls_ = !options.http.tls_cert.empty();
    thread_ = std::thread([this] { api_->Run(); });
    WaitServing();
  }
  ~TestServer() {
    StopServer();
    ledger_.reset();
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  // Stops the HTTP server and waits for its threads: every request log line
  // has been written when this returns. The ledger stays open.
  void StopServer() {
    if (api_) api_->Stop();
    if (thread_.joinable()) thread_.join();
    api_.reset();
  }

  FakeClock& clock() { return clock_; }
  Ledger& ledger() { return *ledger_; }
  const TempDir& dir() const { return dir_; }
  int port() const { return port_; }
  uint64_t Position() const { return ledger_->log().DurablePosition().value(); }

  // A plain client for this server (HTTPS servers: use an SSLClient).
  std::unique_ptr<httplib::Client> NewClient() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    c->set_connection_timeout(5);
    c->set_read_timeout(30);
    return c;
  }

  Reply Get(const std::string& path, const std::string& secret = kAdminSecret,
            httplib::Headers headers = {}) const {
    Auth(headers, secret);
    return ToReply(NewClient()->Get(path, headers));
  }
  Reply Post(const std::string& path, const Json& body, const std::string& secret = kAdminSecret,
             httplib::Headers headers = {}) const {
    return PostRaw(path, body.dump(), secret, std::move(headers));
  }
  Reply PostRaw(const std::string& path, const std::string& body,
                const std::string& secret = kAdminSecret, httplib::Headers headers = {}) const {
    Auth(headers, secret);
    return ToReply(NewClient()->Post(path, headers, body, "application/json"));
  }
  Reply Patch(const std::string& path, const Json& body, const std::string& secret = kAdminSecret,
              httplib::Headers headers = {}) const {
    Auth(headers, secret);
    return ToReply(NewClient()->Patch(path, headers, body.dump(), "application/json"));
  }

  // POST /v1/tokens as admin; fails the test unless 201. Returns the response
  // (resource + "token").
  Json CreateToken(Json body, const std::string& secret = kAdminSecret) const {
    Reply r = Post("/v1/tokens", body, secret);
    EXPECT_EQ(r.status, 201) << r.raw;
    return r.body;
  }

  // POST /v1/verify as admin; fails the test unless 200. Returns the body.
  Json Verify(Json body, const std::string& secret = kAdminSecret) const {
    Reply r = Post("/v1/verify", body, secret);
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body;
  }

 private:
  void Open(const ServerOptions& options) {
    LedgerOptions o;
    o.max_feed_scan = options.max_feed_scan;
    o.data_dir = dir_.path();
    o.clock = &clock_;
    o.bootstrap_secret = kAdminSecret;
    auto ledger = Ledger::Open(std::move(o));
    if (!ledger.ok()) {
      ADD_FAILURE() << "Ledger::Open: " << ledger.error().message;
      return;
    }
    ledger_ = std::move(ledger).value();
  }

  static void Auth(httplib::Headers& headers, const std::string& secret) {
    if (!secret.empty()) headers.emplace("Authorization", "Bearer " + secret);
  }

  // Stop() is only safe once the accept loop runs; the first answered
  // request proves it does.
  void WaitServing() const {
    for (int attempt = 0; attempt < 500; ++attempt) {
      httplib::Result r = tls_ ? SslHealthz() : NewClient()->Get("/healthz");
      if (r && r->status == 200) return;
      std::this_thread::yield();
    }
    ADD_FAILURE() << "server on port " << port_ << " never answered /healthz";
  }
  httplib::Result SslHealthz() const {
    httplib::SSLClient c("127.0.0.1", port_);
    c.enable_server_certificate_verification(false);
    return c.Get("/healthz");
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<HttpApi> api_;
  std::thread thread_;
  int port_ = 0;
  bool tls_ = false;
};

}  // namespace tl::testing
