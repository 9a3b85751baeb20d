#pragma once

// The log's in-memory index, built by recovery at open and extended by every
// staged append: where each position's record lies (segment and byte offset),
// each stream's version and positions (StreamIndex), and what each
// idempotency key's append returned. Rewind cuts all three back together.
//
// Not thread-safe: EventLog guards it with its mutex.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

#include "events/stream_index.h"
#include "events/strong_types.h"

namespace tl {

// Where one record lies: its segment (index among the log's segments, oldest
// first) and the byte offset of its header in that file.
struct RecordLocation {
  size_t segment = 0;
  uint64_t offset = 0;
};

// What the first append with an idempotency key did; a repeat returns it.
struct KeyedAppend {
  Position first;
  Position last;
  Version stream_version;  // after the append
};

class LogIndex {
 public:
  LogIndex() = default;
  LogIndex(const LogIndex&) = delete;
  LogIndex& operator=(const LogIndex&) = delete;

  // Positions 1 .. positions() have a location.
  uint64_t positions() const { return locations_.size(); }
  // Records where position positions() + 1 lies.
  // REQUIRES: offset < 2^32 (a segment is far smaller).
  void AddLocation(size_t segment, uint64_t offset) {
    locations_.push_back(static_cast<uint64_t>(segment) << 32 | offset);
  }
  // REQUIRES: 1 <= p <= positions().
  RecordLocation Location(Position p) const {
    const uint64_t packed = locations_[p.value() - 1];
    return RecordLocation{static_cast<size_t>(packed >> 32), packed & 0xffffffffu};
  }

  StreamIndex& streams() { return streams_; }
  const StreamIndex& streams() const { return streams_; }
  // The stream's version; Version(0) for a stream with no event.
  Version StreamVersion(std::string_view token_id) const;

  // The append `key` was first given to; nullptr when none was.
  const KeyedAppend* FindKey(const std::string& key) const;
  // Records the append `key` was given to. A key already known keeps its
  // first append (a repeat writes nothing, so it never gets here).
  void RememberKey(const std::string& key, const KeyedAppend& append);
  // Recovery, for each event in position order that carries `key` (every
  // event of the append carried it): the first sets `first`, each one
  // advances `last` and the stream's version.
  void RecoverKey(std::string_view key, Position position, Version version);
  size_t key_count() const { return keys_.size(); }

  // Forgets every position after `keep`: their locations, their streams'
  // versions and positions, and the keys of appends that began after it.
  void DropAfter(Position keep);

 private:
  // locations_[p-1]: segment << 32 | offset. A deque: it grows by one per
  // event without the copy (and the twice-the-size peak) of a vector's
  // reallocation.
  std::deque<uint64_t> locations_;
  StreamIndex streams_;
  std::unordered_map<std::string, KeyedAppend> keys_;
};

}  // namespace tl
