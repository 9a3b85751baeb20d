#include "services/cli/verify_exit_codes.h"

#include <array>
#include <cstdio>

#include "services/domain/decider.h"

namespace tl {
namespace {

struct VerifyExit {
  std::string_view code;
  int status;
  std::string_view meaning;
};

// In the order the server checks them. A status, once published, keeps its
// number: scripts depend on it.
constexpr std::array<VerifyExit, 9> kVerifyExits{{
    {kCodeValid, kExitOk, "the token is valid for this request (a use is counted)"},
    {kCodeNotFound, 10, "no such token (or a previous secret past its grace period)"},
    {kCodeRevoked, 11, "the token is revoked"},
    {kCodeExpired, 12, "the token has expired"},
    {kCodeOriginNotAllowed, 13, "the origin is not in the token's allowed origins"},
    {kCodeIpNotAllowed, 14, "the address is not in the token's allowed networks"},
    {kCodeForbidden, 15, "the token lacks the permissions asked for"},
    {kCodeRateLimited, 16, "the token's rate limit is reached"},
    {kCodeUsageExceeded, 17, "the token has too few credits left for the cost"},
}};

}  // namespace

int VerifyExitCode(std::string_view code) {
  for (const VerifyExit& e : kVerifyExits) {
    if (e.code == code) return e.status;
  }
  return kExitOtherCode;
}

std::string VerifyExitCodeTable() {
  std::string out = "Exit status:\n";
  auto row = [&out](int status, std::string_view what, std::string_view meaning) {
    char line[160];
    std::snprintf(line, sizeof line, "  %2d  %-19.*s %.*s\n", status, static_cast<int>(what.size()),
                  what.data(), static_cast<int>(meaning.size()), meaning.data());
    out += line;
  };
  for (const VerifyExit& e : kVerifyExits) row(e.status, e.code, e.meaning);
  row(kExitOtherCode, "(another code)", "a verification code newer than this binary");
  row(kExitRefused, "(server error)", "the server refused the request (bad bearer, bad input)");
  row(kExitUsage, "(usage)", "bad flags or arguments, an unreadable or empty secret file");
  row(kExitUnreachable, "(unreachable)", "no answer: connection refused, timeout, TLS failure");
  return out;
}

}  // namespace tl
