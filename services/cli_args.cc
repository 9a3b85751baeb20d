#include "services/cli_args.h"

#include <algorithm>
#include <charconv>

namespace tl {

std::optional<uint64_t> ParseUint(const std::string& text) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

CliArgs::CliArgs(const std::vector<std::string>& args,
                 const std::vector<std::string>& flags_with_values) {
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
    const bool wants_value = std::find(flags_with_values.begin(), flags_with_values.end(), name) !=
                             flags_with_values.end();
    if (wants_value && !value) {
      if (i + 1 >= args.size()) {
        error_ = "--" + name + " needs a value";
        return;
      }
      value = args[++i];
    }
    values_[name].push_back(value.value_or(""));
  }
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
