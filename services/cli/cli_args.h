#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "events/result.h"

namespace CLI {
class App;
}  // namespace CLI

namespace tl {

// A decimal unsigned integer with nothing around it; nullopt otherwise.
std::optional<uint64_t> ParseUint(const std::string& text);

// `key=value` strings (repeatable flags such as --kafka-property) as pairs.
// kInvalidArgument naming `flag` and only the key (a value may be a password)
// when one has no '=' or an empty key.
Result<std::vector<std::pair<std::string, std::string>>> ParseKeyValues(
    const std::vector<std::string>& items, const std::string& flag);

// One flag of a command. Names are without the leading "--".
struct FlagSpec {
  std::string name;
  std::string value;  // the value's name in --help ("DIR"); empty: a bare switch
  std::string help;
  bool repeatable = false;  // may be given more than once (all values kept)
};

// What one command (or a group of commands, such as `token`) accepts, and
// how --help describes it. The grammar lives here; what the values mean is
// the command's business (it checks them and names a bad one).
struct CommandSpec {
  std::string name;
  std::string about;  // one line, in the parent's list of commands
  std::vector<FlagSpec> flags;
  // Positional arguments: name and help. All optional to the parser; the
  // command says which it needs. More than these is an error.
  std::vector<std::pair<std::string, std::string>> positionals;
  std::string footer;  // printed after the flags by --help
};

// Adds `spec` as a subcommand of `parent` (CLI11), its flags and positionals
// declared so that --help and the shell completion list them. Values are
// collected as strings, every occurrence kept; CliArgs::FromParsed applies
// the rules (repeats, extras) with this project's messages.
CLI::App* AddCommand(CLI::App& parent, const CommandSpec& spec);
// Declares `spec`'s flags and positionals on `app` itself.
void DeclareFlags(CLI::App& app, const CommandSpec& spec);

// CLI11's own words for a parse error it raised, in this project's terms
// ("--data needs a value", "--json takes no value").
std::string DescribeParseError(const std::exception& e);

// The flags and arguments of one parsed command. Strict, so that a typo or a
// stray word is never silently ignored: an unknown flag, a flag given twice
// (unless repeatable) or more positional arguments than declared is an
// error() naming what is wrong (a secret pasted in the wrong place is
// redacted, never repeated).
class CliArgs {
 public:
  // `args` parsed against `spec` alone (a command's own entry point).
  // --help sets help_requested() with the text in help_text().
  CliArgs(const std::vector<std::string>& args, const CommandSpec& spec);

  // The command at the end of `path` after CLI11 parsed a whole command
  // line: the flags given at every level of `path` (a group's flags such as
  // `token --addr URL list` count), the last level's positionals, and
  // `extras` (what no level recognised, in order).
  static CliArgs FromParsed(const std::vector<std::pair<const CLI::App*, const CommandSpec*>>& path,
                            const std::vector<std::string>& extras);

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  bool help_requested() const { return help_requested_; }
  const std::string& help_text() const { return help_text_; }
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::optional<std::string> Get(const std::string& name) const;
  std::string Get(const std::string& name, const std::string& dflt) const;
  std::vector<std::string> GetAll(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  // "unexpected argument(s) ..." naming the positionals past the first `max`;
  // empty when there are none.
  std::string ExtraPositionals(size_t max) const;

 private:
  CliArgs() = default;
  void Collect(const CLI::App& app, const CommandSpec& spec, bool with_positionals);
  void Extras(const std::vector<std::string>& extras, size_t declared_positionals);

  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
  std::string error_;
  bool help_requested_ = false;
  std::string help_text_;
};

}  // namespace tl
