#include "services/domain/decider.h"

#include <algorithm>

#include "events/json_text.h"
#include "events/time_format.h"
#include "projections/created_data.h"
#include "projections/token_rules.h"
#include "projections/use_data.h"
#include "services/domain/net_match.h"
#include "services/domain/permissions.h"

namespace tl {
namespace {

// token.used / token.use_denied data: {cost, origin, ip} and one more member
// (the permissions asked, or the denial code).
Json UseEventData(const VerifyCommand& cmd, const char* key, Json value) {
  return UseDataJson(cmd.cost, cmd.origin, cmd.ip, key, std::move(value));
}

struct RateLimitAnswer {
  int64_t limit;
  int64_t remaining;
  int64_t reset_ms;
};

// The verify response for a known token, written as dump() writes the object
// {valid, code, token_id, owner, name, permissions, expires_at, remaining,
// rate_limit, meta}: compact, keys in std::map order. Written directly
// because building and dumping that object was ~15% of the data plane's loop
// (decider_test checks the bytes against dump()).
void AppendVerifyResponse(std::string& out, const TokenState& t, std::string_view code,
                          std::optional<int64_t> remaining,
                          const std::optional<RateLimitAnswer>& rate_limit) {
  out += R"({"code":)";
  AppendJsonString(out, code);
  out += R"(,"expires_at":)";
  if (t.expires_at_ms) {
    AppendJsonString(out, FormatRfc3339Ms(*t.expires_at_ms));
  } else {
    out += "null";
  }
  out += R"(,"meta":)";
  if (t.meta.is_null()) {
    out += "{}";
  } else {
    out += Meta(t).dump();
  }
  out += R"(,"name":)";
  AppendJsonString(out, t.name);
  out += R"(,"owner":)";
  AppendJsonString(out, t.owner);
  out += R"(,"permissions":[)";
  for (size_t i = 0; i < t.permissions.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonString(out, t.permissions[i]);
  }
  out += R"(],"rate_limit":)";
  if (rate_limit) {
    out += R"({"limit":)";
    AppendJsonInt(out, rate_limit->limit);
    out += R"(,"remaining":)";
    AppendJsonInt(out, rate_limit->remaining);
    out += R"(,"reset_ms":)";
    AppendJsonInt(out, rate_limit->reset_ms);
    out += '}';
  } else {
    out += "null";
  }
  out += R"(,"remaining":)";
  if (remaining) {
    AppendJsonInt(out, *remaining);
  } else {
    out += "null";
  }
  out += R"(,"token_id":)";
  AppendJsonString(out, t.id);
  out += code == kCodeValid ? R"(,"valid":true})" : R"(,"valid":false})";
}

// Exact possession; ledger permissions are never granted by wildcards.
bool Holds(const Caller& caller, std::string_view p) {
  return IsAdmin(caller) || std::find(caller.permissions.begin(), caller.permissions.end(), p) !=
                                caller.permissions.end();
}

bool Listed(const std::vector<std::string>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// kForbidden "permissions" when `wanted` adds (beyond `already`) a permission
// the caller may not hand out: one its own permissions do not cover. An
// admin may grant anything.
Status CheckGrants(const Caller& caller, const std::vector<std::string>& wanted,
                   const std::vector<std::string>& already) {
  if (IsAdmin(caller)) return Ok{};
  for (const auto& p : wanted) {
    if (Listed(already, p) || Satisfies(caller.permissions, p)) continue;
    return MakeTypedError(
        ErrorCode::kForbidden, std::string(kProblemGrantNotHeld),
        "cannot grant " + p + ": none of the calling token's permissions covers it", "permissions");
  }
  return Ok{};
}

Error Loosens(std::string what, std::string field) {
  return MakeTypedError(ErrorCode::kForbidden, std::string(kProblemLoosensOwnLimits),
                        "a token may not loosen its own limits: " + what, std::move(field));
}

// A refill that gives more than `now` over time (`now` absent: none).
bool LargerRefill(const std::optional<Refill>& now, const std::optional<Refill>& wanted) {
  if (!wanted) return false;
  if (!now) return true;
  if (wanted->amount > now->amount) return true;
  return wanted->interval == RefillInterval::kDay && now->interval == RefillInterval::kMonth;
}

// An allow-list (`field`: allowed_ips or allowed_origins) that `wanted` would
// widen: emptied (an empty list allows everything), or with an entry not
// `within` the current ones. An empty current list has nothing to widen.
Status CheckListNotWidened(const std::vector<std::string>& own,
                           const std::optional<std::vector<std::string>>& wanted,
                           const std::string& field,
                           bool (*within)(const std::vector<std::string>&, std::string_view)) {
  if (!wanted || own.empty()) return Ok{};
  if (wanted->empty()) return Loosens("it cannot lift its " + field, field);
  for (size_t i = 0; i < wanted->size(); ++i) {
    if (!within(own, (*wanted)[i])) {
      return Loosens("the entry is outside its " + field, field + "[" + std::to_string(i) + "]");
    }
  }
  return Ok{};
}

// A token acting on itself may only tighten its limits: it must not outlive,
// out-reach or out-spend what it was given.
Status CheckNotLoosened(const TokenState& self, const UpdateTokenCommand& cmd) {
  if (cmd.expires_at_ms && self.expires_at_ms &&
      (!*cmd.expires_at_ms || **cmd.expires_at_ms > *self.expires_at_ms)) {
    return Loosens("it cannot remove or postpone its expiry", "expires_at");
  }
  if (auto s = CheckListNotWidened(self.allowed_ips, cmd.allowed_ips, "allowed_ips", CidrWithin);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckListNotWidened(self.allowed_origins, cmd.allowed_origins, "allowed_origins",
                                   OriginPatternWithin);
      !s.ok()) {
    return s;
  }
  if (cmd.rate_limit && self.rate_limit) {
    const std::optional<RateLimit>& wanted = *cmd.rate_limit;
    if (!wanted || wanted->limit > self.rate_limit->limit ||
        wanted->window_ms < self.rate_limit->window_ms) {
      return Loosens("it cannot remove or raise its rate limit", "rate_limit");
    }
  }
  if (cmd.refill && self.credits && LargerRefill(self.credits->refill, *cmd.refill)) {
    return Loosens("it cannot give itself a larger or more frequent refill", "refill");
  }
  if (cmd.permissions) {
    for (const auto& p : *cmd.permissions) {
      if (!Satisfies(self.permissions, p)) {
        return Loosens("its permissions do not cover " + p, "permissions");
      }
    }
  }
  return Ok{};
}

// A caller that expires gives nothing a longer life than its own.
Status CheckWithinCallerExpiry(const Caller& caller, const std::optional<int64_t>& expires_at_ms) {
  if (!caller.expires_at_ms) return Ok{};
  if (expires_at_ms && *expires_at_ms <= *caller.expires_at_ms) return Ok{};
  return MakeTypedError(ErrorCode::kForbidden, std::string(kProblemOutlivesCaller),
                        "the calling token expires at " + FormatRfc3339Ms(*caller.expires_at_ms) +
                            "; the token must expire no later (give expires_at or expires_in)",
                        "expires_at");
}

bool SamePermissionSet(std::vector<std::string> a, std::vector<std::string> b) {
  std::sort(a.begin(), a.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  return a == b;
}

Error ExpiryInPast() {
  return MakeError(ErrorCode::kInvalidArgument, "must be in the future", "expires_at");
}

Error Revoked() { return MakeError(ErrorCode::kConflict, "the token is revoked"); }

}  // namespace

bool IsAdmin(const Caller& caller) {
  return std::find(caller.permissions.begin(), caller.permissions.end(), kLedgerAdmin) !=
         caller.permissions.end();
}

Status Authorize(const Caller& caller, std::string_view needed) {
  if (Holds(caller, needed)) return Ok{};
  return MakeError(ErrorCode::kForbidden,
                   "the calling token lacks the permission " + std::string(needed));
}

bool CanSee(const Caller& caller, const TokenState& t) {
  return IsAdmin(caller) || t.owner == caller.owner;
}

Status CheckAuthorityOver(const Caller& caller, const TokenState& target) {
  for (const auto& p : target.permissions) {
    if (!IsLedgerPermission(p) || Holds(caller, p)) continue;
    return MakeTypedError(ErrorCode::kForbidden, std::string(kProblemInsufficientAuthority),
                          "the token holds " + p +
                              ", which the calling token does not: only a token holding every "
                              "ledger: permission of another may change, regenerate, revoke or "
                              "credit it",
                          "permissions");
  }
  return Ok{};
}

Status CheckBearerAddress(const TokenState& bearer, std::optional<std::string_view> remote) {
  if (bearer.allowed_ips.empty() || !remote || IpAllowed(bearer.allowed_ips, *remote)) return Ok{};
  return MakeTypedError(ErrorCode::kForbidden, std::string(kProblemAddressNotAllowed),
                        "the bearer token may not be used from this address (its allowed_ips)",
                        "Authorization");
}

Result<std::vector<NewEvent>> DecideCreate(const CreateTokenCommand& cmd, const Caller& caller,
                                           int64_t now_ms, std::string_view secret_digest,
                                           std::string_view hint, std::string_view prefix) {
  if (cmd.owner && *cmd.owner != caller.owner && !IsAdmin(caller)) {
    return MakeError(ErrorCode::kForbidden,
                     "only a ledger:admin token may create tokens for another owner", "owner");
  }
  const std::string& owner = cmd.owner ? *cmd.owner : caller.owner;
  if (owner.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the calling token has no owner; name one explicitly", "owner");
  }
  if (auto s = CheckGrants(caller, cmd.permissions, {}); !s.ok()) return s.error();
  // Parsing checked this against its own clock reading; time may have moved.
  if (ExpiredAt(cmd.expires_at_ms, now_ms)) return ExpiryInPast();
  if (auto s = CheckWithinCallerExpiry(caller, cmd.expires_at_ms); !s.ok()) return s.error();

  Json data = CreatedDataJson({
      .owner = owner,
      .name = cmd.name,
      .description = cmd.description,
      .permissions = cmd.permissions,
      .expires_at_ms = cmd.expires_at_ms,
      .credits_remaining =
          cmd.credits ? std::optional<int64_t>(cmd.credits->remaining) : std::nullopt,
      .refill = cmd.credits ? cmd.credits->refill : std::nullopt,
      .rate_limit = cmd.rate_limit,
      .allowed_origins = cmd.allowed_origins,
      .allowed_ips = cmd.allowed_ips,
      .meta = cmd.meta,
      .prefix = prefix,
      .hint = hint,
      .secret_digest = secret_digest,
  });
  std::vector<NewEvent> out;
  out.push_back({EventType::kCreated, std::move(data)});
  return out;
}

Result<std::vector<NewEvent>> DecideUpdate(const TokenState& state, const UpdateTokenCommand& cmd,
                                           const Caller& caller, int64_t now_ms,
                                           std::optional<Version> if_match) {
  if (!CanSee(caller, state)) return MakeError(ErrorCode::kNotFound, "no such token", "id");
  if (if_match && *if_match != state.version) {
    return MakeError(ErrorCode::kPreconditionFailed,
                     "the token is at version " + std::to_string(state.version.value()) + ", not " +
                         std::to_string(if_match->value()),
                     "If-Match");
  }
  if (state.revoked) return Revoked();
  if (auto s = CheckAuthorityOver(caller, state); !s.ok()) return s.error();
  if (state.id == caller.token_id) {
    if (auto s = CheckNotLoosened(state, cmd); !s.ok()) return s.error();
  }
  if (cmd.permissions) {
    if (auto s = CheckGrants(caller, *cmd.permissions, state.permissions); !s.ok()) {
      return s.error();
    }
  }
  if (cmd.expires_at_ms) {
    if (ExpiredAt(*cmd.expires_at_ms, now_ms)) return ExpiryInPast();
    if (auto s = CheckWithinCallerExpiry(caller, *cmd.expires_at_ms); !s.ok()) return s.error();
  }
  // A refill on a token with unlimited credits makes it limited, starting with
  // a full period (the fold's rule), so it is a change like any other.
  static const std::optional<Refill> kNoRefill;
  const std::optional<Refill>& current_refill = state.credits ? state.credits->refill : kNoRefill;

  Json changed = Json::object();
  if (cmd.name && *cmd.name != state.name) changed["name"] = *cmd.name;
  if (cmd.description && *cmd.description != state.description) {
    changed["description"] = *cmd.description;
  }
  if (cmd.expires_at_ms && *cmd.expires_at_ms != state.expires_at_ms) {
    changed["expires_at"] = TimeJson(*cmd.expires_at_ms);
  }
  if (cmd.refill && *cmd.refill != current_refill) changed["refill"] = RefillJson(*cmd.refill);
  if (cmd.rate_limit && *cmd.rate_limit != state.rate_limit) {
    changed["rate_limit"] = RateLimitJson(*cmd.rate_limit);
  }
  if (cmd.allowed_origins && *cmd.allowed_origins != state.allowed_origins) {
    changed["allowed_origins"] = *cmd.allowed_origins;
  }
  if (cmd.allowed_ips && *cmd.allowed_ips != state.allowed_ips) {
    changed["allowed_ips"] = *cmd.allowed_ips;
  }
  if (cmd.meta && *cmd.meta != Meta(state)) changed["meta"] = *cmd.meta;

  std::vector<NewEvent> out;
  if (!changed.empty()) out.push_back({EventType::kUpdated, std::move(changed)});
  if (cmd.permissions && !SamePermissionSet(*cmd.permissions, state.permissions)) {
    out.push_back({EventType::kPermissionsChanged,
                   Json{{"permissions", *cmd.permissions}, {"previous", state.permissions}}});
  }
  return out;
}

Result<std::vector<NewEvent>> DecideRegenerate(const TokenState& state,
                                               const RegenerateCommand& cmd, const Caller& caller,
                                               int64_t now_ms, std::string_view new_digest,
                                               std::string_view new_hint) {
  if (state.revoked) return Revoked();
  // The new secret carries every permission of the token: handing it to a
  // caller that lacks one of its ledger: permissions would grant it.
  if (auto s = CheckAuthorityOver(caller, state); !s.ok()) return s.error();
  std::vector<NewEvent> out;
  out.push_back({EventType::kRegenerated,
                 Json{{"secret_digest", new_digest},
                      {"hint", new_hint},
                      {"previous_valid_until",
                       FormatRfc3339Ms(PreviousValidUntil(now_ms, cmd.grace_period_s))}}});
  return out;
}

Result<std::vector<NewEvent>> DecideRevoke(const TokenState& state, const RevokeCommand& cmd,
                                           const Caller& caller) {
  std::vector<NewEvent> out;
  if (state.revoked) return out;
  if (auto s = CheckAuthorityOver(caller, state); !s.ok()) return s.error();
  out.push_back({EventType::kRevoked, Json{{"reason", cmd.reason}}});
  return out;
}

Result<std::vector<NewEvent>> DecideCredits(const TokenState& state,
                                            const AdjustCreditsCommand& cmd, const Caller& caller,
                                            int64_t now_ms) {
  if (state.revoked) return Revoked();
  if (auto s = CheckAuthorityOver(caller, state); !s.ok()) return s.error();
  const bool add = cmd.op == AdjustCreditsCommand::Op::kAdd;
  if (add && !state.credits) {
    return MakeError(ErrorCode::kConflict,
                     "the token has unlimited credits; use set to give it a balance", "add");
  }
  std::optional<int64_t> current;  // the balance rolled to now; nullopt = unlimited
  if (state.credits) current = BalanceAt(*state.credits, now_ms);
  // Every balance is kept within [0, kMaxCredits] (set and refill amounts are
  // parsed within it, and this clamp keeps adds there), and |amount| <=
  // kMaxCredits, so the sum cannot overflow.
  const int64_t balance =
      add ? std::clamp<int64_t>(*current + cmd.amount, 0, kMaxCredits) : cmd.amount;
  if (state.id == caller.token_id && current && balance > *current) {
    return Loosens("it cannot raise its own balance", add ? "add" : "set");
  }
  std::vector<NewEvent> out;
  out.push_back(
      {EventType::kCreditsAdjusted, Json{{add ? "add" : "set", cmd.amount}, {"balance", balance}}});
  return out;
}

VerifyDecision DecideVerify(const TokenState* t, bool matched_previous_secret,
                            const VerifyCommand& cmd, int64_t now_ms) {
  VerifyDecision d;
  if (t == nullptr || (matched_previous_secret && !PreviousSecretValid(*t, now_ms))) {
    d.code = kCodeNotFound;
    d.response = R"({"code":"NOT_FOUND","valid":false})";
    return d;
  }

  WindowCount window;  // the uses in the rate-limit window ending now
  if (t->rate_limit) window = CountInWindow(t->recent_uses, *t->rate_limit, now_ms);
  // The balance as it stands now (a new period may have refilled it).
  std::optional<int64_t> balance;
  if (t->credits) balance = BalanceAt(*t->credits, now_ms);

  std::string_view code = kCodeValid;
  const TokenStatus status = StatusAt(*t, now_ms);
  if (status == TokenStatus::kRevoked) {
    code = kCodeRevoked;
  } else if (status == TokenStatus::kExpired) {
    code = kCodeExpired;
  } else if (!t->allowed_origins.empty() &&
             (!cmd.origin || !OriginAllowed(t->allowed_origins, *cmd.origin))) {
    code = kCodeOriginNotAllowed;
  } else if (!t->allowed_ips.empty() && (!cmd.ip || !IpAllowed(t->allowed_ips, *cmd.ip))) {
    code = kCodeIpNotAllowed;
  } else if (cmd.permissions && !Evaluate(*cmd.permissions, t->permissions)) {
    code = kCodeForbidden;
  } else if (t->rate_limit && window.uses >= t->rate_limit->limit) {
    code = kCodeRateLimited;
  } else if (balance && cmd.cost > *balance) {
    code = kCodeUsageExceeded;
  }
  const bool valid = code == kCodeValid;
  d.code = code;

  if (valid) {
    d.event = NewEvent{EventType::kUsed, UseEventData(cmd, "permissions", cmd.permissions_asked)};
    if (balance) *balance -= cmd.cost;
    if (t->rate_limit) {
      if (window.uses == 0) window.oldest = now_ms;
      ++window.uses;
    }
  } else {
    d.event = NewEvent{EventType::kUseDenied, UseEventData(cmd, "code", code)};
  }

  std::optional<RateLimitAnswer> rate_limit;
  if (t->rate_limit) {
    rate_limit = RateLimitAnswer{t->rate_limit->limit,
                                 std::max<int64_t>(0, t->rate_limit->limit - window.uses),
                                 WindowResetMs(window, *t->rate_limit, now_ms)};
  }
  AppendVerifyResponse(d.response, *t, code, balance, rate_limit);
  return d;
}

}  // namespace tl
