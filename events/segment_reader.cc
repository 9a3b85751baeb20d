#include "events/segment_reader.h"

#include <algorithm>

#include "events/crc32c.h"
#include "events/log_format.h"

namespace tl {
namespace {

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == 0; });
}

}  // namespace

SegmentDamage ScanSegment(
    std::string_view file, bool is_last,
    const std::function<std::string(uint64_t offset, std::string_view payload)>& on_record) {
  using namespace logfmt;
  // A torn write can only be the last thing in the newest segment; anywhere
  // else the same symptom is corruption.
  auto torn_or_corrupt = [&](uint64_t off, std::string why) {
    return SegmentDamage{is_last ? SegmentDamage::kTorn : SegmentDamage::kCorrupt, off,
                         std::move(why)};
  };
  if (file.size() < kSegmentHeaderSize) {
    return torn_or_corrupt(0, "segment header is incomplete");
  }
  if (DecodeSegmentHeader(file) == 0) {
    return {SegmentDamage::kCorrupt, 0, "segment header is damaged"};
  }
  uint64_t off = kSegmentHeaderSize;
  while (off < file.size()) {
    std::string_view rest = file.substr(off);
    if (rest.size() < kRecordHeaderSize) {
      return torn_or_corrupt(off, "record header is incomplete");
    }
    uint32_t len = LoadU32(rest.data());
    uint32_t crc = LoadU32(rest.data() + 4);
    if (Crc32c(rest.substr(0, 8)) != LoadU32(rest.data() + 8)) {
      // Zeros to the end are space the file system gave us but the write never filled.
      if (AllZero(rest)) return torn_or_corrupt(off, "zero-filled tail");
      return {SegmentDamage::kCorrupt, off, "record header checksum mismatch"};
    }
    if (len > kMaxPayload) return {SegmentDamage::kCorrupt, off, "record length out of range"};
    if (rest.size() - kRecordHeaderSize < len) {
      return torn_or_corrupt(off, "record payload is incomplete");
    }
    std::string_view payload = rest.substr(kRecordHeaderSize, len);
    if (Crc32c(payload) != crc) {
      bool ends_file = rest.size() == kRecordHeaderSize + len;
      if (ends_file) return torn_or_corrupt(off, "last record's payload checksum mismatch");
      return {SegmentDamage::kCorrupt, off, "record payload checksum mismatch"};
    }
    std::string why = on_record(off, payload);
    if (!why.empty()) return {SegmentDamage::kCorrupt, off, std::move(why)};
    off += kRecordHeaderSize + len;
  }
  return {};
}

}  // namespace tl
