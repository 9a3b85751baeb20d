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
  // Open refuses (kCorruption, changing nothing) a log whose last intact
  // event is before this position: events up to it were acknowledged, so
  // they cannot be a torn write. 0: no such check.
  Position must_reach;
  // Test seam for the file I/O of appends: called before each operation
  // ("create", "write", "preallocate", "truncate", "fsync", "fdatasync",
  // "fsync directory") with its name; a non-zero return is taken as that
  // operation failing with this errno value.
  std::function<int(std::string_view operation)> inject_error;
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
  uint64_t epoch = 0;         // the log's epoch when staged (see EventLog::Rewind)
};

struct LogCounters {
  uint64_t events = 0;          // events appended since open
  uint64_t fsyncs = 0;          // fdatasync calls since open
  uint64_t segments = 0;        // segment files in the log
  uint64_t write_failures = 0;  // group-commit rounds whose write or sync failed
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

  // Blocks until every position <= `p` is durable: Ok. kUnavailable when a
  // write or sync failed first (see WriteFailure), or when `p` is no longer
  // staged (a Rewind discarded it). A position a Rewind discarded can be
  // staged again by a later append: whoever staged it must confirm with
  // IsDurable(p, epoch) before acknowledging anything.
  Status WaitDurable(Position p);
  // True when `p`, staged in `epoch` (AppendResult::epoch), is durable.
  // Lock-free while no Rewind happened since.
  bool IsDurable(Position p, uint64_t epoch) const;

  // Failed writes. After a write, an fdatasync, a segment creation or a
  // segment roll fails (no space, too many files, an I/O error), the log
  // refuses appends (Stage, AppendVerbatim: kUnavailable) and nothing staged
  // after the durable position becomes durable, not even through a later
  // round's successful sync (after a failed fsync the kernel may have dropped
  // the dirty pages it could not write). Readers and the durable events are
  // unaffected. Rewind brings it back.
  //
  // The failure while appends are refused; nullopt when the log is healthy.
  std::optional<Error> WriteFailure() const;
  // REQUIRES: no Stage or AppendVerbatim runs meanwhile (the ledger holds
  // its state lock). Waits for the rounds still running, discards every
  // event staged after the durable position (their waiters get kUnavailable;
  // their positions are staged again by the next appends), cuts the newest
  // segment back to the durable end (removing segments begun after it), and
  // starts a new epoch in which appends are accepted again. Ok at once when
  // the log has not failed. Fails, and the log keeps refusing, when the file
  // system still refuses the cut.
  Status Rewind();
  uint64_t Epoch() const { return epoch_.load(std::memory_order_acquire); }
  // The durable position and its event's hash (hex; 64 zeros when empty).
  std::pair<Position, std::string> DurableMark() const;

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
  // Where a prefix of the log ends on disk: the segments holding it, the
  // byte end in the last of them, and its last event's hash.
  struct End {
    size_t segments = 0;
    uint64_t offset = 0;
    std::string hash = kGenesisHash;
  };
  // The error for a failed operation on `path` (errno `err`).
  Error IoFailure(const std::string& operation, const std::string& path, int err) const;
  // Runs the seam, if any: the errno it injects for `operation`, else 0.
  int Injected(std::string_view operation) const;
  // REQUIRES: `lock` holds mu_ and CanStartRoundLocked(). Leads one round:
  // writes everything staged, then fdatasyncs it (releasing mu_ meanwhile),
  // then publishes the new durable position. Returns with mu_ held again.
  void FlushLocked(std::unique_lock<std::mutex>& lock);
  bool CanStartRoundLocked() const;
  // Called by the writing round: extends the newest segment's allocation to
  // cover at least `end`, if it can (a failure only means that the round's
  // writes extend the file themselves).
  void Preallocate(uint64_t end);
  // REQUIRES: mu_ held. Records a failed round and wakes every waiter.
  void FailLocked(Error error);
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
  End durable_end_;  // where durable_position_ ends on disk
  std::optional<Error> failure_;
  std::atomic<bool> failed_{false};  // failure_ is set
  std::atomic<uint64_t> epoch_{0};   // Rewinds done
  // The durable position each finished epoch was rewound to, by epoch.
  std::vector<Position> rewound_to_;
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
  bool writing_ = false;         // a round is writing its bytes right now
  uint64_t round_ = 0;           // rounds started
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
