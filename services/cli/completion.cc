#include "services/cli/completion.h"

#include <CLI/CLI.hpp>
#include <functional>

namespace tl {
namespace {

// One command of the tree: its path ("tokenledger token create"), its
// sub-verbs, its flags and those of them that take a value.
struct Node {
  std::string path;
  std::string verbs;
  std::string flags;
  std::string valued;
};

void Walk(const CLI::App& app, const std::string& path, std::vector<Node>& out) {
  Node n{path, "", "", " "};
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    n.verbs += (n.verbs.empty() ? "" : " ") + sub->get_name();
  }
  for (const CLI::Option* o : app.get_options()) {
    for (const std::string& name : o->get_lnames()) {
      n.flags += (n.flags.empty() ? "--" : " --") + name;
      if (o->get_expected_min() > 0) n.valued += "--" + name + " ";
    }
  }
  out.push_back(n);
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    Walk(*sub, path + " " + sub->get_name(), out);
  }
}

}  // namespace

std::string BashCompletionScript(const CLI::App& app) {
  const std::string name = app.get_name();
  std::string fn = "_" + name;
  for (char& c : fn) {
    if (c == '-') c = '_';
  }
  std::vector<Node> nodes;
  Walk(app, name, nodes);
  std::string verbs, flags, valued;
  for (const Node& n : nodes) {
    verbs += "    [\"" + n.path + "\"]=\"" + n.verbs + "\"\n";
    flags += "    [\"" + n.path + "\"]=\"" + n.flags + "\"\n";
    valued += "    [\"" + n.path + "\"]=\"" + n.valued + "\"\n";
  }
  return "# bash completion for " + name + ": source <(" + name + " completion bash)\n" + fn +
         "() {\n"
         "  local -A verbs=(\n" +
         verbs +
         "  )\n"
         "  local -A flags=(\n" +
         flags +
         "  )\n"
         "  local -A valued=(\n" +
         valued +
         "  )\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]} path=" +
         name +
         " skip=0 w i\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "    w=${COMP_WORDS[i]}\n"
         "    if ((skip)); then skip=0; continue; fi\n"
         "    if [[ $w == -* ]]; then\n"
         "      [[ ${valued[$path]} == *\" $w \"* ]] && skip=1\n"
         "      continue\n"
         "    fi\n"
         "    [[ \" ${verbs[$path]} \" == *\" $w \"* ]] && path=\"$path $w\"\n"
         "  done\n"
         "  if ((skip)); then\n"
         "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
         "  elif [[ $cur == -* ]]; then\n"
         "    COMPREPLY=($(compgen -W \"${flags[$path]}\" -- \"$cur\"))\n"
         "  else\n"
         "    COMPREPLY=($(compgen -W \"${verbs[$path]}\" -- \"$cur\"))\n"
         "  fi\n"
         "}\n"
         "complete -F " +
         fn + " " + name + "\n";
}

}  // namespace tl
