#include "projections/replay.h"

#include "events/log_scan.h"

namespace tl {

Result<Position> ReplayLog(const std::string& log_dir, Projection& p, const ReplayLimit& limit) {
  ScanOptions options;
  options.skip_before = p.last_position().next();
  // CRCs and the chain linkage are still checked; per-stream version order
  // was checked when the log was opened or verified, and costs a map lookup
  // per event here.
  options.check_stream_versions = false;
  Result<ScanSummary> scanned = ScanLog(log_dir, options, [&](const ScannedRecord& r) {
    if (limit.until && r.event.position > *limit.until) return false;
    if (limit.until_time_ms && r.event.time_ms > *limit.until_time_ms) return false;
    p.Apply(r.event);
    return true;
  });
  if (!scanned.ok()) return scanned.error();
  return p.last_position();
}

}  // namespace tl
