#pragma once

// The on-disk format of the log, shared by the writer (log_writer.cc,
// log.cc) and the readers (segment_reader.cc, log_reader.cc): segment file
// names and headers, the record frame and the payload. Written down in
// events/FORMAT.md. DecodeRecordHeader is the only decoder of a record
// header: every path that reads records goes through it and its CRC check.

#include <cstdint>
#include <string>
#include <string_view>

#include "events/event.h"

namespace tl::logfmt {

inline constexpr std::string_view kSegmentMagic = "TLLOG001";
// magic(8) | first_position u64 LE | crc32c of the previous 16 bytes u32 LE
inline constexpr size_t kSegmentHeaderSize = 20;
// payload_len u32 LE | crc32c(payload) u32 LE | crc32c(the previous 8 bytes) u32 LE
inline constexpr size_t kRecordHeaderSize = 12;
inline constexpr uint32_t kMaxPayload = 1u << 20;
inline constexpr uint8_t kPayloadFormat = 1;

std::string SegmentFileName(Position first);  // "00000000000000000001.seg"
// Parses a segment file name; 0 when `name` is not one.
uint64_t ParseSegmentFileName(std::string_view name);

// A record header as decoded: the payload's length and CRC.
struct RecordHeader {
  uint32_t length = 0;
  uint32_t payload_crc = 0;
  // Whether `payload` (length bytes) is the one this header was written for.
  bool Matches(std::string_view payload) const;
};
enum class HeaderStatus {
  kOk,
  kChecksumMismatch,  // the header's own CRC fails: torn, zeros or damage
  kLengthOutOfRange,  // a good CRC over a length above kMaxPayload
};
// Decodes the record header at the start of `bytes` and checks its CRC (and
// the length bound). `*header` is set only when kOk.
// REQUIRES: bytes.size() >= kRecordHeaderSize.
HeaderStatus DecodeRecordHeader(std::string_view bytes, RecordHeader* header);
// The 12 header bytes for a payload of `length` bytes with CRC `payload_crc`.
void EncodeRecordHeader(uint32_t length, uint32_t payload_crc, char out[kRecordHeaderSize]);

std::string EncodeSegmentHeader(Position first);
// The first position named by a valid header; 0 when the header is damaged.
uint64_t DecodeSegmentHeader(std::string_view bytes);

// Appends the framed record of `e` (header + payload) to `out`. `e.prev_hash`
// and `e.hash` must be 64 hex chars. Returns false (and appends nothing) when
// the payload would exceed kMaxPayload or a field is too long for its length prefix.
bool AppendRecord(const Event& e, std::string_view idempotency_key, std::string& out);
// The same with `e.data` already serialized as `data` (its dump()).
bool AppendRecord(const Event& e, std::string_view idempotency_key, std::string& out,
                  std::string_view data);

// Decodes a payload whose CRC has been checked. With `parse_data` false the
// data stays an empty object (for scans that need only the envelope), or
// null when `raw_data` is given. `raw_data`, when given, receives the data
// bytes as stored (a view into `payload`) for callers that decode them
// themselves. Returns false when the bytes are not a valid payload.
// `raw_hashes`, when given, receives the 32 raw bytes of prev_hash and hash
// (views into `payload`) and e.prev_hash / e.hash are left as they were:
// hex-encoding both costs a scan more than checking the chain does.
struct RawHashes {
  std::string_view prev, hash;
};
bool DecodePayload(std::string_view payload, bool parse_data, Event& e,
                   std::string* idempotency_key, std::string_view* raw_data = nullptr,
                   RawHashes* raw_hashes = nullptr);

// The token id of the record at the start of `bytes` (header, then
// payload), read without checking the payload's CRC: a hint for
// prefetching, never for deciding anything. Empty when `bytes` does not hold
// the whole record, its header does not decode, or it does not parse;
// `*record_size` is then 0, else its header + payload bytes.
std::string_view PeekTokenId(std::string_view bytes, size_t* record_size);

uint32_t LoadU32(const char* p);
uint64_t LoadU64(const char* p);

}  // namespace tl::logfmt
