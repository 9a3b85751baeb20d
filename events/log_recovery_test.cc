// Recovery: what Open and ScanLog do with a log that a crash or a disk damaged.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "events/crc32c.h"
#include "events/file_util.h"
#include "events/log.h"
#include "events/log_format.h"
#include "events/log_scan.h"
#include "events/log_test_util.h"

namespace tl {
namespace {

using testing::AlterEventData;
using testing::TempDir;
using testing::UseRequest;
namespace fs = std::filesystem;

constexpr int kEvents = 12;

// Writes kEvents events into `dir`; returns the path of its only segment and
// the byte offset where the last record starts.
std::pair<std::string, uint64_t> WriteLog(const std::string& dir) {
  auto log = EventLog::Open(dir);
  EXPECT_TRUE(log.ok());
  for (int i = 0; i < kEvents; ++i) EXPECT_TRUE((*log)->Append(UseRequest("tok_a", i)).ok());
  std::string seg = dir + "/" + logfmt::SegmentFileName(Position(1));
  uint64_t last_offset = 0;
  auto scan = ScanLog(dir, {}, [&](const ScannedRecord& r) {
    last_offset = r.offset;
    return true;
  });
  EXPECT_TRUE(scan.ok());
  return {seg, last_offset};
}

// Space a file system gave a file but nothing wrote.
void AppendZeros(const std::string& path, size_t n) {
  std::FILE* f = std::fopen(path.c_str(), "ab");
  ASSERT_NE(f, nullptr);
  const std::string zeros(n, '\0');
  EXPECT_EQ(std::fwrite(zeros.data(), 1, zeros.size(), f), n);
  std::fclose(f);
}

void CopyDir(const std::string& from, const std::string& to) {
  fs::remove_all(to);
  fs::copy(from, to, fs::copy_options::recursive);
}

TEST(LogRecovery, TornTailIsCutAtEveryByteOffsetOfTheLastRecord) {
  TempDir dir;
  auto [seg, last_offset] = WriteLog(dir.sub("orig"));
  const uint64_t size = fs::file_size(seg);
  ASSERT_GT(size, last_offset);
  std::string work = dir.sub("work");
  std::string work_seg = work + "/" + fs::path(seg).filename().string();
  for (uint64_t cut = last_offset + 1; cut < size; ++cut) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut));
    CopyDir(dir.sub("orig"), work);
    ASSERT_TRUE(TruncateFile(work_seg, cut).ok());
    std::string warning;
    auto log = EventLog::Open(work, LogOptions{.warn = [&](std::string_view w) { warning = w; }});
    ASSERT_TRUE(log.ok()) << log.error().message;
    EXPECT_EQ((*log)->DurablePosition(), Position(kEvents - 1));
    EXPECT_NE(warning.find("torn tail"), std::string::npos) << warning;
    EXPECT_NE(warning.find(work_seg), std::string::npos) << warning;
    EXPECT_EQ(fs::file_size(work_seg), last_offset);
    // The log goes on from the cut, and the chain still verifies.
    auto next = (*log)->Append(UseRequest("tok_a", 100));
    ASSERT_TRUE(next.ok());
    EXPECT_EQ(next->first, Position(kEvents));
    log.value().reset();
    auto verified =
        ScanLog(work, {.verify_hashes = true}, [](const ScannedRecord&) { return true; });
    ASSERT_TRUE(verified.ok()) << verified.error().message;
    EXPECT_EQ(verified->events, uint64_t{kEvents});
  }
}

TEST(LogRecovery, ZeroFilledTailIsCut) {
  TempDir dir;
  auto [seg, last_offset] = WriteLog(dir.path());
  std::string bytes = ReadWholeFile(seg).value();
  bytes.append(4096, '\0');
  ASSERT_TRUE(WriteFileAtomically(seg, bytes).ok());
  auto log = EventLog::Open(dir.path(), LogOptions{.warn = [](std::string_view) {}});
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_EQ((*log)->DurablePosition(), Position(kEvents));
}

TEST(LogRecovery, FlippedByteBeforeTheTailIsRefusedAndNothingChanges) {
  TempDir dir;
  auto [seg, last_offset] = WriteLog(dir.sub("orig"));
  const std::string original = ReadWholeFile(seg).value();
  std::string work = dir.sub("work");
  std::string work_seg = work + "/" + fs::path(seg).filename().string();
  // Every byte of every record but the last one (and of the segment header).
  int refused = 0;
  for (uint64_t at = 0; at < last_offset; at += 7) {
    SCOPED_TRACE("flipped byte " + std::to_string(at));
    CopyDir(dir.sub("orig"), work);
    std::string bytes = original;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x20);
    ASSERT_TRUE(WriteFileAtomically(work_seg, bytes).ok());
    auto log = EventLog::Open(work, LogOptions{.warn = [](std::string_view) {}});
    ASSERT_FALSE(log.ok());
    EXPECT_EQ(log.error().code, ErrorCode::kCorruption);
    const std::string& msg = log.error().message;
    EXPECT_NE(msg.find(work_seg), std::string::npos) << msg;
    EXPECT_NE(msg.find("position"), std::string::npos) << msg;
    EXPECT_NE(msg.find("restore"), std::string::npos) << msg;
    EXPECT_EQ(ReadWholeFile(work_seg).value(), bytes) << "a refused log must not be modified";
    ++refused;
  }
  EXPECT_GT(refused, 50);
}

TEST(LogRecovery, RewrittenRecordWithValidCrcFailsHashVerification) {
  TempDir dir;
  WriteLog(dir.path());
  // Record 3's data changes and is re-framed with fresh CRCs: only the hash
  // chain can tell.
  ASSERT_TRUE(AlterEventData(dir.path(), Position(3), [](Json& data) {
    data["cost"] = 7;  // same length as before: 1 -> 7
  }));
  ASSERT_TRUE(ScanLog(dir.path(), {}, [](const ScannedRecord&) { return true; }).ok());
  for (bool parse_data : {true, false}) {
    auto verified = ScanLog(dir.path(), {.parse_data = parse_data, .verify_hashes = true},
                            [](const ScannedRecord&) { return true; });
    ASSERT_FALSE(verified.ok());
    EXPECT_NE(verified.error().message.find("position 3"), std::string::npos)
        << verified.error().message;
    EXPECT_NE(verified.error().message.find("hash mismatch"), std::string::npos);
  }
}

// A record re-framed with fresh CRCs whose actor is no longer UTF-8: no
// writer could have hashed it, and verifying it must refuse the log rather
// than stop the process (serializing such a string throws).
TEST(LogRecovery, EnvelopeStringThatIsNotUtf8FailsVerification) {
  TempDir dir;
  const auto [seg, last_offset] = WriteLog(dir.path());
  uint64_t offset = 0;
  ASSERT_TRUE(ScanLog(dir.path(), {}, [&](const ScannedRecord& r) {
                if (r.event.position == Position(3)) offset = r.offset;
                return true;
              }).ok());
  std::string bytes = ReadWholeFile(seg).value();
  logfmt::RecordHeader header;
  ASSERT_EQ(logfmt::DecodeRecordHeader(std::string_view(bytes).substr(offset), &header),
            logfmt::HeaderStatus::kOk);
  const uint32_t len = header.length;
  const size_t payload = offset + logfmt::kRecordHeaderSize;
  const size_t actor = bytes.find("system", payload);
  ASSERT_LT(actor, payload + len);
  bytes[actor] = '\xff';
  auto store_u32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>(v >> (8 * i));
  };
  store_u32(offset + 4, Crc32c(std::string_view(bytes).substr(payload, len)));
  store_u32(offset + 8, Crc32c(std::string_view(bytes).substr(offset, 8)));
  ASSERT_TRUE(WriteFileAtomically(seg, bytes).ok());

  ASSERT_TRUE(ScanLog(dir.path(), {}, [](const ScannedRecord&) { return true; }).ok());
  for (bool parse_data : {true, false}) {
    auto verified = ScanLog(dir.path(), {.parse_data = parse_data, .verify_hashes = true},
                            [](const ScannedRecord&) { return true; });
    ASSERT_FALSE(verified.ok());
    EXPECT_EQ(verified.error().code, ErrorCode::kCorruption);
    EXPECT_NE(verified.error().message.find("position 3"), std::string::npos)
        << verified.error().message;
  }
}

// A stream whose versions skip (1,2,3,4,7,...) in a log whose CRCs and hash
// chain are intact: Open refuses it, naming the position, as `log verify` does.
TEST(LogRecovery, StreamVersionsOutOfOrderAreRefused) {
  TempDir dir;
  auto [seg, last_offset] = WriteLog(dir.path());
  std::vector<Event> events;
  ASSERT_TRUE(ScanLog(dir.path(), {}, [&](const ScannedRecord& r) {
                events.push_back(r.event);
                return true;
              }).ok());
  ASSERT_EQ(events.size(), static_cast<size_t>(kEvents));
  std::string bytes = logfmt::EncodeSegmentHeader(Position(1));
  std::string prev = kGenesisHash;
  for (Event e : events) {
    if (e.position == Position(5)) e.version = Version(7);
    e.prev_hash = prev;
    e.hash = ComputeHash(e);
    prev = e.hash;
    ASSERT_TRUE(logfmt::AppendRecord(e, "", bytes));
  }
  ASSERT_TRUE(WriteFileAtomically(seg, bytes).ok());

  for (bool verify : {false, true}) {
    auto scanned =
        ScanLog(dir.path(), {.verify_hashes = verify}, [](const ScannedRecord&) { return true; });
    ASSERT_FALSE(scanned.ok()) << "the chain is intact: only the versions are wrong";
    EXPECT_NE(scanned.error().message.find("position 5"), std::string::npos)
        << scanned.error().message;
  }
  auto opened = EventLog::Open(dir.path());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kCorruption);
  EXPECT_NE(opened.error().message.find("position 5"), std::string::npos) << opened.error().message;
  EXPECT_NE(opened.error().message.find("stream version out of order"), std::string::npos)
      << opened.error().message;
}

// Scans that skip hex-encoding the hashes follow the same chain on the raw
// bytes: the same last hash, and a re-framed record whose prev_hash is not
// its predecessor's hash is refused the same way.
TEST(LogRecovery, ChainIsCheckedWithoutHexHashesToo) {
  TempDir dir;
  auto [seg, last_offset] = WriteLog(dir.path());
  auto all = [](const ScannedRecord&) { return true; };
  auto hex = ScanLog(dir.path(), {}, all);
  auto raw = ScanLog(dir.path(), {.hex_hashes = false}, all);
  ASSERT_TRUE(hex.ok() && raw.ok());
  EXPECT_EQ(raw->last_hash, hex->last_hash);
  EXPECT_EQ(raw->last, Position(kEvents));

  std::string bytes = ReadWholeFile(seg).value();
  uint64_t offset = 0;
  int seen = 0;
  ASSERT_TRUE(ScanLog(dir.path(), {}, [&](const ScannedRecord& r) {
                if (++seen == 5) offset = r.offset;
                return true;
              }).ok());
  logfmt::RecordHeader header;
  ASSERT_EQ(logfmt::DecodeRecordHeader(std::string_view(bytes).substr(offset), &header),
            logfmt::HeaderStatus::kOk);
  const uint32_t len = header.length;
  Event e;
  ASSERT_TRUE(logfmt::DecodePayload(
      std::string_view(bytes).substr(offset + logfmt::kRecordHeaderSize, len), true, e, nullptr));
  e.prev_hash[0] = e.prev_hash[0] == 'a' ? 'b' : 'a';
  std::string record;
  ASSERT_TRUE(logfmt::AppendRecord(e, "", record));
  bytes.replace(offset, record.size(), record);
  ASSERT_TRUE(WriteFileAtomically(seg, bytes).ok());
  for (bool hex_hashes : {true, false}) {
    auto broken = ScanLog(dir.path(), {.hex_hashes = hex_hashes}, all);
    ASSERT_FALSE(broken.ok());
    EXPECT_NE(broken.error().message.find("position 5"), std::string::npos)
        << broken.error().message;
    EXPECT_NE(broken.error().message.find("hash chain broken"), std::string::npos);
  }
}

TEST(LogRecovery, MissingSegmentIsRefused) {
  TempDir dir;
  {
    auto log = EventLog::Open(dir.path(), LogOptions{.max_segment_bytes = 1024});
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 60; ++i) ASSERT_TRUE((*log)->Append(UseRequest("tok", i)).ok());
  }
  std::vector<std::string> segs;
  for (auto& e : fs::directory_iterator(dir.path())) segs.push_back(e.path().string());
  std::sort(segs.begin(), segs.end());
  ASSERT_GE(segs.size(), 3u);
  fs::remove(segs[1]);
  auto log = EventLog::Open(dir.path());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.error().code, ErrorCode::kCorruption);
  EXPECT_NE(log.error().message.find("missing"), std::string::npos) << log.error().message;
}

TEST(LogRecovery, SegmentWithIncompleteHeaderIsRemoved) {
  TempDir dir;
  WriteLog(dir.path());
  std::string next = dir.path() + "/" + logfmt::SegmentFileName(Position(kEvents + 1));
  ASSERT_TRUE(
      WriteFileAtomically(next, logfmt::EncodeSegmentHeader(Position(kEvents + 1)).substr(0, 7))
          .ok());
  auto log = EventLog::Open(dir.path(), LogOptions{.warn = [](std::string_view) {}});
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_FALSE(fs::exists(next));
  auto more = (*log)->Append(UseRequest("tok_a", 1));
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(more->first, Position(kEvents + 1));
}

// ScanLog reads a segment through a buffer of 2 MiB: records of up to 1 MiB
// straddle its refills, and a zero-filled tail longer than one refill is
// still recognised as torn.
TEST(LogRecovery, ScanReadsRecordsAcrossReadBuffersAndLongZeroTails) {
  TempDir dir;
  constexpr int kBig = 40;
  {
    auto log = EventLog::Open(dir.path());
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < kBig; ++i) {
      AppendRequest r = UseRequest("tok_a", i);
      // 100 KiB .. 1000 KiB of data: sizes that do not divide the buffer.
      r.events[0].second["ip"] = std::string(100'000 + 23'456 * i, 'x');
      ASSERT_TRUE((*log)->Append(std::move(r)).ok());
    }
  }
  const std::string seg = dir.path() + "/" + logfmt::SegmentFileName(Position(1));
  const uint64_t size = fs::file_size(seg);
  ASSERT_GT(size, 8u << 20);
  AppendZeros(seg, 5u << 20);
  int seen = 0;
  auto scan = ScanLog(dir.path(), {.verify_hashes = true}, [&](const ScannedRecord& r) {
    EXPECT_EQ(r.event.data["ip"].get_ref<const std::string&>().size(), 100'000u + 23'456 * seen);
    ++seen;
    return true;
  });
  ASSERT_TRUE(scan.ok()) << scan.error().message;
  EXPECT_EQ(seen, kBig);
  EXPECT_EQ(scan->torn_tail.kind, SegmentDamage::kTorn);
  EXPECT_EQ(scan->torn_tail.offset, size);
  EXPECT_EQ(scan->newest_segment_size, size + (5u << 20));
}

// The newest segment is preallocated ahead of its writes (so most fdatasyncs
// need no file-size update): zeros past the data while the log is open, none
// after a clean close.
TEST(LogPreallocation, NewestSegmentIsPreallocatedWhileOpenAndCutOnClose) {
  TempDir dir;
  const std::string seg = dir.path() + "/" + logfmt::SegmentFileName(Position(1));
  uint64_t data_end = 0;
  {
    auto log = EventLog::Open(dir.path());
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < kEvents; ++i) ASSERT_TRUE((*log)->Append(UseRequest("tok_a", i)).ok());
    auto open_scan = ScanLog(dir.path(), {}, [](const ScannedRecord&) { return true; });
    ASSERT_TRUE(open_scan.ok()) << open_scan.error().message;
    EXPECT_EQ(open_scan->events, uint64_t{kEvents});
    EXPECT_EQ(open_scan->torn_tail.kind, SegmentDamage::kTorn);
    EXPECT_TRUE(open_scan->torn_tail.unwritten);
    data_end = open_scan->torn_tail.offset;
    EXPECT_GT(fs::file_size(seg), data_end);
  }
  EXPECT_EQ(fs::file_size(seg), data_end);
  auto closed_scan = ScanLog(dir.path(), {}, [](const ScannedRecord&) { return true; });
  ASSERT_TRUE(closed_scan.ok());
  EXPECT_EQ(closed_scan->torn_tail.kind, SegmentDamage::kNone);
  EXPECT_EQ(closed_scan->events, uint64_t{kEvents});
}

// A process that dies leaves the preallocated space: the next open cuts it,
// says so, and goes on from the last event.
TEST(LogPreallocation, UnwrittenSpaceLeftByAnUncleanStopIsCutOnOpen) {
  TempDir dir;
  {
    auto log = EventLog::Open(dir.sub("live"));
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < kEvents; ++i) ASSERT_TRUE((*log)->Append(UseRequest("tok_a", i)).ok());
    // The files as a crash right now would leave them.
    CopyDir(dir.sub("live"), dir.sub("crashed"));
  }
  const std::string seg = dir.sub("crashed") + "/" + logfmt::SegmentFileName(Position(1));
  const uint64_t size_before = fs::file_size(seg);
  std::string warning;
  auto log = EventLog::Open(dir.sub("crashed"),
                            LogOptions{.warn = [&](std::string_view w) { warning = w; }});
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_EQ((*log)->DurablePosition(), Position(kEvents));
  EXPECT_NE(warning.find("unwritten (preallocated) space after position 12"), std::string::npos)
      << warning;
  EXPECT_LT(fs::file_size(seg), size_before);
  auto next = (*log)->Append(UseRequest("tok_a", 100));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->first, Position(kEvents + 1));
  log.value().reset();
  auto verified = ScanLog(dir.sub("crashed"), {.verify_hashes = true},
                          [](const ScannedRecord&) { return true; });
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(verified->events, uint64_t{kEvents + 1});
  EXPECT_EQ(verified->torn_tail.kind, SegmentDamage::kNone);
}

// A crash between preallocating a new segment and writing its header leaves
// a newest segment of zeros: removed, since no event was ever in it.
TEST(LogPreallocation, ANewestSegmentThatWasNeverWrittenIsRemoved) {
  TempDir dir;
  WriteLog(dir.path());
  const std::string empty = dir.path() + "/" + logfmt::SegmentFileName(Position(kEvents + 1));
  ASSERT_TRUE(WriteFileAtomically(empty, std::string(64 * 1024, '\0')).ok());
  std::string warning;
  auto log =
      EventLog::Open(dir.path(), LogOptions{.warn = [&](std::string_view w) { warning = w; }});
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_NE(warning.find("never written"), std::string::npos) << warning;
  EXPECT_FALSE(fs::exists(empty));
  auto next = (*log)->Append(UseRequest("tok_a", 100));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->first, Position(kEvents + 1));
}

// The same zeros in a segment that is not the newest are damage, not a tail.
TEST(LogPreallocation, ZerosInAnOlderSegmentAreRefused) {
  TempDir dir;
  WriteLog(dir.path());
  const std::string seg = dir.path() + "/" + logfmt::SegmentFileName(Position(1));
  AppendZeros(seg, 4096);
  const std::string next = dir.path() + "/" + logfmt::SegmentFileName(Position(kEvents + 1));
  ASSERT_TRUE(WriteFileAtomically(next, logfmt::EncodeSegmentHeader(Position(kEvents + 1))).ok());
  auto log = EventLog::Open(dir.path(), LogOptions{.warn = [](std::string_view) {}});
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.error().code, ErrorCode::kCorruption);
  EXPECT_NE(log.error().message.find(seg), std::string::npos) << log.error().message;
}

// Rolling to a new segment cuts the old one's preallocated space first, so a
// closed segment never holds zeros (ScanLog refuses them anywhere but in the
// newest segment) — checked while the log is still open and writing.
TEST(LogPreallocation, ClosedSegmentsHoldNoUnwrittenSpace) {
  TempDir dir;
  auto log = EventLog::Open(dir.path(), LogOptions{.max_segment_bytes = 4096});
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 200; ++i) ASSERT_TRUE((*log)->Append(UseRequest("tok_a", i)).ok());
  ASSERT_GT((*log)->Counters().segments, 5u);
  auto scan = ScanLog(dir.path(), {}, [](const ScannedRecord&) { return true; });
  ASSERT_TRUE(scan.ok()) << scan.error().message;
  EXPECT_EQ(scan->events, 200u);
  for (size_t i = 0; i + 1 < scan->segments.size(); ++i) {
    EXPECT_LE(fs::file_size(scan->segments[i].second), 4096u + 1024u) << scan->segments[i].second;
  }
}

// A record stores hashes as raw bytes: only 64 lower-case hex digits encode.
TEST(LogFormat, RecordRefusesHashesThatAreNotLowerCaseHex) {
  Event e;
  e.type = EventType::kUsed;
  e.token_id = "tok_a";
  e.version = Version(1);
  e.position = Position(1);
  e.id = "evt_1";
  e.actor = "system";
  e.data = Json::object();
  e.prev_hash = kGenesisHash;
  e.hash = ComputeHash(e);
  std::string record;
  ASSERT_TRUE(logfmt::AppendRecord(e, "", record));
  for (size_t at : {size_t{0}, size_t{31}, size_t{63}}) {
    for (char bad : {'A', 'g', 'G', '/', ':', '`', ' ', '\0', '\xff'}) {
      Event broken = e;
      broken.hash[at] = bad;
      std::string out;
      EXPECT_FALSE(logfmt::AppendRecord(broken, "", out)) << "'" << bad << "' at " << at;
    }
  }
  Event short_hash = e;
  short_hash.prev_hash.pop_back();
  std::string out;
  EXPECT_FALSE(logfmt::AppendRecord(short_hash, "", out));
}

// A killed writer's write can stop between pages: in preallocated space that
// leaves the start of the last record and zeros where the rest would be (not
// a short file). Cut like any torn tail, at every byte of the last record.
TEST(LogPreallocation, AWriteCutShortInPreallocatedSpaceIsCutAtEveryByte) {
  TempDir dir;
  {
    auto log = EventLog::Open(dir.sub("live"));
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < kEvents; ++i) ASSERT_TRUE((*log)->Append(UseRequest("tok_a", i)).ok());
    CopyDir(dir.sub("live"), dir.sub("orig"));  // as a crash would leave it
  }
  const std::string name = logfmt::SegmentFileName(Position(1));
  uint64_t last_offset = 0;
  auto scan = ScanLog(dir.sub("orig"), {}, [&](const ScannedRecord& r) {
    last_offset = r.offset;
    return true;
  });
  ASSERT_TRUE(scan.ok());
  ASSERT_TRUE(scan->torn_tail.unwritten);
  const uint64_t data_end = scan->torn_tail.offset;
  const std::string original = ReadWholeFile(dir.sub("orig") + "/" + name).value();
  ASSERT_GT(original.size(), data_end);
  const std::string work = dir.sub("work");
  for (uint64_t cut = last_offset + 1; cut < data_end; ++cut) {
    SCOPED_TRACE("zeros from byte " + std::to_string(cut));
    CopyDir(dir.sub("orig"), work);
    std::string bytes = original;
    std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(cut), bytes.end(), '\0');
    ASSERT_TRUE(WriteFileAtomically(work + "/" + name, bytes).ok());
    std::string warning;
    auto log = EventLog::Open(work, LogOptions{.warn = [&](std::string_view w) { warning = w; }});
    ASSERT_TRUE(log.ok()) << log.error().message;
    EXPECT_EQ((*log)->DurablePosition(), Position(kEvents - 1));
    EXPECT_NE(warning.find("torn tail"), std::string::npos) << warning;
  }
}

}  // namespace
}  // namespace tl
