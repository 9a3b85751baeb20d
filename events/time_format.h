#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tl {

// "2026-11-27T15:56:08.123Z" for UTC milliseconds since the epoch.
std::string FormatRfc3339Ms(int64_t ms);
// The same, appended to `out` (no string of its own: every append's hash
// covers one).
void AppendRfc3339Ms(std::string& out, int64_t ms);
// Parses RFC 3339 ("2026-11-27T15:56:08Z", fractional seconds and numeric
// offsets allowed). nullopt when malformed or out of range.
std::optional<int64_t> ParseRfc3339(std::string_view s);

}  // namespace tl
