#pragma once

#include <string>
#include <vector>

#include "services/cli/cli_args.h"

namespace tl {

// `tokenledger token <verb> ...`: a client of the HTTP API. The server comes
// from --addr or TOKENLEDGER_ADDR (a URL), the bearer from --token,
// --token-file or TOKENLEDGER_TOKEN, an https server's private CA from
// --ca-cert. Tables for people by default, --json for scripts.
// Exit codes: 0 ok, 1 the server refused (its message on stderr), 2 usage,
// 3 the server could not be reached; `token verify` also exits with one
// status per verification code (verify_exit_codes.h).

// The `token` group (its flags apply to every verb) and its verbs.
const CommandSpec& TokenGroupSpec();
const std::vector<CommandSpec>& TokenVerbSpecs();

// Runs verb `verb` (one of TokenVerbSpecs()'s names) with its parsed flags.
int RunTokenVerb(const std::string& verb, const CliArgs& a);

}  // namespace tl
