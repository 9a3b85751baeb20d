#include "events/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "events/crc32c.h"
#include "events/file_util.h"
#include "events/hex.h"
#include "events/log_format.h"
#include "events/log_scan.h"

namespace tl {
namespace {

namespace fs = std::filesystem;

// A durable record that cannot be read back is a broken invariant (the
// disk lost what it confirmed): stop loudly. Failed appends are values
// instead (see EventLog::WriteFailure).
[[noreturn]] void Fatal(const std::string& what) {
  std::fprintf(stderr, "fatal: event log: %s: %s\n", what.c_str(), std::strerror(errno));
  std::abort();
}

// "evt_" + the time (at least 12 hex digits) + the position (16): unique and
// time-ordered. Built by hand: snprintf was ~1.5% of an append's CPU.
std::string EventId(int64_t time_ms, Position p) {
  std::string id;
  id.reserve(32);
  id.append("evt_");
  AppendHex(id, static_cast<uint64_t>(time_ms), 12);
  AppendHex(id, p.value(), 16);
  return id;
}

constexpr size_t kMaxIdLength = 255;
// How far ahead of its writes the newest segment is filled with zeros.
constexpr uint64_t kPreallocateBytes = 256ull << 10;
constexpr uint64_t kBlockBytes = 4096;

}  // namespace

EventLog::EventLog(std::string dir, LogOptions options)
    : dir_(std::move(dir)),
      options_(std::move(options)),
      bell_count_(std::max<size_t>(options_.max_syncs_in_flight, 1) + 1),
      bells_(new std::atomic<uint32_t>[bell_count_]) {
  for (size_t i = 0; i < bell_count_; ++i) bells_[i].store(0);
}

Result<std::unique_ptr<EventLog>> EventLog::Open(const std::string& dir, LogOptions options) {
  if (Status made = MakePrivateDir(dir); !made.ok()) return made.error();
  if (!options.warn) {
    options.warn = [](std::string_view msg) { std::cerr << "warning: " << msg << std::endl; };
  }
  std::unique_ptr<EventLog> log(new EventLog(dir, std::move(options)));
  Status recovered = log->Recover();
  if (!recovered.ok()) return recovered.error();
  return log;
}

EventLog::~EventLog() {
  Position last;
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
    last = last_position_;
  }
  // Whatever was staged and not yet waited for becomes durable before closing;
  // after a failed write, what was not durable is cut instead.
  if (!WaitDurable(last).ok()) {
    if (Status r = Rewind(); !r.ok()) {
      options_.warn("log: closing after a failed write: " + r.error().message +
                    " (the next open cuts what was not durable)");
    }
  }
  if (write_fd_ >= 0) {
    // A clean close leaves no preallocated zeros for the next open to cut.
    if (allocated_end_ > write_end_ &&
        (::ftruncate(write_fd_, static_cast<off_t>(write_end_)) != 0 || ::fsync(write_fd_) != 0)) {
      options_.warn("log: could not cut the preallocated tail of the newest segment: " +
                    std::string(std::strerror(errno)) + " (the next open cuts it)");
    }
    ::close(write_fd_);
  }
  for (int fd : retired_fds_) ::close(fd);
  for (Segment& s : segments_) {
    if (s.read_fd >= 0) ::close(s.read_fd);
  }
}

Status EventLog::Recover() {
  // The scan checks each stream's versions in streams_ itself and leaves
  // `stream` at the record's stream for the callback: one lookup per record.
  uint32_t stream = 0;
  // Hashes stay raw (the chain is checked on the bytes): only the last one is needed.
  ScanOptions options{.parse_data = false, .hex_hashes = false};
  options.stream_version = [&](const std::string& token_id) -> Version& {
    stream = streams_.FindOrAdd(token_id);
    return streams_.mutable_version(stream);
  };
  options.upcoming_stream = [&](std::string_view token_id) { streams_.Prefetch(token_id); };
  Result<ScanSummary> scanned = ScanLog(dir_, options, [&](const ScannedRecord& r) {
    streams_.AddRecovered(stream, r.event.position);
    locations_.push_back(static_cast<uint64_t>(r.segment) << 32 | r.offset);
    if (!r.idempotency_key.empty()) {
      auto [it, inserted] = idempotency_.try_emplace(std::string(r.idempotency_key));
      if (inserted) it->second.first = r.event.position;
      it->second.last = r.event.position;
      it->second.stream_version = r.event.version;
      it->second.duplicate = true;
    }
    return true;
  });
  if (!scanned.ok()) return scanned.error();
  const ScanSummary& summary = *scanned;
  if (summary.last < options_.must_reach) {
    // Before anything is cut: the tail is evidence, not a torn write.
    std::string tail;
    if (summary.torn_tail.kind == SegmentDamage::kTorn && !summary.torn_tail.unwritten) {
      tail = " (after it: " + summary.torn_tail.reason + " at byte " +
             std::to_string(summary.torn_tail.offset) + " of the newest segment)";
    }
    return MakeError(ErrorCode::kCorruption,
                     "the log's last intact event is position " +
                         std::to_string(summary.last.value()) + tail + " but position " +
                         std::to_string(options_.must_reach.value()) + " was acknowledged: " +
                         std::to_string(options_.must_reach.value() - summary.last.value()) +
                         " acknowledged events are missing from the log");
  }
  streams_.FinishRecovery();
  last_position_ = summary.last;
  last_hash_ = summary.last_hash;
  last_time_ms_ = summary.last_time_ms;
  for (const auto& [first, path] : summary.segments) segments_.push_back(Segment{first, path, -1});
  tail_offset_ = summary.newest_segment_size;

  const SegmentDamage& torn = summary.torn_tail;
  if (torn.kind == SegmentDamage::kTorn) {
    const std::string path = segments_.back().path;
    if (torn.offset < logfmt::kSegmentHeaderSize) {
      // Not even the header made it: the segment never held an event.
      options_.warn("log: removed " + path + ": " +
                    (torn.unwritten ? "it was never written" : "its header is incomplete") +
                    " (a segment start was interrupted); no event was in it");
      if (::unlink(path.c_str()) != 0) return MakeError(ErrorCode::kIo, "cannot remove " + path);
      segments_.pop_back();
      tail_offset_ = 0;
      if (!segments_.empty()) {
        Result<std::string> prev = ReadWholeFile(segments_.back().path);
        if (!prev.ok()) return prev.error();
        tail_offset_ = prev->size();
      }
    } else if (torn.unwritten) {
      // The preallocated space of a writer that did not close cleanly.
      options_.warn("log: cut " + std::to_string(summary.newest_segment_size - torn.offset) +
                    " bytes of unwritten (preallocated) space after position " +
                    std::to_string(last_position_.value()) + " in " + path);
      if (Status t = TruncateFile(path, torn.offset); !t.ok()) return t.error();
      tail_offset_ = torn.offset;
    } else {
      options_.warn(
          "log: cut a torn tail of " + std::to_string(summary.newest_segment_size - torn.offset) +
          " bytes at byte " + std::to_string(torn.offset) + " of " + path + " (" + torn.reason +
          "); the last intact event is position " + std::to_string(last_position_.value()));
      if (Status t = TruncateFile(path, torn.offset); !t.ok()) return t.error();
      tail_offset_ = torn.offset;
    }
  }
  if (Status s = SyncDirectory(dir_); !s.ok()) return s.error();

  for (Segment& s : segments_) {
    s.read_fd = ::open(s.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (s.read_fd < 0) return MakeError(ErrorCode::kIo, "cannot open " + s.path);
  }
  if (!segments_.empty()) {
    write_fd_ = ::open(segments_.back().path.c_str(), O_WRONLY | O_CLOEXEC);
    if (write_fd_ < 0) return MakeError(ErrorCode::kIo, "cannot open " + segments_.back().path);
    write_end_ = allocated_end_ = tail_offset_;
  }
  durable_position_ = last_position_;
  durable_end_ = End{segments_.size(), tail_offset_, last_hash_};
  durable_published_.store(durable_position_.value());
  counters_.segments = segments_.size();
  return Ok{};
}

void EventLog::StageRecordLocked(const Event& e, std::string_view record) {
  const bool need_segment = segments_.empty() || (tail_offset_ >= options_.max_segment_bytes &&
                                                  tail_offset_ > logfmt::kSegmentHeaderSize);
  if (need_segment) {
    std::string path = (fs::path(dir_) / logfmt::SegmentFileName(e.position)).string();
    segments_.push_back(Segment{e.position, path, -1});
    pending_.push_back(Chunk{segments_.size() - 1, true, logfmt::EncodeSegmentHeader(e.position)});
    tail_offset_ = logfmt::kSegmentHeaderSize;
    ++counters_.segments;
  }
  const size_t index = segments_.size() - 1;
  if (pending_.empty() || pending_.back().segment != index) {
    pending_.push_back(Chunk{index, false, {}});
  }
  locations_.push_back(static_cast<uint64_t>(index) << 32 | tail_offset_);
  pending_.back().bytes.append(record);
  tail_offset_ += record.size();
}

Result<AppendResult> EventLog::Stage(AppendRequest req) {
  if (req.token_id.empty() || req.token_id.size() > kMaxIdLength) {
    return MakeError(ErrorCode::kInvalidArgument, "token id must be 1-255 bytes", "token_id");
  }
  if (req.actor.size() > kMaxIdLength) {
    return MakeError(ErrorCode::kInvalidArgument, "actor must be at most 255 bytes", "actor");
  }
  if (req.events.empty()) return MakeError(ErrorCode::kInvalidArgument, "no events to append");
  // Serialized once, before taking mu_, for both the hash and the record.
  std::vector<std::string> data_json;
  data_json.reserve(req.events.size());
  for (const auto& [type, data] : req.events) {
    if (!data.is_object()) {
      return MakeError(ErrorCode::kInvalidArgument, "event data must be an object", "data");
    }
    data_json.push_back(data.dump());
  }

  std::lock_guard<std::mutex> l(mu_);
  if (stopping_) return MakeError(ErrorCode::kUnavailable, "the log is closing");
  if (failure_) return *failure_;
  if (!req.idempotency_key.empty()) {
    auto it = idempotency_.find(req.idempotency_key);
    if (it != idempotency_.end()) return it->second;
  }
  uint32_t stream = streams_.Find(req.token_id);
  const Version current = stream == 0 ? Version(0) : streams_.version(stream);
  if (req.expected_version && *req.expected_version != current) {
    return MakeError(ErrorCode::kConflict, "stream " + req.token_id + " is at version " +
                                               std::to_string(current.value()) + ", expected " +
                                               std::to_string(req.expected_version->value()));
  }

  // Build and encode everything before changing any state, so a failure stages nothing.
  AppendResult result;
  result.events.reserve(req.events.size());
  std::vector<std::string> records(req.events.size());
  std::string prev = last_hash_;
  Position pos = last_position_;
  Version version = current;
  // Event times (and so ids) never decrease along positions: a time before
  // the last event's (a clock stepped back) is raised to it.
  const int64_t time_ms = std::max(req.time_ms, last_time_ms_);
  for (size_t i = 0; i < req.events.size(); ++i) {
    Event e;
    pos = pos.next();
    version = version.next();
    e.type = req.events[i].first;
    e.token_id = req.token_id;
    e.version = version;
    e.position = pos;
    e.time_ms = time_ms;
    e.actor = req.actor;
    e.id = EventId(time_ms, pos);
    e.data = std::move(req.events[i].second);
    e.prev_hash = prev;
    e.hash = ComputeHash(e, data_json[i]);
    prev = e.hash;
    if (!logfmt::AppendRecord(e, req.idempotency_key, records[i], data_json[i])) {
      return MakeError(ErrorCode::kInvalidArgument, "event is too large for the log", "data");
    }
    result.events.push_back(std::move(e));
  }

  if (stream == 0) stream = streams_.FindOrAdd(req.token_id);
  for (size_t i = 0; i < records.size(); ++i) {
    StageRecordLocked(result.events[i], records[i]);
    streams_.Append(stream, result.events[i].position);
  }
  last_position_ = pos;
  last_hash_ = prev;
  last_time_ms_ = time_ms;
  pending_last_ = pos;
  counters_.events += records.size();
  result.first = result.events.front().position;
  result.last = pos;
  result.stream_version = version;
  result.epoch = epoch_.load(std::memory_order_relaxed);
  if (!req.idempotency_key.empty()) {
    AppendResult remembered{result.first, result.last, version, /*duplicate=*/true, {}};
    idempotency_.emplace(req.idempotency_key, std::move(remembered));
  }
  return result;
}

Result<AppendResult> EventLog::Append(AppendRequest request) {
  Result<AppendResult> staged = Stage(std::move(request));
  if (!staged.ok()) return staged;
  Status durable = WaitDurable(staged->last);
  if (!IsDurable(staged->last, staged->epoch)) {
    if (!durable.ok()) return durable.error();
    return MakeError(ErrorCode::kStorageUnavailable,
                     "the append was discarded after a failed write");
  }
  return staged;
}

Status EventLog::AppendVerbatim(const std::vector<Event>& events) {
  if (events.empty()) return Ok{};
  Position last;
  uint64_t epoch = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (failure_) return *failure_;
    epoch = epoch_.load(std::memory_order_relaxed);
    std::vector<std::string> records(events.size());
    std::unordered_map<std::string, Version> versions;
    std::string prev = last_hash_;
    Position pos = last_position_;
    for (size_t i = 0; i < events.size(); ++i) {
      const Event& e = events[i];
      std::string at = "event at position " + std::to_string(e.position.value()) + ": ";
      if (e.position != pos.next()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         at + "expected position " + std::to_string(pos.value() + 1));
      }
      if (e.prev_hash != prev)
        return MakeError(ErrorCode::kCorruption, at + "prev_hash breaks the chain");
      if (ComputeHash(e) != e.hash) return MakeError(ErrorCode::kCorruption, at + "hash mismatch");
      auto [vit, fresh] = versions.try_emplace(e.token_id, Version(0));
      if (fresh) {
        if (uint32_t stream = streams_.Find(e.token_id); stream != 0) {
          vit->second = streams_.version(stream);
        }
      }
      if (e.version != vit->second.next()) {
        return MakeError(ErrorCode::kCorruption, at + "stream version out of order");
      }
      vit->second = e.version;
      if (!logfmt::AppendRecord(e, {}, records[i])) {
        return MakeError(ErrorCode::kInvalidArgument, at + "too large or malformed");
      }
      prev = e.hash;
      pos = e.position;
    }
    for (size_t i = 0; i < events.size(); ++i) {
      StageRecordLocked(events[i], records[i]);
      streams_.Append(streams_.FindOrAdd(events[i].token_id), events[i].position);
    }
    last_position_ = pos;
    last_hash_ = prev;
    last_time_ms_ = std::max(last_time_ms_, events.back().time_ms);
    pending_last_ = pos;
    counters_.events += events.size();
    last = pos;
  }
  Status durable = WaitDurable(last);
  if (!IsDurable(last, epoch)) {
    if (!durable.ok()) return durable.error();
    return MakeError(ErrorCode::kStorageUnavailable,
                     "the append was discarded after a failed write");
  }
  return Ok{};
}

void EventLog::Preallocate(uint64_t end) {
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
      !WriteAllAt(write_fd_, from, std::string_view(kZeros).substr(0, to - from))) {
    return;
  }
  allocated_end_ = to;
}

int EventLog::Injected(std::string_view operation) const {
  return options_.inject_error ? options_.inject_error(operation) : 0;
}

Error EventLog::IoFailure(const std::string& operation, const std::string& path, int err) const {
  // The path stays in the service's log; the error (which reaches HTTP
  // clients) names the cause only.
  std::string cause = std::strerror(err);
  if (!cause.empty())
    cause[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(cause[0])));
  options_.warn("log: " + operation + " " + path + " failed: " + cause);
  return MakeError(ErrorCode::kStorageUnavailable, "the event log cannot be written: " + cause);
}

void EventLog::FailLocked(Error error) {
  if (!failure_) {
    options_.warn("log: " + error.message +
                  "; appends are refused until the log is rewound to its durable position " +
                  std::to_string(durable_position_.value()));
    failure_ = std::move(error);
    failed_.store(true, std::memory_order_release);
  }
  for (size_t i = 0; i < bell_count_; ++i) Ring(bells_[i], /*everyone=*/true);
  durable_cv_.notify_all();
}

bool EventLog::CanStartRoundLocked() const {
  return !failure_ && !pending_.empty() && !writing_ &&
         rounds_running_ < options_.max_syncs_in_flight;
}

std::atomic<uint32_t>& EventLog::RoundBell(uint64_t round) { return bells_[round % bell_count_]; }

void EventLog::Ring(std::atomic<uint32_t>& bell, bool everyone) {
  bell.fetch_add(1, std::memory_order_release);
  if (everyone) {
    bell.notify_all();
  } else {
    bell.notify_one();
  }
}

bool EventLog::SleepOn(std::atomic<uint32_t>& bell, std::unique_lock<std::mutex>& lock,
                       Position p) {
  const uint32_t seen = bell.load(std::memory_order_acquire);
  lock.unlock();
  bell.wait(seen, std::memory_order_acquire);
  // Most wake-ups mean "your round is durable": answer that without mu_,
  // which the next round's stagers and leader are busy with.
  if (durable_published_.load(std::memory_order_acquire) >= p.value()) return true;
  lock.lock();
  return false;
}

void EventLog::WakeNextLeaderLocked() {
  if (CanStartRoundLocked()) Ring(RoundBell(round_ + 1), /*everyone=*/false);
}

void EventLog::FlushLocked(std::unique_lock<std::mutex>& lock) {
  writing_ = true;
  const uint64_t round = ++round_;
  std::vector<Chunk> work;
  work.swap(pending_);
  const Position upto = pending_last_;
  // Everything staged is in this round or an earlier one: the log's staged
  // end is this round's end.
  const End end_after{segments_.size(), tail_offset_, last_hash_};
  in_flight_.push_back(Round{round, upto});
  ++rounds_running_;
  std::vector<std::string> paths;
  for (const Chunk& c : work) paths.push_back(segments_[c.segment].path);
  lock.unlock();

  // Write: one round at a time, in round order (writing_), so a later
  // round's fdatasync also covers every earlier round's bytes.
  std::optional<Error> error;
  auto failed = [&](const char* operation, const std::string& path, int injected) {
    error = IoFailure(operation, path, injected != 0 ? injected : errno);
  };
  std::vector<std::pair<size_t, int>> opened;  // (segment, read fd) of new files
  for (size_t i = 0; i < work.size() && !error; ++i) {
    const Chunk& c = work[i];
    if (c.creates_file) {
      if (write_fd_ >= 0) {
        // The older segment is complete: cut its preallocated tail and make
        // it durable before anything lands in the new one, so a crash can
        // never leave a gap (nor zeros inside a closed segment).
        if (int e = Injected("truncate");
            e != 0 || ::ftruncate(write_fd_, static_cast<off_t>(write_end_)) != 0) {
          failed("truncate", paths[i], e);
          break;
        }
        if (int e = Injected("fsync"); e != 0 || ::fsync(write_fd_) != 0) {
          failed("fsync", paths[i], e);
          break;
        }
        // An earlier round may still be syncing through this descriptor.
        std::lock_guard<std::mutex> l(mu_);
        retired_fds_.push_back(write_fd_);
        write_fd_ = -1;
      }
      const int e = Injected("create");
      write_fd_ = e != 0 ? -1
                         : ::open(paths[i].c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                                  kPrivateFileMode);
      if (write_fd_ < 0) {
        failed("create", paths[i], e);
        break;
      }
      write_end_ = 0;
      allocated_end_ = 0;
      int rfd = ::open(paths[i].c_str(), O_RDONLY | O_CLOEXEC);
      if (rfd < 0) {
        failed("open", paths[i], 0);
        break;
      }
      opened.emplace_back(c.segment, rfd);
    }
    const uint64_t end = write_end_ + c.bytes.size();
    if (end > allocated_end_) Preallocate(end);
    if (int e = Injected("write"); e != 0 || !WriteAllAt(write_fd_, write_end_, c.bytes)) {
      failed("write", paths[i], e);
      break;
    }
    write_end_ = end;
  }
  const int sync_fd = write_fd_;

  // Sync: the next round may write (and start its own fdatasync) meanwhile.
  lock.lock();
  writing_ = false;
  if (error) FailLocked(*error);
  WakeNextLeaderLocked();
  lock.unlock();
  if (!error) {
    auto start = std::chrono::steady_clock::now();
    if (int e = Injected("fdatasync"); e != 0 || ::fdatasync(sync_fd) != 0) {
      failed("fdatasync", paths.empty() ? dir_ : paths.back(), e);
    } else if (!opened.empty()) {
      if (int e2 = Injected("fsync directory"); e2 != 0 || !SyncDirectory(dir_).ok()) {
        failed("fsync directory", dir_, e2);
      }
    }
    fsync_latency_.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  lock.lock();
  --rounds_running_;
  if (error) {
    ++counters_.write_failures;
    FailLocked(*error);
  }
  if (failure_) {
    // Not durable, even if this round's own sync succeeded: an earlier
    // round's failed sync may have lost pages this one did not cover.
    for (auto [segment, fd] : opened) ::close(fd);
    durable_cv_.notify_all();  // a Rewind may be waiting for the rounds to end
    return;
  }
  for (auto [segment, fd] : opened) segments_[segment].read_fd = fd;
  if (upto > durable_position_) {
    durable_position_ = upto;
    durable_end_ = end_after;
  }
  durable_published_.store(durable_position_.value(), std::memory_order_release);
  ++counters_.fsyncs;
  // Wake exactly the appenders now durable: this round's, and those of any
  // earlier round still syncing (this fdatasync covered their bytes too).
  // The waiters of later rounds sleep on.
  while (!in_flight_.empty() && in_flight_.front().upto <= durable_position_) {
    Ring(RoundBell(in_flight_.front().round), /*everyone=*/true);
    in_flight_.pop_front();
  }
  if (rounds_running_ == 0) {
    for (int fd : retired_fds_) ::close(fd);
    retired_fds_.clear();
  }
  WakeNextLeaderLocked();
  durable_cv_.notify_all();
}

Status EventLog::WaitDurable(Position p) {
  if (durable_published_.load(std::memory_order_acquire) >= p.value()) return Ok{};
  std::unique_lock<std::mutex> l(mu_);
  while (durable_position_ < p) {
    if (failure_) return *failure_;
    if (p > last_position_) {
      return MakeError(ErrorCode::kStorageUnavailable, "position " + std::to_string(p.value()) +
                                                           " was discarded after a failed write");
    }
    // Group commit without a flusher thread: a waiter leads a round (writes
    // and syncs everything staged so far) while later stagers queue up
    // behind it; up to max_syncs_in_flight rounds overlap, because the disk
    // completes concurrent fdatasyncs faster than back-to-back ones.
    // Everything staged before a round starts is in it, so a waiter sleeps
    // on the oldest running round that covers it, or else on the next round,
    // which one of its waiters will lead.
    // Appenders sleep on a round's bell, not on mu_: waking them costs no
    // lock hand-off (see SleepOn).
    std::optional<uint64_t> covering;
    for (const Round& r : in_flight_) {
      if (r.upto >= p) {
        covering = r.round;
        break;
      }
    }
    if (!covering && CanStartRoundLocked()) {
      FlushLocked(l);
    } else if (SleepOn(RoundBell(covering ? *covering : round_ + 1), l, p)) {
      return Ok{};
    }
  }
  return Ok{};
}

bool EventLog::IsDurable(Position p, uint64_t epoch) const {
  if (epoch == epoch_.load(std::memory_order_acquire)) {
    return durable_published_.load(std::memory_order_acquire) >= p.value();
  }
  // Staged before a Rewind: durable exactly when that Rewind kept it.
  std::lock_guard<std::mutex> l(mu_);
  return epoch < rewound_to_.size() && p <= rewound_to_[epoch];
}

std::optional<Error> EventLog::WriteFailure() const {
  if (!failed_.load(std::memory_order_acquire)) return std::nullopt;
  std::lock_guard<std::mutex> l(mu_);
  return failure_;
}

std::pair<Position, std::string> EventLog::DurableMark() const {
  std::lock_guard<std::mutex> l(mu_);
  return {durable_position_, durable_end_.hash};
}

Status EventLog::Rewind() {
  std::unique_lock<std::mutex> l(mu_);
  if (!failure_) return Ok{};
  // Rounds still writing or syncing end by themselves (none starts now).
  durable_cv_.wait(l, [&] { return rounds_running_ == 0 && !writing_; });
  const End keep = durable_end_;
  // Files: segments begun after the durable end go; the last durable one
  // is cut back to it.
  if (write_fd_ >= 0) ::close(write_fd_);
  write_fd_ = -1;
  for (int fd : retired_fds_) ::close(fd);
  retired_fds_.clear();
  bool removed = false;
  for (size_t i = keep.segments; i < segments_.size(); ++i) {
    if (segments_[i].read_fd >= 0) ::close(segments_[i].read_fd);
    if (::unlink(segments_[i].path.c_str()) == 0) {
      removed = true;
    } else if (errno != ENOENT) {
      failure_ = IoFailure("remove", segments_[i].path, errno);
      return *failure_;
    }
  }
  segments_.resize(keep.segments);
  if (removed) {
    if (Status synced = SyncDirectory(dir_); !synced.ok()) {
      options_.warn("log: cannot rewind: " + synced.error().message);
      return *failure_;
    }
  }
  if (!segments_.empty()) {
    const std::string& path = segments_.back().path;
    if (Status cut = TruncateFile(path, keep.offset); !cut.ok()) {
      options_.warn("log: cannot rewind: " + cut.error().message);
      return *failure_;
    }
    write_fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (write_fd_ < 0) {
      failure_ = IoFailure("open", path, errno);
      return *failure_;
    }
  }
  // Memory: forget everything staged after the durable position.
  const Position durable = durable_position_;
  counters_.events -=
      std::min<uint64_t>(counters_.events, last_position_.value() - durable.value());
  counters_.segments = segments_.size();
  tail_offset_ = write_end_ = allocated_end_ = keep.offset;
  last_position_ = pending_last_ = durable;
  last_hash_ = keep.hash;
  locations_.resize(durable.value());
  pending_.clear();
  in_flight_.clear();
  streams_.DropAfter(durable);
  std::erase_if(idempotency_, [&](const auto& kv) { return kv.second.first > durable; });
  rewound_to_.push_back(durable);
  options_.warn("log: rewound to durable position " + std::to_string(durable.value()) +
                " after: " + failure_->message + "; appends may be tried again");
  failure_.reset();
  failed_.store(false, std::memory_order_release);
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  // Waiters on discarded positions: they see them gone (WaitDurable) or a
  // new epoch (IsDurable).
  for (size_t i = 0; i < bell_count_; ++i) Ring(bells_[i], /*everyone=*/true);
  return Ok{};
}

Position EventLog::DurablePosition() const {
  std::lock_guard<std::mutex> l(mu_);
  return durable_position_;
}

Position EventLog::LastStagedPosition() const {
  std::lock_guard<std::mutex> l(mu_);
  return last_position_;
}

int64_t EventLog::LastStagedTime() const {
  std::lock_guard<std::mutex> l(mu_);
  return last_time_ms_;
}

Version EventLog::StreamVersion(const std::string& token_id) const {
  std::lock_guard<std::mutex> l(mu_);
  const uint32_t stream = streams_.Find(token_id);
  return stream == 0 ? Version(0) : streams_.version(stream);
}

size_t EventLog::StreamCount() const {
  std::lock_guard<std::mutex> l(mu_);
  return streams_.size();
}

LogCounters EventLog::Counters() const {
  std::lock_guard<std::mutex> l(mu_);
  return counters_;
}

Position EventLog::WaitForNew(Position after, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> l(mu_);
  durable_cv_.wait_for(l, timeout, [&] { return durable_position_ > after; });
  return durable_position_;
}

std::vector<Event> EventLog::Read(Position from, size_t max) const {
  std::vector<Position> positions;
  {
    std::lock_guard<std::mutex> l(mu_);
    uint64_t first = std::max<uint64_t>(from.value(), 1);
    for (uint64_t p = first; p <= durable_position_.value() && positions.size() < max; ++p) {
      positions.emplace_back(p);
    }
  }
  return ReadPositions(positions);
}

std::vector<Event> EventLog::ReadStream(const std::string& token_id, Version after,
                                        size_t max) const {
  std::vector<Position> positions;
  {
    std::lock_guard<std::mutex> l(mu_);
    const uint32_t stream = streams_.Find(token_id);
    if (stream == 0) return {};
    positions = streams_.Positions(stream, after, max, durable_position_);
  }
  return ReadPositions(positions);
}

namespace {

// Reads records through one window of a segment file. Positions asked for in
// order mostly lie next to each other on disk (a follower's or a feed's run,
// a busy token's stream), so one pread serves many records: a pread for each
// header and each payload was 44% of the snapshot follower's CPU.
class RecordWindow {
 public:
  // The `len` bytes at `offset` of `fd`, valid until the next call; nullptr
  // (errno set) when they cannot be read. On a miss the window is refilled
  // from `offset` through `reach` (where the caller expects to read next).
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

// How far one read may reach past the record it is for, and how much it
// reads beyond the start of the last record it covers (records are a few
// hundred bytes; a longer one costs a read of its own).
constexpr uint64_t kReadWindowBytes = 256ull << 10;
constexpr uint64_t kReadTailBytes = 4096;

}  // namespace

std::vector<Event> EventLog::ReadPositions(const std::vector<Position>& positions) const {
  struct Where {
    int fd;
    uint64_t offset;
  };
  std::vector<Where> where;
  {
    std::lock_guard<std::mutex> l(mu_);
    where.reserve(positions.size());
    for (Position p : positions) {
      uint64_t loc = locations_[p.value() - 1];
      where.push_back({segments_[loc >> 32].read_fd, loc & 0xffffffffu});
    }
  }
  // Where a read for record i should reach: the start of the furthest
  // following record of the same file within the window, plus a tail.
  size_t last_covered = 0;
  auto reach = [&](size_t i) {
    last_covered = std::max(last_covered, i);
    while (last_covered + 1 < where.size() && where[last_covered + 1].fd == where[i].fd &&
           where[last_covered + 1].offset > where[i].offset &&
           where[last_covered + 1].offset - where[i].offset < kReadWindowBytes) {
      ++last_covered;
    }
    return where[last_covered].offset + kReadTailBytes;
  };
  std::vector<Event> out;
  out.reserve(positions.size());
  RecordWindow window;
  for (size_t i = 0; i < where.size(); ++i) {
    const auto [fd, offset] = where[i];
    auto fail = [&](const char* why) {
      Fatal("read position " + std::to_string(positions[i].value()) + why);
    };
    const char* header = window.Bytes(fd, offset, logfmt::kRecordHeaderSize, reach(i));
    if (header == nullptr) fail("");
    const uint32_t len = logfmt::LoadU32(header);
    const uint32_t crc = logfmt::LoadU32(header + 4);
    if (len > logfmt::kMaxPayload) fail("");
    const uint64_t payload_at = offset + logfmt::kRecordHeaderSize;
    const char* payload = window.Bytes(fd, payload_at, len, std::max(reach(i), payload_at + len));
    if (payload == nullptr) fail("");
    const std::string_view bytes(payload, len);
    Event e;
    if (Crc32c(bytes) != crc || !logfmt::DecodePayload(bytes, /*parse_data=*/true, e, nullptr) ||
        e.position != positions[i]) {
      errno = EIO;
      fail(": the record changed on disk after it was written");
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace tl
