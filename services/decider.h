#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.h"
#include "events/result.h"
#include "events/strong_types.h"
#include "projections/token_state.h"
#include "services/commands.h"

namespace tl {

// The business rules: state + command -> events, or a typed rejection.
// Every function here is pure: no I/O, no clock (time comes in as `now_ms`),
// no randomness (secrets, digests and ids come in as arguments). The caller
// serializes commands per token and appends the events with the state's
// stream version as the expected version.

// Who issued a command: the management token that authenticated the request.
struct Caller {
  std::string token_id;
  std::string owner;
  std::vector<std::string> permissions;
};

// Permissions that guard the ledger's own API. ledger:admin implies the
// others and lifts tenant isolation.
inline constexpr std::string_view kLedgerRead = "ledger:read";
inline constexpr std::string_view kLedgerWrite = "ledger:write";
inline constexpr std::string_view kLedgerVerify = "ledger:verify";
inline constexpr std::string_view kLedgerAdmin = "ledger:admin";

bool IsAdmin(const Caller& caller);
// OK when the caller holds `needed` (exactly: ledger permissions are never
// granted by wildcards) or is an admin; kForbidden otherwise.
Status Authorize(const Caller& caller, std::string_view needed);
// Tenant isolation: admins see every token, others only their owner's.
bool CanSee(const Caller& caller, const TokenState& t);

// An event to append, before the log gives it an envelope.
struct NewEvent {
  EventType type{};
  Json data;
  bool operator==(const NewEvent&) const = default;
};

// token.created. REQUIRES: Authorize(caller, ledger:write) passed;
// `secret_digest`/`hint` are of a secret minted with `prefix` (normally
// cmd.prefix). The owner defaults to the caller's; naming another owner needs
// ledger:admin (kForbidden, field "owner"). A caller may grant a ledger:
// permission only if it holds it (kForbidden, field "permissions"): otherwise
// a ledger:write token could mint itself an admin.
Result<std::vector<NewEvent>> DecideCreate(const CreateTokenCommand& cmd, const Caller& caller,
                                           int64_t now_ms, std::string_view secret_digest,
                                           std::string_view hint, std::string_view prefix);

// token.updated with only the fields that differ from `state`, then
// token.permissions_changed when the permission set differs. Checked in this
// order: invisible to the caller -> kNotFound "id"; `if_match` given and not
// state.version -> kPreconditionFailed "If-Match"; revoked -> kConflict; adding a ledger:
// permission the caller does not hold -> kForbidden "permissions". A refill on
// a token with unlimited credits makes it limited (the fold starts it with a
// full period). Nothing changed -> no events (the request succeeds without
// touching the log). Permission lists are compared as sets.
Result<std::vector<NewEvent>> DecideUpdate(const TokenState& state, const UpdateTokenCommand& cmd,
                                           const Caller& caller, int64_t now_ms,
                                           std::optional<Version> if_match);

// token.regenerated; the old secret keeps working until now + grace. The
// caller receives the new secret, so it must hold every ledger: permission of
// the token, as if it granted them (kForbidden, field "permissions"): otherwise
// a ledger:write token could regenerate its owner's admin token and become
// admin. Checked in this order: revoked -> kConflict; that rule -> kForbidden.
// REQUIRES: the caller may see the token (CanSee).
Result<std::vector<NewEvent>> DecideRegenerate(const TokenState& state,
                                               const RegenerateCommand& cmd, const Caller& caller,
                                               int64_t now_ms, std::string_view new_digest,
                                               std::string_view new_hint);

// token.revoked, or no events when already revoked (revoking is idempotent).
Result<std::vector<NewEvent>> DecideRevoke(const TokenState& state, const RevokeCommand& cmd);

// token.credits_adjusted {set|add, balance}; `balance` is computed against the
// balance rolled to `now_ms` and clamped at 0. Revoked -> kConflict; `add` on
// unlimited credits -> kConflict "add"; `set` on unlimited credits makes the
// token limited.
Result<std::vector<NewEvent>> DecideCredits(const TokenState& state,
                                            const AdjustCreditsCommand& cmd, int64_t now_ms);

// Verification outcome codes, in the order they are checked.
inline constexpr std::string_view kCodeNotFound = "NOT_FOUND";
inline constexpr std::string_view kCodeRevoked = "REVOKED";
inline constexpr std::string_view kCodeExpired = "EXPIRED";
inline constexpr std::string_view kCodeOriginNotAllowed = "ORIGIN_NOT_ALLOWED";
inline constexpr std::string_view kCodeIpNotAllowed = "IP_NOT_ALLOWED";
inline constexpr std::string_view kCodeForbidden = "FORBIDDEN";
inline constexpr std::string_view kCodeRateLimited = "RATE_LIMITED";
inline constexpr std::string_view kCodeUsageExceeded = "USAGE_EXCEEDED";
inline constexpr std::string_view kCodeValid = "VALID";

struct VerifyDecision {
  std::string_view code;          // one of the kCode* constants above
  std::optional<NewEvent> event;  // token.used, token.use_denied, or none (NOT_FOUND)
  // JSON text of {valid, code, token_id, owner, name, permissions,
  // expires_at, remaining, rate_limit: {limit, remaining, reset_ms} | null,
  // meta}; {valid, code} for NOT_FOUND. Byte for byte what dump() writes for
  // that object. `remaining` and the rate limit are as they stand after this
  // request (a VALID use counts).
  std::string response;
};

// Decides one verification. `t` is the token whose current or previous digest
// matched the presented secret (nullptr: none did); `matched_previous_secret`
// says it was the previous one. Checks, first failure wins: NOT_FOUND (no
// token, or a previous secret past its grace), REVOKED, EXPIRED,
// ORIGIN_NOT_ALLOWED, IP_NOT_ALLOWED, FORBIDDEN, RATE_LIMITED (uses in
// (now - window, now] >= limit), USAGE_EXCEEDED (cost > balance rolled to
// now; nothing is deducted), VALID. This is the hot path: it reads `t`
// without copying it and allocates little beyond the event and the response.
VerifyDecision DecideVerify(const TokenState* t, bool matched_previous_secret,
                            const VerifyCommand& cmd, int64_t now_ms);

}  // namespace tl
