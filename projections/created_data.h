#pragma once

#include <string_view>

#include "events/event.h"
#include "projections/token_state.h"

namespace tl {

// Builds the TokenState that ApplyToToken makes of the token.created event
// `e` (a default TokenState folded with `e`), reading its data straight from
// the bytes the log stores (`data`) instead of a parsed e.data. Returns false,
// with `out` in an unspecified state, for anything outside the compact form
// the log writes (whitespace, escapes, unknown or repeated keys, unexpected
// types, non-empty meta, ...): the caller then parses `data` and uses
// ApplyToToken, whose result this one always equals when it returns true.
bool ReadCompactCreated(std::string_view data, const Event& e, TokenState& out);

}  // namespace tl
