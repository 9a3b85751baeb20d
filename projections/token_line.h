#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "events/result.h"
#include "projections/canonical_json.h"
#include "projections/token_state.h"
#include "projections/usage_series.h"

namespace tl {

// The token line: one token's state and usage as JSON,
//   {"state":S,"usage":{"denied":[[hour_ms,code,n],...],"hours":[[hour_ms,uses,spent],...]}}
// with S every field of a TokenState (digests as hex) and the keys of every
// object in std::map order. It is an element of Projection::ToJson's
// "tokens", a line of a snapshot file (format 2) and what the state digest
// hashes, so its bytes must never change.
//
// Both ways of writing and reading it live here, side by side, and must
// agree (canonical_json_test, token_line_test, snapshot_test):
// - the general path builds and reads nlohmann documents (ToJson, FromJson,
//   format-1 snapshots);
// - the fast path writes the same bytes straight into a CanonicalJsonWriter
//   and reads them back with TokenLineReader, without a document (the digest
//   and snapshots of a million tokens).
// Denial codes are ids in the projection's table of codes (`codes`, or
// `code_id` to intern one).

// ---- the general path

// The "state" object of a token line.
Json TokenStateToJson(const TokenState& t);
// The "usage" object of a token line.
Json UsageSeriesToJson(const UsageSeries& s, const std::vector<std::string>& codes);
// The whole token line.
Json TokenLineToJson(const TokenState& t, const UsageSeries& usage,
                     const std::vector<std::string>& codes);

// Reads a token line's document into `state` and `usage` (overwritten).
// kCorruption when TokenLineToJson could not have written it.
Status TokenLineFromJson(const Json& token,
                         const std::function<uint16_t(std::string_view)>& code_id,
                         TokenState& state, UsageSeries& usage);

// ---- the fast path

// The "state" object, byte for byte TokenStateToJson(t).dump(). Like dump(),
// throws Json::type_error for a string that is not valid UTF-8.
void WriteTokenStateJson(CanonicalJsonWriter& w, const TokenState& t);
// The "usage" object, byte for byte UsageSeriesToJson(s, codes).dump().
void WriteUsageSeriesJson(CanonicalJsonWriter& w, const UsageSeries& s,
                          const std::vector<std::string>& codes);
// The whole token line and its '\n'.
void WriteTokenLine(CanonicalJsonWriter& w, const TokenState& t, const UsageSeries& usage,
                    const std::vector<std::string>& codes);
// WriteTokenStateJson into a string, for tests.
std::string TokenStateJson(const TokenState& t);

// Reads token lines straight into a TokenState and a UsageSeries: parsing
// each line into nlohmann's DOM and converting it was most of loading a
// million-token snapshot.
//
// Strict: a line is accepted only in the layout the writer gives it (keys in
// its order, each once, no whitespace, integers in decimal within their
// field's range, usage rows in the order it sorts them) and with the values
// TokenLineFromJson would accept. Strings may use any JSON escape; "meta"
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
