#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.h"
#include "events/result.h"
#include "events/segment_reader.h"

namespace tl {

// How far ahead ScanOptions::upcoming_stream looks, in records.
inline constexpr int kScanLookahead = 4;

struct ScanOptions {
  bool parse_data = true;  // false: Event::data is not decoded (cheaper)
  // Recompute every hash (over the data bytes as stored, so the data need not
  // be parsed for it); the linkage (prev_hash) is always checked.
  bool verify_hashes = false;
  // Check that each stream's versions run 1,2,3… (one hash-map entry per
  // token). `log verify` and Open check; a replay trusts what they checked.
  bool check_stream_versions = true;
  // Where that check keeps each stream's version (the last one seen; a new
  // stream's is Version(0)). Default: a map of the scan's own. The log's
  // Open passes its stream index, so that a token's entry is looked up once
  // per record, not once by the scan and again by the callback.
  std::function<Version&(const std::string& token_id)> stream_version;
  // Called before each record is checked with the token id of the record
  // kScanLookahead records after it, so that the caller can prefetch what it
  // will look up then. A hint only: read without any check (it may be
  // garbled), and empty when that record is not in memory yet.
  std::function<void(std::string_view token_id)> upcoming_stream;
  // Records before this position are checked (CRCs, positions, linkage) but
  // not decoded in full, hash-verified nor passed to the callback (replaying
  // the tail after a snapshot).
  Position skip_before;
  // Bit (1 << type) set: records of that type reach the callback with
  // Event::data null, undecoded, and the callback decodes
  // ScannedRecord::raw_data itself (a replay reads one field of token.used
  // without building a JSON object).
  uint32_t raw_data_types = 0;
  // false: Event::prev_hash and Event::hash are left empty (the chain is
  // still checked, on the raw bytes). Ignored when verifying hashes.
  bool hex_hashes = true;
};

// One good record as the scan meets it.
struct ScannedRecord {
  Event& event;  // the callback may move from it
  std::string_view idempotency_key;
  size_t segment;   // index into ScanSummary::segments
  uint64_t offset;  // byte offset of the record in its segment file
  // For a type in ScanOptions::raw_data_types: the data bytes as stored
  // (valid during the callback); empty otherwise.
  std::string_view raw_data;
};

struct ScanSummary {
  uint64_t events = 0;
  Position last;  // 0 when empty
  std::string last_hash = kGenesisHash;
  int64_t last_time_ms = 0;  // the last event's time; 0 when empty
  std::vector<std::pair<Position, std::string>> segments;  // (first position, path)
  // A torn write at the end of the newest segment (kind kTorn), left in place.
  SegmentDamage torn_tail;
  uint64_t newest_segment_size = 0;
};

// Reads the log in `dir` in position order without changing anything.
// Calls `on_record` for each good record; returning false stops the scan
// early (the summary then ends at that record). Any damage other than a torn
// tail (bad CRC, broken chain, gap, bad hash when verifying) fails with
// kCorruption naming the segment, the byte offset, the position and how to repair.
Result<ScanSummary> ScanLog(const std::string& dir, const ScanOptions& options,
                            const std::function<bool(const ScannedRecord&)>& on_record);

// What a reader that leaves the log as it is (replay, export) says about a
// torn tail it did not read: which position it was and why. Empty when the
// scan met none, or only unwritten (preallocated) space, which loses nothing.
std::string TornTailNotice(const ScanSummary& summary);

}  // namespace tl
