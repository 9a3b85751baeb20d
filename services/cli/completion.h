#pragma once

#include <string>

namespace CLI {
class App;
}  // namespace CLI

namespace tl {

// A bash completion script for the command tree `app` (named app's name):
// verbs and sub-verbs by prefix, each command's flags after "-", file names
// after a flag that takes a value. Install with
//   source <(tokenledger completion bash)
std::string BashCompletionScript(const CLI::App& app);

}  // namespace tl
