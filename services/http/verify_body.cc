#include "services/http/verify_body.h"

#include <string>
#include <utility>

#include "projections/compact_json_reader.h"
#include "services/domain/permissions.h"

namespace tl {
namespace {

// The known keys, as bits of the set of those seen.
enum Field : unsigned {
  kUnknown = 0,
  kToken = 1,
  kPermissions = 2,
  kCost = 4,
  kOrigin = 8,
  kIp = 16
};

Field FieldNamed(std::string_view key) {
  if (key == "token") return kToken;
  if (key == "permissions") return kPermissions;
  if (key == "cost") return kCost;
  if (key == "origin") return kOrigin;
  if (key == "ip") return kIp;
  return kUnknown;
}

// `permissions` as the document the general path would hold, so that
// PermissionQueryFromJson applies its own rules and permissions_asked records
// the same value: a string, or a list of strings (anything else in a list is
// left to the general path).
bool ReadPermissions(CompactJsonReader& in, Json& asked) {
  std::string s;
  if (in.Peek() == '"') {
    if (!in.String(s)) return false;
    asked = std::move(s);
    return true;
  }
  if (!in.Eat('[')) return false;
  asked = Json::array();
  in.SkipWhitespace();
  if (in.Eat(']')) return true;
  do {
    in.SkipWhitespace();
    if (!in.String(s)) return false;
    asked.push_back(std::move(s));
    in.SkipWhitespace();
  } while (in.Eat(','));
  return in.Eat(']');
}

// One value into `cmd`, checked by ParseVerify's rules. A false discards
// `cmd`, so values go straight into it before they are checked.
bool ReadValue(CompactJsonReader& in, Field field, VerifyCommand& cmd) {
  // As in ParseVerify, null means absent for every field but the token.
  if (field != kToken && in.Null()) return true;
  switch (field) {
    case kToken:
      return in.String(cmd.token) && CheckVerifyToken(cmd.token).ok();
    case kPermissions: {
      Json asked;
      if (!ReadPermissions(in, asked)) return false;
      auto query = PermissionQueryFromJson(asked);
      if (!query.ok()) return false;
      cmd.permissions = std::move(query).value();
      cmd.permissions_asked = std::move(asked);
      return true;
    }
    case kCost:
      // Int refuses fractions, exponents and numbers past int64 (all refused
      // there too), and -0, which ParseVerify would take as 0.
      return in.Int(cmd.cost) && CheckVerifyCost(cmd.cost).ok();
    case kOrigin:
      return in.String(cmd.origin.emplace()) && CheckVerifyOrigin(*cmd.origin).ok();
    case kIp:
      return in.String(cmd.ip.emplace()) && CheckVerifyIp(*cmd.ip).ok();
    case kUnknown:
      break;
  }
  return false;
}

}  // namespace

std::optional<VerifyCommand> ReadVerifyBody(std::string_view text) {
  CompactJsonReader in(text);
  VerifyCommand cmd;
  unsigned seen = 0;
  std::string key;
  in.SkipWhitespace();
  if (!in.Eat('{')) return std::nullopt;
  do {
    in.SkipWhitespace();
    if (!in.String(key)) return std::nullopt;  // "{}" too: it has no token
    const Field field = FieldNamed(key);
    // An unknown key is an error there; a repeated one too (ParseJsonBody).
    if (field == kUnknown || (seen & field) != 0) return std::nullopt;
    seen |= field;
    in.SkipWhitespace();
    if (!in.Eat(':')) return std::nullopt;
    in.SkipWhitespace();
    if (!ReadValue(in, field, cmd)) return std::nullopt;
    in.SkipWhitespace();
  } while (in.Eat(','));
  if (!in.Eat('}')) return std::nullopt;
  in.SkipWhitespace();
  if (!in.AtEnd() || (seen & kToken) == 0) return std::nullopt;
  return cmd;
}

}  // namespace tl
