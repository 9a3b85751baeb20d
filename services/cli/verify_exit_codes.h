#pragma once

#include <string>
#include <string_view>

namespace tl {

// Exit statuses of `tokenledger token verify`, one per outcome, so a script
// can branch on `$?` without parsing output. 0 only for VALID; 1-3 are the
// statuses every client verb shares; 10 and up are the verification codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;      // the server answered with an error (401, 400, 5xx...)
inline constexpr int kExitUsage = 2;        // bad flags or arguments, unreadable --token-file
inline constexpr int kExitUnreachable = 3;  // no answer: connection or TLS failure
inline constexpr int kExitOtherCode = 19;   // a verification code this binary does not know

// The exit status for the verification code `code` ("VALID" -> 0).
int VerifyExitCode(std::string_view code);

// The table of statuses for `token verify --help` and the README.
std::string VerifyExitCodeTable();

}  // namespace tl
