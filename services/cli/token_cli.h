#pragma once

#include <string>
#include <vector>

namespace tl {

// `tokenledger token <verb> ...`: a client of the HTTP API. The server comes
// from --addr or TOKENLEDGER_ADDR (a URL), the bearer from --token or
// TOKENLEDGER_TOKEN. Tables for people by default, --json for scripts.
// Exit codes: 0 ok, 1 the server refused (its message on stderr), 2 usage,
// 3 the server could not be reached.
int RunTokenCli(const std::vector<std::string>& args);

}  // namespace tl
