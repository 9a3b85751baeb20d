#pragma once

// The file side of appending to the log (FORMAT.md, "Durability"): the
// newest segment's write descriptor, writing staged bytes at their offset,
// filling zeros ahead of the writes (preallocation), rolling to a new
// segment (cutting and syncing the old one first), fdatasync, cutting
// preallocated zeros at a clean close, and cutting the files back to the
// durable end for EventLog::Rewind. Every operation goes through the
// LogOptions::inject_error seam. Also the group commit's bells (RoundBells).
//
// Which bytes to write and when, and who waits for them, is EventLog's group
// commit (log.h): it hands the writer to one round leader at a time.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/histogram.h"
#include "events/log_options.h"
#include "events/result.h"

namespace tl {

// Not thread-safe, except Sync, IoFailure and Injected, which any thread may
// call while another one writes: one thread at a time writes (EventLog's
// round leader, handed over under the log's mutex).
class SegmentWriter {
 public:
  // `options` must outlive this.
  SegmentWriter(std::string dir, const LogOptions& options);
  // Closes the descriptor as it is (see Close for a clean close).
  ~SegmentWriter();
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  // Continues writing the existing segment file `path` after its first
  // `end` bytes. False (errno set) when it cannot be opened.
  bool Resume(const std::string& path, uint64_t end);

  // Starts the new segment file `path` (which must not exist). The current
  // segment, if any, is first cut to its last record and made durable, so
  // that a crash never leaves a gap nor zeros inside a closed segment; its
  // descriptor is then handed to `*retired` (a sync of an earlier round may
  // still use it: the caller closes it once no round runs), else -1.
  Status StartSegment(const std::string& path, int* retired);

  // Writes `bytes` after the bytes written so far to the current segment
  // (`path` names it in errors), first filling zeros ahead when they reach
  // past the preallocated space.
  Status Append(std::string_view bytes, const std::string& path);

  // The current segment's descriptor (-1 when none): what a round syncs.
  int fd() const { return fd_; }
  uint64_t written() const { return write_end_; }

  // fdatasync of `fd` (`path` names it in errors), then of the directory
  // when the round created files. Records the time it took.
  Status Sync(int fd, const std::string& path, bool created_files);

  // A clean close: cuts the preallocated zeros after the last record
  // (warning when it cannot: the next open cuts them), then closes.
  void Close();

  // Rewind's file side, with no round running: drops the current
  // descriptor, removes `later` (segments begun after the durable end;
  // missing ones are fine), then cuts `newest` back to `end` and continues
  // writing it there (`newest` empty: no segment remains). On failure,
  // `replaces_failure` says whether `error` is a new failure for the log to
  // record, or the log's recorded one stands (this one was warned about);
  // `before_removal`, that a segment in `later` could not be removed (the
  // others may have been), so a retry must try them again.
  struct RewindFailure {
    Error error;
    bool replaces_failure;
    bool before_removal = false;
  };
  std::optional<RewindFailure> Rewind(const std::vector<std::string>& later,
                                      const std::string& newest, uint64_t end);

  // The error for a failed `operation` on `path` (errno `err`); warns with
  // the path, while the error (which reaches HTTP clients) names the cause only.
  Error IoFailure(const std::string& operation, const std::string& path, int err) const;
  // Runs the seam, if any: the errno it injects for `operation`, else 0.
  int Injected(std::string_view operation) const;

  const Histogram& fsync_latency() const { return fsync_latency_; }

 private:
  // Extends the preallocated zeros to cover at least `end`, if it can (a
  // failure only means that the writes extend the file themselves).
  void Preallocate(uint64_t end);

  const std::string dir_;
  const LogOptions& options_;
  int fd_ = -1;
  // Bytes written to the current segment, and how far it is preallocated
  // (zeros past write_end_).
  uint64_t write_end_ = 0;
  uint64_t allocated_end_ = 0;
  Histogram fsync_latency_;
};

// The group commit's wake-ups. An appender waiting in EventLog::WaitDurable
// sleeps on the bell of the round that will make its events durable: one
// bell per round that may be running, plus the next. A ring bumps the
// counter and wakes its sleepers, without any lock hand-off. Thread-safe.
class RoundBells {
 public:
  explicit RoundBells(size_t max_syncs_in_flight);
  std::atomic<uint32_t>& For(uint64_t round) { return bells_[round % count_]; }
  static void Ring(std::atomic<uint32_t>& bell, bool everyone);
  void RingAll();

 private:
  const size_t count_;
  std::unique_ptr<std::atomic<uint32_t>[]> bells_;
};

}  // namespace tl
