#pragma once

// Runs this folder's Python checks (validate_events.py, openapi_operations.py)
// from the tests, with the interpreter CMake was given (TL_PYTHON3, Debian's
// /usr/bin/python3 by default: the one that sees the python3-jsonschema and
// python3-yaml packages ops/deps.sh installs).

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "events/file_util.h"

namespace tl::testing {

// What a script printed and how it ended.
struct ScriptRun {
  int exit_code = -1;  // 127: the interpreter is missing
  std::string out;
  std::string err;

  std::vector<std::string> Lines() const {
    std::vector<std::string> lines;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  // For failure messages: the exit status, stderr, and how to get the tools.
  std::string Describe() const {
    std::string s = "exit status " + std::to_string(exit_code) + "\n" + err;
    if (exit_code == 127 || exit_code == 3) {
      s += "\n./ops/test installs what these checks need: the Debian packages python3, "
           "python3-jsonschema and python3-yaml (ops/deps.sh TL_BUILD_PACKAGES).";
    }
    return s;
  }
};

inline std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs `TL_PYTHON3 TL_SCHEMA_DIR/<script> args...`; `scratch` is a directory
// for its stderr.
inline ScriptRun RunSchemaScript(const std::string& script, const std::vector<std::string>& args,
                                 const std::string& scratch) {
  ScriptRun run;
  const std::string python = TL_PYTHON3;
  if (python.find('/') != std::string::npos && !std::filesystem::exists(python)) {
    run.exit_code = 127;
    run.err = python + ": no such interpreter\n";
    return run;
  }
  const std::string err_path = scratch + "/" + script + ".stderr";
  std::string cmd =
      ShellQuote(python) + " " + ShellQuote(std::string(TL_SCHEMA_DIR) + "/" + script);
  for (const std::string& a : args) cmd += " " + ShellQuote(a);
  cmd += " 2>" + ShellQuote(err_path);
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    run.err = "popen failed: " + cmd;
    return run;
  }
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) run.out.append(buf, n);
  const int status = ::pclose(p);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (auto err = ReadWholeFile(err_path); err.ok()) run.err = *err;
  return run;
}

}  // namespace tl::testing
