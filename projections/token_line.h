#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "events/result.h"
#include "projections/token_state.h"
#include "projections/usage_series.h"

namespace tl {

// Reads the token lines Projection::WriteTokenLines writes (snapshot format
// 2) straight into a TokenState and a UsageSeries, without a JSON document:
// parsing each line into nlohmann's DOM and converting it was most of loading
// a million-token snapshot.
//
// Strict: a line is accepted only in the layout the writer gives it (keys in
// its order, each once, no whitespace, integers in decimal within their
// field's range, usage rows in the order it sorts them) and with the values
// Projection::FromJson would accept. Strings may use any JSON escape; "meta"
// is any JSON object (handed to nlohmann). Anything else is kCorruption,
// saying which field and at which byte; the reader never reads outside the
// line. One reader serves many lines (it keeps scratch space); not
// thread-safe.
class TokenLineReader {
 public:
  // The projection's id for a denial code (see Projection::Builder::CodeId).
  using CodeIdFn = std::function<uint16_t(std::string_view code)>;

  explicit TokenLineReader(CodeIdFn code_id) : code_id_(std::move(code_id)) {}

  // Reads `line` (without its '\n') into `state` and `usage`, which are
  // overwritten. On an error both are unspecified.
  Status Read(std::string_view line, TokenState& state, UsageSeries& usage);

 private:
  struct Denial {
    int32_t hour;
    uint16_t code;
    uint32_t n;
  };

  CodeIdFn code_id_;
  std::string scratch_;
  std::string previous_code_;
  std::vector<Denial> denials_;
};

}  // namespace tl
