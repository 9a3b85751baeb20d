// segment_reader: one segment file of the log (events/FORMAT.md) from the
// fuzzer's bytes, read by ScanLog (with and without hash verification) and
// recovered by EventLog::Open. Nothing crashes; whatever a scan accepts has
// good CRCs (re-checked here on the bytes) and a good hash chain (recomputed
// here with ComputeHash); a scan, Open and a scan after Open agree.
//
// Input: one mode byte, then the segment. Mode bit 0 set: the CRCs of the
// segment header and of every record are recomputed before the file is
// written, so that mutations reach the payload decoder and the chain checks
// instead of stopping at a CRC. Mode bit 1 set: the log is also opened
// (recovery) and scanned again after. (Each scan and open allocates a read
// buffer of 2 MiB, so this target runs at tens of inputs a second.)

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "events/crc32c.h"
#include "events/event.h"
#include "events/file_util.h"
#include "events/log.h"
#include "events/log_format.h"
#include "events/log_scan.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_temp_dir.h"

namespace {

namespace fmt = tl::logfmt;

void StoreU32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}

// Reframes the bytes: the length field of each record header is kept as
// the mutation left it, and both CRCs are written for it. The header is
// first given its own CRC so that the format's one decoder reads the length.
void FixCrcs(std::string& seg) {
  if (seg.size() < fmt::kSegmentHeaderSize) return;
  StoreU32(seg, 16, tl::Crc32c(std::string_view(seg).substr(0, 16)));
  size_t at = fmt::kSegmentHeaderSize;
  while (seg.size() - at >= fmt::kRecordHeaderSize) {
    StoreU32(seg, at + 8, tl::Crc32c(std::string_view(seg).substr(at, 8)));
    fmt::RecordHeader header;
    if (fmt::DecodeRecordHeader(std::string_view(seg).substr(at), &header) !=
            fmt::HeaderStatus::kOk ||
        header.length > seg.size() - at - fmt::kRecordHeaderSize) {
      return;
    }
    const uint32_t len = header.length;
    fmt::EncodeRecordHeader(
        len, tl::Crc32c(std::string_view(seg).substr(at + fmt::kRecordHeaderSize, len)),
        seg.data() + at);
    at += fmt::kRecordHeaderSize + len;
  }
}

const std::string& Dir() {
  static const std::string& dir = tl::fuzz::TempDir("segment");
  return dir;
}

struct Scan {
  bool ok = false;
  uint64_t events = 0;
  tl::SegmentDamage::Kind torn = tl::SegmentDamage::kNone;
  std::string error;
};

enum class Depth {
  kEnvelope,  // what EventLog::Open checks: frames, CRCs, envelope, chain linkage
  kData,      // also decodes each event's data
  kHashes,    // also recomputes each hash (`log verify`)
};

// ScanLog, checking every record it accepts against the bytes of `seg`.
Scan CheckedScan(const std::string& seg, Depth depth) {
  tl::ScanOptions options;
  options.parse_data = depth != Depth::kEnvelope;
  const bool verify_hashes = depth == Depth::kHashes;
  options.verify_hashes = verify_hashes;
  std::string last_hash = tl::kGenesisHash;
  uint64_t last_position = 0;
  auto summary = tl::ScanLog(Dir(), options, [&](const tl::ScannedRecord& r) {
    const tl::Event& e = r.event;
    FUZZ_CHECK(r.segment == 0, "one segment only");
    // The frame and its CRCs, read here from the bytes.
    FUZZ_CHECK(
        r.offset >= fmt::kSegmentHeaderSize && r.offset + fmt::kRecordHeaderSize <= seg.size(),
        "record offset %llu", static_cast<unsigned long long>(r.offset));
    const char* h = seg.data() + r.offset;
    fmt::RecordHeader header;
    FUZZ_CHECK(fmt::DecodeRecordHeader(std::string_view(h, fmt::kRecordHeaderSize), &header) ==
                   fmt::HeaderStatus::kOk,
               "accepted a record whose header CRC is wrong");
    const uint32_t len = header.length;
    FUZZ_CHECK(len <= seg.size() - r.offset - fmt::kRecordHeaderSize, "record past the end");
    FUZZ_CHECK(header.Matches(std::string_view(h + fmt::kRecordHeaderSize, len)),
               "accepted a record whose payload CRC is wrong");
    // The chain, recomputed here.
    FUZZ_CHECK(e.position.value() == last_position + 1, "position %llu after %llu",
               static_cast<unsigned long long>(e.position.value()),
               static_cast<unsigned long long>(last_position));
    FUZZ_CHECK(e.prev_hash == last_hash, "accepted an event whose prev_hash breaks the chain");
    if (verify_hashes) {
      FUZZ_CHECK(e.hash == tl::ComputeHash(e), "accepted an event whose hash is wrong");
    }
    FUZZ_CHECK(e.hash.size() == 64, "hash of %zu chars", e.hash.size());
    last_hash = e.hash;
    last_position = e.position.value();
    return true;
  });
  Scan out;
  if (!summary.ok()) {
    out.error = summary.error().message;
    return out;
  }
  out.ok = true;
  out.events = summary->events;
  out.torn = summary->torn_tail.kind;
  FUZZ_CHECK(summary->events == last_position, "summary counts %llu events, callback saw %llu",
             static_cast<unsigned long long>(summary->events),
             static_cast<unsigned long long>(last_position));
  FUZZ_CHECK(summary->events == 0 || summary->last_hash == last_hash, "summary's last hash");
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string seg(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) FixCrcs(seg);

  const std::string& dir = Dir();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  uint64_t first = fmt::DecodeSegmentHeader(seg);
  if (first == 0) first = 1;
  const std::string path = dir + "/" + fmt::SegmentFileName(tl::Position(first));
  FUZZ_CHECK(tl::WriteFileAtomically(path, seg).ok(), "writing %s", path.c_str());

  // Each deeper check takes a subset of what the shallower one takes.
  const Scan plain = CheckedScan(seg, Depth::kEnvelope);
  const Scan decoded = CheckedScan(seg, Depth::kData);
  const Scan verified = CheckedScan(seg, Depth::kHashes);
  if (decoded.ok) {
    FUZZ_CHECK(plain.ok && plain.events == decoded.events,
               "decoding the data takes what an envelope scan refuses");
  }
  if (verified.ok) {
    FUZZ_CHECK(decoded.ok && decoded.events == verified.events,
               "a verifying scan takes what a decoding scan refuses");
  }

  if ((data[0] & 2) == 0) return 0;
  // Recovery: opens what an envelope scan reads (Open does not decode the
  // data: FORMAT.md), with the same events.
  tl::LogOptions options;
  options.warn = [](std::string_view) {};
  {
    auto log = tl::EventLog::Open(dir, options);
    FUZZ_CHECK(log.ok() == plain.ok, "Open %s (%s), a scan %s (%s)",
               log.ok() ? "succeeds" : "fails", log.ok() ? "" : log.error().message.c_str(),
               plain.ok ? "succeeds" : "fails", plain.error.c_str());
    if (!log.ok()) return 0;
    FUZZ_CHECK((*log)->DurablePosition().value() == plain.events, "Open reached %llu of %llu",
               static_cast<unsigned long long>((*log)->DurablePosition().value()),
               static_cast<unsigned long long>(plain.events));
  }
  // After a clean open and close, the log scans clean with the same events
  // (a torn tail was cut, a segment without an event removed).
  std::string recovered;
  if (std::filesystem::exists(path)) {
    auto bytes = tl::ReadWholeFile(path);
    FUZZ_CHECK(bytes.ok(), "reading %s back", path.c_str());
    recovered = std::move(*bytes);
  }
  const Scan after = CheckedScan(recovered, Depth::kEnvelope);
  FUZZ_CHECK(after.ok && after.events == plain.events && after.torn == tl::SegmentDamage::kNone,
             "after recovery: %s, %llu events of %llu, torn kind %d", after.error.c_str(),
             static_cast<unsigned long long>(after.events),
             static_cast<unsigned long long>(plain.events), static_cast<int>(after.torn));
  return 0;
}
