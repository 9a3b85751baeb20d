// json_body: ParseJsonBody (services/http/http_common.h) against nlohmann's own
// parse of the same bytes, and the command decoders (services/domain/commands.h) on
// whatever it accepts. The two parsers agree on accept/refuse except for the
// intended differences (README.md): an empty body is null for us, a key
// repeated in one object, a raw NUL and nesting deeper than kMaxJsonDepth
// are refused by us. What a decoder
// accepts, encoded back into a body, decodes to an equal command.

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "events/json_text.h"
#include "events/time_format.h"
#include "services/domain/commands.h"
#include "services/http/http_common.h"
#include "services/domain/permissions.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using tl::Json;

constexpr int64_t kNowMs = 1'780'000'000'000;  // 2026-05-28

// Whether some object in the document repeats a key, and how deep it nests:
// a SAX walk of our own, apart from ParseJsonBody's parse callback and its
// depth scan.
class DuplicateKeyFinder : public nlohmann::json_sax<Json> {
 public:
  bool repeated = false;
  size_t max_depth = 0;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    open_.emplace_back();
    Enter();
    return true;
  }
  bool key(string_t& k) override {
    if (!open_.back().insert(k).second) repeated = true;
    return true;
  }
  bool end_object() override {
    open_.pop_back();
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    Enter();
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  void Enter() { max_depth = std::max(max_depth, ++depth_); }
  std::vector<std::set<std::string>> open_;
  size_t depth_ = 0;
};

const char* IntervalName(tl::RefillInterval i) {
  return i == tl::RefillInterval::kDay ? "day" : "month";
}

Json RefillJson(const std::optional<tl::Refill>& r) {
  if (!r) return nullptr;
  return {{"amount", r->amount}, {"interval", IntervalName(r->interval)}};
}

Json RateLimitJson(const std::optional<tl::RateLimit>& r) {
  if (!r) return nullptr;
  return {{"limit", r->limit}, {"window_ms", r->window_ms}};
}

void CheckCreate(const Json& body) {
  const auto cmd = tl::ParseCreateToken(body, kNowMs);
  if (!cmd.ok()) return;
  const tl::CreateTokenCommand& c = *cmd;
  Json again = {{"name", c.name},
                {"description", c.description},
                {"permissions", c.permissions},
                {"rate_limit", RateLimitJson(c.rate_limit)},
                {"allowed_origins", c.allowed_origins},
                {"allowed_ips", c.allowed_ips},
                {"prefix", c.prefix},
                {"meta", c.meta}};
  if (c.owner) again["owner"] = *c.owner;
  if (c.expires_at_ms) again["expires_at"] = tl::FormatRfc3339Ms(*c.expires_at_ms);
  if (c.credits) {
    again["credits"] = {{"remaining", c.credits->remaining},
                        {"refill", RefillJson(c.credits->refill)}};
  }
  const auto re = tl::ParseCreateToken(again, kNowMs);
  FUZZ_CHECK(re.ok(), "create re-encoded is refused (%s: %s): %s", re.error().field.c_str(),
             re.error().message.c_str(), again.dump().c_str());
  FUZZ_CHECK(re->name == c.name && re->description == c.description && re->owner == c.owner &&
                 re->permissions == c.permissions && re->expires_at_ms == c.expires_at_ms &&
                 re->credits == c.credits && re->rate_limit == c.rate_limit &&
                 re->allowed_origins == c.allowed_origins && re->allowed_ips == c.allowed_ips &&
                 re->prefix == c.prefix && re->meta == c.meta,
             "create re-encoded decodes differently: %s", again.dump().c_str());
}

void CheckUpdate(const Json& body) {
  const auto cmd = tl::ParseUpdateToken(body, kNowMs);
  if (!cmd.ok()) return;
  const tl::UpdateTokenCommand& c = *cmd;
  Json again = Json::object();
  if (c.name) again["name"] = *c.name;
  if (c.description) again["description"] = *c.description;
  if (c.permissions) again["permissions"] = *c.permissions;
  if (c.expires_at_ms) {
    again["expires_at"] = *c.expires_at_ms ? Json(tl::FormatRfc3339Ms(**c.expires_at_ms)) : Json();
  }
  if (c.refill) again["refill"] = RefillJson(*c.refill);
  if (c.rate_limit) again["rate_limit"] = RateLimitJson(*c.rate_limit);
  if (c.allowed_origins) again["allowed_origins"] = *c.allowed_origins;
  if (c.allowed_ips) again["allowed_ips"] = *c.allowed_ips;
  if (c.meta) again["meta"] = *c.meta;
  const auto re = tl::ParseUpdateToken(again, kNowMs);
  FUZZ_CHECK(re.ok(), "update re-encoded is refused (%s: %s): %s", re.error().field.c_str(),
             re.error().message.c_str(), again.dump().c_str());
  FUZZ_CHECK(re->name == c.name && re->description == c.description &&
                 re->permissions == c.permissions && re->expires_at_ms == c.expires_at_ms &&
                 re->refill == c.refill && re->rate_limit == c.rate_limit &&
                 re->allowed_origins == c.allowed_origins && re->allowed_ips == c.allowed_ips &&
                 re->meta == c.meta,
             "update re-encoded decodes differently: %s", again.dump().c_str());
}

void CheckVerify(const Json& body) {
  const auto cmd = tl::ParseVerify(body);
  if (!cmd.ok()) return;
  Json again = {{"token", cmd->token}, {"cost", cmd->cost}};
  if (!cmd->permissions_asked.is_null()) again["permissions"] = cmd->permissions_asked;
  if (cmd->origin) again["origin"] = *cmd->origin;
  if (cmd->ip) again["ip"] = *cmd->ip;
  const auto re = tl::ParseVerify(again);
  FUZZ_CHECK(re.ok() && re->token == cmd->token && re->cost == cmd->cost &&
                 re->permissions == cmd->permissions && re->origin == cmd->origin &&
                 re->ip == cmd->ip,
             "verify re-encoded decodes differently: %s", again.dump().c_str());
  if (cmd->permissions) {
    // The canonical text of a query is a query with the same canonical text.
    const std::string text = tl::ToString(*cmd->permissions);
    const auto q = tl::ParsePermissionQuery(text);
    FUZZ_CHECK(q.ok() && tl::ToString(*q) == text, "permission query text %s does not round trip",
               text.c_str());
  }
}

void CheckSmallCommands(const Json& body) {
  if (const auto cmd = tl::ParseRegenerate(body); cmd.ok()) {
    const auto re = tl::ParseRegenerate(Json{{"grace_period_s", cmd->grace_period_s}});
    FUZZ_CHECK(re.ok() && re->grace_period_s == cmd->grace_period_s, "regenerate round trip");
  }
  if (const auto cmd = tl::ParseRevoke(body); cmd.ok()) {
    const auto re = tl::ParseRevoke(Json{{"reason", cmd->reason}});
    FUZZ_CHECK(re.ok() && re->reason == cmd->reason, "revoke round trip");
  }
  if (const auto cmd = tl::ParseAdjustCredits(body); cmd.ok()) {
    const char* op = cmd->op == tl::AdjustCreditsCommand::Op::kSet ? "set" : "add";
    const auto re = tl::ParseAdjustCredits(Json{{op, cmd->amount}});
    FUZZ_CHECK(re.ok() && re->op == cmd->op && re->amount == cmd->amount, "credits round trip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const tl::Result<Json> ours = tl::ParseJsonBody(text);

  const Json ref = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  const bool ref_ok = !ref.is_discarded();
  bool repeated = false;
  size_t depth = 0;
  if (ref_ok) {
    DuplicateKeyFinder finder;
    Json::sax_parse(text.begin(), text.end(), &finder);
    repeated = finder.repeated;
    depth = finder.max_depth;
  }
  const bool has_nul = text.find('\0') != std::string_view::npos;
  const bool too_deep = depth > tl::kMaxJsonDepth;
  // The intended differences: empty = null; NUL, repeated keys and nesting
  // beyond the bound refused.
  const bool want_ok = text.empty() || (ref_ok && !repeated && !has_nul && !too_deep);
  FUZZ_CHECK(
      ours.ok() == want_ok, "ParseJsonBody %s, nlohmann %s (repeated key %d, NUL %d, depth %zu)",
      ours.ok() ? "accepts" : "refuses", ref_ok ? "accepts" : "refuses", repeated, has_nul, depth);
  if (!ours.ok()) {
    FUZZ_CHECK(ours.error().code == tl::ErrorCode::kInvalidArgument, "error code");
    return 0;
  }
  if (!text.empty()) FUZZ_CHECK(*ours == ref, "documents differ");

  const Json& body = *ours;
  CheckCreate(body);
  CheckUpdate(body);
  CheckVerify(body);
  CheckSmallCommands(body);
  if (body.is_string()) (void)tl::ParseExpiresIn(body.get_ref<const std::string&>());
  return 0;
}
