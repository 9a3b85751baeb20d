#include "schemas/schema_validator.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace tl {
namespace {

// Guards against a $ref cycle that never descends into the instance.
constexpr int kMaxDepth = 128;

const std::set<std::string, std::less<>>& SupportedKeywords() {
  static const std::set<std::string, std::less<>> kKeywords = {
      "type",
      "properties",
      "required",
      "additionalProperties",
      "items",
      "enum",
      "const",
      "minimum",
      "maximum",
      "minLength",
      "maxLength",
      "pattern",
      "minItems",
      "maxItems",
      "minProperties",
      "maxProperties",
      "$ref",
      "anyOf",
      "oneOf",
      "$defs",
      // Annotations: accepted, assert nothing.
      "$schema",
      "$id",
      "title",
      "description",
      "$comment",
      "examples",
      "default",
      "deprecated",
      "format",
  };
  return kKeywords;
}

const std::set<std::string, std::less<>>& TypeNames() {
  static const std::set<std::string, std::less<>> kTypes = {"null",   "boolean", "object", "array",
                                                            "number", "string",  "integer"};
  return kTypes;
}

Error SchemaError(const std::string& where, const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument,
                   "schema at '" + (where.empty() ? std::string("#") : "#" + where) + "': " + what,
                   where);
}

bool IsNonNegativeInteger(const Json& j) {
  return j.is_number_unsigned() || (j.is_number_integer() && j.get<int64_t>() >= 0);
}

bool IsIntegral(const Json& j) {
  if (j.is_number_integer()) return true;
  if (!j.is_number_float()) return false;
  const double d = j.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

bool HasType(const Json& instance, std::string_view type) {
  if (type == "null") return instance.is_null();
  if (type == "boolean") return instance.is_boolean();
  if (type == "object") return instance.is_object();
  if (type == "array") return instance.is_array();
  if (type == "string") return instance.is_string();
  if (type == "number") return instance.is_number();
  if (type == "integer") return IsIntegral(instance);
  return false;
}

std::string TypeOf(const Json& instance) {
  if (instance.is_number_integer()) return "integer";
  if (instance.is_number()) return "number";
  return instance.type_name();
}

// -1, 0, 1 as a < b, a == b, a > b. Integers compare exactly (no rounding of
// large values through double); anything else compares as double.
int CompareNumbers(const Json& a, const Json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    const bool a_neg = !a.is_number_unsigned() && a.get<int64_t>() < 0;
    const bool b_neg = !b.is_number_unsigned() && b.get<int64_t>() < 0;
    if (a_neg != b_neg) return a_neg ? -1 : 1;
    if (a_neg) {
      const int64_t x = a.get<int64_t>();
      const int64_t y = b.get<int64_t>();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    const uint64_t x = a.get<uint64_t>();
    const uint64_t y = b.get<uint64_t>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  const double x = a.get<double>();
  const double y = b.get<double>();
  return x < y ? -1 : (x > y ? 1 : 0);
}

// Code points, counting UTF-8 lead bytes (the JSON library holds valid UTF-8).
size_t CodePoints(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string Short(const Json& j) {
  std::string text = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

SchemaViolation Violation(const std::string& pointer, const char* keyword, std::string reason) {
  return SchemaViolation{pointer, keyword, std::move(reason)};
}

}  // namespace

std::string AppendPointer(const std::string& pointer, const std::string& token) {
  std::string out = pointer + "/";
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

Result<Json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorCode::kIo, "cannot read " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  Json j = Json::parse(buf.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return MakeError(ErrorCode::kInvalidArgument, path + " is not valid JSON");
  return j;
}

Result<SchemaValidator> SchemaValidator::Create(Json schema) {
  SchemaValidator v(std::move(schema));
  // Check reads schema_ through a reference it keeps only for the call.
  if (Status s = v.Check(v.schema_, ""); !s.ok()) return s.error();
  return v;
}

Status SchemaValidator::Check(const Json& schema, const std::string& where) {
  if (schema.is_boolean()) return Ok{};
  if (!schema.is_object()) return SchemaError(where, "a schema must be an object or a boolean");
  for (auto it = schema.begin(); it != schema.end(); ++it) {
    const std::string& key = it.key();
    const Json& value = it.value();
    const std::string at = AppendPointer(where, key);
    if (!SupportedKeywords().contains(key)) {
      return SchemaError(at, "keyword '" + key + "' is not supported by this validator");
    }
    if (key == "type") {
      const Json names = value.is_array() ? value : Json::array({value});
      if (names.empty()) return SchemaError(at, "type list is empty");
      for (const Json& n : names) {
        if (!n.is_string() || !TypeNames().contains(n.get<std::string>())) {
          return SchemaError(at, "unknown type " + Short(n));
        }
      }
    } else if (key == "properties" || key == "$defs") {
      if (!value.is_object()) return SchemaError(at, key + " must be an object");
      for (auto p = value.begin(); p != value.end(); ++p) {
        if (Status s = Check(p.value(), AppendPointer(at, p.key())); !s.ok()) return s;
      }
    } else if (key == "required") {
      if (!value.is_array() ||
          !std::all_of(value.begin(), value.end(), [](const Json& r) { return r.is_string(); })) {
        return SchemaError(at, "required must be a list of strings");
      }
    } else if (key == "additionalProperties") {
      if (!value.is_boolean()) return SchemaError(at, "only a boolean is supported");
    } else if (key == "items") {
      if (Status s = Check(value, at); !s.ok()) return s;
    } else if (key == "anyOf" || key == "oneOf") {
      if (!value.is_array() || value.empty())
        return SchemaError(at, key + " must be a non-empty list");
      for (size_t i = 0; i < value.size(); ++i) {
        if (Status s = Check(value[i], AppendPointer(at, std::to_string(i))); !s.ok()) return s;
      }
    } else if (key == "enum") {
      if (!value.is_array() || value.empty())
        return SchemaError(at, "enum must be a non-empty list");
    } else if (key == "minimum" || key == "maximum") {
      if (!value.is_number()) return SchemaError(at, key + " must be a number");
    } else if (key == "minLength" || key == "maxLength" || key == "minItems" || key == "maxItems" ||
               key == "minProperties" || key == "maxProperties") {
      if (!IsNonNegativeInteger(value)) return SchemaError(at, key + " must be an integer >= 0");
    } else if (key == "pattern") {
      if (!value.is_string()) return SchemaError(at, "pattern must be a string");
      const std::string& text = value.get_ref<const std::string&>();
      if (!patterns_.contains(text)) {
        try {
          patterns_.emplace(text, std::regex(text, std::regex::ECMAScript));
        } catch (const std::regex_error& e) {
          return SchemaError(at, "pattern does not compile: " + std::string(e.what()));
        }
      }
    } else if (key == "$ref") {
      if (!value.is_string() || value.get<std::string>().rfind("#", 0) != 0) {
        return SchemaError(at, "only references inside this document (\"#/...\") are supported");
      }
      try {
        const Json::json_pointer ptr(value.get<std::string>().substr(1));
        if (!schema_.contains(ptr)) return SchemaError(at, "unresolved " + Short(value));
      } catch (const Json::exception&) {
        return SchemaError(at, "malformed reference " + Short(value));
      }
    }
  }
  return Ok{};
}

std::optional<SchemaViolation> SchemaValidator::Validate(const Json& instance) const {
  return ValidateAt(schema_, instance, "", 0);
}

std::optional<SchemaViolation> SchemaValidator::ValidateAt(const Json& schema, const Json& instance,
                                                           const std::string& pointer,
                                                           int depth) const {
  if (depth > kMaxDepth) return Violation(pointer, "$ref", "schema references nest too deeply");
  if (schema.is_boolean()) {
    if (schema.get<bool>()) return std::nullopt;
    return Violation(pointer, "false", "no value is allowed here");
  }

  if (auto it = schema.find("$ref"); it != schema.end()) {
    const Json& target = schema_.at(Json::json_pointer(it->get<std::string>().substr(1)));
    if (auto v = ValidateAt(target, instance, pointer, depth + 1)) return v;
  }

  if (auto it = schema.find("type"); it != schema.end()) {
    const Json names = it->is_array() ? *it : Json::array({*it});
    const bool ok = std::any_of(names.begin(), names.end(), [&](const Json& n) {
      return HasType(instance, n.get_ref<const std::string&>());
    });
    if (!ok) {
      return Violation(pointer, "type", "expected " + Short(*it) + ", got " + TypeOf(instance));
    }
  }
  if (auto it = schema.find("const"); it != schema.end() && instance != *it) {
    return Violation(pointer, "const", "must be " + Short(*it) + ", got " + Short(instance));
  }
  if (auto it = schema.find("enum"); it != schema.end()) {
    if (std::find(it->begin(), it->end(), instance) == it->end()) {
      return Violation(pointer, "enum", Short(instance) + " is not one of " + Short(*it));
    }
  }

  if (instance.is_number()) {
    if (auto it = schema.find("minimum"); it != schema.end() && CompareNumbers(instance, *it) < 0) {
      return Violation(pointer, "minimum", Short(instance) + " is below " + Short(*it));
    }
    if (auto it = schema.find("maximum"); it != schema.end() && CompareNumbers(instance, *it) > 0) {
      return Violation(pointer, "maximum", Short(instance) + " is above " + Short(*it));
    }
  }

  if (instance.is_string()) {
    const std::string& s = instance.get_ref<const std::string&>();
    const size_t length = CodePoints(s);
    if (auto it = schema.find("minLength"); it != schema.end() && length < it->get<size_t>()) {
      return Violation(pointer, "minLength",
                       std::to_string(length) + " characters, fewer than " + Short(*it));
    }
    if (auto it = schema.find("maxLength"); it != schema.end() && length > it->get<size_t>()) {
      return Violation(pointer, "maxLength",
                       std::to_string(length) + " characters, more than " + Short(*it));
    }
    if (auto it = schema.find("pattern"); it != schema.end()) {
      const std::regex& re = patterns_.at(it->get_ref<const std::string&>());
      if (!std::regex_search(s, re)) {
        return Violation(pointer, "pattern", Short(instance) + " does not match " + Short(*it));
      }
    }
  }

  if (instance.is_array()) {
    if (auto it = schema.find("minItems");
        it != schema.end() && instance.size() < it->get<size_t>()) {
      return Violation(pointer, "minItems",
                       std::to_string(instance.size()) + " items, fewer than " + Short(*it));
    }
    if (auto it = schema.find("maxItems");
        it != schema.end() && instance.size() > it->get<size_t>()) {
      return Violation(pointer, "maxItems",
                       std::to_string(instance.size()) + " items, more than " + Short(*it));
    }
    if (auto it = schema.find("items"); it != schema.end()) {
      for (size_t i = 0; i < instance.size(); ++i) {
        if (auto v = ValidateAt(*it, instance[i], AppendPointer(pointer, std::to_string(i)),
                                depth + 1)) {
          return v;
        }
      }
    }
  }

  if (instance.is_object()) {
    if (auto it = schema.find("minProperties");
        it != schema.end() && instance.size() < it->get<size_t>()) {
      return Violation(pointer, "minProperties",
                       std::to_string(instance.size()) + " properties, fewer than " + Short(*it));
    }
    if (auto it = schema.find("maxProperties");
        it != schema.end() && instance.size() > it->get<size_t>()) {
      return Violation(pointer, "maxProperties",
                       std::to_string(instance.size()) + " properties, more than " + Short(*it));
    }
    if (auto it = schema.find("required"); it != schema.end()) {
      for (const Json& name : *it) {
        const std::string& key = name.get_ref<const std::string&>();
        if (!instance.contains(key)) {
          return Violation(AppendPointer(pointer, key), "required", "required property is missing");
        }
      }
    }
    const auto props = schema.find("properties");
    const auto additional = schema.find("additionalProperties");
    for (auto p = instance.begin(); p != instance.end(); ++p) {
      const std::string at = AppendPointer(pointer, p.key());
      if (props != schema.end()) {
        if (auto sub = props->find(p.key()); sub != props->end()) {
          if (auto v = ValidateAt(*sub, p.value(), at, depth + 1)) return v;
          continue;
        }
      }
      if (additional != schema.end() && !additional->get<bool>()) {
        return Violation(at, "additionalProperties", "property is not described by the schema");
      }
    }
  }

  if (auto it = schema.find("anyOf"); it != schema.end()) {
    std::optional<SchemaViolation> closest;
    bool matched = false;
    for (const Json& branch : *it) {
      auto v = ValidateAt(branch, instance, pointer, depth + 1);
      if (!v) {
        matched = true;
        break;
      }
      // The deepest failure usually names the real mistake (a wrong field
      // inside the branch that was meant), not a type mismatch at the top.
      if (!closest || v->pointer.size() > closest->pointer.size()) closest = std::move(v);
    }
    if (!matched) {
      return Violation(
          closest->pointer, "anyOf",
          "matches no alternative; closest: " + closest->keyword + ": " + closest->reason);
    }
  }
  if (auto it = schema.find("oneOf"); it != schema.end()) {
    std::optional<SchemaViolation> closest;
    size_t matches = 0;
    for (const Json& branch : *it) {
      auto v = ValidateAt(branch, instance, pointer, depth + 1);
      if (!v) {
        ++matches;
      } else if (!closest || v->pointer.size() > closest->pointer.size()) {
        closest = std::move(v);
      }
    }
    if (matches == 0) {
      return Violation(
          closest->pointer, "oneOf",
          "matches no alternative; closest: " + closest->keyword + ": " + closest->reason);
    }
    if (matches > 1) {
      return Violation(pointer, "oneOf",
                       "matches " + std::to_string(matches) + " alternatives, not exactly one");
    }
  }
  return std::nullopt;
}

}  // namespace tl
