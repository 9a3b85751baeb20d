#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.h"
#include "events/result.h"
#include "projections/token_state.h"
#include "services/domain/permissions.h"

namespace tl {

// Typed commands parsed from request bodies. Parsing is the whole input
// validation: a command that parsed is within every limit below, so deciders
// only check rules that depend on state or on the caller.
//
// Every error is kInvalidArgument with `field` naming the culprit: a top-level
// name ("expires_in"), a dotted path into an object ("credits.refill.amount"),
// or an index into a list ("allowed_ips[2]"). Unknown fields are rejected (a
// typo must not silently drop a restriction). Text lengths are counted in
// Unicode code points and must be valid UTF-8.

// Upper bound on any credit amount or cost: keeps every sum and difference of
// two amounts far from int64 overflow.
inline constexpr int64_t kMaxCredits = 1'000'000'000'000'000;  // 10^15
// Upper bound on rate_limit.limit: the projection keeps one timestamp per use
// inside the window, so the limit bounds that memory per token.
inline constexpr int64_t kMaxRateLimit = 1'000'000;
inline constexpr int64_t kMaxWindowMs = 86'400'000;  // one day
inline constexpr size_t kMaxListEntries = 100;       // permissions, origins, IPs
inline constexpr size_t kMaxMetaBytes = 4096;        // meta, as compact JSON
// Latest expiry we accept: 9999-12-31T23:59:59.999Z (RFC 3339 has 4-digit years).
inline constexpr int64_t kMaxTimeMs = 253'402'300'799'999;

// A balance and its refill rule as given on create. `credits` in a body is
//   null (or absent)                          -> unlimited
//   n (integer >= 0)                          -> {remaining: n, refill: null}
//   {"remaining": n, "refill": {"amount": a, "interval": "day"|"month"} | null}
// where "remaining" may be left out when a refill is given (it then starts at
// refill.amount). This is the shape `token.created` records.
struct CreditsSpec {
  int64_t remaining = 0;
  std::optional<Refill> refill;
  bool operator==(const CreditsSpec&) const = default;
};

// POST /tokens. Fields: name (1-200, required), description (<=2000),
// owner (1-200; default: the caller's owner), preset ("read-only" |
// "full-access") or permissions (list, <=100; neither = no permissions),
// expires_in ("<n>d|h|m", n >= 1) or expires_at (RFC 3339, after now; neither
// = never), credits (above), rate_limit ({limit 1..10^6, window_ms
// 1..86400000} or null), allowed_origins (hosts/origins, "*." wildcard, <=100),
// allowed_ips (CIDRs, <=100; stored in canonical form), prefix ([a-z0-9]{1,8},
// default "tl"), meta (object, <=4096 bytes as JSON).
struct CreateTokenCommand {
  std::string name;
  std::string description;
  std::optional<std::string> owner;
  std::vector<std::string> permissions;  // preset already expanded; duplicates removed
  std::optional<int64_t> expires_at_ms;  // nullopt = never
  std::optional<CreditsSpec> credits;    // nullopt = unlimited
  std::optional<RateLimit> rate_limit;   // nullopt = unlimited
  std::vector<std::string> allowed_origins;
  std::vector<std::string> allowed_ips;
  std::string prefix = "tl";
  Json meta = Json::object();
};
Result<CreateTokenCommand> ParseCreateToken(const Json& body, int64_t now_ms);

// PATCH /tokens/{id}: the create fields that may change, all optional, at
// least one. An outer nullopt means "not given". Null clears: expires_at /
// expires_in null -> never expires; refill null -> no refill; rate_limit null
// -> unlimited; description null -> ""; allowed_* null -> []; meta null -> {}.
// `credits` is refused (balances move only through the credits endpoint, so
// every change is a token.credits_adjusted event); `owner` and `prefix` are
// refused (fixed at creation).
struct UpdateTokenCommand {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::vector<std::string>> permissions;  // from permissions or preset
  std::optional<std::optional<int64_t>> expires_at_ms;
  std::optional<std::optional<Refill>> refill;
  std::optional<std::optional<RateLimit>> rate_limit;
  std::optional<std::vector<std::string>> allowed_origins;
  std::optional<std::vector<std::string>> allowed_ips;
  std::optional<Json> meta;
};
Result<UpdateTokenCommand> ParseUpdateToken(const Json& body, int64_t now_ms);

// POST /tokens/{id}/regenerate: {grace_period_s: 0..604800, default 0}.
// A null body is an empty one.
inline constexpr int64_t kMaxGracePeriodS = 604'800;  // one week
struct RegenerateCommand {
  int64_t grace_period_s = 0;
};
Result<RegenerateCommand> ParseRegenerate(const Json& body);

// POST /tokens/{id}/revoke (or DELETE): {reason: <=500, optional}.
// A null body is an empty one.
struct RevokeCommand {
  std::string reason;
};
Result<RevokeCommand> ParseRevoke(const Json& body);

// POST /tokens/{id}/credits: exactly one of {set: 0..10^15} or
// {add: -10^15..10^15}.
struct AdjustCreditsCommand {
  enum class Op { kSet, kAdd };
  Op op = Op::kSet;
  int64_t amount = 0;
};
Result<AdjustCreditsCommand> ParseAdjustCredits(const Json& body);

// POST /verify: token (string, required, <=1024 bytes), permissions (list of
// permissions, all required, or a query string; optional), cost (0..10^15,
// default 1), origin (string <=2048, the caller's Origin header), ip (an IPv4
// or IPv6 address).
inline constexpr size_t kMaxVerifyTokenBytes = 1024;
struct VerifyCommand {
  std::string token;
  std::optional<PermissionQuery> permissions;  // nullopt = nothing required
  Json permissions_asked;  // as given (list, string or null), recorded in token.used
  int64_t cost = 1;
  std::optional<std::string> origin;
  std::optional<std::string> ip;
};
Result<VerifyCommand> ParseVerify(const Json& body);

// A verify request's body, read once by the front end: whether its text is a
// JSON document, and the command it holds. Kept apart because the ledger
// answers them at different points: a malformed body before the caller's
// permissions are checked (as on every route), a bad field after.
struct VerifyBody {
  Status json;
  Result<VerifyCommand> command;
};

// The rules ParseVerify applies to a field once its JSON type is right (the
// permissions rule is PermissionQueryFromJson), each returning ParseVerify's
// error. Shared with ReadVerifyBody (verify_body.h), which reads the same
// bodies without a Json document and must accept exactly the same values.
inline constexpr size_t kMaxVerifyOriginBytes = 2048;
Status CheckVerifyToken(std::string_view token);
Status CheckVerifyCost(int64_t cost);
Status CheckVerifyOrigin(std::string_view origin);
Status CheckVerifyIp(std::string_view ip);

// "<n>d", "<n>h" or "<n>m" (days, hours, minutes; 1 <= n <= 999999) in ms.
// kInvalidArgument with field "expires_in" otherwise.
Result<int64_t> ParseExpiresIn(std::string_view text);

}  // namespace tl
