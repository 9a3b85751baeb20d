#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "events/event.h"

namespace tl {

// The two fields the fold reads of token.used / token.use_denied data.
struct UseData {
  int64_t cost = 0;                   // "cost" when it is an integer, else 0
  std::string_view code = "UNKNOWN";  // "code" when it is a string (a view into the data)
};

// Read from parsed data: what Projection::Apply reads.
UseData UseDataOf(const Json& data);

// The same read straight from the data as the log stores it, without building
// a JSON object; nullopt when the bytes are not in the compact form this
// reader knows (then parse them and use UseDataOf: the result is the same).
std::optional<UseData> ReadCompactUseData(std::string_view data);

}  // namespace tl
