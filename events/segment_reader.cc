#include "events/segment_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "events/file_util.h"
#include "events/log_format.h"

namespace tl {
namespace {

// Bytes read per refill. At least the largest record, so that one refill
// always brings a whole record in.
constexpr size_t kReadChunk = 2u << 20;
static_assert(kReadChunk >= logfmt::kRecordHeaderSize + logfmt::kMaxPayload);

Error IoError(const std::string& what, const std::string& path) {
  return MakeError(ErrorCode::kIo, what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

SegmentFile::~SegmentFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status SegmentFile::Open(const std::string& path) {
  if (fd_ >= 0) ::close(fd_);
  path_ = path;
  buffer_offset_ = 0;
  buffered_ = 0;
  size_ = 0;
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return IoError("cannot open", path);
  const off_t size = ::lseek(fd_, 0, SEEK_END);
  if (size < 0) return IoError("cannot size", path);
  size_ = static_cast<uint64_t>(size);
  // Read front to back once: let the kernel read ahead generously.
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  return Ok{};
}

Result<const char*> SegmentFile::Bytes(uint64_t offset, size_t n) {
  if (offset >= buffer_offset_ && offset + n <= buffer_offset_ + buffered_) {
    return buffer_.data() + (offset - buffer_offset_);
  }
  // Keep what is already buffered from `offset` on (a record straddling the
  // previous refill), then read the next chunk after it.
  size_t kept = 0;
  if (offset >= buffer_offset_ && offset < buffer_offset_ + buffered_) {
    kept = buffer_offset_ + buffered_ - offset;
    std::memmove(buffer_.data(), buffer_.data() + (offset - buffer_offset_), kept);
  }
  const uint64_t read_from = offset + kept;
  const size_t want =
      static_cast<size_t>(std::min<uint64_t>(std::max(kReadChunk, n) - kept, size_ - read_from));
  if (buffer_.size() < kept + want) buffer_.resize(std::max(kReadChunk, kept + want));
  buffer_offset_ = offset;
  buffered_ = kept;
  if (!ReadAt(fd_, read_from, buffer_.data() + kept, want)) return IoError("cannot read", path_);
  buffered_ += want;
  return buffer_.data();
}

Result<bool> SegmentFile::ZeroToEnd(uint64_t offset) {
  Result<uint64_t> end = EndOfData(offset);
  if (!end.ok()) return end.error();
  return *end == offset;
}

Result<uint64_t> SegmentFile::EndOfData(uint64_t offset) {
  uint64_t end = offset;
  while (offset < size_) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kReadChunk, size_ - offset));
    Result<const char*> bytes = Bytes(offset, n);
    if (!bytes.ok()) return bytes.error();
    for (size_t i = n; i > 0; --i) {
      if ((*bytes)[i - 1] != 0) {
        end = offset + i;
        break;
      }
    }
    offset += n;
  }
  return end;
}

Result<uint64_t> SegmentFile::HeaderFirst() {
  if (size_ < logfmt::kSegmentHeaderSize) return uint64_t{0};
  Result<const char*> header = Bytes(0, logfmt::kSegmentHeaderSize);
  if (!header.ok()) return header.error();
  return logfmt::DecodeSegmentHeader(std::string_view(*header, logfmt::kSegmentHeaderSize));
}

Result<SegmentDamage> SegmentFile::Scan(
    bool is_last,
    const std::function<std::string(uint64_t offset, std::string_view payload)>& on_record) {
  using namespace logfmt;
  // A torn write can only be the last thing in the newest segment; anywhere
  // else the same symptom is corruption.
  auto torn_or_corrupt = [&](uint64_t off, std::string why) {
    return SegmentDamage{is_last ? SegmentDamage::kTorn : SegmentDamage::kCorrupt, off,
                         std::move(why)};
  };
  Result<uint64_t> first = HeaderFirst();
  if (!first.ok()) return first.error();
  if (size_ < kSegmentHeaderSize) return torn_or_corrupt(0, "segment header is incomplete");
  if (*first == 0) {
    // A new segment is preallocated before its header is written: a crash
    // in between leaves the newest one all zeros.
    if (is_last) {
      Result<bool> zeros = ZeroToEnd(0);
      if (!zeros.ok()) return zeros.error();
      if (*zeros) return SegmentDamage{SegmentDamage::kTorn, 0, "segment never written", true};
    }
    return SegmentDamage{SegmentDamage::kCorrupt, 0, "segment header is damaged"};
  }

  uint64_t off = kSegmentHeaderSize;
  while (off < size_) {
    const uint64_t rest = size_ - off;
    if (rest < kRecordHeaderSize) return torn_or_corrupt(off, "record header is incomplete");
    Result<const char*> header_bytes = Bytes(off, kRecordHeaderSize);
    if (!header_bytes.ok()) return header_bytes.error();
    RecordHeader header;
    const HeaderStatus header_status =
        DecodeRecordHeader(std::string_view(*header_bytes, kRecordHeaderSize), &header);
    if (header_status == HeaderStatus::kChecksumMismatch) {
      // Zeros to the end are space the file system gave us but the write never filled.
      Result<uint64_t> data_end = EndOfData(off);
      if (!data_end.ok()) return data_end.error();
      if (*data_end == off) {
        SegmentDamage damage = torn_or_corrupt(off, "zero-filled tail");
        damage.unwritten = damage.kind == SegmentDamage::kTorn;
        return damage;
      }
      // A write cut short (a killed process stops a write between pages) in
      // preallocated space: part of a header, then zeros to the end.
      if (*data_end - off < kRecordHeaderSize) {
        return torn_or_corrupt(off, "record header is incomplete (zeros after it)");
      }
      return SegmentDamage{SegmentDamage::kCorrupt, off, "record header checksum mismatch"};
    }
    if (header_status == HeaderStatus::kLengthOutOfRange) {
      return SegmentDamage{SegmentDamage::kCorrupt, off, "record length out of range"};
    }
    const uint32_t len = header.length;
    if (rest - kRecordHeaderSize < len) return torn_or_corrupt(off, "record payload is incomplete");
    Result<const char*> record = Bytes(off, kRecordHeaderSize + len);
    if (!record.ok()) return record.error();
    const std::string_view payload(*record + kRecordHeaderSize, len);
    if (!header.Matches(payload)) {
      // The last record, or one followed only by zeros (preallocated space
      // that a write cut short never reached), can be an unfinished write.
      Result<bool> last = ZeroToEnd(off + kRecordHeaderSize + len);
      if (!last.ok()) return last.error();
      if (*last) return torn_or_corrupt(off, "last record's payload checksum mismatch");
      return SegmentDamage{SegmentDamage::kCorrupt, off, "record payload checksum mismatch"};
    }
    std::string why = on_record(off, payload);
    if (!why.empty()) return SegmentDamage{SegmentDamage::kCorrupt, off, std::move(why)};
    off += kRecordHeaderSize + len;
  }
  return SegmentDamage{};
}

}  // namespace tl
