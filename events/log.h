#pragma once

// The durable, hash-chained event log: the façade that callers use. It owns
// the log's parts and the one mutex they share:
//   log_recovery.h  open: scan the segments, high-water check, cut a torn tail
//   log_index.h     positions -> record locations, stream versions, idempotency keys
//   log_writer.h    the file side of appends (segments, preallocation, fdatasync)
//   log_reader.h    reading records back by location
// and runs the group commit (staging, rounds, waiting) over them.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/event.h"
#include "events/event_source.h"
#include "events/histogram.h"
#include "events/log_index.h"
#include "events/log_options.h"
#include "events/log_writer.h"
#include "events/result.h"
#include "events/thread_annotations.h"

namespace tl {

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
//
// Locking: mu_ is the log's only mutex; the parts it owns (LogIndex, the
// staging state, the segment list) are guarded by it, and none of them locks
// anything. Lock order: a caller's own mutex may be held while calling into
// the log (the ledger holds its state lock around Stage), so the log never
// calls out to its callers under mu_ except LogOptions::warn and
// inject_error, which must not call back into it. DurableWaiter's mutex is
// never held across a call into the log. The SegmentWriter is not guarded
// by mu_: it belongs to the one round leader that set writing_ (handed over
// under mu_), and to Open, Rewind and the destructor when no round runs.
// Waiting appenders sleep on RoundBells (atomics), not on mu_.
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
  Result<AppendResult> Append(AppendRequest request) TL_EXCLUDES(mu_);

  // Validates the request against the stream's version and the idempotency
  // keys, assigns positions and hashes, and queues the records for the
  // flusher. Returns before they are durable: the caller must WaitDurable(last)
  // before acknowledging anything. A conflict or bad input stages nothing.
  // Stages happen in one total order, so a caller that serializes Stage with
  // its own state updates sees events in position order.
  Result<AppendResult> Stage(AppendRequest request) TL_EXCLUDES(mu_);

  // Appends events that already carry positions and hashes (restore from a
  // replica). Each must continue the chain: next position, prev_hash = the
  // last hash, a correct hash, next version of its stream. Durable on return.
  Status AppendVerbatim(const std::vector<Event>& events) TL_EXCLUDES(mu_);

  // Blocks until every position <= `p` is durable: Ok. kUnavailable when a
  // write or sync failed first (see WriteFailure), or when `p` is no longer
  // staged (a Rewind discarded it). A position a Rewind discarded can be
  // staged again by a later append: whoever staged it must confirm with
  // IsDurable(p, epoch) before acknowledging anything.
  Status WaitDurable(Position p) TL_EXCLUDES(mu_);
  // True when `p`, staged in `epoch` (AppendResult::epoch), is durable.
  // Lock-free while no Rewind happened since.
  bool IsDurable(Position p, uint64_t epoch) const TL_EXCLUDES(mu_);

  // Failed writes. After a write, an fdatasync, a segment creation or a
  // segment roll fails (no space, too many files, an I/O error), the log
  // refuses appends (Stage, AppendVerbatim: kUnavailable) and nothing staged
  // after the durable position becomes durable, not even through a later
  // round's successful sync (after a failed fsync the kernel may have dropped
  // the dirty pages it could not write). Readers and the durable events are
  // unaffected. Rewind brings it back.
  //
  // The failure while appends are refused; nullopt when the log is healthy.
  std::optional<Error> WriteFailure() const TL_EXCLUDES(mu_);
  // REQUIRES: no Stage or AppendVerbatim runs meanwhile (the ledger holds
  // its state lock). Waits for the rounds still running, discards every
  // event staged after the durable position (their waiters get kUnavailable;
  // their positions are staged again by the next appends), cuts the newest
  // segment back to the durable end (removing segments begun after it), and
  // starts a new epoch in which appends are accepted again. Ok at once when
  // the log has not failed. Fails, and the log keeps refusing, when the file
  // system still refuses the cut.
  Status Rewind() TL_EXCLUDES(mu_);
  uint64_t Epoch() const { return epoch_.load(std::memory_order_acquire); }
  // The durable position and its event's hash (hex; 64 zeros when empty).
  std::pair<Position, std::string> DurableMark() const TL_EXCLUDES(mu_);

  // EventSource: reads only durable events.
  std::vector<Event> Read(Position from, size_t max) const override;
  Position DurablePosition() const override;
  Position WaitForNew(Position after, std::chrono::milliseconds timeout) const override;

  // The durable events of one stream with version > `after`, at most `max`.
  std::vector<Event> ReadStream(const std::string& token_id, Version after, size_t max) const
      TL_EXCLUDES(mu_);

  Position LastStagedPosition() const TL_EXCLUDES(mu_);
  // The time of the last staged event (0 when empty). Stage never gives an
  // event an earlier time than this.
  int64_t LastStagedTime() const TL_EXCLUDES(mu_);
  Version StreamVersion(const std::string& token_id) const TL_EXCLUDES(mu_);
  // Streams (tokens) with at least one staged event.
  size_t StreamCount() const TL_EXCLUDES(mu_);
  LogCounters Counters() const TL_EXCLUDES(mu_);
  const Histogram& FsyncLatency() const { return writer_.fsync_latency(); }
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
  EventLog(std::string dir, LogOptions options);
  // Recovery (log_recovery.h), then the descriptors for reading and writing.
  Status Load();
  // Adds one encoded record for `e` to the staging chunks.
  void StageRecordLocked(const Event& e, std::string_view record) TL_REQUIRES(mu_);
  // REQUIRES: CanStartRoundLocked(). Leads one round: writes everything
  // staged, then fdatasyncs it (releasing mu_ meanwhile), then publishes the
  // new durable position. Returns with mu_ held again.
  void FlushLocked() TL_REQUIRES(mu_);
  bool CanStartRoundLocked() const TL_REQUIRES(mu_);
  // Records a failed round and wakes every waiter.
  void FailLocked(Error error) TL_REQUIRES(mu_);
  void WakeNextLeaderLocked() TL_REQUIRES(mu_);
  std::vector<Event> ReadPositions(const std::vector<Position>& positions) const TL_EXCLUDES(mu_);

  const std::string dir_;
  const LogOptions options_;

  mutable tl::Mutex mu_;
  // Followers (WaitForNew) and Rewind: notified after every round.
  mutable std::condition_variable durable_cv_;
  RoundBells bells_;
  // durable_position_, readable without mu_.
  std::atomic<uint64_t> durable_published_{0};
  std::atomic<bool> failed_{false};  // failure_ is set
  std::atomic<uint64_t> epoch_{0};   // Rewinds done

  std::vector<Segment> segments_ TL_GUARDED_BY(mu_);
  uint64_t tail_offset_ TL_GUARDED_BY(mu_) = 0;  // bytes in the newest segment, staged included
  Position last_position_ TL_GUARDED_BY(mu_);    // staged
  Position durable_position_ TL_GUARDED_BY(mu_);
  End durable_end_ TL_GUARDED_BY(mu_);  // where durable_position_ ends on disk
  std::optional<Error> failure_ TL_GUARDED_BY(mu_);
  // The durable position each finished epoch was rewound to, by epoch.
  std::vector<Position> rewound_to_ TL_GUARDED_BY(mu_);
  std::string last_hash_ TL_GUARDED_BY(mu_) = kGenesisHash;
  int64_t last_time_ms_ TL_GUARDED_BY(mu_) = 0;  // of the last staged event
  LogIndex index_ TL_GUARDED_BY(mu_);
  // Staged records not yet handed to a flush, and the last position in them.
  std::vector<Chunk> pending_ TL_GUARDED_BY(mu_);
  Position pending_last_ TL_GUARDED_BY(mu_);
  bool writing_ TL_GUARDED_BY(mu_) = false;         // a round is writing its bytes right now
  uint64_t round_ TL_GUARDED_BY(mu_) = 0;           // rounds started
  std::deque<Round> in_flight_ TL_GUARDED_BY(mu_);  // started, not yet durable; oldest first
  // Rounds whose leader has not finished (a round can be durable, through a
  // later round's sync, while its own fdatasync still runs).
  size_t rounds_running_ TL_GUARDED_BY(mu_) = 0;
  // Write descriptors of closed segments that a running sync may still use.
  std::vector<int> retired_fds_ TL_GUARDED_BY(mu_);
  bool stopping_ TL_GUARDED_BY(mu_) = false;
  LogCounters counters_ TL_GUARDED_BY(mu_);

  // Not guarded: see "Locking" above.
  SegmentWriter writer_;
};

}  // namespace tl
