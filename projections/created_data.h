#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.h"
#include "projections/token_state.h"

namespace tl {

// The data of token.created: the one writer (the deciders call it) and both
// readers of the fold, side by side, so that a change to the format is made
// in one file:
//   {"allowed_ips":[..],"allowed_origins":[..],"credits":C,"description":s,
//    "expires_at":T,"hint":s,"meta":{..},"name":s,"owner":s,"permissions":[..],
//    "prefix":s,"rate_limit":R,"secret_digest":s}
// C null (unlimited) or {"refill":F,"remaining":n}, F null or
// {"amount":n,"interval":"day"|"month"}, R null or {"limit":n,"window_ms":n},
// T null or an RFC 3339 time in ms (schemas/events/token.created.json).

// What token.created records. Never a secret: its digest and display hint.
struct CreatedFields {
  const std::string& owner;
  const std::string& name;
  const std::string& description;
  const std::vector<std::string>& permissions;
  std::optional<int64_t> expires_at_ms;      // nullopt = never
  std::optional<int64_t> credits_remaining;  // nullopt = unlimited
  std::optional<Refill> refill;              // read only with credits
  std::optional<RateLimit> rate_limit;       // nullopt = unlimited
  const std::vector<std::string>& allowed_origins;
  const std::vector<std::string>& allowed_ips;
  const Json& meta;  // an object
  std::string_view prefix;
  std::string_view hint;
  std::string_view secret_digest;
};

// The writer: the event's data (the log stores its compact dump).
Json CreatedDataJson(const CreatedFields& f);

// The general reader: `out` becomes the token the parsed data `data` of the
// token.created event `e` creates. Lenient, so that a replay never stops
// halfway: a missing or mistyped field reads as its default.
void ReadCreated(const Json& data, const Event& e, TokenState& out);

// The fast reader: the same, straight from the bytes the log stores, without
// building a document. Returns false, with `out` in an unspecified state, for
// anything outside the compact form the writer's dump has (whitespace,
// unknown or repeated keys, unexpected types, non-empty meta, ...): the
// caller then parses `data` and uses ReadCreated, whose result this one
// always equals when it returns true (created_data_test).
bool ReadCompactCreated(std::string_view data, const Event& e, TokenState& out);

// ---- values token.updated's and token.regenerated's data share with token.created

Json RefillJson(const std::optional<Refill>& r);         // F above
Json RateLimitJson(const std::optional<RateLimit>& rl);  // R above
Json TimeJson(const std::optional<int64_t>& ms);         // T above
// The lenient readers of those values and of the fields around them: a
// missing or mistyped value reads as nullopt, the fallback, or an empty list
// (a list keeps its strings only).
std::optional<Refill> RefillOf(const Json& v);
std::optional<RateLimit> RateLimitOf(const Json& v);
std::optional<int64_t> TimeOf(const Json& v);  // also nullopt for an unparsable time
std::vector<std::string> StringListOf(const Json& v);
int64_t IntOr(const Json& obj, const char* key, int64_t fallback);
std::string StringOr(const Json& obj, const char* key, std::string fallback);

}  // namespace tl
