#pragma once

// Declares the table that embed_console_assets.cmake generates at build time.
// Only console_assets.cc uses it.

#include <span>

#include "services/console/console_assets.h"

namespace tokenledger::internal {

std::span<const ConsoleAsset> ConsoleAssets();

}  // namespace tokenledger::internal
