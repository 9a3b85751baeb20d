#pragma once

namespace tl {

// The `tokenledger` command line (CLI11): parses argv against the tree of
// commands (cli_app.cc lists them), runs the one chosen and returns the
// process exit code. --help at any level prints that level's help on stdout
// (exit 0); an unknown command or flag, or a stray argument, is named on
// stderr with exit 2.
int RunCli(int argc, char** argv);

}  // namespace tl
