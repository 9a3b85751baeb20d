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
#include "services/domain/commands.h"

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
  // The calling token's expiry (nullopt = never): nothing it creates or
  // changes may outlive it.
  std::optional<int64_t> expires_at_ms;
};

// Permissions that guard the ledger's own API. ledger:admin implies the
// others and lifts tenant isolation.
inline constexpr std::string_view kLedgerRead = "ledger:read";
inline constexpr std::string_view kLedgerWrite = "ledger:write";
inline constexpr std::string_view kLedgerVerify = "ledger:verify";
inline constexpr std::string_view kLedgerAdmin = "ledger:admin";

// Problem types (services/http/http_common.h ProblemFor) of the rules below that
// have one of their own; the others answer with their code's.
// 403, field "permissions": the target token holds a ledger: permission the
// caller does not (see CheckAuthorityOver).
inline constexpr std::string_view kProblemInsufficientAuthority = "insufficient-authority";
// 403, field "permissions": a grant the caller's own permissions do not cover.
inline constexpr std::string_view kProblemGrantNotHeld = "grant-not-held";
// 403, field naming the limit: a token acting on itself may only tighten it.
inline constexpr std::string_view kProblemLoosensOwnLimits = "loosens-own-limits";
// 403, field "expires_at": an expiry later than the caller's own (or none).
inline constexpr std::string_view kProblemOutlivesCaller = "outlives-caller";
// 403, field "Authorization": the bearer token's allowed_ips exclude the
// address the request comes from.
inline constexpr std::string_view kProblemAddressNotAllowed = "address-not-allowed";

bool IsAdmin(const Caller& caller);
// OK when the caller holds `needed` (exactly: ledger permissions are never
// granted by wildcards) or is an admin; kForbidden otherwise.
Status Authorize(const Caller& caller, std::string_view needed);
// Tenant isolation: admins see every token, others only their owner's.
bool CanSee(const Caller& caller, const TokenState& t);

// Authority inside an owner, the one rule of update, regenerate, revoke and
// credits: the caller must hold every ledger: permission `target` holds (an
// admin holds them all). Otherwise a ledger:write token could strip, revoke
// or re-key its owner's admin token, or regenerate it and receive its secret.
// kForbidden, type kProblemInsufficientAuthority, field "permissions".
Status CheckAuthorityOver(const Caller& caller, const TokenState& target);

// Whether `bearer` may authenticate a request from `remote`, the address the
// request came from: a token's allowed_ips bind every use of it, as a bearer
// too, not only when it is verified. nullopt: an in-process caller (the CLI
// on the data directory), which has no address. kForbidden, type
// kProblemAddressNotAllowed, field "Authorization".
Status CheckBearerAddress(const TokenState& bearer, std::optional<std::string_view> remote);

// An event to append, before the log gives it an envelope.
struct NewEvent {
  EventType type{};
  Json data;
  bool operator==(const NewEvent&) const = default;
};

// token.created. REQUIRES: Authorize(caller, ledger:write) passed;
// `secret_digest`/`hint` are of a secret minted with `prefix` (normally
// cmd.prefix). Checked in this order: naming another owner needs ledger:admin
// (kForbidden, field "owner"); the owner defaults to the caller's; a non-admin
// caller may grant only permissions its own cover (Satisfies: ledger: ones by
// name, others by a grant of its own such as "reports:*"; kForbidden
// kProblemGrantNotHeld "permissions"), otherwise a ledger:write token could
// mint an admin or "*:*"; an expiry in the past (kInvalidArgument);
// a caller that expires cannot create a token that outlives it: no expiry, or
// a later one, is kForbidden kProblemOutlivesCaller "expires_at".
Result<std::vector<NewEvent>> DecideCreate(const CreateTokenCommand& cmd, const Caller& caller,
                                           int64_t now_ms, std::string_view secret_digest,
                                           std::string_view hint, std::string_view prefix);

// token.updated with only the fields that differ from `state`, then
// token.permissions_changed when the permission set differs. Checked in this
// order: invisible to the caller -> kNotFound "id"; `if_match` given and not
// state.version -> kPreconditionFailed "If-Match"; revoked -> kConflict;
// CheckAuthorityOver; a token changing itself may only tighten its limits: a
// later or no expiry, wider allowed_ips or allowed_origins, a higher or no
// rate limit, a larger refill, or a permission its own do not cover ->
// kForbidden kProblemLoosensOwnLimits naming the field; adding a permission
// the caller may not grant (as DecideCreate; permissions the token has already
// may stay) -> kForbidden kProblemGrantNotHeld "permissions"; an expiry in the
// past -> kInvalidArgument "expires_at"; an expiry later than the caller's
// own, or none, when the caller expires -> kForbidden kProblemOutlivesCaller
// "expires_at". A refill on a token with unlimited credits makes it limited
// (the fold starts it with a full period). Nothing changed -> no events (the
// request succeeds without touching the log). Permission lists are compared
// as sets.
Result<std::vector<NewEvent>> DecideUpdate(const TokenState& state, const UpdateTokenCommand& cmd,
                                           const Caller& caller, int64_t now_ms,
                                           std::optional<Version> if_match);

// token.regenerated; the old secret keeps working until now + grace. The
// caller receives the new secret, which carries every permission of the
// token. Checked in this order: revoked -> kConflict; CheckAuthorityOver.
// REQUIRES: the caller may see the token (CanSee).
Result<std::vector<NewEvent>> DecideRegenerate(const TokenState& state,
                                               const RegenerateCommand& cmd, const Caller& caller,
                                               int64_t now_ms, std::string_view new_digest,
                                               std::string_view new_hint);

// token.revoked, or no events when already revoked (revoking is idempotent,
// whoever asks); otherwise CheckAuthorityOver. REQUIRES: CanSee.
Result<std::vector<NewEvent>> DecideRevoke(const TokenState& state, const RevokeCommand& cmd,
                                           const Caller& caller);

// token.credits_adjusted {set|add, balance}; `balance` is computed against the
// balance rolled to `now_ms` and clamped at 0. Checked in this order: revoked
// -> kConflict; CheckAuthorityOver; `add` on unlimited credits -> kConflict
// "add"; a token crediting itself may only lower its balance (a positive
// `add`, or a `set` above the balance of a limited token -> kForbidden
// kProblemLoosensOwnLimits "add" / "set"). `set` on unlimited credits makes
// the token limited. REQUIRES: CanSee.
Result<std::vector<NewEvent>> DecideCredits(const TokenState& state,
                                            const AdjustCreditsCommand& cmd, const Caller& caller,
                                            int64_t now_ms);

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
