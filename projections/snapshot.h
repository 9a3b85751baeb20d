#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "events/result.h"
#include "projections/projection.h"

namespace tl {

// Snapshot files: `<dir>/snapshot-<20-digit position>.json`, each one compact
// JSON document {"format":1,"position":P,"sha256":H,"state":S} where S is
// Projection::ToJson() and H the SHA-256 hex of S's exact bytes in the file.

// Writes a snapshot of `p` atomically (temporary file, fsync, rename, fsync of
// the directory, which is created if missing), then deletes all but the newest
// two snapshots. kIo when the operating system refuses.
Status WriteSnapshot(const std::string& dir, const Projection& p);

// The newest valid snapshot in `dir`. A damaged or unreadable one is reported
// through `warn` (naming the file) and the next older one is tried. When none
// is valid (or `dir` has none), an empty Projection; `warn` is told if any
// snapshot file existed.
Result<Projection> LoadNewestSnapshot(const std::string& dir,
                                      const std::function<void(std::string_view)>& warn);

}  // namespace tl
