#pragma once

#include <string>
#include <vector>

#include "projections/token_state.h"
#include "projections/usage_series.h"

namespace tl {

// The state digest's serialization written straight into a buffer: the same
// bytes as nlohmann's dump() of the documents Projection::ToJson builds
// (compact, keys in std::map order, integers in decimal, strings escaped as
// dump() escapes them), without building those documents. The digest of a
// million tokens spent ~19 s building and dumping them.
//
// Each function appends to `out`. Like dump(), they throw Json::type_error
// for a string that is not valid UTF-8 (see events/json_text.h).

// ToJson's "state" object of a token.
void AppendTokenStateJson(std::string& out, const TokenState& t);

// ToJson's "usage" object of a series whose denial codes are ids in `codes`.
void AppendUsageSeriesJson(std::string& out, const UsageSeries& s,
                           const std::vector<std::string>& codes);

}  // namespace tl
