#include "services/domain/commands.h"

#include <algorithm>
#include <initializer_list>
#include <unordered_set>

#include "events/time_format.h"
#include "projections/token_rules.h"
#include "services/domain/net_match.h"
#include "services/domain/secret.h"

namespace tl {
namespace {

Error Invalid(std::string message, std::string field) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message), std::move(field));
}

std::string Path(std::string_view parent, std::string_view key) {
  return std::string(parent) + "." + std::string(key);
}
std::string Index(std::string_view parent, size_t i) {
  return std::string(parent) + "[" + std::to_string(i) + "]";
}

// The body as an object; a null body counts as {} when `null_ok`.
const Json& EmptyObject() {
  static const Json kEmpty = Json::object();
  return kEmpty;
}
Result<const Json*> BodyObject(const Json& body, bool null_ok) {
  if (body.is_object()) return &body;
  if (null_ok && body.is_null()) return &EmptyObject();
  return Invalid("request body must be a JSON object", "");
}

// A key that is not one of the object's fields. Named only when it is short
// and plain (IsSafeToEcho): a client may paste a secret as a key.
Error UnknownKey(std::string_view parent, std::string_view key) {
  if (!IsSafeToEcho(key)) {
    return Invalid("has an unknown field (its name is not repeated: longer than " +
                       std::to_string(kMaxEchoChars) + " characters or not of A-Z a-z 0-9 . _ -)",
                   parent.empty() ? "body" : std::string(parent));
  }
  return Invalid("unknown field", parent.empty() ? std::string(key) : Path(parent, key));
}

// First key of `obj` not in `known`, as an error.
std::optional<Error> UnknownField(const Json& obj, std::initializer_list<std::string_view> known,
                                  std::string_view parent = {}) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      return UnknownKey(parent, it.key());
    }
  }
  return std::nullopt;
}

const Json* Find(const Json& obj, std::string_view key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

// Code points in valid UTF-8; nullopt when `s` is not valid UTF-8.
std::optional<size_t> Utf8Length(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    if (len == 0 || i + len > s.size()) return std::nullopt;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return std::nullopt;
    }
    i += len;
    ++n;
  }
  return n;
}

bool HasControlChar(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

struct TextRule {
  size_t min = 0;
  size_t max = 0;
  bool single_line = false;  // no control characters at all
};

Result<std::string> GetText(const Json& j, const std::string& field, TextRule rule) {
  if (!j.is_string()) return Invalid("must be a string", field);
  const auto& s = j.get_ref<const std::string&>();
  const auto len = Utf8Length(s);
  if (!len) return Invalid("must be valid UTF-8", field);
  if (*len < rule.min || *len > rule.max) {
    return Invalid("must be " + std::to_string(rule.min) + " to " + std::to_string(rule.max) +
                       " characters long",
                   field);
  }
  if (rule.single_line && HasControlChar(s)) {
    return Invalid("must not contain control characters", field);
  }
  return s;
}

Error OutOfRange(const std::string& field, int64_t min, int64_t max) {
  return Invalid("must be between " + std::to_string(min) + " and " + std::to_string(max), field);
}

Result<int64_t> GetInt(const Json& j, const std::string& field, int64_t min, int64_t max) {
  if (!j.is_number_integer()) return Invalid("must be an integer", field);
  if (j.is_number_unsigned()) {
    const auto v = j.get<uint64_t>();
    if (v > static_cast<uint64_t>(max) || (min > 0 && v < static_cast<uint64_t>(min))) {
      return OutOfRange(field, min, max);
    }
    return static_cast<int64_t>(v);
  }
  const auto v = j.get<int64_t>();
  if (v < min || v > max) return OutOfRange(field, min, max);
  return v;
}

// The verify ip's error, whether the value is not a string or not an address.
constexpr const char* kNotAnIp = "must be an IPv4 or IPv6 address";

// --- field parsers shared by create and update ----------------------------------

constexpr TextRule kNameRule{1, 200, true};
constexpr TextRule kDescriptionRule{0, 2000, false};
constexpr TextRule kOwnerRule{1, 200, true};

Result<std::vector<std::string>> GetPermissionList(const Json& j) {
  const std::string field = "permissions";
  if (!j.is_array()) return Invalid("must be a list of permissions", field);
  if (j.size() > kMaxListEntries) {
    return Invalid("at most " + std::to_string(kMaxListEntries) + " permissions", field);
  }
  std::vector<std::string> out;
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_string()) return Invalid("must be a string", Index(field, i));
    const auto& p = j[i].get_ref<const std::string&>();
    if (!IsValidPermission(p)) {
      return Invalid(
          "not a permission: resource:action, characters A-Z a-z 0-9 _ . / * -, at most " +
              std::to_string(kMaxPermissionLength) + " bytes",
          Index(field, i));
    }
    if (!IsValidGrant(p)) {
      return Invalid("at most " + std::to_string(kMaxWildcards) + " '*' in one permission",
                     Index(field, i));
    }
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  }
  return out;
}

Result<std::vector<std::string>> GetPreset(const Json& j) {
  if (!j.is_string()) return Invalid("must be a string", "preset");
  auto p = PresetPermissions(j.get_ref<const std::string&>());
  if (!p) return Invalid("unknown preset; use \"read-only\" or \"full-access\"", "preset");
  return *p;
}

// permissions XOR preset. nullopt when neither is given.
Result<std::optional<std::vector<std::string>>> GetPermissions(const Json& obj) {
  const Json* perms = Find(obj, "permissions");
  const Json* preset = Find(obj, "preset");
  if (perms && preset) return Invalid("give either preset or permissions, not both", "preset");
  if (preset) {
    auto p = GetPreset(*preset);
    if (!p.ok()) return p.error();
    return std::optional(std::move(p).value());
  }
  if (perms) {
    auto p = GetPermissionList(*perms);
    if (!p.ok()) return p.error();
    return std::optional(std::move(p).value());
  }
  return std::optional<std::vector<std::string>>();
}

Result<int64_t> CheckExpiry(int64_t at_ms, int64_t now_ms, const std::string& field) {
  if (ExpiredAt(at_ms, now_ms)) return Invalid("must be in the future", field);
  if (at_ms > kMaxTimeMs) return Invalid("must be before the year 10000", field);
  return at_ms;
}

// expires_in XOR expires_at. Outer nullopt: neither given; inner nullopt: null
// given (never expires).
Result<std::optional<std::optional<int64_t>>> GetExpiry(const Json& obj, int64_t now_ms) {
  using Out = std::optional<std::optional<int64_t>>;
  const Json* in = Find(obj, "expires_in");
  const Json* at = Find(obj, "expires_at");
  if (in && at) {
    return Invalid("give either expires_in or expires_at, not both", "expires_at");
  }
  if (!in && !at) return Out();
  const Json& j = in ? *in : *at;
  const std::string field = in ? "expires_in" : "expires_at";
  if (j.is_null()) return Out(std::optional<int64_t>());
  if (!j.is_string()) {
    return Invalid(in ? "must be a duration like \"30d\", \"12h\" or \"15m\", or null"
                      : "must be an RFC 3339 time or null",
                   field);
  }
  const auto& s = j.get_ref<const std::string&>();
  int64_t at_ms = 0;
  if (in) {
    auto d = ParseExpiresIn(s);
    if (!d.ok()) return d.error();
    at_ms = now_ms + *d;  // both bounded far below int64 overflow
  } else {
    auto t = ParseRfc3339(s);
    if (!t) return Invalid("must be an RFC 3339 time, e.g. 2030-01-31T00:00:00Z", field);
    at_ms = *t;
  }
  auto checked = CheckExpiry(at_ms, now_ms, field);
  if (!checked.ok()) return checked.error();
  return Out(std::optional<int64_t>(at_ms));
}

Result<Refill> GetRefill(const Json& j, const std::string& field) {
  if (!j.is_object()) return Invalid("must be an object {amount, interval} or null", field);
  if (auto e = UnknownField(j, {"amount", "interval"}, field)) return *e;
  Refill r;
  const Json* amount = Find(j, "amount");
  if (!amount) return Invalid("is required", Path(field, "amount"));
  auto a = GetInt(*amount, Path(field, "amount"), 1, kMaxCredits);
  if (!a.ok()) return a.error();
  r.amount = *a;
  const Json* interval = Find(j, "interval");
  const std::string ifield = Path(field, "interval");
  if (!interval) return Invalid("is required", ifield);
  if (!interval->is_string()) return Invalid("must be \"day\" or \"month\"", ifield);
  const auto& iv = interval->get_ref<const std::string&>();
  if (iv == "day") {
    r.interval = RefillInterval::kDay;
  } else if (iv == "month") {
    r.interval = RefillInterval::kMonth;
  } else {
    return Invalid("must be \"day\" or \"month\"", ifield);
  }
  return r;
}

// nullopt = null (no refill).
Result<std::optional<Refill>> GetNullableRefill(const Json& j, const std::string& field) {
  if (j.is_null()) return std::optional<Refill>();
  auto r = GetRefill(j, field);
  if (!r.ok()) return r.error();
  return std::optional<Refill>(*r);
}

Result<std::optional<CreditsSpec>> GetCredits(const Json& j) {
  using Out = std::optional<CreditsSpec>;
  const std::string field = "credits";
  if (j.is_null()) return Out();
  CreditsSpec c;
  if (j.is_number()) {
    auto n = GetInt(j, field, 0, kMaxCredits);
    if (!n.ok()) return n.error();
    c.remaining = *n;
    return Out(c);
  }
  if (!j.is_object()) {
    return Invalid("must be an integer, an object {remaining, refill} or null", field);
  }
  if (auto e = UnknownField(j, {"remaining", "refill"}, field)) return *e;
  if (const Json* refill = Find(j, "refill")) {
    auto r = GetNullableRefill(*refill, Path(field, "refill"));
    if (!r.ok()) return r.error();
    c.refill = *r;
  }
  if (const Json* remaining = Find(j, "remaining")) {
    auto n = GetInt(*remaining, Path(field, "remaining"), 0, kMaxCredits);
    if (!n.ok()) return n.error();
    c.remaining = *n;
  } else if (c.refill) {
    c.remaining = FullBalance(*c.refill);
  } else {
    return Invalid("is required unless a refill is given", Path(field, "remaining"));
  }
  return Out(c);
}

Result<std::optional<RateLimit>> GetRateLimit(const Json& j) {
  using Out = std::optional<RateLimit>;
  const std::string field = "rate_limit";
  if (j.is_null()) return Out();
  if (!j.is_object()) return Invalid("must be an object {limit, window_ms} or null", field);
  if (auto e = UnknownField(j, {"limit", "window_ms"}, field)) return *e;
  RateLimit rl;
  const Json* limit = Find(j, "limit");
  if (!limit) return Invalid("is required", Path(field, "limit"));
  auto l = GetInt(*limit, Path(field, "limit"), 1, kMaxRateLimit);
  if (!l.ok()) return l.error();
  rl.limit = *l;
  const Json* window = Find(j, "window_ms");
  if (!window) return Invalid("is required", Path(field, "window_ms"));
  auto w = GetInt(*window, Path(field, "window_ms"), 1, kMaxWindowMs);
  if (!w.ok()) return w.error();
  rl.window_ms = *w;
  return Out(rl);
}

// A list of strings (null = []), each checked and normalized by `check`,
// which returns nullopt to reject.
template <typename Check>
Result<std::vector<std::string>> GetStringList(const Json& j, const std::string& field,
                                               std::string_view what, Check check) {
  std::vector<std::string> out;
  if (j.is_null()) return out;
  if (!j.is_array()) return Invalid("must be a list of " + std::string(what), field);
  if (j.size() > kMaxListEntries) {
    return Invalid("at most " + std::to_string(kMaxListEntries) + " entries", field);
  }
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_string()) return Invalid("must be a string", Index(field, i));
    auto v = check(j[i].get_ref<const std::string&>());
    if (!v) return Invalid("not " + std::string(what), Index(field, i));
    if (std::find(out.begin(), out.end(), *v) == out.end()) out.push_back(std::move(*v));
  }
  return out;
}

Result<std::vector<std::string>> GetOrigins(const Json& j) {
  return GetStringList(j, "allowed_origins",
                       "a host or origin (e.g. app.example.com, "
                       "https://app.example.com, *.example.com)",
                       [](const std::string& s) -> std::optional<std::string> {
                         if (!IsValidOriginPattern(s)) return std::nullopt;
                         return s;
                       });
}

Result<std::vector<std::string>> GetIps(const Json& j) {
  return GetStringList(j, "allowed_ips", "an IP address or CIDR (e.g. 10.0.0.0/8, 2001:db8::/32)",
                       [](const std::string& s) -> std::optional<std::string> {
                         auto c = ParseCidr(s);
                         if (!c.ok()) return std::nullopt;
                         return ToString(*c);
                       });
}

Result<Json> GetMeta(const Json& j) {
  if (j.is_null()) return Json::object();
  if (!j.is_object()) return Invalid("must be an object", "meta");
  // Replace rather than throw on invalid UTF-8: the size check must not crash.
  if (j.dump(-1, ' ', false, Json::error_handler_t::replace).size() > kMaxMetaBytes) {
    return Invalid("must be at most " + std::to_string(kMaxMetaBytes) + " bytes as JSON", "meta");
  }
  return j;
}

}  // namespace

Result<int64_t> ParseExpiresIn(std::string_view text) {
  const std::string field = "expires_in";
  const std::string usage = "must be a duration like \"30d\", \"12h\" or \"15m\"";
  if (text.size() < 2 || text.size() > 7) return Invalid(usage, field);
  int64_t n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return Invalid(usage, field);
    n = n * 10 + (c - '0');
  }
  if (n < 1) return Invalid("must be at least 1", field);
  switch (text.back()) {
    case 'd':
      return n * 86'400'000;
    case 'h':
      return n * 3'600'000;
    case 'm':
      return n * 60'000;
    default:
      return Invalid(usage, field);
  }
}

// The restrictions create and update share, parsed the same way: create
// stores each value, update wraps it in an optional that means "given".
template <typename Command>
Status ParseSharedFields(const Json& obj, Command& cmd) {
  auto parse = [&obj](const char* key, auto get, auto& out) -> Status {
    if (const Json* j = Find(obj, key)) {
      auto v = get(*j);
      if (!v.ok()) return v.error();
      out = std::move(v).value();
    }
    return Ok{};
  };
  for (Status st :
       {parse("rate_limit", GetRateLimit, cmd.rate_limit),
        parse("allowed_origins", GetOrigins, cmd.allowed_origins),
        parse("allowed_ips", GetIps, cmd.allowed_ips), parse("meta", GetMeta, cmd.meta)}) {
    if (!st.ok()) return st;
  }
  return Ok{};
}

Result<CreateTokenCommand> ParseCreateToken(const Json& body, int64_t now_ms) {
  auto obj_or = BodyObject(body, false);
  if (!obj_or.ok()) return obj_or.error();
  const Json& obj = **obj_or;
  if (auto e = UnknownField(
          obj, {"name", "description", "owner", "preset", "permissions", "expires_in", "expires_at",
                "credits", "rate_limit", "allowed_origins", "allowed_ips", "prefix", "meta"})) {
    return *e;
  }
  CreateTokenCommand cmd;
  const Json* name = Find(obj, "name");
  if (!name) return Invalid("is required", "name");
  auto n = GetText(*name, "name", kNameRule);
  if (!n.ok()) return n.error();
  cmd.name = std::move(n).value();

  if (const Json* d = Find(obj, "description"); d && !d->is_null()) {
    auto v = GetText(*d, "description", kDescriptionRule);
    if (!v.ok()) return v.error();
    cmd.description = std::move(v).value();
  }
  if (const Json* o = Find(obj, "owner"); o && !o->is_null()) {
    auto v = GetText(*o, "owner", kOwnerRule);
    if (!v.ok()) return v.error();
    cmd.owner = std::move(v).value();
  }
  auto perms = GetPermissions(obj);
  if (!perms.ok()) return perms.error();
  if (*perms) cmd.permissions = std::move(**perms);

  auto expiry = GetExpiry(obj, now_ms);
  if (!expiry.ok()) return expiry.error();
  if (*expiry) cmd.expires_at_ms = **expiry;

  if (const Json* c = Find(obj, "credits")) {
    auto v = GetCredits(*c);
    if (!v.ok()) return v.error();
    cmd.credits = *v;
  }
  if (Status st = ParseSharedFields(obj, cmd); !st.ok()) return st.error();
  if (const Json* p = Find(obj, "prefix"); p && !p->is_null()) {
    if (!p->is_string() || !IsValidSecretPrefix(p->get_ref<const std::string&>())) {
      return Invalid("must be 1 to 8 characters a-z 0-9", "prefix");
    }
    cmd.prefix = p->get_ref<const std::string&>();
  }
  return cmd;
}

Result<UpdateTokenCommand> ParseUpdateToken(const Json& body, int64_t now_ms) {
  auto obj_or = BodyObject(body, false);
  if (!obj_or.ok()) return obj_or.error();
  const Json& obj = **obj_or;
  if (Find(obj, "credits")) {
    return Invalid(
        "credits cannot be changed by an update; use POST /tokens/{id}/credits with "
        "{\"set\": n} or {\"add\": n} (the refill rule is `refill` here)",
        "credits");
  }
  if (Find(obj, "owner")) return Invalid("the owner of a token cannot be changed", "owner");
  if (Find(obj, "prefix")) {
    return Invalid("the prefix is fixed at creation; create a new token instead", "prefix");
  }
  if (auto e = UnknownField(
          obj, {"name", "description", "preset", "permissions", "expires_in", "expires_at",
                "refill", "rate_limit", "allowed_origins", "allowed_ips", "meta"})) {
    return *e;
  }
  if (obj.empty()) return Invalid("an update must change at least one field", "");
  UpdateTokenCommand cmd;
  if (const Json* n = Find(obj, "name")) {
    auto v = GetText(*n, "name", kNameRule);
    if (!v.ok()) return v.error();
    cmd.name = std::move(v).value();
  }
  if (const Json* d = Find(obj, "description")) {
    if (d->is_null()) {
      cmd.description = std::string();
    } else {
      auto v = GetText(*d, "description", kDescriptionRule);
      if (!v.ok()) return v.error();
      cmd.description = std::move(v).value();
    }
  }
  auto perms = GetPermissions(obj);
  if (!perms.ok()) return perms.error();
  cmd.permissions = std::move(perms).value();

  auto expiry = GetExpiry(obj, now_ms);
  if (!expiry.ok()) return expiry.error();
  cmd.expires_at_ms = *expiry;

  if (const Json* r = Find(obj, "refill")) {
    auto v = GetNullableRefill(*r, "refill");
    if (!v.ok()) return v.error();
    cmd.refill = *v;
  }
  if (Status st = ParseSharedFields(obj, cmd); !st.ok()) return st.error();
  return cmd;
}

Result<RegenerateCommand> ParseRegenerate(const Json& body) {
  auto obj_or = BodyObject(body, true);
  if (!obj_or.ok()) return obj_or.error();
  const Json& obj = **obj_or;
  if (auto e = UnknownField(obj, {"grace_period_s"})) return *e;
  RegenerateCommand cmd;
  if (const Json* g = Find(obj, "grace_period_s"); g && !g->is_null()) {
    auto v = GetInt(*g, "grace_period_s", 0, kMaxGracePeriodS);
    if (!v.ok()) return v.error();
    cmd.grace_period_s = *v;
  }
  return cmd;
}

Result<RevokeCommand> ParseRevoke(const Json& body) {
  auto obj_or = BodyObject(body, true);
  if (!obj_or.ok()) return obj_or.error();
  const Json& obj = **obj_or;
  if (auto e = UnknownField(obj, {"reason"})) return *e;
  RevokeCommand cmd;
  if (const Json* r = Find(obj, "reason"); r && !r->is_null()) {
    auto v = GetText(*r, "reason", TextRule{0, 500, false});
    if (!v.ok()) return v.error();
    cmd.reason = std::move(v).value();
  }
  return cmd;
}

Result<AdjustCreditsCommand> ParseAdjustCredits(const Json& body) {
  auto obj_or = BodyObject(body, false);
  if (!obj_or.ok()) return obj_or.error();
  const Json& obj = **obj_or;
  if (auto e = UnknownField(obj, {"set", "add"})) return *e;
  const Json* set = Find(obj, "set");
  const Json* add = Find(obj, "add");
  if (set && add) return Invalid("give either set or add, not both", "add");
  if (!set && !add) return Invalid("give set (new balance) or add (signed change)", "set");
  AdjustCreditsCommand cmd;
  if (set) {
    auto v = GetInt(*set, "set", 0, kMaxCredits);
    if (!v.ok()) return v.error();
    cmd.op = AdjustCreditsCommand::Op::kSet;
    cmd.amount = *v;
  } else {
    auto v = GetInt(*add, "add", -kMaxCredits, kMaxCredits);
    if (!v.ok()) return v.error();
    cmd.op = AdjustCreditsCommand::Op::kAdd;
    cmd.amount = *v;
  }
  return cmd;
}

Status CheckVerifyToken(std::string_view token) {
  if (token.empty() || token.size() > kMaxVerifyTokenBytes) {
    return Invalid("must be 1 to " + std::to_string(kMaxVerifyTokenBytes) + " bytes", "token");
  }
  return Ok{};
}

Status CheckVerifyCost(int64_t cost) {
  if (cost < 0 || cost > kMaxCredits) return OutOfRange("cost", 0, kMaxCredits);
  return Ok{};
}

Status CheckVerifyOrigin(std::string_view origin) {
  if (origin.size() > kMaxVerifyOriginBytes) {
    return Invalid("must be at most " + std::to_string(kMaxVerifyOriginBytes) + " bytes", "origin");
  }
  return Ok{};
}

Status CheckVerifyIp(std::string_view ip) {
  if (!IsIpAddress(ip)) return Invalid(kNotAnIp, "ip");
  return Ok{};
}

Result<VerifyCommand> ParseVerify(const Json& body) {
  auto obj_or = BodyObject(body, false);
  if (!obj_or.ok()) return obj_or.error();
  const Json& obj = **obj_or;
  VerifyCommand cmd;
  // One pass over the keys: this runs on every verification.
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& key = it.key();
    const Json& v = it.value();
    if (key == "token") {
      if (!v.is_string()) return Invalid("must be a string", "token");
      const auto& s = v.get_ref<const std::string&>();
      if (Status st = CheckVerifyToken(s); !st.ok()) return st.error();
      cmd.token = s;
    } else if (key == "permissions") {
      if (v.is_null()) continue;
      auto q = PermissionQueryFromJson(v, "permissions");
      if (!q.ok()) return q.error();
      cmd.permissions = std::move(q).value();
      cmd.permissions_asked = v;
    } else if (key == "cost") {
      if (v.is_null()) continue;
      if (!v.is_number_integer()) return Invalid("must be an integer", "cost");
      // An unsigned value past int64 is past kMaxCredits too: clamped, it
      // gets CheckVerifyCost's error.
      const int64_t c =
          v.is_number_unsigned() && v.get<uint64_t>() > INT64_MAX ? INT64_MAX : v.get<int64_t>();
      if (Status st = CheckVerifyCost(c); !st.ok()) return st.error();
      cmd.cost = c;
    } else if (key == "origin") {
      if (v.is_null()) continue;
      if (!v.is_string()) return Invalid("must be a string", "origin");
      const auto& s = v.get_ref<const std::string&>();
      if (Status st = CheckVerifyOrigin(s); !st.ok()) return st.error();
      cmd.origin = s;
    } else if (key == "ip") {
      if (v.is_null()) continue;
      if (!v.is_string()) return Invalid(kNotAnIp, "ip");
      const auto& s = v.get_ref<const std::string&>();
      if (Status st = CheckVerifyIp(s); !st.ok()) return st.error();
      cmd.ip = s;
    } else {
      return UnknownKey({}, key);
    }
  }
  if (cmd.token.empty()) return Invalid("is required", "token");
  return cmd;
}

}  // namespace tl
