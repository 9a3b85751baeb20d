#include "services/console/console_assets.h"

#include "services/console/console_assets_data.h"

namespace tokenledger {

const ConsoleAsset* FindConsoleAsset(std::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (path.empty()) path = "index.html";
  for (const ConsoleAsset& asset : internal::ConsoleAssets()) {
    if (asset.path == path) return &asset;
  }
  return nullptr;
}

}  // namespace tokenledger
