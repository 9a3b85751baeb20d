#include "events/log_recovery.h"

#include <unistd.h>

#include "events/file_util.h"
#include "events/log_format.h"
#include "events/log_scan.h"

namespace tl {

Result<RecoveredLog> RecoverLog(const std::string& dir, const LogOptions& log_options,
                                LogIndex& index) {
  StreamIndex& streams = index.streams();
  // The scan checks each stream's versions in the index itself and leaves
  // `stream` at the record's stream for the callback: one lookup per record.
  uint32_t stream = 0;
  // Hashes stay raw (the chain is checked on the bytes): only the last one is needed.
  ScanOptions options{.parse_data = false, .hex_hashes = false};
  options.stream_version = [&](const std::string& token_id) -> Version& {
    stream = streams.FindOrAdd(token_id);
    return streams.mutable_version(stream);
  };
  options.upcoming_stream = [&](std::string_view token_id) { streams.Prefetch(token_id); };
  Result<ScanSummary> scanned = ScanLog(dir, options, [&](const ScannedRecord& r) {
    streams.AddRecovered(stream, r.event.position);
    index.AddLocation(r.segment, r.offset);
    if (!r.idempotency_key.empty()) {
      index.RecoverKey(r.idempotency_key, r.event.position, r.event.version);
    }
    return true;
  });
  if (!scanned.ok()) return scanned.error();
  const ScanSummary& summary = *scanned;
  if (summary.last < log_options.must_reach) {
    // Before anything is cut: the tail is evidence, not a torn write.
    std::string tail;
    if (summary.torn_tail.kind == SegmentDamage::kTorn && !summary.torn_tail.unwritten) {
      tail = " (after it: " + summary.torn_tail.reason + " at byte " +
             std::to_string(summary.torn_tail.offset) + " of the newest segment)";
    }
    const Position must_reach = log_options.must_reach;
    return MakeError(
        ErrorCode::kCorruption,
        "the log's last intact event is position " + std::to_string(summary.last.value()) + tail +
            " but position " + std::to_string(must_reach.value()) +
            " was acknowledged: " + std::to_string(must_reach.value() - summary.last.value()) +
            " acknowledged events are missing from the log");
  }
  streams.FinishRecovery();
  RecoveredLog log;
  log.segments = summary.segments;
  log.last = summary.last;
  log.last_hash = summary.last_hash;
  log.last_time_ms = summary.last_time_ms;
  log.tail_offset = summary.newest_segment_size;

  const auto& warn = log_options.warn;
  const SegmentDamage& torn = summary.torn_tail;
  if (torn.kind == SegmentDamage::kTorn) {
    const std::string path = log.segments.back().second;
    if (torn.offset < logfmt::kSegmentHeaderSize) {
      // Not even the header made it: the segment never held an event.
      warn("log: removed " + path + ": " +
           (torn.unwritten ? "it was never written" : "its header is incomplete") +
           " (a segment start was interrupted); no event was in it");
      if (::unlink(path.c_str()) != 0) return MakeError(ErrorCode::kIo, "cannot remove " + path);
      log.segments.pop_back();
      log.tail_offset = 0;
      if (!log.segments.empty()) {
        Result<std::string> prev = ReadWholeFile(log.segments.back().second);
        if (!prev.ok()) return prev.error();
        log.tail_offset = prev->size();
      }
    } else if (torn.unwritten) {
      // The preallocated space of a writer that did not close cleanly.
      warn("log: cut " + std::to_string(summary.newest_segment_size - torn.offset) +
           " bytes of unwritten (preallocated) space after position " +
           std::to_string(log.last.value()) + " in " + path);
      if (Status t = TruncateFile(path, torn.offset); !t.ok()) return t.error();
      log.tail_offset = torn.offset;
    } else {
      warn("log: cut a torn tail of " + std::to_string(summary.newest_segment_size - torn.offset) +
           " bytes at byte " + std::to_string(torn.offset) + " of " + path + " (" + torn.reason +
           "); the last intact event is position " + std::to_string(log.last.value()));
      if (Status t = TruncateFile(path, torn.offset); !t.ok()) return t.error();
      log.tail_offset = torn.offset;
    }
  }
  if (Status s = SyncDirectory(dir); !s.ok()) return s.error();
  return log;
}

}  // namespace tl
