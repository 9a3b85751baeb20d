#include "services/http/forwarder.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>

#include "events/crypto.h"

namespace tl {
namespace {

// Headers that belong to one connection (RFC 9110 section 7.6.1) or that the
// forwarding sets itself: never passed on in either direction.
std::string Lower(std::string_view s) {
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

bool IsHopHeader(std::string_view name) {
  static constexpr std::string_view kHop[] = {"connection",
                                              "keep-alive",
                                              "proxy-connection",
                                              "transfer-encoding",
                                              "te",
                                              "trailer",
                                              "upgrade",
                                              "content-length",
                                              "host",
                                              "content-type",
                                              "x-tokenledger-forwarded"};
  const std::string lower = Lower(name);
  return std::find(std::begin(kHop), std::end(kHop), lower) != std::end(kHop);
}

// Headers of an answer that the transport writes itself (see ApiAnswer).
bool IsTransportAnswerHeader(std::string_view name) {
  const std::string lower = Lower(name);
  return lower == "x-request-id" || lower == "x-content-type-options" || lower == "date";
}

bool IsUnreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

void PercentEncodeInto(std::string& out, std::string_view in, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : in) {
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
}

// What the MAC covers: the client's address and the request as the owner
// will see it, so the header cannot be moved to another request.
std::string MacInput(std::string_view remote, const ApiRequest& req) {
  std::string in = "tokenledger-forward\n";
  in.append(remote).push_back('\n');
  in.append(req.method).push_back('\n');
  in.append(RequestTarget(req)).push_back('\n');
  in.append(Sha256Hex(req.body));
  return in;
}

}  // namespace

std::string RequestTarget(const ApiRequest& req) {
  std::string target;
  PercentEncodeInto(target, req.path, /*keep_slash=*/true);
  for (size_t i = 0; i < req.query.size(); ++i) {
    target.push_back(i == 0 ? '?' : '&');
    PercentEncodeInto(target, req.query[i].first, false);
    target.push_back('=');
    PercentEncodeInto(target, req.query[i].second, false);
  }
  return target;
}

std::optional<std::string> ForwardedFrom(const ApiRequest& req, std::string_view key) {
  if (key.empty() || !req.HasHeader(kForwardedHeader)) return std::nullopt;
  std::string_view value = req.Header(kForwardedHeader);
  const size_t space = value.rfind(' ');
  if (space == std::string_view::npos || space == 0) return std::nullopt;
  std::string_view remote = value.substr(0, space);
  std::string_view mac = value.substr(space + 1);
  if (!ConstantTimeEquals(mac, HmacSha256Hex(key, MacInput(remote, req)))) return std::nullopt;
  return std::string(remote);
}

Forwarder::Forwarder(Options options) : options_(std::move(options)) {}
Forwarder::~Forwarder() = default;

std::unique_ptr<httplib::Client> Forwarder::Take(const std::string& peer) {
  {
    MutexLock lock(mu_);
    auto it = idle_.find(peer);
    if (it != idle_.end() && !it->second.empty()) {
      std::unique_ptr<httplib::Client> c = std::move(it->second.back());
      it->second.pop_back();
      return c;
    }
  }
  auto c = std::make_unique<httplib::Client>(peer);
  c->set_keep_alive(true);
  c->set_url_encode(false);  // RequestTarget encodes
  c->set_tcp_nodelay(true);
  c->set_connection_timeout(options_.timeout);
  c->set_read_timeout(options_.timeout);
  c->set_write_timeout(options_.timeout);
  return c;
}

void Forwarder::GiveBack(const std::string& peer, std::unique_ptr<httplib::Client> client) {
  MutexLock lock(mu_);
  auto& idle = idle_[peer];
  if (idle.size() < options_.idle_per_peer) idle.push_back(std::move(client));
}

Result<ApiAnswer> Forwarder::Forward(const std::string& peer, const ApiRequest& req) {
  httplib::Request out;
  out.method = req.method;
  out.path = RequestTarget(req);
  for (const auto& [name, value] : req.headers) {
    if (!IsHopHeader(name)) out.headers.emplace(name, value);
  }
  const std::string remote = ForwardedFrom(req, options_.key).value_or(req.remote);
  out.headers.emplace(std::string(kForwardedHeader),
                      remote + " " + HmacSha256Hex(options_.key, MacInput(remote, req)));
  if (!req.body.empty() || req.HasHeader("Content-Type")) {
    std::string type(req.Header("Content-Type"));
    out.headers.emplace("Content-Type", type.empty() ? "application/octet-stream" : type);
    out.body = req.body;
  }
  std::unique_ptr<httplib::Client> client = Take(peer);
  httplib::Result res = client->send(out);
  if (!res) {
    return MakeError(ErrorCode::kUnavailable,
                     "the node that owns this token (" + peer +
                         ") did not answer: " + httplib::to_string(res.error()));
  }
  ApiAnswer answer;
  answer.status = res->status;
  answer.body = std::move(res->body);
  for (const auto& [name, value] : res->headers) {
    if (Lower(name) == "content-type") {
      answer.content_type = value;
    } else if (!IsHopHeader(name) && !IsTransportAnswerHeader(name)) {
      answer.headers.emplace_back(name, value);
    }
  }
  GiveBack(peer, std::move(client));
  return answer;
}

}  // namespace tl
