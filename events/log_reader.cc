#include "events/log_reader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "events/log_format.h"

namespace tl {
namespace {

// How far one read may reach past the record it is for, and how much it
// reads beyond the start of the last record it covers (records are a few
// hundred bytes; a longer one costs a read of its own).
constexpr uint64_t kReadWindowBytes = 256ull << 10;
constexpr uint64_t kReadTailBytes = 4096;

// Reads records through one window of a segment file: a pread for each
// header and each payload was 44% of the snapshot follower's CPU.
class RecordWindow {
 public:
  // The `len` bytes at `offset` of `fd`, valid until the next call; nullptr
  // (errno set; EIO when the file ends first) when they cannot be read. On a
  // miss the window is refilled from `offset` through `reach` (where the
  // caller expects to read next).
  const char* Bytes(int fd, uint64_t offset, size_t len, uint64_t reach) {
    if (fd == fd_ && offset >= start_ && offset + len <= start_ + size_) {
      return buffer_.data() + (offset - start_);
    }
    const size_t want = std::max<uint64_t>(len, reach - std::min(reach, offset));
    buffer_.resize(want);
    size_t got = 0;
    fd_ = -1;
    while (got < len) {  // at least `len`; the rest of the window if the file has it
      const ssize_t n =
          ::pread(fd, buffer_.data() + got, want - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (n == 0) errno = EIO;  // the file ends before the record does
        return nullptr;
      }
      got += static_cast<size_t>(n);
    }
    fd_ = fd;
    start_ = offset;
    size_ = got;
    return buffer_.data();
  }

 private:
  std::string buffer_;
  int fd_ = -1;
  uint64_t start_ = 0;
  size_t size_ = 0;
};

}  // namespace

Result<std::vector<Event>> ReadRecords(const std::vector<RecordToRead>& records) {
  // Where a read for record i should reach: the start of the furthest
  // following record of the same file within the window, plus a tail.
  size_t last_covered = 0;
  auto reach = [&](size_t i) {
    last_covered = std::max(last_covered, i);
    while (last_covered + 1 < records.size() && records[last_covered + 1].fd == records[i].fd &&
           records[last_covered + 1].offset > records[i].offset &&
           records[last_covered + 1].offset - records[i].offset < kReadWindowBytes) {
      ++last_covered;
    }
    return records[last_covered].offset + kReadTailBytes;
  };
  std::vector<Event> out;
  out.reserve(records.size());
  RecordWindow window;
  for (size_t i = 0; i < records.size(); ++i) {
    const RecordToRead& r = records[i];
    auto fail = [&](std::string why) {
      const bool io = why.empty();
      if (io) why = std::strerror(errno);
      return MakeError(io && errno != EIO ? ErrorCode::kIo : ErrorCode::kCorruption,
                       "read position " + std::to_string(r.position.value()) + ": " + why);
    };
    const char* header_bytes = window.Bytes(r.fd, r.offset, logfmt::kRecordHeaderSize, reach(i));
    if (header_bytes == nullptr) return fail("");
    logfmt::RecordHeader header;
    switch (logfmt::DecodeRecordHeader(std::string_view(header_bytes, logfmt::kRecordHeaderSize),
                                       &header)) {
      case logfmt::HeaderStatus::kOk:
        break;
      case logfmt::HeaderStatus::kChecksumMismatch:
        return fail("record header checksum mismatch");
      case logfmt::HeaderStatus::kLengthOutOfRange:
        return fail("record length out of range");
    }
    const uint64_t payload_at = r.offset + logfmt::kRecordHeaderSize;
    const char* payload = window.Bytes(r.fd, payload_at, header.length,
                                       std::max(reach(i), payload_at + header.length));
    if (payload == nullptr) return fail("");
    const std::string_view bytes(payload, header.length);
    if (!header.Matches(bytes)) return fail("record payload checksum mismatch");
    Event e;
    if (!logfmt::DecodePayload(bytes, /*parse_data=*/true, e, nullptr)) {
      return fail("record does not decode");
    }
    if (e.position != r.position) {
      return fail("record holds position " + std::to_string(e.position.value()));
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace tl
