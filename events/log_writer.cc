#include "events/log_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "events/file_util.h"

namespace tl {
namespace {

// How far ahead of its writes the newest segment is filled with zeros.
constexpr uint64_t kPreallocateBytes = 256ull << 10;
constexpr uint64_t kBlockBytes = 4096;

}  // namespace

SegmentWriter::SegmentWriter(std::string dir, const LogOptions& options)
    : dir_(std::move(dir)), options_(options) {}

SegmentWriter::~SegmentWriter() {
  if (fd_ >= 0) ::close(fd_);
}

bool SegmentWriter::Resume(const std::string& path, uint64_t end) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  write_end_ = allocated_end_ = end;
  return fd_ >= 0;
}

Status SegmentWriter::StartSegment(const std::string& path, int* retired) {
  *retired = -1;
  if (fd_ >= 0) {
    // The older segment is complete: cut its preallocated tail and make it
    // durable before anything lands in the new one.
    if (int e = Injected("truncate");
        e != 0 || ::ftruncate(fd_, static_cast<off_t>(write_end_)) != 0) {
      return IoFailure("truncate", path, e != 0 ? e : errno);
    }
    if (int e = Injected("fsync"); e != 0 || ::fsync(fd_) != 0) {
      return IoFailure("fsync", path, e != 0 ? e : errno);
    }
    *retired = fd_;
    fd_ = -1;
  }
  const int e = Injected("create");
  fd_ =
      e != 0 ? -1 : ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kPrivateFileMode);
  if (fd_ < 0) return IoFailure("create", path, e != 0 ? e : errno);
  write_end_ = 0;
  allocated_end_ = 0;
  return Ok{};
}

Status SegmentWriter::Append(std::string_view bytes, const std::string& path) {
  const uint64_t end = write_end_ + bytes.size();
  if (end > allocated_end_) Preallocate(end);
  if (int e = Injected("write"); e != 0 || !WriteAllAt(fd_, write_end_, bytes)) {
    return IoFailure("write", path, e != 0 ? e : errno);
  }
  write_end_ = end;
  return Ok{};
}

void SegmentWriter::Preallocate(uint64_t end) {
  // Zeros, written and synced with this round, a chunk ahead of the writes,
  // so that most rounds overwrite blocks the file already has: their
  // fdatasync then flushes the data and nothing else. Appending would make
  // every sync update the file size too, and space from fallocate is no
  // better: its blocks stay "unwritten" until written, so the first write to
  // each one changes the extent tree, and fdatasync writes the inode as well,
  // another device round trip (3,800 B write+fdatasync on the development
  // disk, p50: appending 144-150 us, into fallocate'd space 141-148 us, over
  // written zeros 107-111 us). A 256 KiB fill costs its round ~0.3 ms more,
  // once per ~1,000 events.
  const uint64_t chunk = std::min<uint64_t>(kPreallocateBytes, options_.max_segment_bytes);
  const uint64_t from = std::max(allocated_end_, end);
  const uint64_t to = (from + chunk + kBlockBytes - 1) / kBlockBytes * kBlockBytes;
  static const std::string kZeros(kPreallocateBytes + kBlockBytes, '\0');
  // Best effort: on a nearly full disk the zeros may not fit where the
  // round's records still do. Zeros written in part lie past the records,
  // where the next round overwrites them and recovery cuts them.
  if (Injected("preallocate") != 0 ||
      !WriteAllAt(fd_, from, std::string_view(kZeros).substr(0, to - from))) {
    return;
  }
  allocated_end_ = to;
}

Status SegmentWriter::Sync(int fd, const std::string& path, bool created_files) {
  const auto start = std::chrono::steady_clock::now();
  Status result = Ok{};
  if (int e = Injected("fdatasync"); e != 0 || ::fdatasync(fd) != 0) {
    result = IoFailure("fdatasync", path, e != 0 ? e : errno);
  } else if (created_files) {
    if (int e2 = Injected("fsync directory"); e2 != 0 || !SyncDirectory(dir_).ok()) {
      result = IoFailure("fsync directory", dir_, e2 != 0 ? e2 : errno);
    }
  }
  fsync_latency_.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return result;
}

void SegmentWriter::Close() {
  if (fd_ < 0) return;
  // A clean close leaves no preallocated zeros for the next open to cut.
  if (allocated_end_ > write_end_ &&
      (::ftruncate(fd_, static_cast<off_t>(write_end_)) != 0 || ::fsync(fd_) != 0)) {
    options_.warn("log: could not cut the preallocated tail of the newest segment: " +
                  std::string(std::strerror(errno)) + " (the next open cuts it)");
  }
  ::close(fd_);
  fd_ = -1;
}

std::optional<SegmentWriter::RewindFailure> SegmentWriter::Rewind(
    const std::vector<std::string>& later, const std::string& newest, uint64_t end) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  bool removed = false;
  for (const std::string& path : later) {
    if (::unlink(path.c_str()) == 0) {
      removed = true;
    } else if (errno != ENOENT) {
      return RewindFailure{IoFailure("remove", path, errno), true, true};
    }
  }
  if (removed) {
    if (Status synced = SyncDirectory(dir_); !synced.ok()) {
      options_.warn("log: cannot rewind: " + synced.error().message);
      return RewindFailure{synced.error(), false};
    }
  }
  if (!newest.empty()) {
    if (Status cut = TruncateFile(newest, end); !cut.ok()) {
      options_.warn("log: cannot rewind: " + cut.error().message);
      return RewindFailure{cut.error(), false};
    }
    if (!Resume(newest, end)) return RewindFailure{IoFailure("open", newest, errno), true};
  }
  write_end_ = allocated_end_ = end;
  return std::nullopt;
}

int SegmentWriter::Injected(std::string_view operation) const {
  return options_.inject_error ? options_.inject_error(operation) : 0;
}

Error SegmentWriter::IoFailure(const std::string& operation, const std::string& path,
                               int err) const {
  // The path stays in the service's log; the error (which reaches HTTP
  // clients) names the cause only.
  std::string cause = std::strerror(err);
  if (!cause.empty()) {
    cause[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(cause[0])));
  }
  options_.warn("log: " + operation + " " + path + " failed: " + cause);
  return MakeError(ErrorCode::kStorageUnavailable, "the event log cannot be written: " + cause);
}

RoundBells::RoundBells(size_t max_syncs_in_flight)
    : count_(std::max<size_t>(max_syncs_in_flight, 1) + 1),
      bells_(new std::atomic<uint32_t>[count_]) {
  for (size_t i = 0; i < count_; ++i) bells_[i].store(0);
}

void RoundBells::Ring(std::atomic<uint32_t>& bell, bool everyone) {
  bell.fetch_add(1, std::memory_order_release);
  if (everyone) {
    bell.notify_all();
  } else {
    bell.notify_one();
  }
}

void RoundBells::RingAll() {
  for (size_t i = 0; i < count_; ++i) Ring(bells_[i], /*everyone=*/true);
}

}  // namespace tl
