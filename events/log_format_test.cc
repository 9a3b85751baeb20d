// The record header's one decoder, and that every path that reads records
// refuses a header whose CRC is wrong: the segment scan (Open's recovery,
// replay, export, verify), the reader behind EventLog::Read / ReadStream,
// and the scan's look-ahead hint.

#include "events/log_format.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "events/crc32c.h"
#include "events/file_util.h"
#include "events/log.h"
#include "events/log_reader.h"
#include "events/log_scan.h"
#include "events/log_test_util.h"

namespace tl {
namespace {

using testing::TempDir;
using testing::UseRequest;

std::string Header(uint32_t length, uint32_t payload_crc) {
  char bytes[logfmt::kRecordHeaderSize];
  logfmt::EncodeRecordHeader(length, payload_crc, bytes);
  return std::string(bytes, sizeof bytes);
}

TEST(RecordHeader, EncodesAndDecodesLengthAndPayloadCrc) {
  const std::string payload = "some payload bytes";
  const std::string bytes = Header(static_cast<uint32_t>(payload.size()), Crc32c(payload));
  // Little-endian length first, as FORMAT.md says.
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), payload.size());
  EXPECT_EQ(bytes[1], 0);
  logfmt::RecordHeader header;
  ASSERT_EQ(logfmt::DecodeRecordHeader(bytes, &header), logfmt::HeaderStatus::kOk);
  EXPECT_EQ(header.length, payload.size());
  EXPECT_EQ(header.payload_crc, Crc32c(payload));
  EXPECT_TRUE(header.Matches(payload));
  EXPECT_FALSE(header.Matches("some payload byteS"));
  EXPECT_FALSE(header.Matches("some payload byte"));
}

TEST(RecordHeader, EveryFlippedBitIsACrcMismatch) {
  const std::string good = Header(300, 0xdeadbeef);
  for (size_t bit = 0; bit < 8 * good.size(); ++bit) {
    std::string bytes = good;
    bytes[bit / 8] = static_cast<char>(bytes[bit / 8] ^ (1 << (bit % 8)));
    logfmt::RecordHeader header{7, 7};
    EXPECT_EQ(logfmt::DecodeRecordHeader(bytes, &header), logfmt::HeaderStatus::kChecksumMismatch)
        << "bit " << bit;
    EXPECT_EQ(header.length, 7u) << "a refused header sets nothing";
  }
  logfmt::RecordHeader header;
  EXPECT_EQ(logfmt::DecodeRecordHeader(std::string(12, '\0'), &header),
            logfmt::HeaderStatus::kChecksumMismatch)
      << "zeros (preallocated space) are no header";
}

TEST(RecordHeader, LengthAboveTheMaximumIsRefusedEvenWithAGoodCrc) {
  logfmt::RecordHeader header;
  EXPECT_EQ(logfmt::DecodeRecordHeader(Header(logfmt::kMaxPayload, 1), &header),
            logfmt::HeaderStatus::kOk);
  EXPECT_EQ(logfmt::DecodeRecordHeader(Header(logfmt::kMaxPayload + 1, 1), &header),
            logfmt::HeaderStatus::kLengthOutOfRange);
}

// A log of `events` events in `dir`, closed; the byte offset of each record
// (by position - 1) and the path of its one segment.
struct WrittenLog {
  std::string segment;
  std::vector<uint64_t> offsets;
};
WrittenLog Write(const std::string& dir, int events) {
  {
    auto log = EventLog::Open(dir);
    EXPECT_TRUE(log.ok());
    for (int i = 0; i < events; ++i) EXPECT_TRUE((*log)->Append(UseRequest("tok_a", i)).ok());
  }
  WrittenLog written;
  written.segment = dir + "/" + logfmt::SegmentFileName(Position(1));
  EXPECT_TRUE(ScanLog(dir, {}, [&](const ScannedRecord& r) {
                written.offsets.push_back(r.offset);
                return true;
              }).ok());
  return written;
}

// Flips one bit of the header CRC of the record at `offset`, in place (a
// descriptor the log holds sees it): the length and the payload (and its
// CRC) are intact, so only the header CRC tells.
void BreakHeaderCrc(const std::string& segment, uint64_t offset) {
  const std::string bytes = ReadWholeFile(segment).value();
  const char flipped = static_cast<char>(bytes[offset + 8] ^ 1);
  const int fd = ::open(segment.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::pwrite(fd, &flipped, 1, static_cast<off_t>(offset + 8)), 1);
  ::close(fd);
}

TEST(RecordHeaderCrc, RefusedByTheSegmentScan) {
  TempDir dir;
  const WrittenLog log = Write(dir.path(), 5);
  BreakHeaderCrc(log.segment, log.offsets[2]);
  auto scanned = ScanLog(dir.path(), {}, [](const ScannedRecord&) { return true; });
  ASSERT_FALSE(scanned.ok());
  EXPECT_EQ(scanned.error().code, ErrorCode::kCorruption);
  EXPECT_NE(scanned.error().message.find("record header checksum mismatch"), std::string::npos)
      << scanned.error().message;
  EXPECT_NE(scanned.error().message.find("position 3"), std::string::npos)
      << scanned.error().message;
}

TEST(RecordHeaderCrc, RefusedByOpen) {
  TempDir dir;
  const WrittenLog log = Write(dir.path(), 5);
  BreakHeaderCrc(log.segment, log.offsets[2]);
  const std::string before = ReadWholeFile(log.segment).value();
  auto opened = EventLog::Open(dir.path(), LogOptions{.warn = [](std::string_view) {}});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kCorruption);
  EXPECT_NE(opened.error().message.find("record header checksum mismatch"), std::string::npos);
  EXPECT_EQ(ReadWholeFile(log.segment).value(), before);
}

TEST(RecordHeaderCrc, RefusedByTheReader) {
  TempDir dir;
  const WrittenLog log = Write(dir.path(), 5);
  const int fd = ::open(log.segment.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::vector<RecordToRead> all;
  for (size_t i = 0; i < log.offsets.size(); ++i) {
    all.push_back({fd, log.offsets[i], Position(i + 1)});
  }
  auto read = ReadRecords(all);
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->size(), 5u);
  EXPECT_EQ((*read)[4].position, Position(5));

  // The header's length and the payload are intact: only its CRC is wrong.
  BreakHeaderCrc(log.segment, log.offsets[2]);
  const int broken_fd = ::open(log.segment.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(broken_fd, 0);
  for (RecordToRead& r : all) r.fd = broken_fd;
  read = ReadRecords(all);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, ErrorCode::kCorruption);
  EXPECT_NE(read.error().message.find("position 3"), std::string::npos) << read.error().message;
  EXPECT_NE(read.error().message.find("record header checksum mismatch"), std::string::npos)
      << read.error().message;
  // Alone, too (no window shared with a good record before it).
  read = ReadRecords({all[2]});
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message.find("record header checksum mismatch"), std::string::npos);
  ::close(fd);
  ::close(broken_fd);
}

// EventLog::Read goes through the reader: a durable record whose header
// changed on disk is a broken invariant, and stops the process naming it.
TEST(RecordHeaderCrcDeathTest, EventLogReadStopsOnIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TempDir dir;
  const WrittenLog written = Write(dir.path(), 5);
  EXPECT_DEATH(
      {
        auto log = EventLog::Open(dir.path());
        if (!log.ok()) std::abort();
        // Changed after open: the scan saw it intact.
        BreakHeaderCrc(written.segment, written.offsets[2]);
        (void)(*log)->Read(Position(1), 5);
      },
      "read position 3: record header checksum mismatch");
}

TEST(RecordHeaderCrc, TheScansLookAheadHintIgnoresTheRecord) {
  TempDir dir;
  const WrittenLog log = Write(dir.path(), 2);
  const std::string bytes = ReadWholeFile(log.segment).value();
  const std::string_view first = std::string_view(bytes).substr(log.offsets[0]);
  size_t size = 0;
  EXPECT_EQ(logfmt::PeekTokenId(first, &size), "tok_a");
  EXPECT_EQ(size, log.offsets[1] - log.offsets[0]);
  BreakHeaderCrc(log.segment, log.offsets[0]);
  const std::string broken = ReadWholeFile(log.segment).value();
  EXPECT_EQ(logfmt::PeekTokenId(std::string_view(broken).substr(log.offsets[0]), &size), "");
  EXPECT_EQ(size, 0u);
}

}  // namespace
}  // namespace tl
