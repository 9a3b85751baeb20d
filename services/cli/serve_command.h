#pragma once

#include <string>
#include <vector>

namespace tl {

// `tokenledger serve --data DIR --listen HOST:PORT [--tls-cert F --tls-key F]
//   [--threads N] [--kafka-brokers B --kafka-topic T --kafka-property k=v ...]`
// Runs until SIGINT/SIGTERM, then writes a snapshot and exits 0.
int RunServe(const std::vector<std::string>& args);

}  // namespace tl
