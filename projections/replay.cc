#include "projections/replay.h"

#include <optional>
#include <string>

#include "events/log_scan.h"

namespace tl {

Result<Position> ReplayLog(const std::string& log_dir, Projection& p, const ReplayLimit& limit) {
  ScanOptions options;
  options.skip_before = p.last_position().next();
  // CRCs and the chain linkage are still checked; per-stream version order
  // was checked when the log was opened or verified, and costs a map lookup
  // per event here.
  options.check_stream_versions = false;
  // The fold reads one field of these (nearly every event of a log): the
  // projection decodes them itself, without a JSON object per event.
  options.raw_data_types = 1u << static_cast<uint8_t>(EventType::kUsed) |
                           1u << static_cast<uint8_t>(EventType::kUseDenied);
  std::optional<Position> bad_data;
  Result<ScanSummary> scanned = ScanLog(log_dir, options, [&](const ScannedRecord& r) {
    if (limit.until && r.event.position > *limit.until) return false;
    if (limit.until_time_ms && r.event.time_ms > *limit.until_time_ms) return false;
    if (r.event.data.is_null()) {  // a raw_data_types record
      if (!p.ApplyEncoded(r.event, r.raw_data)) {
        bad_data = r.event.position;
        return false;
      }
    } else {
      p.Apply(r.event);
    }
    return true;
  });
  if (!scanned.ok()) return scanned.error();
  if (bad_data) {
    // What ScanLog reports when it decodes the data itself.
    return MakeError(ErrorCode::kCorruption,
                     "log damaged at position " + std::to_string(bad_data->value()) +
                         ": record does not decode (its data is not a JSON object)");
  }
  return p.last_position();
}

}  // namespace tl
