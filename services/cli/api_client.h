#pragma once

#include <map>
#include <string>
#include <vector>

#include "events/event.h"
#include "events/result.h"
#include "services/cli/cli_args.h"

namespace tl {

// The flags every client verb takes (`token ...`): where the server is, the
// bearer, its CA, JSON output.
std::vector<FlagSpec> ClientFlags();

// Where and as whom a client verb talks to the server.
struct ApiTarget {
  std::string addr;    // --addr, else TOKENLEDGER_ADDR, else http://127.0.0.1:8080
  std::string bearer;  // --token, else --token-file, else TOKENLEDGER_TOKEN
  std::string
      ca_cert;  // --ca-cert: a PEM file of the CA(s) that signed an https server's certificate
};

// The target from `a` and the environment. kInvalidArgument (a usage error)
// when there is no bearer, both --token and --token-file are given, the
// token file is unreadable or empty, or --ca-cert is unreadable or given
// for a plain http:// address. `stdin_taken` is set when the bearer came
// from standard input (`--token-file -`).
Result<ApiTarget> ApiTargetFrom(const CliArgs& a, bool& stdin_taken);

struct ClientRequest {
  std::string method = "GET";  // GET, POST or PATCH
  std::string path;
  std::string body;  // JSON text; empty: none
  std::multimap<std::string, std::string> headers;
};

struct ClientReply {
  int status = 0;
  std::string body;
};

// One exchange with the server. An error (kUnavailable) is a sentence saying
// why no answer came (connection refused, TLS verification failed, ...).
Result<ClientReply> Send(const ApiTarget& target, const ClientRequest& request);

}  // namespace tl
