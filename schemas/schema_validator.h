#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <unordered_map>

#include "events/result.h"

namespace tl {

using Json = nlohmann::json;

// Why an instance does not match a schema.
struct SchemaViolation {
  std::string pointer;  // JSON pointer into the instance ("" is the root)
  std::string keyword;  // the schema keyword that failed ("required", "pattern", ...)
  std::string reason;   // for people
};

// A validator for the subset of JSON Schema (draft 2020-12) that our schemas
// use: type (a name or a list; "integer" accepts integral numbers), properties,
// required, additionalProperties (boolean), items (one schema), enum, const,
// minimum, maximum, minLength / maxLength (Unicode code points), pattern
// (std::regex ECMAScript, unanchored as the spec says), minItems, maxItems,
// minProperties, maxProperties, $ref to "#/..." inside the same document,
// anyOf, oneOf, and $defs. Annotations ($schema, $id, title, description,
// $comment, examples, default, deprecated, format) are accepted and ignored:
// like draft 2020-12 by default, `format` asserts nothing, so pair it with a
// pattern.
//
// Any other keyword makes Create fail, so a schema can never rely on a rule
// this validator would silently skip.
//
// Immutable after Create; Validate is safe to call from several threads.
class SchemaValidator {
 public:
  // kInvalidArgument naming the schema location of an unsupported keyword, a
  // malformed keyword value, a pattern that does not compile, or a $ref that
  // does not resolve.
  static Result<SchemaValidator> Create(Json schema);

  // The first violation in document order, or nullopt when `instance` matches.
  std::optional<SchemaViolation> Validate(const Json& instance) const;

  const Json& schema() const { return schema_; }

 private:
  explicit SchemaValidator(Json schema) : schema_(std::move(schema)) {}
  Status Check(const Json& schema, const std::string& where);
  std::optional<SchemaViolation> ValidateAt(const Json& schema, const Json& instance,
                                            const std::string& pointer, int depth) const;

  Json schema_;
  std::unordered_map<std::string, std::regex> patterns_;  // by pattern text
};

// Reads and parses a JSON file. kIo when it cannot be read, kInvalidArgument
// when it is not JSON.
Result<Json> ReadJsonFile(const std::string& path);

// "/a/b~1c/0": a JSON pointer token appended to `pointer` (RFC 6901 escaping).
std::string AppendPointer(const std::string& pointer, const std::string& token);

}  // namespace tl
