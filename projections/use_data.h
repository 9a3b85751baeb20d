#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/event.h"

namespace tl {

// The data of token.used and token.use_denied, ~98% of a log: the one writer
// (the verify decider calls it) and both readers of the fold, side by side:
//   {"code":s,"cost":n,"ip":s|null,"origin":s|null}         token.use_denied
//   {"cost":n,"ip":s|null,"origin":s|null,"permissions":P}  token.used
// P is the permissions the request asked for, as given (a list, a query
// string or null).

// The writer: {cost, origin, ip} and the one member `key` (the permissions
// asked, or the denial code) set to `value`.
Json UseDataJson(int64_t cost, const std::optional<std::string>& origin,
                 const std::optional<std::string>& ip, const char* key, Json value);

// The two fields the fold reads of token.used / token.use_denied data.
struct UseData {
  int64_t cost = 0;                   // "cost" when it is an integer, else 0
  std::string_view code = "UNKNOWN";  // "code" when it is a string (a view into the data)
};

// The general reader, of parsed data: what Projection::Apply reads.
UseData UseDataOf(const Json& data);

// The fast reader: the same read straight from the data as the log stores
// it, without building a JSON object; nullopt when the bytes are not in the
// compact form this reader knows (then parse them and use UseDataOf: the
// result is the same).
std::optional<UseData> ReadCompactUseData(std::string_view data);

}  // namespace tl
