#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "events/hash_index.h"
#include "events/strong_types.h"

namespace tl {

// The log's index of streams: for each token id, its version and the
// positions of its events in version order (a stream's version is also its
// number of events). A stream is named by a reference, 1 + its entry number,
// which stays valid for the index's lifetime.
//
// Built for Open, which meets every event of a large log once, with the
// events of one stream scattered through it (10M events over 1M streams:
// the std::unordered_map<std::string, {Version, std::vector<Position>}> it
// replaces cost several cache misses and a malloc per record, most of the
// open's time). Layout:
//  - a HashIndex (8-byte slots: hash low bits + reference) finds the entry;
//  - entries are 64 bytes (one cache line) in blocks of 4096 that never
//    move: the version, where the stream's recovered positions start in
//    recovered_, which vector of appended_ holds its positions staged since
//    open, and the id inline when it has at most kInlineId (42) bytes (a
//    token id has 26); longer ids live in one string, long_ids_. So a lookup
//    touches one slot and one line, and a new stream allocates nothing;
//  - the positions of the events read at open are not kept per stream while
//    reading: each event's stream reference is queued (4 bytes, in log
//    order), and FinishRecovery then sorts them by stream into one array,
//    recovered_, each stream's positions contiguous (a counting sort: the
//    counts are the versions). No per-stream allocation, no slack;
//  - events staged after open go to a per-stream vector in appended_;
//  - while Open scans, Prefetch is told which stream a record a few ahead
//    belongs to, so the slot and the entry are mostly in cache when the
//    record is checked.
// At 1M streams and 10M events: 16 MiB of slots, 64 MiB of entries, 80 MiB
// of recovered positions (plus 40 MiB of queued references while Open
// runs); Open's peak RSS on such a log fell from 429 to 278 MiB
// (tests/bench/log_open_bench) when this replaced the map.
//
// Not thread-safe: the log guards it with its mutex.
class StreamIndex {
 public:
  using Hasher = size_t (*)(std::string_view id);
  static size_t DefaultHash(std::string_view id) { return std::hash<std::string_view>{}(id); }

  // `hash` is a seam for tests (colliding hashes); the log uses the default.
  explicit StreamIndex(Hasher hash = DefaultHash) : hash_(hash) {}
  StreamIndex(const StreamIndex&) = delete;
  StreamIndex& operator=(const StreamIndex&) = delete;

  // The stream's reference, or 0 when it has none.
  uint32_t Find(std::string_view id) const;
  // The stream's reference, adding an empty stream (version 0) when absent.
  uint32_t FindOrAdd(std::string_view id);
  size_t size() const { return count_; }

  Version version(uint32_t ref) const { return At(ref).version; }
  // For Open's scan, which checks each record's version and then advances it.
  Version& mutable_version(uint32_t ref) { return At(ref).version; }

  // Open's scan, before each record: `upcoming` is the id of a record a few
  // ahead (ScanOptions::upcoming_stream). Prefetches its slot, and the entry
  // of the id hinted kEntryLag calls before, whose slot has had that many
  // records' time to arrive: the two dependent cache misses of a lookup are
  // then mostly paid before it. Only a hint: a wrong id costs a useless
  // prefetch.
  void Prefetch(std::string_view upcoming);

  // Open, in log order: position `p` (= the number of recovered events + 1)
  // is the next event of `ref`, whose version the scan has advanced.
  void AddRecovered(uint32_t ref, Position p);
  // Open, once all events were added: builds the per-stream position lists.
  void FinishRecovery();

  // After FinishRecovery: appends `p` to the stream and advances its version.
  void Append(uint32_t ref, Position p);
  // Forgets every position after `keep` (staged events a failed write
  // discarded), moving their streams' versions back. A stream left without
  // events stays, at version 0, as if it had never been written.
  void DropAfter(Position keep);

  // The positions of the stream's events with version > `after`, at most
  // `max`, stopping before the first one > `upto`.
  std::vector<Position> Positions(uint32_t ref, Version after, size_t max, Position upto) const;

 private:
  static constexpr size_t kInlineId = 42;
  static constexpr size_t kBlockShift = 12;  // 4096 entries (256 KiB) per block
  static constexpr size_t kBlockEntries = size_t{1} << kBlockShift;

  struct alignas(64) Entry {
    Version version;
    // During recovery: the end of its range in recovered_ (FinishRecovery
    // fills backwards); then its first recovered position's index.
    uint64_t recovered_begin = 0;
    uint32_t appended = 0;  // 1 + index into appended_; 0: none staged since open
    uint16_t id_size = 0;
    // The id when id_size <= kInlineId; otherwise its offset in long_ids_
    // (8 bytes, memcpy'd).
    char id[kInlineId];
  };
  static_assert(sizeof(Entry) == 64);

  Entry& At(uint32_t ref) {
    return blocks_[(ref - 1) >> kBlockShift][(ref - 1) & (kBlockEntries - 1)];
  }
  const Entry& At(uint32_t ref) const {
    return blocks_[(ref - 1) >> kBlockShift][(ref - 1) & (kBlockEntries - 1)];
  }
  std::string_view Id(const Entry& e) const;
  uint32_t Find(std::string_view id, size_t hash) const;

  Hasher hash_;
  HashIndex by_id_;
  std::vector<std::unique_ptr<Entry[]>> blocks_;
  size_t count_ = 0;
  std::string long_ids_;
  // Prefetch's last kEntryLag hints (a hash, when the hint was not empty),
  // the oldest at hint_count_ % kEntryLag.
  struct Hint {
    bool valid = false;
    size_t hash = 0;
  };
  static constexpr size_t kEntryLag = 2;
  Hint hints_[kEntryLag];
  size_t hint_count_ = 0;
  // Open: each recovered event's stream, in log order (emptied by FinishRecovery).
  std::deque<uint32_t> recovered_refs_;
  std::vector<Position> recovered_;
  std::vector<std::vector<Position>> appended_;
};

}  // namespace tl
