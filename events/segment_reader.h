#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace tl {

// What a scan of one segment found after its last good record.
struct SegmentDamage {
  enum Kind {
    kNone,     // every byte belongs to a good record
    kTorn,     // an unfinished write at the very end: safe to cut at `offset`
    kCorrupt,  // damage with good-looking data after it, or a bad record in
               // a segment that is not the last: never skipped
  };
  Kind kind = kNone;
  uint64_t offset = 0;  // byte offset in the segment file where the damage starts
  std::string reason;
};

// Walks the framed records of one segment file held in memory (header
// included). Calls `on_record(offset, payload)` for each record whose frame
// and CRCs are good; if it returns a non-empty string, the scan stops and
// reports kCorrupt at that record with that string as the reason.
// `is_last` says whether this is the newest segment (only there can a write
// have been torn by a crash).
SegmentDamage ScanSegment(
    std::string_view file, bool is_last,
    const std::function<std::string(uint64_t offset, std::string_view payload)>& on_record);

}  // namespace tl
