#include "services/cli/cli_args.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <regex>
#include <set>

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

void DeclareFlags(CLI::App& app, const CommandSpec& spec) {
  for (const FlagSpec& f : spec.flags) {
    CLI::Option* o = f.value.empty() ? app.add_flag("--" + f.name, f.help)->disable_flag_override()
                                     : app.add_option("--" + f.name, f.help)->type_name(f.value);
    // Every occurrence is kept; CliArgs refuses a repeat with its own message.
    o->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  }
  for (const auto& [name, help] : spec.positionals) app.add_option(name, help)->type_name("");
  // Always set: CLI11 copies a parent's footer into a new subcommand.
  app.footer(spec.footer);
}

CLI::App* AddCommand(CLI::App& parent, const CommandSpec& spec) {
  CLI::App* app = parent.add_subcommand(spec.name, spec.about);
  DeclareFlags(*app, spec);
  return app;
}

std::string DescribeParseError(const std::exception& e) {
  const std::string what = e.what();
  std::smatch m;
  static const std::regex kMissing(R"(^(\S+): \d+ required .* missing$)");
  static const std::regex kOverride(R"(^(\S+) was given a disallowed flag override$)");
  auto dashed = [](std::string name) { return name.rfind('-', 0) == 0 ? name : "--" + name; };
  if (std::regex_match(what, m, kMissing)) return dashed(m[1]) + " needs a value";
  if (std::regex_match(what, m, kOverride)) return dashed(m[1]) + " takes no value";
  return what;
}

CliArgs::CliArgs(const std::vector<std::string>& args, const CommandSpec& spec) {
  CLI::App app(spec.about, spec.name);
  app.allow_extras();
  DeclareFlags(app, spec);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    help_requested_ = true;
    help_text_ = app.help();
    return;
  } catch (const CLI::ParseError& e) {
    error_ = DescribeParseError(e);
    return;
  }
  Collect(app, spec, /*with_positionals=*/true);
  if (ok()) Extras(app.remaining(), spec.positionals.size());
}

CliArgs CliArgs::FromParsed(const std::vector<std::pair<const CLI::App*, const CommandSpec*>>& path,
                            const std::vector<std::string>& extras) {
  CliArgs a;
  for (size_t i = 0; i < path.size() && a.ok(); ++i) {
    a.Collect(*path[i].first, *path[i].second, /*with_positionals=*/i + 1 == path.size());
  }
  if (a.ok() && !path.empty()) a.Extras(extras, path.back().second->positionals.size());
  return a;
}

void CliArgs::Collect(const CLI::App& app, const CommandSpec& spec, bool with_positionals) {
  for (const FlagSpec& f : spec.flags) {
    const CLI::Option* o = app.get_option_no_throw("--" + f.name);
    if (o == nullptr || o->count() == 0) continue;
    std::vector<std::string>& values = values_[f.name];
    if (f.value.empty()) {
      values.resize(values.size() + o->count());
    } else {
      values.insert(values.end(), o->results().begin(), o->results().end());
    }
    if (values.size() > 1 && !f.repeatable) {
      error_ = "--" + f.name + " is given more than once";
      return;
    }
  }
  if (!with_positionals) return;
  for (const auto& [name, help] : spec.positionals) {
    const CLI::Option* o = app.get_option_no_throw(name);
    if (o == nullptr || o->count() == 0) break;
    positional_.insert(positional_.end(), o->results().begin(), o->results().end());
  }
}

void CliArgs::Extras(const std::vector<std::string>& extras, size_t declared_positionals) {
  for (const std::string& e : extras) {
    const bool flag = e.size() > 1 && e[0] == '-' && !(e[1] >= '0' && e[1] <= '9');
    if (flag) {
      // Only the name: a value after '=' may be a secret.
      error_ = "unknown flag " + e.substr(0, e.find('='));
      return;
    }
    positional_.push_back(e);
  }
  error_ = ExtraPositionals(declared_positionals);
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
