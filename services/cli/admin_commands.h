#pragma once

#include <string>
#include <vector>

namespace tl {

// Subcommands that work on a data directory without a running server.
// Each returns the process exit code and prints errors to stderr.

// `log verify --data DIR`: every CRC and the whole hash chain.
int RunLogVerify(const std::vector<std::string>& args);
// `log export --data DIR [--from POSITION]`: CloudEvents JSON lines.
int RunLogExport(const std::vector<std::string>& args);
// `replay --data DIR [--until POSITION|TIME] [--out FILE]` or
// `replay --from-kafka --brokers B --topic T [...]`: prints "digest: <hex>".
int RunReplay(const std::vector<std::string>& args);
// `restore --from-kafka --brokers B --topic T --data NEWDIR`.
int RunRestore(const std::vector<std::string>& args);
// `backup --data DIR --to DEST`: a consistent copy of a data directory,
// also of one a running serve writes (it takes no lock and changes nothing
// in DIR). Restoring is `serve --data DEST`.
int RunBackup(const std::vector<std::string>& args);

}  // namespace tl
