// tokenledger: API tokens as an event-sourced ledger. One binary, subcommands
// (services/cli/cli_app.cc holds the tree).

#include "services/cli/cli_app.h"

int main(int argc, char** argv) { return tl::RunCli(argc, argv); }
