#include "services/cli/api_client.h"

#include <httplib.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "services/cli/secret_input.h"

namespace tl {
namespace {

std::optional<std::string> Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

// A whole sentence for a failed exchange: httplib's names ("Connection",
// "Read") are cut short.
std::string ConnectionFailure(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "connection refused or failed (is the server running at that address?)";
    case httplib::Error::ConnectionTimeout:
      return "timed out while connecting";
    case httplib::Error::Read:
      return "the connection failed while reading the answer";
    case httplib::Error::Write:
      return "the connection failed while sending the request";
    case httplib::Error::SSLConnection:
      return "the TLS connection failed";
    case httplib::Error::SSLServerVerification:
      return "the server's TLS certificate could not be verified (a private CA: --ca-cert FILE)";
    default:
      return "the request failed (" + httplib::to_string(e) + ")";
  }
}

}  // namespace

std::vector<FlagSpec> ClientFlags() {
  return {
      {"addr", "URL", "the server (default: TOKENLEDGER_ADDR, else http://127.0.0.1:8080)"},
      {"token", "SECRET",
       "the bearer (default: TOKENLEDGER_TOKEN); visible in the process list: prefer "
       "--token-file"},
      {"token-file", "PATH", "read the bearer from PATH, or standard input when PATH is -"},
      {"ca-cert", "FILE", "trust the CA certificate(s) in FILE (PEM) for an https:// server"},
      {"json", "", "print the server's JSON answer instead of a table"},
  };
}

Result<ApiTarget> ApiTargetFrom(const CliArgs& a, bool& stdin_taken) {
  ApiTarget t;
  t.addr = a.Get("addr", Env("TOKENLEDGER_ADDR").value_or("http://127.0.0.1:8080"));
  if (a.Has("token") && a.Has("token-file")) {
    return MakeError(ErrorCode::kInvalidArgument, "give one of --token or --token-file", "token");
  }
  if (auto path = a.Get("token-file")) {
    auto secret = ReadSecretFile(*path, "token-file");
    if (!secret.ok()) return secret.error();
    t.bearer = std::move(secret).value();
    stdin_taken = *path == "-";
  } else {
    t.bearer = a.Get("token", Env("TOKENLEDGER_TOKEN").value_or(""));
  }
  if (t.bearer.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "set TOKENLEDGER_TOKEN or pass --token or --token-file", "token");
  }
  if (auto ca = a.Get("ca-cert")) {
    if (t.addr.rfind("https://", 0) != 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "--ca-cert is for an https:// server (the address is " + t.addr + ")",
                       "ca-cert");
    }
    std::ifstream f(*ca);
    if (!f) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "--ca-cert: cannot read " + *ca + ": " + std::strerror(errno), "ca-cert");
    }
    t.ca_cert = *ca;
  }
  return t;
}

Result<ClientReply> Send(const ApiTarget& target, const ClientRequest& request) {
  httplib::Client client(target.addr);
  client.set_bearer_token_auth(target.bearer.c_str());
  if (!target.ca_cert.empty()) client.set_ca_cert_path(target.ca_cert.c_str());
  client.set_connection_timeout(5);
  client.set_read_timeout(30);
  httplib::Headers headers(request.headers.begin(), request.headers.end());
  const char* path = request.path.c_str();
  httplib::Result res = request.method == "GET" ? client.Get(path, headers)
                        : request.method == "PATCH"
                            ? client.Patch(path, headers, request.body, "application/json")
                            : client.Post(path, headers, request.body, "application/json");
  if (!res) {
    return MakeError(ErrorCode::kUnavailable,
                     "cannot reach " + target.addr + ": " + ConnectionFailure(res.error()));
  }
  return ClientReply{res->status, res->body};
}

}  // namespace tl
