#pragma once

// Reads events back from the log's segment files by the location of each
// record (LogIndex), for EventLog::Read and ReadStream. Records asked for in
// order mostly lie next to each other on disk (a follower's run, a busy
// token's stream), so one pread serves many of them through a window.
//
// Thread-compatible: a call uses its own buffer; the descriptors must stay
// open for the duration of the call.

#include <cstdint>
#include <vector>

#include "events/event.h"
#include "events/result.h"

namespace tl {

// A record to read: the segment file's read descriptor and the byte offset
// of the record's header in it, and the position it must hold.
struct RecordToRead {
  int fd = -1;
  uint64_t offset = 0;
  Position position;
};

// The events of `records`, in their order, with their data parsed. Every
// record goes through the header decoder (logfmt::DecodeRecordHeader) and
// both CRCs. kCorruption naming the position when one cannot be read (the
// file ends before it), its header or payload CRC fails, it does not decode
// or holds another position; kIo when a read fails. The log calls these
// records durable, so it treats either as a broken invariant.
Result<std::vector<Event>> ReadRecords(const std::vector<RecordToRead>& records);

}  // namespace tl
