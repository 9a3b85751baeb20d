#pragma once

#include <vector>

#include "services/cli/cli_args.h"

namespace tl {

// `tokenledger cluster status|verify`: a cluster topic read from Kafka
// through the fence rule (events/partition_scan.h).
const CommandSpec& ClusterGroupSpec();
const std::vector<CommandSpec>& ClusterVerbSpecs();
// Runs the verb `name` ("status" or "verify"); the process exit code.
int RunClusterVerb(const std::string& name, const CliArgs& a);

}  // namespace tl
