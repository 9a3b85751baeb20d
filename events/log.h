#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "events/event.h"
#include "events/event_source.h"
#include "events/histogram.h"
#include "events/result.h"
#include "events/stream_index.h"

namespace tl {

struct LogOptions {
  // A segment is closed once it holds at least this many bytes.
  uint64_t max_segment_bytes = 64ull << 20;
  // Group-commit rounds whose fdatasync may run at once. 1 = strictly one
  // after another. Two overlap the next round's write+sync with the
  // previous sync, which this machine's disk completes ~1.5x faster than
  // back to back (log_append_bench).
  size_t max_syncs_in_flight = 2;
  // Where recovery warnings go (a torn tail that was cut). Default: stderr.
  std::function<void(std::string_view)> warn;
};

// What a command wants appended to one token's stream.
struct AppendRequest {
  std::string token_id;
  // nullopt: append whatever the stream's version is. Version(0): the stream
  // must not exist yet.
  std::optional<Version> expected_version;
  // Non-empty: a repeat of the same key returns the first result and writes nothing.
  std::string idempotency_key;
  int64_t time_ms = 0;
  std::string actor;
  std::vector<std::pair<EventType, Json>> events;  // (type, data); data is an object
};

struct AppendResult {
  Position first;             // position of the first event appended
  Position last;              // position of the last event appended
  Version stream_version;     // the stream's version after the append
  bool duplicate = false;     // an idempotency-key repeat: nothing was written
  std::vector<Event> events;  // the events as recorded (empty for a duplicate)
};

struct LogCounters {
  uint64_t events = 0;    // events appended since open
  uint64_t fsyncs = 0;    // fdatasync calls since open
  uint64_t segments = 0;  // segment files in the log
};

// The durable, hash-chained event log in one directory (format: FORMAT.md).
//
// Thread-safe. Appends are staged in memory under one mutex (positions,
// versions and the hash chain are assigned there) and made durable by the
// first thread that waits for them: it writes and fdatasyncs everything
// staged so far in one go, so concurrent appends share one fsync (group
// commit) without waking a separate flusher thread. Up to
// LogOptions::max_syncs_in_flight such rounds overlap (see WaitDurable).
class EventLog final : public EventSource {
 public:
  // Opens or creates the log in `dir`. A torn last record is cut (with a
  // warning naming it); any other damage fails with kCorruption naming the
  // segment, offset and position, and the log is not opened.
  static Result<std::unique_ptr<EventLog>> Open(const std::string& dir, LogOptions options = {});

  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;
  // Makes everything staged durable, then closes.
  ~EventLog() override;

  // Stage + WaitDurable: returns only when the events are on disk.
  Result<AppendResult> Append(AppendRequest request);

  // Validates the request against the stream's version and the idempotency
  // keys, assigns positions and hashes, and queues the records for the
  // flusher. Returns before they are durable: the caller must WaitDurable(last)
  // before acknowledging anything. A conflict or bad input stages nothing.
  // Stages happen in one total order, so a caller that serializes Stage with
  // its own state updates sees events in position order.
  Result<AppendResult> Stage(AppendRequest request);

  // Appends events that already carry positions and hashes (restore from a
  // replica). Each must continue the chain: next position, prev_hash = the
  // last hash, a correct hash, next version of its stream. Durable on return.
  Status AppendVerbatim(const std::vector<Event>& events);

  // Blocks until every position <= `p` is durable.
  void WaitDurable(Position p);

  // EventSource: reads only durable events.
  std::vector<Event> Read(Position from, size_t max) const override;
  Position DurablePosition() const override;
  Position WaitForNew(Position after, std::chrono::milliseconds timeout) const override;

  // The durable events of one stream with version > `after`, at most `max`.
  std::vector<Event> ReadStream(const std::string& token_id, Version after, size_t max) const;

  Position LastStagedPosition() const;
  // The time of the last staged event (0 when empty). Stage never gives an
  // event an earlier time than this.
  int64_t LastStagedTime() const;
  Version StreamVersion(const std::string& token_id) const;
  // Streams (tokens) with at least one staged event.
  size_t StreamCount() const;
  LogCounters Counters() const;
  const Histogram& FsyncLatency() const { return fsync_latency_; }
  const std::string& dir() const { return dir_; }

 private:
  struct Segment {
    Position first;
    std::string path;
    int read_fd = -1;
  };
  // Bytes staged for one segment file, not yet written.
  struct Chunk {
    size_t segment = 0;  // index into segments_
    bool creates_file = false;
    std::string bytes;
  };
  EventLog(std::string dir, LogOptions options);
  Status Recover();
  // REQUIRES: mu_ held. Adds one encoded record for `e` to the staging chunks.
  void StageRecordLocked(const Event& e, std::string_view record);
  // A group-commit round from the start of its write to the end of its sync.
  struct Round {
    uint64_t round;
    Position upto;  // the last position it writes
  };
  // REQUIRES: `lock` holds mu_ and CanStartRoundLocked(). Leads one round:
  // writes everything staged, then fdatasyncs it (releasing mu_ meanwhile),
  // then publishes the new durable position. Returns with mu_ held again.
  void FlushLocked(std::unique_lock<std::mutex>& lock);
  bool CanStartRoundLocked() const;
  // Called by the writing round: extends the newest segment's allocation to
  // cover at least `end`.
  void Preallocate(uint64_t end);
  void WakeNextLeaderLocked();
  std::atomic<uint32_t>& RoundBell(uint64_t round);
  static void Ring(std::atomic<uint32_t>& bell, bool everyone);
  // Releases `lock` and sleeps until `bell` rings. Returns true when `p` is
  // durable by then (without retaking the lock); otherwise retakes it.
  bool SleepOn(std::atomic<uint32_t>& bell, std::unique_lock<std::mutex>& lock, Position p);
  std::vector<Event> ReadPositions(const std::vector<Position>& positions) const;

  const std::string dir_;
  const LogOptions options_;

  mutable std::mutex mu_;  // guards everything below up to the flusher fields
  // Followers (WaitForNew): notified after every round.
  mutable std::condition_variable durable_cv_;
  // Appenders waiting in WaitDurable sleep on the bell of the round that
  // will make their events durable: one bell per round that may be running,
  // plus the next. A ring bumps the counter and wakes its sleepers.
  const size_t bell_count_;
  std::unique_ptr<std::atomic<uint32_t>[]> bells_;
  // durable_position_, readable without mu_.
  std::atomic<uint64_t> durable_published_{0};
  std::vector<Segment> segments_;
  uint64_t tail_offset_ = 0;  // bytes in the newest segment, staged included
  Position last_position_;    // staged
  Position durable_position_;
  std::string last_hash_ = kGenesisHash;
  int64_t last_time_ms_ = 0;  // of the last staged event
  StreamIndex streams_;
  std::unordered_map<std::string, AppendResult> idempotency_;  // without events
  // Location of each position p at locations_[p-1]: segment index << 32 |
  // offset. A deque: it grows by one per event without the copy (and the
  // twice-the-size peak) of a vector's reallocation.
  std::deque<uint64_t> locations_;
  // Staged records not yet handed to a flush, and the last position in them.
  std::vector<Chunk> pending_;
  Position pending_last_;
  bool writing_ = false;      // a round is writing its bytes right now
  uint64_t round_ = 0;        // rounds started
  std::deque<Round> in_flight_;  // started, not yet durable; oldest first
  // Rounds whose leader has not finished (a round can be durable, through a
  // later round's sync, while its own fdatasync still runs).
  size_t rounds_running_ = 0;
  // Write descriptors of closed segments that a running sync may still use.
  std::vector<int> retired_fds_;
  bool stopping_ = false;
  LogCounters counters_;

  // The newest segment's write descriptor: written and replaced only by the
  // thread that has set writing_ (one at a time, handed over under mu_).
  int write_fd_ = -1;
  // Owned like write_fd_: the bytes written to the newest segment, and how
  // far it is preallocated (zeros past write_end_; see Preallocate).
  uint64_t write_end_ = 0;
  uint64_t allocated_end_ = 0;
  Histogram fsync_latency_;
};

}  // namespace tl
