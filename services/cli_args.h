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

// Command-line flags of one subcommand: `--name value`, `--name=value`, or a
// bare `--switch`; repeated names keep every value; anything not starting
// with `--` is positional. An unknown flag is an error, so a typo is never
// silently ignored.
class CliArgs {
 public:
  // `flags_with_values` and `switches` are names without the leading "--".
  CliArgs(const std::vector<std::string>& args, const std::vector<std::string>& flags_with_values,
          const std::vector<std::string>& switches = {});
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::optional<std::string> Get(const std::string& name) const;
  std::string Get(const std::string& name, const std::string& dflt) const;
  std::vector<std::string> GetAll(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
  std::string error_;
};

}  // namespace tl
