// Integration tests of the data plane: POST /v1/verify on a verify-only
// listener of HttpServer, on a real loopback socket, next to the main port of
// the same ledger.

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "events/thread_annotations.h"
#include "services/domain/secret.h"
#include "services/http/http_server.h"
#include "tests/http_test_util.h"

namespace tl {
namespace {

using testing::BodyOf;
using testing::Connect;
using testing::ConnectAndSend;
using testing::kAdminSecret;
using testing::RawExchange;
using testing::ReadResponses;
using testing::Reply;
using testing::SendAll;
using testing::TestServer;
using testing::ToReply;

std::string Secret(const Json& created) { return created.at("token").get<std::string>(); }

// A verify-only HttpServer on the TestServer's ledger, serving on its own thread, with
// its request log lines kept for the test.
class DataPlane {
 public:
  explicit DataPlane(TestServer& s, HttpServerOptions options = {}) {
    options.log_sink = [this](std::string_view lines) {
      MutexLock l(mu_);
      log_.append(lines);
    };
    server_ = std::make_unique<HttpServer>(s.api(), std::move(options));
    auto port = server_->Bind("127.0.0.1", 0, /*verify_only=*/true);
    if (!port.ok()) {
      ADD_FAILURE() << port.error().message;
      return;
    }
    port_ = *port;
    thread_ = std::thread([this] { server_->Run(); });
  }
  ~DataPlane() { Stop(); }
  void Stop() {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }
  HttpServer& server() { return *server_; }
  int port() const { return port_; }
  std::string Log() {
    MutexLock l(mu_);
    return log_;
  }
  std::unique_ptr<httplib::Client> NewClient() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    c->set_connection_timeout(5);
    c->set_read_timeout(30);
    return c;
  }
  Reply Verify(const Json& body, const std::string& bearer = kAdminSecret,
               httplib::Headers headers = {}) const {
    if (!bearer.empty()) headers.emplace("Authorization", "Bearer " + bearer);
    return ToReply(NewClient()->Post("/v1/verify", headers, body.dump(), "application/json"));
  }

 private:
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  int port_ = 0;
  Mutex mu_;
  std::string log_ TL_GUARDED_BY(mu_);
};

std::string VerifyRequest(const std::string& body, const std::string& extra_headers = "",
                          const std::string& bearer = kAdminSecret) {
  return "POST /v1/verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + bearer +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + extra_headers + "\r\n" + body;
}

// A verify request for the secret of the created token `t`, as admin.
std::string VerifyOf(const Json& t) { return VerifyRequest(Json({{"token", Secret(t)}}).dump()); }

// Holds durability back: the data plane's requests for it are only recorded,
// so staged events stay staged until Release().
class HeldDurability {
 public:
  HttpServerOptions Options() {
    HttpServerOptions o;
    o.request_durable = [this](Position p) {
      MutexLock l(mu_);
      requested_.push_back(p);
      cv_.notify_all();
    };
    return o;
  }
  // The last position asked for once `n` requests came, or nullopt after `patience`.
  std::optional<Position> WaitForRequests(
      size_t n, std::chrono::milliseconds patience = std::chrono::seconds(10)) {
    UniqueLock l(mu_);
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (requested_.size() < n) {
      if (cv_.wait_until(l.native(), deadline) == std::cv_status::timeout &&
          requested_.size() < n) {
        return std::nullopt;
      }
    }
    return requested_.back();
  }
  // Makes everything staged durable and tells the data plane.
  static void Release(TestServer& s, DataPlane& dp) {
    s.ledger().State();
    dp.server().WakeForDurable();
  }

 private:
  Mutex mu_;
  std::condition_variable cv_;
  std::vector<Position> requested_ TL_GUARDED_BY(mu_);
};

TEST(VerifyServerTest, AnswersAsTheApiDoesAndRecordsEachUse) {
  TestServer s;
  DataPlane dp(s);
  Json t = s.CreateToken({{"name", "reports"}, {"permissions", {"reports:read"}}, {"credits", 3}});
  const uint64_t before = s.Position();

  Reply first = dp.Verify({{"token", Secret(t)}, {"permissions", {"reports:read"}}});
  ASSERT_EQ(first.status, 200) << first.raw;
  EXPECT_EQ(first.content_type, "application/json");
  EXPECT_EQ(first.body["code"], "VALID");
  EXPECT_EQ(first.body["remaining"], 2);
  EXPECT_FALSE(first.Header("X-Request-Id").empty());
  EXPECT_EQ(s.Position(), before + 1);  // a durable token.used before the answer

  // The main listener answers the same state with the same fields.
  Json api = s.Verify({{"token", Secret(t)}, {"permissions", {"reports:read"}}});
  EXPECT_EQ(api["remaining"], 1);
  std::set<std::string> api_keys, dp_keys;
  for (auto& [k, v] : api.items()) api_keys.insert(k);
  for (auto& [k, v] : first.body.items()) dp_keys.insert(k);
  EXPECT_EQ(api_keys, dp_keys);

  EXPECT_EQ(dp.Verify({{"token", Secret(t)}}).body["code"], "VALID");
  Reply exceeded = dp.Verify({{"token", Secret(t)}});
  EXPECT_EQ(exceeded.body["code"], "USAGE_EXCEEDED");
  EXPECT_EQ(dp.Verify({{"token", "tl_nothing"}}).body,
            Json({{"valid", false}, {"code", "NOT_FOUND"}}));
  // used, used (main), used, denied; NOT_FOUND has no stream to record in.
  EXPECT_EQ(s.Position(), before + 4);
  Reply events = s.Get("/v1/tokens/" + t["id"].get<std::string>() + "/events");
  ASSERT_EQ(events.status, 200);
  size_t used = 0, denied = 0;
  for (const Json& e : events.body["events"]) {
    used += e["type"] == "token.used";
    denied += e["type"] == "token.use_denied";
  }
  EXPECT_EQ(used, 3u);
  EXPECT_EQ(denied, 1u);
}

TEST(VerifyServerTest, BadRequestsAreProblemsAndAppendNothing) {
  TestServer s;
  DataPlane dp(s);
  Json reader = s.CreateToken({{"name", "reader"}, {"permissions", {"ledger:read"}}});
  const uint64_t before = s.Position();
  auto expect_problem = [](const Reply& r, int status, const std::string& field = "") {
    EXPECT_EQ(r.status, status) << r.raw;
    EXPECT_EQ(r.content_type, "application/problem+json") << r.raw;
    EXPECT_EQ(r.body.value("status", 0), status) << r.raw;
    if (!field.empty()) {
      EXPECT_EQ(r.body.value("field", std::string()), field) << r.raw;
    }
  };

  Reply anonymous = dp.Verify({{"token", "tl_x"}}, "");
  expect_problem(anonymous, 401);
  EXPECT_EQ(anonymous.Header("WWW-Authenticate"), "Bearer");
  expect_problem(dp.Verify({{"token", "tl_x"}}, "not-a-known-secret-at-all-0123456789"), 401);
  expect_problem(dp.Verify({{"token", "tl_x"}}, Secret(reader)), 403);
  expect_problem(dp.Verify({{"token", "tl_x"}, {"cost", -1}}), 400, "cost");
  expect_problem(dp.Verify({{"token", "tl_x"}, {"surprise", 1}}), 400, "surprise");
  expect_problem(ToReply(dp.NewClient()->Post(
                     "/v1/verify", {{"Authorization", std::string("Bearer ") + kAdminSecret}},
                     "{not json", "application/json")),
                 400, "body");
  expect_problem(ToReply(dp.NewClient()->Post(
                     "/v1/verify", {{"Authorization", std::string("Bearer ") + kAdminSecret}},
                     R"({"token":"tl_x","token":"tl_y"})", "application/json")),
                 400, "token");

  Reply get = ToReply(dp.NewClient()->Get("/v1/verify"));
  expect_problem(get, 405);
  EXPECT_EQ(get.Header("Allow"), "POST");
  expect_problem(ToReply(dp.NewClient()->Get("/v1/tokens")), 404);

  // Framing errors: answered, then the connection is closed.
  Reply big = RawExchange(dp.port(), "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                         std::to_string(64 * 1024 + 1) + "\r\n\r\n");
  expect_problem(big, 413);
  EXPECT_EQ(big.Header("Connection"), "close");
  expect_problem(RawExchange(dp.port(), "GARBAGE\r\n\r\n"), 400);
  expect_problem(RawExchange(dp.port(), "POST /v1/verify HTTP/2.0\r\nHost: x\r\n\r\n"), 505);

  EXPECT_EQ(s.Position(), before);
  // The server still serves.
  EXPECT_EQ(dp.Verify({{"token", "tl_x"}}).body["code"], "NOT_FOUND");
}

// The invariant the event loop must keep: no answer before the event is
// durable. Durability is held back by the test; the answer must wait for it.
TEST(VerifyServerTest, AnswersOnlyOnceTheEventIsDurable) {
  TestServer s;
  Json t = s.CreateToken({{"name", "held"}, {"credits", 5}});
  HeldDurability held;
  DataPlane dp(s, held.Options());
  const int fd = ConnectAndSend(dp.port(), VerifyOf(t));
  ASSERT_GE(fd, 0);
  std::optional<Position> wanted = held.WaitForRequests(1);
  ASSERT_TRUE(wanted);
  EXPECT_LT(s.ledger().log().DurablePosition(), *wanted);  // staged, not durable
  dp.server().WakeForDurable();  // a wake-up without durability answers nothing
  pollfd p{fd, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 300), 0) << "answered before its event was durable";

  HeldDurability::Release(s, dp);
  EXPECT_GE(s.ledger().log().DurablePosition(), *wanted);
  std::vector<std::string> answers = ReadResponses(fd, 1);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(BodyOf(answers[0])["code"], "VALID");
  EXPECT_EQ(BodyOf(answers[0])["remaining"], 4);
  close(fd);
}

// Held durability; a round waits for every open connection to have a
// request staged, or for `max_gather_us`.
HttpServerOptions GatherAll(HeldDurability& held, int64_t max_gather_us) {
  HttpServerOptions o = held.Options();
  o.gather.gather_fraction = 1.0;
  o.gather.max_gather_us = max_gather_us;
  return o;
}

TEST(VerifyServerTest, ARoundWaitsForItsShareOfTheConnections) {
  TestServer s;
  Json t = s.CreateToken({{"name", "gathered"}, {"credits", 5}});
  HeldDurability held;
  DataPlane dp(s, GatherAll(held, 60'000'000));
  const int quiet = Connect(dp.port());
  ASSERT_GE(quiet, 0);
  const int first = ConnectAndSend(dp.port(), VerifyOf(t));
  ASSERT_GE(first, 0);
  // One of two connections staged: no round yet.
  EXPECT_FALSE(held.WaitForRequests(1, std::chrono::milliseconds(300)));
  SendAll(quiet, VerifyOf(t));
  std::optional<Position> wanted = held.WaitForRequests(1);
  ASSERT_TRUE(wanted);
  EXPECT_EQ(*wanted, s.ledger().log().LastStagedPosition());  // one round for both
  HeldDurability::Release(s, dp);
  std::vector<std::string> a = ReadResponses(first, 1), b = ReadResponses(quiet, 1);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(BodyOf(a[0])["remaining"].get<int>() + BodyOf(b[0])["remaining"].get<int>(), 4 + 3);
  close(first);
  close(quiet);
}

TEST(VerifyServerTest, ARoundStartsAfterTheGatherBoundWithoutTheOthers) {
  TestServer s;
  Json t = s.CreateToken({{"name", "bounded"}, {"credits", 5}});
  HeldDurability held;
  DataPlane dp(s, GatherAll(held, 50'000));
  const int quiet = Connect(dp.port());  // never sends
  ASSERT_GE(quiet, 0);
  const int fd = ConnectAndSend(dp.port(), VerifyOf(t));
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(held.WaitForRequests(1));
  HeldDurability::Release(s, dp);
  std::vector<std::string> answers = ReadResponses(fd, 1);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(BodyOf(answers[0])["remaining"], 4);
  close(fd);
  close(quiet);
}

TEST(VerifyServerTest, PipelinedRequestsAreAnsweredInOrder) {
  TestServer s;
  DataPlane dp(s);
  Json t = s.CreateToken({{"name", "pipe"}, {"credits", 10}});
  const std::string body = Json({{"token", Secret(t)}}).dump();
  const int fd = ConnectAndSend(dp.port(), VerifyRequest(body, "X-Request-Id: one\r\n") +
                                               VerifyRequest(body, "X-Request-Id: two\r\n") +
                                               VerifyRequest(body, "X-Request-Id: three\r\n"));
  ASSERT_GE(fd, 0);
  std::vector<std::string> answers = ReadResponses(fd, 3);
  ASSERT_EQ(answers.size(), 3u);
  const char* ids[] = {"one", "two", "three"};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NE(answers[i].find(std::string("X-Request-Id: ") + ids[i] + "\r\n"), std::string::npos)
        << answers[i];
    EXPECT_EQ(BodyOf(answers[i])["remaining"], 9 - static_cast<int>(i));
  }
  close(fd);
}

TEST(VerifyServerTest, Http10KeepsTheConnectionOnlyWhenAsked) {
  TestServer s;
  DataPlane dp(s);
  Json t = s.CreateToken({{"name", "old-client"}, {"credits", 10}});
  const std::string body = Json({{"token", Secret(t)}}).dump();
  auto request = [&](const std::string& connection) {
    return "POST /v1/verify HTTP/1.0\r\nAuthorization: Bearer " + std::string(kAdminSecret) +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + connection + "\r\n" +
           body;
  };
  const int fd = ConnectAndSend(dp.port(), request("Connection: keep-alive\r\n"));
  ASSERT_GE(fd, 0);
  std::vector<std::string> first = ReadResponses(fd, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_NE(first[0].find("Connection: keep-alive\r\n"), std::string::npos) << first[0];
  SendAll(fd, request(""));  // no keep-alive: answered, then closed
  std::vector<std::string> second = ReadResponses(fd, 2);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(second[0].find("Connection: close\r\n"), std::string::npos) << second[0];
  EXPECT_EQ(BodyOf(second[0])["remaining"], 8);
  close(fd);
}

// A client that shuts its sending side after its requests still gets every
// answer, then the server closes.
TEST(VerifyServerTest, AHalfClosedClientGetsItsAnswers) {
  TestServer s;
  DataPlane dp(s);
  Json t = s.CreateToken({{"name", "half"}, {"credits", 10}});
  const std::string body = Json({{"token", Secret(t)}}).dump();
  const int fd = ConnectAndSend(dp.port(), VerifyRequest(body) + VerifyRequest(body));
  ASSERT_GE(fd, 0);
  ASSERT_EQ(shutdown(fd, SHUT_WR), 0);
  std::vector<std::string> answers = ReadResponses(fd, 2);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(BodyOf(answers[0])["remaining"], 9);
  EXPECT_EQ(BodyOf(answers[1])["remaining"], 8);
  char c;
  EXPECT_EQ(recv(fd, &c, 1, 0), 0);  // closed (a receive timeout would give -1)
  close(fd);
}

TEST(VerifyServerTest, ChunkedBodiesAndConnectionClose) {
  TestServer s;
  DataPlane dp(s);
  Json t = s.CreateToken({{"name", "chunks"}, {"credits", 10}});
  const std::string body = Json({{"token", Secret(t)}, {"cost", 2}}).dump();
  const std::string half = body.substr(0, body.size() / 2), rest = body.substr(body.size() / 2);
  char sizes[64];
  std::snprintf(sizes, sizeof sizes, "%zx", half.size());
  std::string chunked =
      std::string("POST /v1/verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") + kAdminSecret +
      "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + sizes + "\r\n" + half +
      "\r\n";
  std::snprintf(sizes, sizeof sizes, "%zx", rest.size());
  chunked += std::string(sizes) + "\r\n" + rest + "\r\n0\r\n\r\n";
  Reply r = RawExchange(dp.port(), chunked);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["remaining"], 8);
  EXPECT_EQ(r.Header("Connection"), "close");
}

TEST(VerifyServerTest, ExpectContinueIsAnsweredBeforeTheBody) {
  TestServer s;
  DataPlane dp(s);
  Json t = s.CreateToken({{"name", "expect"}, {"credits", 10}});
  const std::string body = Json({{"token", Secret(t)}}).dump();
  const std::string request = VerifyRequest(body, "Expect: 100-continue\r\n");
  const int fd =
      ConnectAndSend(dp.port(), request.substr(0, request.size() - body.size()));  // the head only
  char buf[64] = {};
  const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  ASSERT_EQ(recv(fd, buf, kContinue.size(), MSG_WAITALL), static_cast<ssize_t>(kContinue.size()));
  ASSERT_GE(fd, 0);
  EXPECT_EQ(std::string(buf, kContinue.size()), kContinue);
  SendAll(fd, body);
  std::vector<std::string> answers = ReadResponses(fd, 1);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(BodyOf(answers[0])["remaining"], 9);
  close(fd);
}

TEST(VerifyServerTest, AClientThatLeavesWhileWaitingHarmsNoOne) {
  TestServer s;
  Json t = s.CreateToken({{"name", "leaver"}, {"credits", 5}});
  HeldDurability held;
  DataPlane dp(s, held.Options());
  const int fd = ConnectAndSend(dp.port(), VerifyOf(t));
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(held.WaitForRequests(1));
  close(fd);  // gone before its answer
  HeldDurability::Release(s, dp);
  // The decision stands (its event is in the log) and the next client is served.
  const int fd2 = ConnectAndSend(dp.port(), VerifyOf(t));
  ASSERT_GE(fd2, 0);
  ASSERT_TRUE(held.WaitForRequests(2));
  HeldDurability::Release(s, dp);
  std::vector<std::string> answers = ReadResponses(fd2, 1);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(BodyOf(answers[0])["remaining"], 3);
  close(fd2);
}

TEST(VerifyServerTest, LogLinesAndMetricsNeverHoldASecret) {
  TestServer s;
  DataPlane dp(s);
  Json t = s.CreateToken({{"name", "logged"}, {"credits", 10}});
  ASSERT_EQ(dp.Verify({{"token", Secret(t)}}, kAdminSecret, {{"X-Request-Id", "req-42"}}).status,
            200);
  // A secret pasted into the path, and one as a request id.
  EXPECT_EQ(
      ToReply(dp.NewClient()->Post("/v1/verify/" + Secret(t), "{}", "application/json")).status,
      404);
  Reply odd = dp.Verify({{"token", Secret(t)}}, kAdminSecret, {{"X-Request-Id", Secret(t)}});
  EXPECT_NE(odd.Header("X-Request-Id"), Secret(t));
  dp.Stop();
  const std::string log = dp.Log();
  EXPECT_EQ(log.find(Secret(t)), std::string::npos) << log;
  EXPECT_EQ(log.find(kAdminSecret), std::string::npos) << log;
  EXPECT_NE(log.find(R"("request_id":"req-42")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("route":"POST /v1/verify","status":200)"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("route":"unmatched","status":404)"), std::string::npos) << log;
  EXPECT_NE(log.find(kRedactedSecret), std::string::npos) << log;
  Reply metrics = s.Get("/metrics", "");
  EXPECT_NE(
      metrics.raw.find(
          R"(tokenledger_http_requests_total{method="POST",route="POST /v1/verify",status="200"} 2)"),
      std::string::npos)
      << metrics.raw;
  EXPECT_NE(metrics.raw.find(R"(tokenledger_verifications_total{code="VALID"} 2)"),
            std::string::npos)
      << metrics.raw;
}

TEST(VerifyServerTest, IdleConnectionsAreClosed) {
  TestServer s;
  HttpServerOptions options;
  options.idle_timeout_ms = 100;
  DataPlane dp(s, options);
  const int fd = ConnectAndSend(dp.port(), "POST /v1/ver");  // a request that never finishes
  char c;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_GE(fd, 0);
  EXPECT_EQ(recv(fd, &c, 1, 0), 0);  // closed by the server (the socket times out after 10 s)
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(9));
  close(fd);
}

// Runs under ThreadSanitizer too (label concurrent): both listeners spend one
// balance at once; the sum of accepted costs never exceeds the credits.
// durable_threads: 0 (the loop syncs), 1 (one waiter thread), 2 (rounds overlap).
class VerifyServerSyncTest : public ::testing::TestWithParam<size_t> {};

TEST_P(VerifyServerSyncTest, BothListenersNeverSpendMoreThanGranted) {
  TestServer s;
  HttpServerOptions o;
  o.durable_threads = GetParam();
  DataPlane dp(s, o);
  constexpr int kCredits = 60, kThreads = 6, kEach = 20;
  Json t = s.CreateToken({{"name", "shared"}, {"credits", kCredits}});
  std::atomic<int> valid{0}, exceeded{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < kEach; ++k) {
        Json body =
            i % 2 == 0 ? dp.Verify({{"token", Secret(t)}}).body : s.Verify({{"token", Secret(t)}});
        const std::string code = body.value("code", "");
        (code == "VALID" ? valid : code == "USAGE_EXCEEDED" ? exceeded : other).fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(valid.load(), kCredits);
  EXPECT_EQ(exceeded.load(), kThreads * kEach - kCredits);
  EXPECT_EQ(other.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(WhoSyncs, VerifyServerSyncTest, ::testing::Values(0u, 1u, 2u));

}  // namespace
}  // namespace tl
