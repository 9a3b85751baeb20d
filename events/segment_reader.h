#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "events/result.h"

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
  // kTorn with nothing but zeros from `offset` to the end: space the file
  // was given but never written, i.e. the log's own preallocation (a running
  // writer, or one that crashed) — nothing was cut short there.
  bool unwritten = false;
};

// One segment file, read front to back through a buffer of a few MiB rather
// than whole: a segment is up to 64 MiB, and a replay that held one in memory
// paid for it in peak RSS. The size is taken when the file is opened; bytes a
// writer appends later are not read (they are a later scan's business).
class SegmentFile {
 public:
  SegmentFile() = default;
  ~SegmentFile();
  SegmentFile(const SegmentFile&) = delete;
  SegmentFile& operator=(const SegmentFile&) = delete;

  // Opens `path` (closing any file opened before; the buffer is kept for
  // reuse). kIo when it cannot be opened or sized.
  Status Open(const std::string& path);
  uint64_t size() const { return size_; }
  // The file's bytes from `offset` on that are already read into memory
  // (empty when there are none): no I/O, for looking ahead. Valid until the
  // next call that reads.
  std::string_view Buffered(uint64_t offset) const {
    if (offset < buffer_offset_ || offset >= buffer_offset_ + buffered_) return {};
    return std::string_view(buffer_.data() + (offset - buffer_offset_),
                            buffer_offset_ + buffered_ - offset);
  }

  // The first position its header names; 0 when the header is damaged or
  // incomplete (Scan then says which).
  Result<uint64_t> HeaderFirst();

  // Walks the framed records. Calls `on_record(offset, payload)` for each
  // record whose frame and CRCs are good (`payload` is valid during the call
  // only); if it returns a non-empty string, the scan stops and reports
  // kCorrupt at that record with that string as the reason. `is_last` says
  // whether this is the newest segment (only there can a write have been
  // torn by a crash). kIo when reading fails.
  Result<SegmentDamage> Scan(
      bool is_last,
      const std::function<std::string(uint64_t offset, std::string_view payload)>& on_record);

 private:
  // Bytes [offset, offset + n) of the file, read into the buffer if needed.
  // REQUIRES: offset + n <= size().
  Result<const char*> Bytes(uint64_t offset, size_t n);
  // Whether every byte from `offset` to the end of the file is zero.
  Result<bool> ZeroToEnd(uint64_t offset);
  // The offset just past the last non-zero byte at or after `offset` (or
  // `offset` when there is none).
  Result<uint64_t> EndOfData(uint64_t offset);

  int fd_ = -1;
  std::string path_;
  uint64_t size_ = 0;
  std::string buffer_;  // holds file bytes [buffer_offset_, + buffered_)
  uint64_t buffer_offset_ = 0;
  size_t buffered_ = 0;
};

}  // namespace tl
