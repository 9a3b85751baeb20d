#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tl {

// Pieces of JSON text written straight into a buffer, byte for byte as
// nlohmann's dump() writes the same values: for canonical forms (event
// envelopes, the state digest) that must not drift from the reference bytes
// but need not build a Json to get them.

// `s` as a JSON string. Plain text (the usual case) is copied; anything else
// goes through the library itself, so like dump() it throws Json::type_error
// for text that is not valid UTF-8.
void AppendJsonString(std::string& out, std::string_view s);
// Whether dump() writes `s` as itself in quotes: valid UTF-8 without control
// characters, '"' or '\\' (dump() escapes only those and passes other
// UTF-8 through).
bool IsPlainJsonText(std::string_view s);

// An unsigned integer in decimal.
void AppendJsonUint(std::string& out, uint64_t v);

}  // namespace tl
