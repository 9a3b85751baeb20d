#include "services/https_server.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "services/http_common.h"

namespace tl {
namespace {

// RFC 9112 6.3: a request with neither Content-Length nor Transfer-Encoding
// has a body of length zero. cpp-httplib 0.11 instead reads a POST, PUT,
// PATCH or DELETE body until the connection closes. Declaring the length zero
// before routing makes it read nothing. The const_cast is sound: httplib's
// process_request owns the Request as a non-const local and calls the
// pre-routing handler before it reads the body.
void DeclareMissingBodyEmpty(const httplib::Request& req) {
  const std::string& m = req.method;
  if (m != "POST" && m != "PUT" && m != "PATCH" && m != "DELETE") return;
  if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) return;
  const_cast<httplib::Request&>(req).set_header("Content-Length", "0");
}

void Log(Metrics& metrics, const httplib::Request& req, const ApiAnswer& a,
         const std::string& request_id, std::chrono::steady_clock::time_point start) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string_view route = a.route != nullptr ? std::string_view(a.route->name) : "unmatched";
  if (a.route != nullptr) {
    metrics.CountRequest(a.route->metrics_id, req.method, a.status, seconds);
  } else {
    metrics.CountRequest(req.method, route, a.status, seconds);
  }
  std::string line;
  AppendRequestLogLine(
      line, {req.method, req.path, req.remote_addr, request_id, route, a.status, seconds});
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

HttpsServer::HttpsServer(HttpApi& api, int threads) : api_(api) {
  const HttpOptions& o = api.options();
  server_ = std::make_unique<httplib::SSLServer>(o.tls_cert.c_str(), o.tls_key.c_str());
  httplib::SSLServer& s = *server_;
  // Small JSON responses otherwise wait on Nagle + delayed ACK.
  s.set_tcp_nodelay(true);
  s.set_keep_alive_max_count(100000);
  s.set_payload_max_length(kMaxBodyBytes);
  // cpp-httplib takes ownership of the raw pointer it is handed.
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
    DeclareMissingBodyEmpty(req);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  auto serve = [this](const httplib::Request& req, httplib::Response& res) {
    const auto start = std::chrono::steady_clock::now();
    ApiRequest r;
    r.method = req.method;
    r.path = req.path;  // decoded by httplib
    for (const auto& [name, value] : req.params) r.query.emplace_back(name, value);
    for (const auto& [name, value] : req.headers) r.headers.emplace_back(name, value);
    r.body = req.body;
    r.remote = req.remote_addr;
    ApiAnswer a;
    if (!r.Header("Content-Encoding").empty() && r.Header("Content-Encoding") != "identity") {
      a.status = 415;
      a.content_type = "application/problem+json";
      a.body =
          MakeProblem(415, "unsupported-media-type", "Unsupported media type",
                      "request bodies are accepted without a Content-Encoding", "Content-Encoding")
              .body;
    } else {
      a = api_.Handle(r);
    }
    const std::string_view sent_id = r.Header("X-Request-Id");
    const std::string request_id = SaneRequestId(sent_id) ? std::string(sent_id) : NewRequestId();
    res.status = a.status;
    res.set_header("X-Request-Id", request_id);
    res.set_header("X-Content-Type-Options", "nosniff");
    for (const auto& [name, value] : a.headers) res.set_header(name.c_str(), value);
    if (!a.content_type.empty()) res.set_content(a.body, a.content_type.c_str());
    Log(api_.metrics(), req, a, request_id, start);
  };
  for (const char* any : {".*"}) {
    s.Get(any, serve);
    s.Post(any, serve);
    s.Put(any, serve);
    s.Patch(any, serve);
    s.Delete(any, serve);
    s.Options(any, serve);
  }
  s.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        const Problem p =
            res.status == 413
                ? MakeProblem(413, "payload-too-large", "Payload too large",
                              "the request body is larger than the server accepts", "body")
                : MakeProblem(res.status, "error", "Error", "the request could not be served");
        res.set_header("X-Content-Type-Options", "nosniff");
        res.set_content(p.body, "application/problem+json");
        return httplib::Server::HandlerResponse::Handled;
      }));
}

HttpsServer::~HttpsServer() { Stop(); }

Result<int> HttpsServer::Bind(const std::string& host, int port) {
  if (!server_->is_valid()) {
    return MakeError(ErrorCode::kInvalidArgument, "TLS certificate or key could not be loaded");
  }
  const int bound = port == 0 ? server_->bind_to_any_port(host.c_str())
                              : (server_->bind_to_port(host.c_str(), port) ? port : -1);
  if (bound < 0) {
    return MakeError(ErrorCode::kIo, "cannot listen on " + host + ":" + std::to_string(port));
  }
  return bound;
}

void HttpsServer::Run() { server_->listen_after_bind(); }

void HttpsServer::Stop() {
  if (server_) server_->stop();
}

}  // namespace tl
