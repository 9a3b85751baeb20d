// Forwarder against a real cpp-httplib server on a loopback port: what the
// owner receives, what comes back, keep-alive reuse, and the forwarded
// client address believed only under the cluster's key.
#include "services/http/forwarder.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <mutex>
#include <set>
#include <thread>

namespace tl {
namespace {

constexpr const char* kKey = "cluster-forwarding-key-for-tests";

// The owner: records each request as an ApiRequest (as a transport would
// hand it to the routes) and answers 201 with a few headers.
class Owner {
 public:
  Owner() {
    server_.Post(".*",
                 [this](const httplib::Request& r, httplib::Response& res) { Record(r, res); });
    server_.Get(".*",
                [this](const httplib::Request& r, httplib::Response& res) { Record(r, res); });
    server_.set_keep_alive_max_count(1000);  // the default closes after 5 requests
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the accept loop runs would not stop it.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Owner() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  ApiRequest last() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }
  size_t connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return client_ports_.size();
  }

 private:
  void Record(const httplib::Request& r, httplib::Response& res) {
    ApiRequest a;
    a.method = r.method;
    std::string_view target = r.target;
    size_t q = target.find('?');
    a.path = PercentDecode(target.substr(0, q), false);
    if (q != std::string_view::npos) a.query = ParseQueryString(target.substr(q + 1));
    for (const auto& [k, v] : r.headers) a.headers.emplace_back(k, v);
    a.body = r.body;
    a.remote = r.remote_addr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_ = a;
      client_ports_.insert(r.remote_port);
    }
    res.status = 201;
    res.set_header("Location", "/v1/tokens/tok_new");
    res.set_header("X-Request-Id", "owner-side-id");
    res.set_content(R"({"id":"tok_new"})", "application/json");
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  ApiRequest last_;
  std::set<int> client_ports_;
};

ApiRequest ClientRequest() {
  ApiRequest r;
  r.method = "POST";
  r.path = "/v1/tokens/tok 1/events";
  r.query = {{"after", "3"}, {"q", "a&b=c"}};
  r.headers = {{"Authorization", "Bearer tl_secretsecretsecretsecretsecretsecret"},
               {"X-Request-Id", "client-id-1"},
               {"Content-Type", "application/json"},
               {"Connection", "close"}};
  r.body = R"({"name":"x"})";
  r.remote = "203.0.113.7";
  return r;
}

TEST(ForwarderTest, TheOwnerGetsTheRequestAsSentAndTheClientGetsTheOwnersAnswer) {
  Owner owner;
  Forwarder f({.key = kKey});
  Result<ApiAnswer> answer = f.Forward(owner.url(), ClientRequest());
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->status, 201);
  EXPECT_EQ(answer->content_type, "application/json");
  EXPECT_EQ(answer->body, R"({"id":"tok_new"})");
  bool has_location = false;
  for (const auto& [k, v] : answer->headers) {
    if (k == "Location") has_location = v == "/v1/tokens/tok_new";
    EXPECT_NE(k, "X-Request-Id") << "the front transport writes its own";
    EXPECT_NE(k, "Content-Length");
  }
  EXPECT_TRUE(has_location);

  ApiRequest got = owner.last();
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.path, "/v1/tokens/tok 1/events");
  EXPECT_EQ(got.query, ClientRequest().query);
  EXPECT_EQ(got.body, R"({"name":"x"})");
  EXPECT_EQ(got.Header("Authorization"), "Bearer tl_secretsecretsecretsecretsecretsecret");
  EXPECT_EQ(got.Header("X-Request-Id"), "client-id-1");
  EXPECT_EQ(got.Header("Content-Type"), "application/json");
  EXPECT_NE(got.Header("Connection"), "close") << "hop-by-hop headers stay behind";
  // The owner learns the original client's address, under the key only.
  EXPECT_EQ(ForwardedFrom(got, kKey), "203.0.113.7");
  EXPECT_EQ(ForwardedFrom(got, "another-key"), std::nullopt);
  EXPECT_EQ(ForwardedFrom(got, ""), std::nullopt);
}

TEST(ForwarderTest, TheForwardedAddressCannotBeMovedToAnotherRequest) {
  Owner owner;
  Forwarder f({.key = kKey});
  ASSERT_TRUE(f.Forward(owner.url(), ClientRequest()).ok());
  ApiRequest got = owner.last();
  ASSERT_EQ(ForwardedFrom(got, kKey), "203.0.113.7");
  ApiRequest other_body = got;
  other_body.body = R"({"name":"y"})";
  EXPECT_EQ(ForwardedFrom(other_body, kKey), std::nullopt);
  ApiRequest other_path = got;
  other_path.path = "/v1/tokens/tok_2";
  EXPECT_EQ(ForwardedFrom(other_path, kKey), std::nullopt);
  ApiRequest other_address = got;
  for (auto& [k, v] : other_address.headers) {
    if (k == kForwardedHeader) v.replace(0, v.find(' '), "10.0.0.1");
  }
  EXPECT_EQ(ForwardedFrom(other_address, kKey), std::nullopt);
}

TEST(ForwarderTest, AClientCannotClaimAnAddressBySendingTheHeader) {
  Owner owner;
  ApiRequest forged = ClientRequest();
  forged.headers.emplace_back(std::string(kForwardedHeader), "10.9.9.9 " + std::string(64, 'a'));
  EXPECT_EQ(ForwardedFrom(forged, kKey), std::nullopt);
  // Forwarded on, the forged header is dropped and the real address named.
  Forwarder f({.key = kKey});
  ASSERT_TRUE(f.Forward(owner.url(), forged).ok());
  EXPECT_EQ(ForwardedFrom(owner.last(), kKey), "203.0.113.7");
}

TEST(ForwarderTest, AForwardedRequestKeepsItsOriginalClient) {
  Owner first, second;
  Forwarder f({.key = kKey});
  ASSERT_TRUE(f.Forward(first.url(), ClientRequest()).ok());
  ApiRequest at_first = first.last();
  at_first.remote = "127.0.0.1";  // the forwarding node, as the first owner saw it
  ASSERT_TRUE(f.Forward(second.url(), at_first).ok());
  EXPECT_EQ(ForwardedFrom(second.last(), kKey), "203.0.113.7");
}

TEST(ForwarderTest, RequestsToOnePeerShareAKeepAliveConnection) {
  Owner owner;
  Forwarder f({.key = kKey});
  for (int i = 0; i < 20; ++i) {
    Result<ApiAnswer> a = f.Forward(owner.url(), ClientRequest());
    ASSERT_TRUE(a.ok()) << a.error().message;
  }
  EXPECT_EQ(owner.connections(), 1u);
}

TEST(ForwarderTest, AnUnreachablePeerIsUnavailableAndTheErrorSaysNothingOfTheRequest) {
  int closed_port;
  {
    Owner gone;
    closed_port = std::stoi(gone.url().substr(gone.url().rfind(':') + 1));
  }
  Forwarder f({.key = kKey, .timeout = std::chrono::milliseconds(500)});
  Result<ApiAnswer> a =
      f.Forward("http://127.0.0.1:" + std::to_string(closed_port), ClientRequest());
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(a.error().message.find("127.0.0.1"), std::string::npos) << a.error().message;
  EXPECT_EQ(a.error().message.find("secret"), std::string::npos) << a.error().message;
}

TEST(ForwarderTest, RequestTargetEncodesWhatTheDecodedPathAndQueryHold) {
  ApiRequest r;
  r.path = "/v1/tokens/a b%/x";
  r.query = {{"k y", "v&w"}, {"e", ""}};
  EXPECT_EQ(RequestTarget(r), "/v1/tokens/a%20b%25/x?k%20y=v%26w&e=");
  ApiRequest back;
  std::string target = RequestTarget(r);
  size_t q = target.find('?');
  EXPECT_EQ(PercentDecode(target.substr(0, q), false), r.path);
  EXPECT_EQ(ParseQueryString(target.substr(q + 1)), r.query);
}

}  // namespace
}  // namespace tl
