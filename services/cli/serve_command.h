#pragma once

#include "services/cli/cli_args.h"

namespace tl {

// `tokenledger serve --data DIR [--listen HOST:PORT] [--tls-cert F --tls-key F]
//   [--verify-listen HOST:PORT] [--kafka-brokers B ...] ...` (ServeSpec lists
// every flag). Runs until SIGINT/SIGTERM, then writes a snapshot and exits 0;
// 2 on a usage error, 1 when the ledger or a listener cannot be opened.
const CommandSpec& ServeSpec();
int RunServe(const CliArgs& a);

}  // namespace tl
