#include "events/log_scan.h"

#include <algorithm>
#include <filesystem>
#include <unordered_map>

#include "events/crypto.h"
#include "events/log_format.h"

namespace tl {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kRepair =
    "Nothing was changed. To repair, restore the data directory from a replica "
    "(tokenledger restore --from-kafka --data NEWDIR) or a backup; "
    "`tokenledger log verify --data DIR` shows the first damage";

// The token id of the kScanLookahead-th record in `bytes` (the records after
// the current one); empty when it is not all there.
std::string_view PeekAhead(std::string_view bytes) {
  std::string_view token_id;
  for (int k = 0; k < kScanLookahead; ++k) {
    size_t size = 0;
    token_id = logfmt::PeekTokenId(bytes, &size);
    bytes.remove_prefix(size);  // 0 on failure: the next peek fails alike
  }
  return token_id;
}

}  // namespace

Result<ScanSummary> ScanLog(const std::string& dir, const ScanOptions& options,
                            const std::function<bool(const ScannedRecord&)>& on_record) {
  ScanSummary summary;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return MakeError(ErrorCode::kIo, "log directory " + dir + " does not exist");
  }
  for (const auto& entry : fs::directory_iterator(dir)) {
    uint64_t first = logfmt::ParseSegmentFileName(entry.path().filename().string());
    if (first != 0) summary.segments.emplace_back(Position(first), entry.path().string());
  }
  std::sort(summary.segments.begin(), summary.segments.end());

  std::unordered_map<std::string, Version> versions;
  bool stopped = false;
  SegmentFile segment;  // one read buffer for every segment
  // Without hex hashes the chain is followed on the raw bytes, and only the
  // last hash is hex-encoded, at the end.
  const bool hex_hashes = options.hex_hashes || options.verify_hashes;
  logfmt::RawHashes raw_hashes;
  std::string last_raw_hash(32, '\0');  // position 0: the genesis hash, all zeros
  for (size_t i = 0; i < summary.segments.size() && !stopped; ++i) {
    const auto& [first, path] = summary.segments[i];
    const bool is_last = i + 1 == summary.segments.size();
    if (first != summary.last.next()) {
      return MakeError(ErrorCode::kCorruption,
                       "segment " + path + " starts at position " + std::to_string(first.value()) +
                           " but the log before it ends at position " +
                           std::to_string(summary.last.value()) + " (a segment is missing). " +
                           std::string(kRepair));
    }
    if (Status opened = segment.Open(path); !opened.ok()) return opened.error();
    Result<uint64_t> header_first_or = segment.HeaderFirst();
    if (!header_first_or.ok()) return header_first_or.error();
    const uint64_t header_first = *header_first_or;
    if (header_first != 0 && header_first != first.value()) {
      return MakeError(ErrorCode::kCorruption, "segment " + path + ": its header names position " +
                                                   std::to_string(header_first) + ". " +
                                                   std::string(kRepair));
    }
    Event e;
    std::string key;
    std::string_view raw_data;
    Result<SegmentDamage> scanned =
        segment.Scan(is_last, [&](uint64_t offset, std::string_view payload) -> std::string {
          if (stopped) return {};
          if (options.upcoming_stream) {
            options.upcoming_stream(
                PeekAhead(segment.Buffered(offset + logfmt::kRecordHeaderSize + payload.size())));
          }
          const bool skip = summary.last.next() < options.skip_before;
          const bool verify = options.verify_hashes && !skip;
          bool parse = options.parse_data && !skip;
          const bool raw = parse && payload.size() > 1 && static_cast<uint8_t>(payload[1]) < 32 &&
                           (options.raw_data_types >> static_cast<uint8_t>(payload[1]) & 1) != 0;
          if (raw) parse = false;  // the callback decodes raw_data
          // The hash covers the data bytes exactly as stored (the append
          // hashed and wrote the same bytes): verifying needs no parse.
          std::string_view data_bytes;
          if (!logfmt::DecodePayload(payload, parse, e, &key,
                                     raw || verify ? &data_bytes : nullptr,
                                     hex_hashes ? nullptr : &raw_hashes)) {
            return "record does not decode";
          }
          raw_data = raw ? data_bytes : std::string_view();
          if (e.position != summary.last.next()) {
            return "record holds position " + std::to_string(e.position.value()) + " where " +
                   std::to_string(summary.last.value() + 1) + " belongs";
          }
          if (hex_hashes ? e.prev_hash != summary.last_hash : raw_hashes.prev != last_raw_hash) {
            return "hash chain broken: prev_hash differs";
          }
          if (verify) {
            // A string of the envelope that is not UTF-8 has no canonical
            // form (no writer could have hashed it): serializing it throws.
            std::string computed;
            try {
              computed = ComputeHash(e, data_bytes);
            } catch (const Json::exception&) {
              return "record does not decode";
            }
            if (computed != e.hash) return "hash mismatch: the event was altered";
          }
          if (options.check_stream_versions) {
            Version& v =
                options.stream_version ? options.stream_version(e.token_id) : versions[e.token_id];
            if (e.version != v.next()) return "stream version out of order";
            v = e.version;
          }
          summary.last = e.position;
          summary.last_time_ms = e.time_ms;
          if (hex_hashes) {
            summary.last_hash = e.hash;
          } else {
            last_raw_hash.assign(raw_hashes.hash);
          }
          ++summary.events;
          if (skip) return {};
          if (!on_record(ScannedRecord{e, key, i, offset, raw_data})) stopped = true;
          return {};
        });
    if (!scanned.ok()) return scanned.error();
    const SegmentDamage& damage = *scanned;
    if (damage.kind == SegmentDamage::kCorrupt) {
      return MakeError(ErrorCode::kCorruption,
                       "log damaged at position " + std::to_string(summary.last.value() + 1) +
                           " (segment " + path + ", byte " + std::to_string(damage.offset) +
                           "): " + damage.reason + ". Events up to position " +
                           std::to_string(summary.last.value()) + " are intact. " +
                           std::string(kRepair));
    }
    if (is_last) {
      summary.torn_tail = damage;
      summary.newest_segment_size = segment.size();
    }
  }
  if (!hex_hashes && summary.events > 0) summary.last_hash = ToHex(last_raw_hash);
  return summary;
}

std::string TornTailNotice(const ScanSummary& summary) {
  const SegmentDamage& torn = summary.torn_tail;
  if (torn.kind != SegmentDamage::kTorn || torn.unwritten) return {};
  return "the record after position " + std::to_string(summary.last.value()) + " (byte " +
         std::to_string(torn.offset) + " of the newest segment) is torn or damaged (" +
         torn.reason + ") and was left out; `tokenledger serve` would cut it, " +
         "`tokenledger log verify` reports it";
}

}  // namespace tl
