#pragma once

#include <string_view>

#include "events/event.h"

namespace tl {

// Writes `fields` as one JSON line to stderr with "level" and "time" added:
// the form of every log line `serve` writes (an HTTP request line has the
// same keys, built by hand on its hot path). Invalid UTF-8 is replaced, never
// thrown. Thread-safe (one write per line). Callers must leave secrets out.
void WriteJsonLogLine(std::string_view level, Json fields);

}  // namespace tl
