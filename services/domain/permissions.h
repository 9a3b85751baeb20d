#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.h"
#include "events/result.h"

namespace tl {

// A permission is "resource:action": exactly one ':', both parts non-empty,
// characters [A-Za-z0-9_./*-] ('/' lets resources nest: "datasets/sales:read"),
// at most kMaxPermissionLength bytes (bounds matching cost on the hot path).
inline constexpr size_t kMaxPermissionLength = 256;
bool IsValidPermission(std::string_view p);

// What one verification may cost is bounded where its inputs are accepted: a
// permission a token holds has at most kMaxWildcards '*' (checked when it is
// granted), a token holds at most 100 (commands.h), and a verification asks
// for at most kMaxQueryPermissions (below). Matching one pair is linear in
// their lengths (Grants).
inline constexpr size_t kMaxWildcards = 4;
// A permission that may be granted: valid, with at most kMaxWildcards '*'.
bool IsValidGrant(std::string_view p);

// The resource that guards the ledger itself ("ledger:read", "ledger:admin"...).
inline constexpr std::string_view kLedgerResource = "ledger";
// True when `p`'s resource is exactly "ledger".
bool IsLedgerPermission(std::string_view p);

// Whether holding `granted` allows `required`. O(|granted| + |required|). A '*' in `granted`
// matches any run of characters (including none) within the resource or within the action, never
// across the ':'. A ledger permission is granted only by the identical string: no wildcard ("*:*"
// included) ever grants control of the ledger. False when either argument is not a valid
// permission.
bool Grants(std::string_view granted, std::string_view required);
// True when any of `granted` grants `required`.
bool Satisfies(const std::vector<std::string>& granted, std::string_view required);

// A boolean combination of required permissions, e.g.
// "datasets/sales:read AND (reports:read OR reports:write)".
struct PermissionQuery {
  enum class Kind { kPermission, kAnd, kOr };
  Kind kind = Kind::kAnd;
  std::string permission;                 // kPermission only
  std::vector<PermissionQuery> children;  // kAnd / kOr; an empty kAnd is "nothing required"
  bool operator==(const PermissionQuery&) const = default;
};

// Limits that keep a hostile query cheap to parse and evaluate.
inline constexpr size_t kMaxQueryLength = 4096;
inline constexpr int kMaxQueryDepth = 16;
// Permissions named in one query or list (every name counts, repeats too).
inline constexpr size_t kMaxQueryPermissions = 32;

// Parses the query grammar (AND binds tighter than OR; operators are upper
// case; permissions and parentheses may be separated by any whitespace):
//   or  := and ("OR" and)*      and := term ("AND" term)*
//   term := permission | "(" or ")"
// Errors are kInvalidArgument with field "permissions" and say what was
// expected where.
Result<PermissionQuery> ParsePermissionQuery(std::string_view text);
// From a JSON request value: a query string, or a list of permission strings
// that are all required (an empty list requires nothing). Errors name `field`.
Result<PermissionQuery> PermissionQueryFromJson(const Json& j,
                                                std::string_view field = "permissions");
// Whether `granted` satisfies `q`.
bool Evaluate(const PermissionQuery& q, const std::vector<std::string>& granted);
// The query in canonical text form (fully parenthesised below the top level).
std::string ToString(const PermissionQuery& q);

// Named permission sets accepted instead of a list: "read-only" = ["*:read"],
// "full-access" = ["*:*"]. nullopt for an unknown name.
std::optional<std::vector<std::string>> PresetPermissions(std::string_view name);

}  // namespace tl
