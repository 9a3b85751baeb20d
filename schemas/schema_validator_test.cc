#include "schemas/schema_validator.h"

#include <gtest/gtest.h>

namespace tl {
namespace {

SchemaValidator Make(const char* schema_text) {
  auto v = SchemaValidator::Create(Json::parse(schema_text));
  if (!v.ok()) ADD_FAILURE() << v.error().message;
  return std::move(v).value();
}

// The violation for `instance`, which must exist.
SchemaViolation Fails(const SchemaValidator& v, const Json& instance) {
  auto r = v.Validate(instance);
  if (!r) {
    ADD_FAILURE() << "expected a violation for " << instance.dump();
    return {};
  }
  return *r;
}

void Passes(const SchemaValidator& v, const Json& instance) {
  auto r = v.Validate(instance);
  EXPECT_FALSE(r) << instance.dump() << " -> " << r->pointer << " " << r->keyword << ": "
                  << r->reason;
}

TEST(SchemaValidatorTest, TypeNamesAndLists) {
  auto v = Make(R"({"type": "integer"})");
  Passes(v, 3);
  Passes(v, -3);
  Passes(v, 3.0);  // integral numbers are integers in JSON Schema
  EXPECT_EQ(Fails(v, 3.5).keyword, "type");
  EXPECT_EQ(Fails(v, "3").reason, "expected \"integer\", got string");

  auto nullable = Make(R"({"type": ["string", "null"]})");
  Passes(nullable, nullptr);
  Passes(nullable, "x");
  EXPECT_EQ(Fails(nullable, 1).keyword, "type");

  auto number = Make(R"({"type": "number"})");
  Passes(number, 1);
  Passes(number, 1.5);
  EXPECT_EQ(Fails(number, true).keyword, "type");
  EXPECT_EQ(Fails(Make(R"({"type": "boolean"})"), 0).keyword, "type");
  EXPECT_EQ(Fails(Make(R"({"type": "array"})"), Json::object()).keyword, "type");
  EXPECT_EQ(Fails(Make(R"({"type": "object"})"), Json::array()).keyword, "type");
  EXPECT_EQ(Fails(Make(R"({"type": "null"})"), 0).keyword, "type");
}

TEST(SchemaValidatorTest, PropertiesRequiredAndAdditional) {
  auto v = Make(R"({
    "type": "object",
    "properties": {"a": {"type": "string"}, "b/c": {"type": "integer"}},
    "required": ["a"],
    "additionalProperties": false
  })");
  Passes(v, {{"a", "x"}});
  Passes(v, {{"a", "x"}, {"b/c", 1}});
  SchemaViolation missing = Fails(v, {{"b/c", 1}});
  EXPECT_EQ(missing.pointer, "/a");
  EXPECT_EQ(missing.keyword, "required");
  SchemaViolation extra = Fails(v, {{"a", "x"}, {"secret", "s"}});
  EXPECT_EQ(extra.pointer, "/secret");
  EXPECT_EQ(extra.keyword, "additionalProperties");
  SchemaViolation wrong = Fails(v, {{"a", "x"}, {"b/c", "1"}});
  EXPECT_EQ(wrong.pointer, "/b~1c");  // RFC 6901 escaping
  EXPECT_EQ(wrong.keyword, "type");

  // Without additionalProperties: false, unknown members are fine.
  Passes(Make(R"({"properties": {"a": {"type": "string"}}})"), {{"z", 1}});
}

TEST(SchemaValidatorTest, ItemsAndCounts) {
  auto v = Make(R"({"type": "array", "items": {"type": "string", "maxLength": 2},
                    "minItems": 1, "maxItems": 3})");
  Passes(v, {"a", "bb"});
  EXPECT_EQ(Fails(v, Json::array()).keyword, "minItems");
  EXPECT_EQ(Fails(v, {"a", "b", "c", "d"}).keyword, "maxItems");
  SchemaViolation item = Fails(v, {"a", "bbb"});
  EXPECT_EQ(item.pointer, "/1");
  EXPECT_EQ(item.keyword, "maxLength");

  auto props = Make(R"({"type": "object", "minProperties": 1, "maxProperties": 2})");
  EXPECT_EQ(Fails(props, Json::object()).keyword, "minProperties");
  EXPECT_EQ(Fails(props, {{"a", 1}, {"b", 2}, {"c", 3}}).keyword, "maxProperties");
  Passes(props, {{"a", 1}});
}

TEST(SchemaValidatorTest, EnumAndConst) {
  auto e = Make(R"({"enum": ["day", "month", null]})");
  Passes(e, "day");
  Passes(e, nullptr);
  EXPECT_EQ(Fails(e, "week").keyword, "enum");

  auto c = Make(R"({"const": "token.created"})");
  Passes(c, "token.created");
  EXPECT_EQ(Fails(c, "token.updated").keyword, "const");
}

TEST(SchemaValidatorTest, NumericBoundsAreExactForLargeIntegers) {
  auto v =
      Make(R"({"type": "integer", "minimum": -1000000000000000, "maximum": 1000000000000000})");
  Passes(v, 1'000'000'000'000'000LL);
  Passes(v, -1'000'000'000'000'000LL);
  EXPECT_EQ(Fails(v, 1'000'000'000'000'001LL).keyword, "maximum");
  EXPECT_EQ(Fails(v, -1'000'000'000'000'001LL).keyword, "minimum");
  // Beyond double precision: 2^63-1 vs 2^63-2 must still be told apart.
  auto big = Make(R"({"maximum": 9223372036854775806})");
  EXPECT_EQ(Fails(big, Json(uint64_t{9223372036854775807ULL})).keyword, "maximum");
  Passes(big, Json(int64_t{9223372036854775806LL}));
  // Unsigned above every signed bound.
  EXPECT_EQ(Fails(Make(R"({"maximum": -1})"), Json(uint64_t{18446744073709551615ULL})).keyword,
            "maximum");
  auto frac = Make(R"({"minimum": 0.5})");
  Passes(frac, 1);
  EXPECT_EQ(Fails(frac, 0).keyword, "minimum");
}

TEST(SchemaValidatorTest, LengthsCountCodePoints) {
  auto v = Make(R"({"type": "string", "minLength": 2, "maxLength": 3})");
  Passes(v, "\u00e9\u00e9\u00e9");                // 3 code points, 6 bytes
  Passes(v, "\xF0\x9F\x98\x80\xF0\x9F\x98\x80");  // two 4-byte code points
  EXPECT_EQ(Fails(v, "\u00e9").keyword, "minLength");
  EXPECT_EQ(Fails(v, "abcd").keyword, "maxLength");
}

TEST(SchemaValidatorTest, PatternIsUnanchoredEcmaScript) {
  auto v = Make(R"({"type": "string", "pattern": "^[0-9a-f]{64}$"})");
  Passes(v, std::string(64, 'a'));
  EXPECT_EQ(Fails(v, std::string(64, 'A')).keyword, "pattern");
  EXPECT_EQ(Fails(v, std::string(65, 'a')).keyword, "pattern");
  auto unanchored = Make(R"({"pattern": "b+"})");
  Passes(unanchored, "abba");
  EXPECT_EQ(Fails(unanchored, "aaa").keyword, "pattern");
  Passes(unanchored, 7);  // string keywords ignore other types
}

TEST(SchemaValidatorTest, RefsIntoDefs) {
  auto v = Make(R"({
    "$defs": {"time": {"type": "string", "pattern": "^\\d{4}-"},
              "times": {"type": "array", "items": {"$ref": "#/$defs/time"}}},
    "type": "object",
    "properties": {"at": {"$ref": "#/$defs/time"}, "all": {"$ref": "#/$defs/times"}}
  })");
  Passes(v, {{"at", "2026-01-01"}, {"all", {"2026-", "2027-"}}});
  SchemaViolation bad = Fails(v, {{"all", {"2026-", "x"}}});
  EXPECT_EQ(bad.pointer, "/all/1");
  EXPECT_EQ(bad.keyword, "pattern");
}

TEST(SchemaValidatorTest, AnyOfReportsTheClosestBranch) {
  auto v = Make(R"({
    "anyOf": [
      {"type": "null"},
      {"type": "object", "properties": {"amount": {"type": "integer", "minimum": 1}},
       "required": ["amount"], "additionalProperties": false}
    ]
  })");
  Passes(v, nullptr);
  Passes(v, {{"amount", 2}});
  SchemaViolation bad = Fails(v, {{"amount", 0}});
  EXPECT_EQ(bad.keyword, "anyOf");
  EXPECT_EQ(bad.pointer, "/amount");
  EXPECT_NE(bad.reason.find("minimum"), std::string::npos) << bad.reason;
  EXPECT_EQ(Fails(v, "x").keyword, "anyOf");
}

TEST(SchemaValidatorTest, OneOfNeedsExactlyOne) {
  auto v = Make(R"({"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 10}]})");
  Passes(v, 3);
  Passes(v, 10.5);
  SchemaViolation both = Fails(v, 12);
  EXPECT_EQ(both.keyword, "oneOf");
  EXPECT_NE(both.reason.find("2 alternatives"), std::string::npos);
  EXPECT_EQ(Fails(v, "x").keyword, "oneOf");
}

TEST(SchemaValidatorTest, BooleanSchemas) {
  auto v = Make(R"({"properties": {"never": false, "any": true}})");
  Passes(v, {{"any", {1, 2}}});
  SchemaViolation never = Fails(v, {{"never", 1}});
  EXPECT_EQ(never.pointer, "/never");
}

TEST(SchemaValidatorTest, CreateRefusesWhatItCannotCheck) {
  auto unsupported =
      SchemaValidator::Create(Json::parse(R"({"properties": {"a": {"exclusiveMinimum": 0}}})"));
  ASSERT_FALSE(unsupported.ok());
  EXPECT_NE(unsupported.error().message.find("exclusiveMinimum"), std::string::npos);
  EXPECT_EQ(unsupported.error().field, "/properties/a/exclusiveMinimum");

  EXPECT_FALSE(SchemaValidator::Create(Json::parse(R"({"pattern": "("})")).ok());
  EXPECT_FALSE(SchemaValidator::Create(Json::parse(R"({"$ref": "#/$defs/missing"})")).ok());
  EXPECT_FALSE(SchemaValidator::Create(Json::parse(R"({"$ref": "other.json"})")).ok());
  EXPECT_FALSE(SchemaValidator::Create(Json::parse(R"({"type": "float"})")).ok());
  EXPECT_FALSE(SchemaValidator::Create(Json::parse(R"({"additionalProperties": {}})")).ok());
  EXPECT_FALSE(SchemaValidator::Create(Json::parse(R"({"required": "a"})")).ok());
  EXPECT_FALSE(SchemaValidator::Create(Json::parse(R"({"maxLength": -1})")).ok());
  EXPECT_FALSE(SchemaValidator::Create(Json::parse(R"({"anyOf": []})")).ok());
  EXPECT_FALSE(SchemaValidator::Create(Json(3)).ok());
  // Annotations are fine.
  EXPECT_TRUE(
      SchemaValidator::Create(Json::parse(
                                  R"({"$schema": "https://json-schema.org/draft/2020-12/schema",
                                              "title": "t", "description": "d", "format": "date-time",
                                              "examples": [1], "$comment": "c"})"))
          .ok());
}

TEST(SchemaValidatorTest, RefCycleStopsInsteadOfOverflowing) {
  auto v = Make(R"({"$defs": {"loop": {"$ref": "#/$defs/loop"}}, "$ref": "#/$defs/loop"})");
  SchemaViolation r = Fails(v, 1);
  EXPECT_EQ(r.keyword, "$ref");
}

TEST(SchemaValidatorTest, ReadJsonFileReportsAMissingFile) {
  auto missing = ReadJsonFile("/nonexistent/definitely/not/here.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kIo);
}

TEST(SchemaValidatorTest, AppendPointerEscapes) {
  EXPECT_EQ(AppendPointer("", "a"), "/a");
  EXPECT_EQ(AppendPointer("/x", "a~b/c"), "/x/a~0b~1c");
}

}  // namespace
}  // namespace tl
