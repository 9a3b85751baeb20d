#pragma once

// The web console's static files (index.html, *.js, *.css, *.svg), compiled
// into the binary from services/console/ at build time. See README.md.

#include <string_view>

namespace tokenledger {

struct ConsoleAsset {
  std::string_view path;          // relative to /console/, e.g. "views/token-list.js"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;          // the file's bytes; static storage duration
};

// Returns the asset served at /console/<path>, or nullptr when there is none.
// "" and "/" name index.html; one leading '/' is ignored. The path must be
// already URL-decoded and free of query strings. Thread-safe (read-only data).
const ConsoleAsset* FindConsoleAsset(std::string_view path);

}  // namespace tokenledger
