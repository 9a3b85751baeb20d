#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/result.h"
#include "events/thread_annotations.h"
#include "services/http/http_api.h"

namespace httplib {
class Client;
}

namespace tl {

// In a cluster any node answers any request: a node that does not own the
// token passes the request to the owner, once (one hop), and hands back the
// owner's answer as it is.
//
// The owner applies the rules that depend on the client's address
// (`allowed_ips`) to the original client, not to the forwarding node. The
// forwarding node says who the client was in kForwardedHeader, with a MAC
// under the cluster's forwarding key over that address, the method, the
// target and the body's digest; ForwardedFrom() believes the header only when
// the MAC is right, so a client cannot claim another address by sending the
// header itself. A request that carries a valid header was forwarded already:
// the owner never forwards it again.
inline constexpr std::string_view kForwardedHeader = "X-Tokenledger-Forwarded";

// The original client's address when `req` carries a kForwardedHeader with a
// valid MAC under `key`; nullopt otherwise (no header, or one that is not
// ours: it is then ignored).
std::optional<std::string> ForwardedFrom(const ApiRequest& req, std::string_view key);

// The request target ("/v1/tokens/tok_1?include=deleted") of a decoded
// ApiRequest, percent-encoded again.
std::string RequestTarget(const ApiRequest& req);

// Passes requests to other nodes over keep-alive connections, a few kept
// idle per peer. Thread-safe.
class Forwarder {
 public:
  struct Options {
    std::string key;  // the cluster's forwarding key (every node has the same)
    std::chrono::milliseconds timeout{5000};  // connect, and each read or write
    size_t idle_per_peer = 8;                 // idle connections kept per peer
  };
  explicit Forwarder(Options options);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Sends `req` to `peer` ("http://host:port") and returns the peer's
  // answer. kUnavailable (naming the peer, never the request's contents)
  // when the peer cannot be reached or does not answer in time: the request
  // may or may not have run there.
  Result<ApiAnswer> Forward(const std::string& peer, const ApiRequest& req);

 private:
  std::unique_ptr<httplib::Client> Take(const std::string& peer);
  void GiveBack(const std::string& peer, std::unique_ptr<httplib::Client> client);

  const Options options_;
  Mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<httplib::Client>>> idle_ TL_GUARDED_BY(mu_);
};

}  // namespace tl
