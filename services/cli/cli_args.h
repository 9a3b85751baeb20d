#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "events/result.h"

namespace tl {

// A decimal unsigned integer with nothing around it; nullopt otherwise.
std::optional<uint64_t> ParseUint(const std::string& text);

// `key=value` strings (repeatable flags such as --kafka-property) as pairs.
// kInvalidArgument naming `flag` and only the key (a value may be a password)
// when one has no '=' or an empty key.
Result<std::vector<std::pair<std::string, std::string>>> ParseKeyValues(
    const std::vector<std::string>& items, const std::string& flag);

// What one subcommand accepts. Names are without the leading "--".
struct CliSpec {
  std::vector<std::string> values;      // --name VALUE or --name=VALUE
  std::vector<std::string> switches;    // bare --name
  std::vector<std::string> repeatable;  // of `values`, those that may be given more than once
  size_t max_positional = 0;            // arguments not starting with "--"
};

// Command-line flags of one subcommand, parsed strictly so that a typo or a
// stray word is never silently ignored: an unknown flag, a flag given twice
// (unless repeatable), a missing value or more positional arguments than
// allowed is an error() naming what is wrong.
class CliArgs {
 public:
  CliArgs(const std::vector<std::string>& args, const CliSpec& spec);
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::optional<std::string> Get(const std::string& name) const;
  std::string Get(const std::string& name, const std::string& dflt) const;
  std::vector<std::string> GetAll(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  // "unexpected argument(s) ..." naming the positionals past the first `max`;
  // empty when there are none.
  std::string ExtraPositionals(size_t max) const;

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
  std::string error_;
};

}  // namespace tl
