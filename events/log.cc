#include "events/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "events/file_util.h"
#include "events/hex.h"
#include "events/log_format.h"
#include "events/log_reader.h"
#include "events/log_recovery.h"

namespace tl {
namespace {

namespace fs = std::filesystem;

// A durable record that cannot be read back is a broken invariant (the
// disk lost what it confirmed): stop loudly. Failed appends are values
// instead (see EventLog::WriteFailure).
[[noreturn]] void Fatal(const std::string& what) {
  std::fprintf(stderr, "fatal: event log: %s\n", what.c_str());
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

}  // namespace

EventLog::EventLog(std::string dir, LogOptions options)
    : dir_(std::move(dir)),
      options_(std::move(options)),
      bells_(options_.max_syncs_in_flight),
      writer_(dir_, options_) {}

Result<std::unique_ptr<EventLog>> EventLog::Open(const std::string& dir, LogOptions options) {
  if (Status made = MakePrivateDir(dir); !made.ok()) return made.error();
  if (!options.warn) {
    options.warn = [](std::string_view msg) { std::cerr << "warning: " << msg << std::endl; };
  }
  std::unique_ptr<EventLog> log(new EventLog(dir, std::move(options)));
  Status loaded = log->Load();
  if (!loaded.ok()) return loaded.error();
  return log;
}

EventLog::~EventLog() {
  Position last;
  {
    MutexLock l(mu_);
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
  writer_.Close();
  MutexLock l(mu_);
  for (int fd : retired_fds_) ::close(fd);
  for (Segment& s : segments_) {
    if (s.read_fd >= 0) ::close(s.read_fd);
  }
}

Status EventLog::Load() {
  MutexLock l(mu_);  // no other thread knows the log yet; for the analysis
  Result<RecoveredLog> recovered = RecoverLog(dir_, options_, index_);
  if (!recovered.ok()) return recovered.error();
  last_position_ = recovered->last;
  last_hash_ = recovered->last_hash;
  last_time_ms_ = recovered->last_time_ms;
  for (auto& [first, path] : recovered->segments) {
    segments_.push_back(Segment{first, std::move(path), -1});
  }
  tail_offset_ = recovered->tail_offset;
  for (Segment& s : segments_) {
    s.read_fd = ::open(s.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (s.read_fd < 0) return MakeError(ErrorCode::kIo, "cannot open " + s.path);
  }
  if (!segments_.empty() && !writer_.Resume(segments_.back().path, tail_offset_)) {
    return MakeError(ErrorCode::kIo, "cannot open " + segments_.back().path);
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
  index_.AddLocation(index, tail_offset_);
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

  MutexLock l(mu_);
  if (stopping_) return MakeError(ErrorCode::kUnavailable, "the log is closing");
  if (failure_) return *failure_;
  if (!req.idempotency_key.empty()) {
    if (const KeyedAppend* first = index_.FindKey(req.idempotency_key)) {
      return AppendResult{first->first, first->last, first->stream_version, /*duplicate=*/true, {}};
    }
  }
  StreamIndex& streams = index_.streams();
  uint32_t stream = streams.Find(req.token_id);
  const Version current = stream == 0 ? Version(0) : streams.version(stream);
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

  if (stream == 0) stream = streams.FindOrAdd(req.token_id);
  for (size_t i = 0; i < records.size(); ++i) {
    StageRecordLocked(result.events[i], records[i]);
    streams.Append(stream, result.events[i].position);
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
    index_.RememberKey(req.idempotency_key, KeyedAppend{result.first, result.last, version});
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
    MutexLock l(mu_);
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
      if (fresh) vit->second = index_.StreamVersion(e.token_id);
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
      StreamIndex& streams = index_.streams();
      streams.Append(streams.FindOrAdd(events[i].token_id), events[i].position);
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

void EventLog::FailLocked(Error error) {
  if (!failure_) {
    options_.warn("log: " + error.message +
                  "; appends are refused until the log is rewound to its durable position " +
                  std::to_string(durable_position_.value()));
    failure_ = std::move(error);
    failed_.store(true, std::memory_order_release);
  }
  bells_.RingAll();
  durable_cv_.notify_all();
}

bool EventLog::CanStartRoundLocked() const {
  return !failure_ && !pending_.empty() && !writing_ &&
         rounds_running_ < options_.max_syncs_in_flight;
}

void EventLog::WakeNextLeaderLocked() {
  if (CanStartRoundLocked()) RoundBells::Ring(bells_.For(round_ + 1), /*everyone=*/false);
}

void EventLog::FlushLocked() {
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
  mu_.unlock();

  // Write: one round at a time, in round order (writing_), so a later
  // round's fdatasync also covers every earlier round's bytes.
  std::optional<Error> error;
  std::vector<std::pair<size_t, int>> opened;  // (segment, read fd) of new files
  for (size_t i = 0; i < work.size() && !error; ++i) {
    const Chunk& c = work[i];
    if (c.creates_file) {
      int retired = -1;
      Status started = writer_.StartSegment(paths[i], &retired);
      if (retired >= 0) {
        // An earlier round may still be syncing through this descriptor.
        MutexLock l(mu_);
        retired_fds_.push_back(retired);
      }
      if (!started.ok()) {
        error = started.error();
        break;
      }
      int rfd = ::open(paths[i].c_str(), O_RDONLY | O_CLOEXEC);
      if (rfd < 0) {
        error = writer_.IoFailure("open", paths[i], errno);
        break;
      }
      opened.emplace_back(c.segment, rfd);
    }
    if (Status written = writer_.Append(c.bytes, paths[i]); !written.ok()) {
      error = written.error();
      break;
    }
  }
  const int sync_fd = writer_.fd();

  // Sync: the next round may write (and start its own fdatasync) meanwhile.
  mu_.lock();
  writing_ = false;
  if (error) FailLocked(*error);
  WakeNextLeaderLocked();
  mu_.unlock();
  if (!error) {
    Status synced = writer_.Sync(sync_fd, paths.empty() ? dir_ : paths.back(), !opened.empty());
    if (!synced.ok()) error = synced.error();
  }

  mu_.lock();
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
    RoundBells::Ring(bells_.For(in_flight_.front().round), /*everyone=*/true);
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
  UniqueLock l(mu_);
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
    std::optional<uint64_t> covering;
    for (const Round& r : in_flight_) {
      if (r.upto >= p) {
        covering = r.round;
        break;
      }
    }
    if (!covering && CanStartRoundLocked()) {
      FlushLocked();
      continue;
    }
    // Appenders sleep on a round's bell, not on mu_: waking them costs no
    // lock hand-off.
    std::atomic<uint32_t>& bell = bells_.For(covering ? *covering : round_ + 1);
    const uint32_t seen = bell.load(std::memory_order_acquire);
    l.Unlock();
    bell.wait(seen, std::memory_order_acquire);
    // Most wake-ups mean "your round is durable": answer that without mu_,
    // which the next round's stagers and leader are busy with.
    if (durable_published_.load(std::memory_order_acquire) >= p.value()) return Ok{};
    l.Lock();
  }
  return Ok{};
}

bool EventLog::IsDurable(Position p, uint64_t epoch) const {
  if (epoch == epoch_.load(std::memory_order_acquire)) {
    return durable_published_.load(std::memory_order_acquire) >= p.value();
  }
  // Staged before a Rewind: durable exactly when that Rewind kept it.
  MutexLock l(mu_);
  return epoch < rewound_to_.size() && p <= rewound_to_[epoch];
}

std::optional<Error> EventLog::WriteFailure() const {
  if (!failed_.load(std::memory_order_acquire)) return std::nullopt;
  MutexLock l(mu_);
  return failure_;
}

std::pair<Position, std::string> EventLog::DurableMark() const {
  MutexLock l(mu_);
  return {durable_position_, durable_end_.hash};
}

Status EventLog::Rewind() {
  UniqueLock l(mu_);
  if (!failure_) return Ok{};
  // Rounds still writing or syncing end by themselves (none starts now).
  while (rounds_running_ != 0 || writing_) durable_cv_.wait(l.native());
  const End keep = durable_end_;
  // Files: segments begun after the durable end go; the last durable one
  // is cut back to it.
  for (int fd : retired_fds_) ::close(fd);
  retired_fds_.clear();
  std::vector<std::string> later;
  for (size_t i = keep.segments; i < segments_.size(); ++i) {
    if (segments_[i].read_fd >= 0) ::close(segments_[i].read_fd);
    segments_[i].read_fd = -1;
    later.push_back(segments_[i].path);
  }
  const std::string newest = keep.segments > 0 ? segments_[keep.segments - 1].path : "";
  std::optional<SegmentWriter::RewindFailure> cut = writer_.Rewind(later, newest, keep.offset);
  if (!cut || !cut->before_removal) segments_.resize(keep.segments);
  if (cut) {
    if (cut->replaces_failure) failure_ = cut->error;
    return *failure_;
  }
  // Memory: forget everything staged after the durable position.
  const Position durable = durable_position_;
  counters_.events -=
      std::min<uint64_t>(counters_.events, last_position_.value() - durable.value());
  counters_.segments = segments_.size();
  tail_offset_ = keep.offset;
  last_position_ = pending_last_ = durable;
  last_hash_ = keep.hash;
  index_.DropAfter(durable);
  pending_.clear();
  in_flight_.clear();
  rewound_to_.push_back(durable);
  options_.warn("log: rewound to durable position " + std::to_string(durable.value()) +
                " after: " + failure_->message + "; appends may be tried again");
  failure_.reset();
  failed_.store(false, std::memory_order_release);
  epoch_.fetch_add(1, std::memory_order_acq_rel);
  // Waiters on discarded positions: they see them gone (WaitDurable) or a
  // new epoch (IsDurable).
  bells_.RingAll();
  return Ok{};
}

Position EventLog::DurablePosition() const {
  MutexLock l(mu_);
  return durable_position_;
}

Position EventLog::LastStagedPosition() const {
  MutexLock l(mu_);
  return last_position_;
}

int64_t EventLog::LastStagedTime() const {
  MutexLock l(mu_);
  return last_time_ms_;
}

Version EventLog::StreamVersion(const std::string& token_id) const {
  MutexLock l(mu_);
  return index_.StreamVersion(token_id);
}

size_t EventLog::StreamCount() const {
  MutexLock l(mu_);
  return index_.streams().size();
}

LogCounters EventLog::Counters() const {
  MutexLock l(mu_);
  return counters_;
}

Position EventLog::WaitForNew(Position after, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  UniqueLock l(mu_);
  while (durable_position_ <= after) {
    if (durable_cv_.wait_until(l.native(), deadline) == std::cv_status::timeout) break;
  }
  return durable_position_;
}

std::vector<Event> EventLog::Read(Position from, size_t max) const {
  std::vector<Position> positions;
  {
    MutexLock l(mu_);
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
    MutexLock l(mu_);
    const StreamIndex& streams = index_.streams();
    const uint32_t stream = streams.Find(token_id);
    if (stream == 0) return {};
    positions = streams.Positions(stream, after, max, durable_position_);
  }
  return ReadPositions(positions);
}

std::vector<Event> EventLog::ReadPositions(const std::vector<Position>& positions) const {
  std::vector<RecordToRead> records;
  {
    MutexLock l(mu_);
    records.reserve(positions.size());
    for (Position p : positions) {
      const RecordLocation at = index_.Location(p);
      records.push_back({segments_[at.segment].read_fd, at.offset, p});
    }
  }
  Result<std::vector<Event>> events = ReadRecords(records);
  if (!events.ok()) {
    Fatal(events.error().message + (events.error().code == ErrorCode::kCorruption
                                        ? " (the record changed on disk after it was written)"
                                        : ""));
  }
  return std::move(*events);
}

}  // namespace tl
