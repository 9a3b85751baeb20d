#pragma once

#include "services/cli/cli_args.h"

namespace tl {

// Subcommands that work on a data directory without a running server.
// Each returns the process exit code and prints errors to stderr.

// `log verify --data DIR`: every CRC and the whole hash chain.
const CommandSpec& LogVerifySpec();
int RunLogVerify(const CliArgs& a);
// `log export --data DIR [--from POSITION]`: CloudEvents JSON lines.
const CommandSpec& LogExportSpec();
int RunLogExport(const CliArgs& a);
// `replay --data DIR [--until POSITION|TIME] [--out FILE]` or
// `replay --from-kafka --brokers B --topic T [...]`: prints "digest: <hex>".
const CommandSpec& ReplaySpec();
int RunReplay(const CliArgs& a);
// `restore --from-kafka --brokers B --topic T --data NEWDIR`.
const CommandSpec& RestoreSpec();
int RunRestore(const CliArgs& a);
// `backup --data DIR --to DEST`: a consistent copy of a data directory,
// also of one a running serve writes (it takes no lock and changes nothing
// in DIR). Restoring is `serve --data DEST`.
const CommandSpec& BackupSpec();
int RunBackup(const CliArgs& a);

}  // namespace tl
