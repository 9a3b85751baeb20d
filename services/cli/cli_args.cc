#include "services/cli/cli_args.h"

#include <algorithm>
#include <charconv>

#include "services/domain/secret.h"

namespace tl {

std::optional<uint64_t> ParseUint(const std::string& text) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseKeyValues(
    const std::vector<std::string>& items, const std::string& flag) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& kv : items) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "--" + flag + " expects key=value (got key '" + kv.substr(0, eq) + "')",
                       flag);
    }
    out.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return out;
}

CliArgs::CliArgs(const std::vector<std::string>& args, const CliSpec& spec) {
  auto listed = [](const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const bool wants_value = listed(spec.values, name);
    const bool is_switch = listed(spec.switches, name);
    if (!wants_value && !is_switch) {
      error_ = "unknown flag --" + name;
      return;
    }
    if (is_switch && value) {
      error_ = "--" + name + " takes no value";
      return;
    }
    if (wants_value && !value) {
      if (i + 1 >= args.size()) {
        error_ = "--" + name + " needs a value";
        return;
      }
      value = args[++i];
    }
    if (Has(name) && !listed(spec.repeatable, name)) {
      error_ = "--" + name + " is given more than once";
      return;
    }
    values_[name].push_back(value.value_or(""));
  }
  error_ = ExtraPositionals(spec.max_positional);
}

std::string CliArgs::ExtraPositionals(size_t max) const {
  if (positional_.size() <= max) return "";
  std::string out = positional_.size() - max == 1 ? "unexpected argument" : "unexpected arguments";
  // Redacted: a secret pasted in the wrong place must not reach a terminal log.
  for (size_t i = max; i < positional_.size(); ++i)
    out += " '" + RedactSecrets(positional_[i]) + "'";
  return out;
}

std::optional<std::string> CliArgs::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second.back();
}

std::string CliArgs::Get(const std::string& name, const std::string& dflt) const {
  return Get(name).value_or(dflt);
}

std::vector<std::string> CliArgs::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

}  // namespace tl
