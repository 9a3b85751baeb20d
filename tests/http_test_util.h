#pragma once

// The real front end (HttpApi's routes on HttpServer's event loop, HTTPS
// when given a certificate) on a loopback socket for integration tests:
// a fresh data dir, a FakeClock (tests move time instead of sleeping), a
// Ledger and the server on its own thread, plus a small JSON client.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "events/clock.h"
#include "events/log_test_util.h"
#include "events/time_format.h"
#include "services/core/ledger.h"
#include "services/http/http_api.h"
#include "services/http/http_server.h"
#include "services/http/tls_context.h"

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

// Sends `request` verbatim on a new loopback connection to `port` and reads
// one response (headers, then a Content-Length body); for requests
// httplib::Client will not send, such as a POST without Content-Length. The
// connection stays open until the response is read, as a kept-alive client's
// would. Gives up after `timeout_s` (status 0).
inline Reply RawExchange(int port, const std::string& request, int timeout_s = 10) {
  Reply out;
  out.body = Json::parse("", nullptr, false);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    ADD_FAILURE() << "socket failed";
    return out;
  }
  timeval tv{timeout_s, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string got;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(request.size())) {
    ADD_FAILURE() << "cannot send to port " << port;
    close(fd);
    return out;
  }
  size_t header_end = std::string::npos;
  size_t want = std::string::npos;  // header bytes + Content-Length
  char buf[4096];
  while (want == std::string::npos || got.size() < want) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;  // closed, or timed out
    got.append(buf, static_cast<size_t>(n));
    if (header_end == std::string::npos &&
        (header_end = got.find("\r\n\r\n")) != std::string::npos) {
      size_t length = 0;
      for (std::istringstream lines(got.substr(0, header_end)); lines;) {
        std::string line;
        std::getline(lines, line);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        const size_t value_at = line.find_first_not_of(' ', colon + 1);
        std::string value = value_at == std::string::npos ? "" : line.substr(value_at);
        out.headers.emplace(name, value);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (name == "content-length") length = std::stoul(value);
        if (name == "content-type") out.content_type = value;
      }
      want = header_end + 4 + length;
    }
  }
  close(fd);
  if (header_end == std::string::npos) return out;
  std::sscanf(got.c_str(), "HTTP/1.%*d %d", &out.status);
  out.raw = got.substr(header_end + 4);
  out.body = Json::parse(out.raw, nullptr, false);
  return out;
}

// A connected loopback socket to `port` (receive timeout 10 s), or -1.
inline int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

inline void SendAll(int fd, const std::string& bytes) {
  ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
}

// Connect, then SendAll(bytes): the socket, or -1 after a test failure.
inline int ConnectAndSend(int port, const std::string& bytes) {
  const int fd = Connect(port);
  if (fd < 0) {
    ADD_FAILURE() << "cannot connect to port " << port;
    return -1;
  }
  if (send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(bytes.size())) {
    ADD_FAILURE() << "cannot send to port " << port;
    close(fd);
    return -1;
  }
  return fd;
}

// Reads until `count` whole responses (Content-Length framed) have arrived,
// or the peer closes, or 10 s pass. Returns each response's bytes.
inline std::vector<std::string> ReadResponses(int fd, size_t count) {
  std::string got;
  std::vector<std::string> out;
  char buf[4096];
  while (out.size() < count) {
    const size_t head_end = got.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      const size_t cl = got.find("Content-Length: ");
      if (cl != std::string::npos && cl < head_end) {
        const size_t len = std::stoul(got.substr(cl + 16));
        if (got.size() >= head_end + 4 + len) {
          out.push_back(got.substr(0, head_end + 4 + len));
          got.erase(0, head_end + 4 + len);
          continue;
        }
      }
    }
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return out;
}

inline Json BodyOf(const std::string& response) {
  return Json::parse(response.substr(response.find("\r\n\r\n") + 4), nullptr, false);
}

// Writes a self-signed P-256 certificate for 127.0.0.1 and its key as PEM.
// `serial` tells two certificates apart.
inline void WriteSelfSignedCert(const std::string& cert_path, const std::string& key_path,
                                long serial = 1) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  ASSERT_NE(cert, nullptr);
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0);
  FILE* c = std::fopen(cert_path.c_str(), "w");
  FILE* k = std::fopen(key_path.c_str(), "w");
  ASSERT_NE(c, nullptr);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(PEM_write_X509(c, cert), 1);
  EXPECT_EQ(PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  std::fclose(c);
  std::fclose(k);
  X509_free(cert);
  EVP_PKEY_free(key);
}

// Redirects stderr (fd 2) to a file for its lifetime.
class CaptureStderr {
 public:
  explicit CaptureStderr(std::string path) : path_(std::move(path)) {
    std::fflush(stderr);
    saved_ = dup(2);
    int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    EXPECT_GE(fd, 0);
    dup2(fd, 2);
    close(fd);
  }
  ~CaptureStderr() { Restore(); }
  void Restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    saved_ = -1;
  }
  std::string Text() const {
    std::ifstream f(path_);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

 private:
  std::string path_;
  int saved_ = -1;
};

struct ServerOptions {
  int64_t start_ms = DefaultStartMs();
  HttpOptions http;
  HttpServerOptions server;         // log_sink: stderr unless set
  int threads = 16;                 // HttpsServer's
  uint64_t max_feed_scan = 10'000;  // LedgerOptions::max_feed_scan
  RandomBytesFn random_bytes;       // LedgerOptions::random_bytes (default: the OS's)
};

// Owns everything a test server needs; stops and cleans up on destruction.
class TestServer {
 public:
  explicit TestServer(ServerOptions options = {}) : clock_(options.start_ms) {
    Open(options);
    api_ = std::make_unique<HttpApi>(*ledger_, options.http);
    tls_ = !options.http.tls_cert.empty();
    server_ = std::make_unique<HttpServer>(*api_, options.server);
    if (tls_) {
      auto ctx = LoadTlsContext(options.http.tls_cert, options.http.tls_key);
      if (!ctx.ok()) {
        ADD_FAILURE() << "TLS: " << ctx.error().message;
        return;
      }
      server_->SetTlsContext(std::move(ctx).value());
    }
    auto port = server_->Bind("127.0.0.1", 0, /*verify_only=*/false, tls_);
    if (!port.ok()) {
      ADD_FAILURE() << "bind: " << port.error().message;
      return;
    }
    port_ = *port;
    thread_ = std::thread([this] { server_->Run(); });
    WaitServing();
  }
  ~TestServer() {
    StopServer();
    api_.reset();
    ledger_.reset();
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  // Stops the HTTP server and waits for its threads: every request log line
  // has been written when this returns. The ledger stays open.
  void StopServer() {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }

  FakeClock& clock() { return clock_; }
  Ledger& ledger() { return *ledger_; }
  HttpApi& api() { return *api_; }
  HttpServer& server() { return *server_; }
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
    o.random_bytes = options.random_bytes;
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
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  int port_ = 0;
  bool tls_ = false;
};

}  // namespace tl::testing
