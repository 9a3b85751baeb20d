#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tl {

// A decimal unsigned integer with nothing around it; nullopt otherwise.
std::optional<uint64_t> ParseUint(const std::string& text);

// Command-line flags of one subcommand: `--name value`, `--name=value`, or a
// bare `--flag`; repeated names keep every value; anything else is positional.
class CliArgs {
 public:
  // `flags_with_values` names the flags that take a value; others are booleans.
  CliArgs(const std::vector<std::string>& args, const std::vector<std::string>& flags_with_values);
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
