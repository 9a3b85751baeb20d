// The bounds of the front end (HttpServer) on its main port, each on a real
// loopback socket: head deadline, header count and size, body size, content
// codings, framing, connection limits, authentication before the body,
// pipelining, graceful stop, and the loop with its workers under load.

#include "services/http/http_server.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "services/http/tls_context.h"
#include "tests/http_test_util.h"

namespace tl {
namespace {

using testing::BodyOf;
using testing::Connect;
using testing::ConnectAndSend;
using testing::kAdminSecret;
using testing::ReadResponses;
using testing::Reply;
using testing::SendAll;
using testing::ServerOptions;
using testing::TestServer;

using Clock = std::chrono::steady_clock;

std::string Secret(const Json& created) { return created.at("token").get<std::string>(); }

int StatusOf(const std::string& response) {
  int status = 0;
  std::sscanf(response.c_str(), "HTTP/1.%*d %d", &status);
  return status;
}

std::string HeaderOf(const std::string& response, const std::string& name) {
  const size_t at = response.find("\r\n" + name + ": ");
  if (at == std::string::npos || at > response.find("\r\n\r\n")) return "";
  const size_t from = at + name.size() + 4;
  return response.substr(from, response.find("\r\n", from) - from);
}

// Whether the peer closed `fd` (EOF or reset) within `ms`; what it sent first is discarded.
bool ClosedWithin(int fd, int ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(ms);
  char buf[4096];
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (poll(&p, 1, static_cast<int>(std::max<int64_t>(left, 1))) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN)) return true;
  }
  return false;
}

// One request on a fresh connection; the single answer, or "" if none.
std::string Exchange(int port, const std::string& request) {
  const int fd = ConnectAndSend(port, request);
  if (fd < 0) return "";
  std::vector<std::string> got = ReadResponses(fd, 1);
  close(fd);
  return got.empty() ? "" : got[0];
}

void ExpectProblem(const std::string& response, int status) {
  EXPECT_EQ(StatusOf(response), status) << response;
  EXPECT_EQ(HeaderOf(response, "Content-Type"), "application/problem+json") << response;
  EXPECT_EQ(BodyOf(response).value("status", 0), status) << response;
}

std::string CreateRequest(const std::string& body, const std::string& bearer = kAdminSecret) {
  return "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + bearer +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

ServerOptions WithServer(HttpServerOptions o) {
  ServerOptions s;
  s.server = std::move(o);
  return s;
}

TEST(HttpServerTest, AHeadNotCompleteByItsDeadlineIs408ThenClosed) {
  HttpServerOptions o;
  o.head_timeout_ms = 500;
  TestServer s(WithServer(o));
  const auto start = Clock::now();
  const int fd = ConnectAndSend(s.port(), "GET /healthz HTTP/1.1\r\nHo");
  ASSERT_GE(fd, 0);
  std::vector<std::string> got = ReadResponses(fd, 1);
  const auto waited = Clock::now() - start;
  ASSERT_EQ(got.size(), 1u);
  ExpectProblem(got[0], 408);
  EXPECT_EQ(HeaderOf(got[0], "Connection"), "close");
  EXPECT_GE(waited, std::chrono::milliseconds(450));
  EXPECT_LT(waited, std::chrono::seconds(3));
  EXPECT_TRUE(ClosedWithin(fd, 3000));
  close(fd);

  // A connection that sends nothing has no head to time: it is idle, not slow.
  const int quiet = Connect(s.port());
  ASSERT_GE(quiet, 0);
  EXPECT_FALSE(ClosedWithin(quiet, 1200));
  close(quiet);
}

TEST(HttpServerTest, SlowHeadsAreClosedAtTheDeadlineWhileOthersAreServed) {
  HttpServerOptions o;
  o.head_timeout_ms = 1000;
  TestServer s(WithServer(o));
  constexpr int kSlow = 200;
  std::vector<int> slow;
  for (int i = 0; i < kSlow; ++i) {
    const int fd = ConnectAndSend(s.port(), "G");
    ASSERT_GE(fd, 0);
    slow.push_back(fd);
  }
  const auto start = Clock::now();
  const std::string more = "ET /healthz HTTP/1.1\r\nHost: x\r\n";
  std::atomic<bool> done{false};
  // One byte per connection every 100 ms: each head would take seconds.
  std::thread trickle([&] {
    for (size_t k = 0; k < more.size() && !done; ++k) {
      for (int fd : slow) send(fd, &more[k], 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  // Meanwhile /healthz on the same port answers at once, again and again.
  for (int i = 0; i < 10; ++i) {
    const auto asked = Clock::now();
    const std::string r =
        Exchange(s.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(StatusOf(r), 200) << r;
    EXPECT_LT(Clock::now() - asked, std::chrono::milliseconds(500));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  int closed = 0;
  for (int fd : slow) closed += ClosedWithin(fd, 3000) ? 1 : 0;
  EXPECT_EQ(closed, kSlow);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  done = true;
  trickle.join();
  for (int fd : slow) close(fd);
}

TEST(HttpServerTest, TooManyOrTooLargeHeadersAre431) {
  HttpServerOptions o;
  o.limits.max_headers = 8;
  o.limits.max_head_bytes = 1024;
  TestServer s(WithServer(o));
  std::string many = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 8; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  ExpectProblem(Exchange(s.port(), many + "\r\n"), 431);
  const std::string big =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'b') + "\r\n\r\n";
  ExpectProblem(Exchange(s.port(), big), 431);
  // Within the bounds: served.
  std::string fine = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 7; ++i) fine += "X-H" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(StatusOf(Exchange(s.port(), fine + "\r\n")), 200);
}

TEST(HttpServerTest, BodiesOverTheBoundAre413WhateverTheirFraming) {
  HttpServerOptions o;
  o.limits.max_body_bytes = 1000;
  TestServer s(WithServer(o));
  const uint64_t pos = s.Position();
  const std::string body = Json{{"name", std::string(1200, 'n')}}.dump();
  const std::string r = Exchange(s.port(), CreateRequest(body));
  ExpectProblem(r, 413);
  EXPECT_EQ(BodyOf(r).value("field", ""), "body");
  // Chunked: counted as decoded.
  std::string chunked = "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                        std::string(kAdminSecret) + "\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) chunked += "190\r\n" + std::string(400, 'x') + "\r\n";
  chunked += "0\r\n\r\n";
  ExpectProblem(Exchange(s.port(), chunked), 413);
  EXPECT_EQ(s.Position(), pos);
  // Under the bound: created.
  EXPECT_EQ(StatusOf(Exchange(s.port(), CreateRequest(R"({"name":"small"})"))), 201);
}

TEST(HttpServerTest, ContentCodingsAre415AndNeverDecoded) {
  TestServer s;
  const uint64_t pos = s.Position();
  const std::string body = R"({"name":"zipped"})";
  const std::string r = Exchange(
      s.port(), "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                    std::string(kAdminSecret) + "\r\nContent-Encoding: gzip\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body);
  ExpectProblem(r, 415);
  EXPECT_EQ(BodyOf(r).value("field", ""), "Content-Encoding");
  EXPECT_EQ(s.Position(), pos);
  // "identity" is no coding.
  EXPECT_EQ(
      StatusOf(Exchange(s.port(), "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                      std::string(kAdminSecret) +
                                      "\r\nContent-Encoding: identity\r\nContent-Length: " +
                                      std::to_string(body.size()) + "\r\n\r\n" + body)),
      201);
}

TEST(HttpServerTest, AmbiguousFramingIs400) {
  TestServer s;
  const uint64_t pos = s.Position();
  const std::string head = "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                           std::string(kAdminSecret) + "\r\n";
  const std::string body = R"({"name":"smuggled"})";
  const std::string cl = std::to_string(body.size());
  for (const std::string& framing : {
           "Content-Length: " + cl + "\r\nTransfer-Encoding: chunked\r\n",
           "Content-Length: " + cl + "\r\nContent-Length: 5\r\n",
           "Content-Length: +" + cl + "\r\n",
           "Content-Length: " + cl + "x\r\n",
       }) {
    ExpectProblem(Exchange(s.port(), head + framing + "\r\n" + body), 400);
  }
  for (const char* size : {"+10", " 10", "0x10", "g"}) {
    ExpectProblem(
        Exchange(s.port(), head + "Transfer-Encoding: chunked\r\n\r\n" + std::string(size) +
                               "\r\n" + std::string(16, 'a') + "\r\n0\r\n\r\n"),
        400);
  }
  EXPECT_EQ(s.Position(), pos);
}

TEST(HttpServerTest, ConnectionsOverTheLimitsAreClosedAtAcceptAndCounted) {
  HttpServerOptions o;
  o.max_connections_per_address = 2;
  TestServer s(WithServer(o));
  // The fixture's /healthz probe has closed; take both slots.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const int a = Connect(s.port());
  const int b = Connect(s.port());
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  SendAll(a, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(ReadResponses(a, 1).size(), 1u);  // both accepted by now (one loop, in order)
  const int c = Connect(s.port());
  ASSERT_GE(c, 0);
  EXPECT_TRUE(ClosedWithin(c, 2000));
  close(c);
  // The kept ones still work.
  SendAll(b, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  std::vector<std::string> got = ReadResponses(b, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(StatusOf(got[0]), 200);
  SendAll(a, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  got = ReadResponses(a, 1);
  ASSERT_EQ(got.size(), 1u);
  const std::string metrics = got[0];
  EXPECT_NE(metrics.find("# TYPE tokenledger_http_connections_refused_total counter"),
            std::string::npos);
  EXPECT_NE(metrics.find("tokenledger_http_connections_refused_total{reason=\"per_address\"} 1\n"),
            std::string::npos)
      << metrics;
  close(a);
  close(b);
  // A slot freed is a slot taken again.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(StatusOf(Exchange(s.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")), 200);
}

TEST(HttpServerTest, TheTotalConnectionLimitHolds) {
  HttpServerOptions o;
  o.max_connections = 3;
  TestServer s(WithServer(o));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::vector<int> kept;
  for (int i = 0; i < 3; ++i) {
    const int fd = ConnectAndSend(s.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ReadResponses(fd, 1).size(), 1u);
    kept.push_back(fd);
  }
  const int over = Connect(s.port());
  ASSERT_GE(over, 0);
  EXPECT_TRUE(ClosedWithin(over, 2000));
  close(over);
  SendAll(kept[0], "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  std::vector<std::string> got = ReadResponses(kept[0], 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].find("tokenledger_http_connections_refused_total{reason=\"total\"} 1\n"),
            std::string::npos);
  for (int fd : kept) close(fd);
}

TEST(HttpServerTest, ABadBearerIsRefusedBeforeTheBodyArrives) {
  TestServer s;
  const std::string head =
      "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tl_not_a_secret"
      "\r\nContent-Type: application/json\r\nContent-Length: 50000\r\n\r\n";
  const int fd = ConnectAndSend(s.port(), head);
  ASSERT_GE(fd, 0);
  std::vector<std::string> got = ReadResponses(fd, 1);  // no body sent at all
  ASSERT_EQ(got.size(), 1u);
  ExpectProblem(got[0], 401);
  EXPECT_EQ(HeaderOf(got[0], "WWW-Authenticate"), "Bearer");
  EXPECT_EQ(HeaderOf(got[0], "Connection"), "close");
  EXPECT_TRUE(ClosedWithin(fd, 4000));
  close(fd);
  // Missing bearer too, and on the verify route.
  const int v = ConnectAndSend(
      s.port(), "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"tok");
  ASSERT_GE(v, 0);
  got = ReadResponses(v, 1);
  ASSERT_EQ(got.size(), 1u);
  ExpectProblem(got[0], 401);
  close(v);

  // A good bearer: the server waits for the body.
  const int ok = ConnectAndSend(s.port(), CreateRequest(R"({"name":"late body"})").substr(0, 150));
  ASSERT_GE(ok, 0);
  pollfd p{ok, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 300), 0);  // nothing yet
  const std::string full = CreateRequest(R"({"name":"late body"})");
  SendAll(ok, full.substr(150));
  got = ReadResponses(ok, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(StatusOf(got[0]), 201) << got[0];
  close(ok);
}

TEST(HttpServerTest, PipelinedRequestsOnTheMainPortAreAnsweredInOrder) {
  TestServer s;
  const Json t = s.CreateToken({{"name", "piped"}, {"credits", 5}});
  const std::string verify_body = Json{{"token", Secret(t)}}.dump();
  std::string four;
  four += "GET /v1/tokens/" + t.at("id").get<std::string>() +
          " HTTP/1.1\r\nHost: x\r\nX-Request-Id: r1\r\nAuthorization: Bearer " + kAdminSecret +
          "\r\n\r\n";
  four += "POST /v1/verify HTTP/1.1\r\nHost: x\r\nX-Request-Id: r2\r\nAuthorization: Bearer " +
          std::string(kAdminSecret) + "\r\nContent-Length: " + std::to_string(verify_body.size()) +
          "\r\n\r\n" + verify_body;
  four += "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: r3\r\n\r\n";
  four +=
      "GET /v1/tokens?limit=1 HTTP/1.1\r\nHost: x\r\nX-Request-Id: r4\r\nAuthorization: "
      "Bearer " +
      std::string(kAdminSecret) + "\r\n\r\n";
  const int fd = ConnectAndSend(s.port(), four);  // one write
  ASSERT_GE(fd, 0);
  std::vector<std::string> got = ReadResponses(fd, 4);
  close(fd);
  ASSERT_EQ(got.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(HeaderOf(got[i], "X-Request-Id"), "r" + std::to_string(i + 1)) << got[i];
    EXPECT_EQ(StatusOf(got[i]), 200) << got[i];
  }
  EXPECT_EQ(BodyOf(got[0]).value("id", ""), t.at("id").get<std::string>());
  EXPECT_EQ(BodyOf(got[1]).value("code", ""), "VALID");
  EXPECT_EQ(BodyOf(got[2]).value("status", ""), "ok");
  EXPECT_TRUE(BodyOf(got[3]).contains("tokens")) << got[3];
}

TEST(HttpServerTest, HeadAndWrongMethodsAnswerAsHttpSays) {
  TestServer s;
  // HEAD: GET's head (its Content-Length included), no body.
  const int fd = ConnectAndSend(s.port(),
                                "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_GE(fd, 0);
  std::string both;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) both.append(buf, static_cast<size_t>(n));
  close(fd);
  const size_t second = both.find("HTTP/1.1", 1);
  ASSERT_NE(second, std::string::npos) << both;
  const std::string head = both.substr(0, second);
  EXPECT_EQ(StatusOf(head), 200);
  EXPECT_EQ(HeaderOf(head, "Content-Length"), "15");
  EXPECT_EQ(head.substr(head.find("\r\n\r\n") + 4), "");  // the GET's answer follows at once
  EXPECT_EQ(BodyOf(both.substr(second)).value("status", ""), "ok");
  const std::string put =
      Exchange(s.port(), "PUT /v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  ExpectProblem(put, 405);
  EXPECT_EQ(HeaderOf(put, "Allow"), "POST, GET");
}

TEST(HttpServerTest, StopAnswersEveryRequestAlreadyReceived) {
  auto s = std::make_unique<TestServer>();
  // Pipelined creates on several connections: most are still buffered when
  // the stop comes, each waits for durability in turn.
  constexpr int kConnections = 4;
  constexpr int kPerConnection = 30;
  std::vector<int> fds;
  for (int c = 0; c < kConnections; ++c) {
    std::string batch;
    for (int i = 0; i < kPerConnection; ++i) {
      batch += CreateRequest(
          Json{{"name", "drain-" + std::to_string(c) + "-" + std::to_string(i)}}.dump());
    }
    const int fd = ConnectAndSend(s->port(), batch);
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const uint64_t before = s->Position();
  std::thread stopper([&] { s->StopServer(); });
  int created = 0;
  for (int fd : fds) {
    for (const std::string& r : ReadResponses(fd, kPerConnection)) created += StatusOf(r) == 201;
    EXPECT_TRUE(ClosedWithin(fd, 5000));
    close(fd);
  }
  stopper.join();
  EXPECT_EQ(created, kConnections * kPerConnection);
  EXPECT_EQ(s->Position(), 1u + kConnections * kPerConnection);
  EXPECT_LE(before, s->Position());
}

TEST(HttpServerTest, ReadyzAnswers503OnceStopping) {
  TestServer s;
  ApiRequest r;
  r.method = "GET";
  r.path = "/readyz";
  EXPECT_EQ(s.api().Handle(r).status, 200);
  s.api().SetStopping();
  ApiAnswer a = s.api().Handle(r);
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(Json::parse(a.body).value("status", ""), "stopping");
}

// ---- TLS on the loop ---------------------------------------------------------------------------

struct TlsOutcome {
  bool connected = false;
  long serial = -1;  // the server certificate's
  int version = 0;   // TLS1_2_VERSION, TLS1_3_VERSION
  int status = 0;    // of GET /healthz over the session
};

// A TLS client with `configure`'s settings: handshake, then GET /healthz.
TlsOutcome TlsHealthz(int port, const std::function<void(SSL_CTX*)>& configure) {
  TlsOutcome out;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  configure(ctx);
  const int fd = Connect(port);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  if (SSL_connect(ssl) == 1) {
    out.connected = true;
    out.version = SSL_version(ssl);
    if (X509* cert = SSL_get1_peer_certificate(ssl)) {
      out.serial = ASN1_INTEGER_get(X509_get_serialNumber(cert));
      X509_free(cert);
    }
    const std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    SSL_write(ssl, req.data(), static_cast<int>(req.size()));
    std::string got;
    char buf[4096];
    for (int n; (n = SSL_read(ssl, buf, sizeof buf)) > 0;) got.append(buf, static_cast<size_t>(n));
    out.status = StatusOf(got);
  }
  SSL_free(ssl);
  close(fd);
  SSL_CTX_free(ctx);
  return out;
}

ServerOptions WithTls(const testing::TempDir& certs) {
  testing::WriteSelfSignedCert(certs.sub("cert.pem"), certs.sub("key.pem"), 1);
  ServerOptions o;
  o.http.tls_cert = certs.sub("cert.pem");
  o.http.tls_key = certs.sub("key.pem");
  return o;
}

TEST(HttpServerTlsTest, OnlyTls12OrNewerWithAeadCiphers) {
  testing::TempDir certs;
  TestServer s(WithTls(certs));
  const TlsOutcome preferred = TlsHealthz(s.port(), [](SSL_CTX*) {});
  EXPECT_TRUE(preferred.connected);
  EXPECT_EQ(preferred.version, TLS1_3_VERSION);
  EXPECT_EQ(preferred.status, 200);
  for (const char* aead : {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"}) {
    const TlsOutcome tls12 = TlsHealthz(s.port(), [aead](SSL_CTX* c) {
      SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION);
      SSL_CTX_set_cipher_list(c, aead);
    });
    EXPECT_TRUE(tls12.connected) << aead;
    EXPECT_EQ(tls12.version, TLS1_2_VERSION);
    EXPECT_EQ(tls12.status, 200) << aead;
  }
  // CBC suites and plain RSA key exchange are refused, and so is TLS 1.1.
  for (const char* weak : {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "AES128-SHA"}) {
    EXPECT_FALSE(TlsHealthz(s.port(),
                            [weak](SSL_CTX* c) {
                              SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION);
                              SSL_CTX_set_cipher_list(c, weak);
                            })
                     .connected)
        << weak;
  }
  EXPECT_FALSE(TlsHealthz(s.port(), [](SSL_CTX* c) {
                 SSL_CTX_set_security_level(c, 0);
                 SSL_CTX_set_min_proto_version(c, TLS1_VERSION);
                 SSL_CTX_set_max_proto_version(c, TLS1_1_VERSION);
               }).connected);
  // The loop still serves after those failed handshakes; plain HTTP gets no answer.
  EXPECT_EQ(TlsHealthz(s.port(), [](SSL_CTX*) {}).status, 200);
  const int plain = ConnectAndSend(s.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_GE(plain, 0);
  std::vector<std::string> got = ReadResponses(plain, 1);
  EXPECT_TRUE(got.empty() || StatusOf(got[0]) != 200);
  close(plain);
}

TEST(HttpServerTlsTest, ANewCertificateServesNewConnections) {
  testing::TempDir certs;
  TestServer s(WithTls(certs));
  EXPECT_EQ(TlsHealthz(s.port(), [](SSL_CTX*) {}).serial, 1);
  testing::WriteSelfSignedCert(certs.sub("cert2.pem"), certs.sub("key2.pem"), 2);
  auto renewed = LoadTlsContext(certs.sub("cert2.pem"), certs.sub("key2.pem"));
  ASSERT_TRUE(renewed.ok()) << renewed.error().message;
  s.server().SetTlsContext(std::move(renewed).value());
  const TlsOutcome after = TlsHealthz(s.port(), [](SSL_CTX*) {});
  EXPECT_EQ(after.serial, 2);
  EXPECT_EQ(after.status, 200);
  // A key that is not the certificate's is refused at load.
  EXPECT_FALSE(LoadTlsContext(certs.sub("cert.pem"), certs.sub("key2.pem")).ok());
}

// The loop, its workers and the durability rounds together (also under TSan).
TEST(HttpServerConcurrentTest, ManagementAndVerificationsInterleaveCorrectly) {
  HttpServerOptions o;
  o.workers = 3;
  TestServer s(WithServer(o));
  Json t = s.CreateToken({{"name", "shared"}, {"credits", 60}});
  const std::string id = t.at("id").get<std::string>();
  const std::string verify_body = Json{{"token", Secret(t)}, {"cost", 1}}.dump();
  constexpr int kThreads = 6;
  constexpr int kPerThread = 20;
  std::atomic<int> valid{0}, exceeded{0}, created{0}, read{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto client = s.NewClient();
      client->set_keep_alive(true);
      client->set_bearer_token_auth(kAdminSecret);
      for (int k = 0; k < kPerThread; ++k) {
        if (i % 2 == 0) {
          auto r = client->Post("/v1/verify", verify_body, "application/json");
          if (!r || r->status != 200) {
            ++other;
            continue;
          }
          const std::string code = Json::parse(r->body)["code"];
          if (code == "VALID") {
            ++valid;
          } else if (code == "USAGE_EXCEEDED") {
            ++exceeded;
          } else {
            ++other;
          }
        } else if (k % 2 == 0) {
          auto r =
              client->Post("/v1/tokens", Json{{"name", "c" + std::to_string(i * 100 + k)}}.dump(),
                           "application/json");
          (r && r->status == 201 ? created : other)++;
        } else {
          auto r = client->Get("/v1/tokens/" + id);
          (r && r->status == 200 ? read : other)++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  constexpr int kVerifies = (kThreads + 1) / 2 * kPerThread;
  EXPECT_EQ(valid.load(), 60);
  EXPECT_EQ(exceeded.load(), kVerifies - 60);
  EXPECT_EQ(created.load(), kThreads / 2 * kPerThread / 2);
  EXPECT_EQ(read.load(), kThreads / 2 * kPerThread / 2);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(s.Get("/v1/tokens/" + id).body["credits"]["remaining"], 0);
  // bootstrap + shared + creates + one event per verification.
  EXPECT_EQ(s.Position(), 2u + created.load() + kVerifies);
}

}  // namespace
}  // namespace tl
