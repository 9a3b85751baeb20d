// RecoverLog on its own: the index it builds, and the high-water check made
// before anything is cut. (What Open makes of damaged logs as a whole:
// log_recovery_test.cc.)

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "events/file_util.h"
#include "events/log.h"
#include "events/log_format.h"
#include "events/log_recovery.h"
#include "events/log_test_util.h"

namespace tl {
namespace {

using testing::TempDir;
using testing::UseRequest;
namespace fs = std::filesystem;

LogOptions Quiet(std::vector<std::string>* warnings) {
  LogOptions options;
  options.warn = [warnings](std::string_view w) { warnings->emplace_back(w); };
  return options;
}

TEST(RecoverLog, BuildsTheIndexOfPositionsStreamsAndKeys) {
  TempDir dir;
  {
    auto log = EventLog::Open(dir.path(), LogOptions{.max_segment_bytes = 2000});
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 10; ++i) ASSERT_TRUE((*log)->Append(UseRequest("tok_a", i)).ok());
    AppendRequest keyed = UseRequest("tok_b", 10);
    keyed.idempotency_key = "key-1";
    keyed.events.push_back(keyed.events.front());
    ASSERT_TRUE((*log)->Append(keyed).ok());
  }
  std::vector<std::string> warnings;
  LogIndex index;
  auto recovered = RecoverLog(dir.path(), Quiet(&warnings), index);
  ASSERT_TRUE(recovered.ok()) << recovered.error().message;
  EXPECT_EQ(recovered->last, Position(12));
  EXPECT_GT(recovered->segments.size(), 1u);
  EXPECT_EQ(recovered->tail_offset, fs::file_size(recovered->segments.back().second));
  EXPECT_EQ(recovered->last_hash.size(), 64u);
  EXPECT_EQ(recovered->last_time_ms, 10);
  EXPECT_EQ(index.positions(), 12u);
  EXPECT_EQ(index.StreamVersion("tok_a"), Version(10));
  EXPECT_EQ(index.StreamVersion("tok_b"), Version(2));
  const KeyedAppend* key = index.FindKey("key-1");
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->first, Position(11));
  EXPECT_EQ(key->last, Position(12));
  // Each location is the record of its position.
  const RecordLocation at = index.Location(Position(12));
  const std::string bytes = ReadWholeFile(recovered->segments[at.segment].second).value();
  logfmt::RecordHeader header;
  ASSERT_EQ(logfmt::DecodeRecordHeader(std::string_view(bytes).substr(at.offset), &header),
            logfmt::HeaderStatus::kOk);
  Event e;
  ASSERT_TRUE(logfmt::DecodePayload(
      std::string_view(bytes).substr(at.offset + logfmt::kRecordHeaderSize, header.length), false,
      e, nullptr));
  EXPECT_EQ(e.position, Position(12));
  EXPECT_TRUE(warnings.empty());
}

TEST(RecoverLog, RefusesALogShorterThanTheMarkBeforeCuttingItsTornTail) {
  TempDir dir;
  {
    auto log = EventLog::Open(dir.path());
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE((*log)->Append(UseRequest("tok_a", i)).ok());
  }
  const std::string segment = dir.path() + "/" + logfmt::SegmentFileName(Position(1));
  std::string bytes = ReadWholeFile(segment).value();
  bytes.resize(bytes.size() - 5);  // the last record, torn
  ASSERT_TRUE(WriteFileAtomically(segment, bytes).ok());

  std::vector<std::string> warnings;
  LogOptions options = Quiet(&warnings);
  options.must_reach = Position(3);
  LogIndex index;
  auto refused = RecoverLog(dir.path(), options, index);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kCorruption);
  EXPECT_NE(refused.error().message.find("last intact event is position 2"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("position 3 was acknowledged"), std::string::npos);
  EXPECT_EQ(ReadWholeFile(segment).value(), bytes) << "the tail is evidence: nothing is cut";

  options.must_reach = Position(2);
  LogIndex again;
  auto cut = RecoverLog(dir.path(), options, again);
  ASSERT_TRUE(cut.ok()) << cut.error().message;
  EXPECT_EQ(cut->last, Position(2));
  EXPECT_EQ(fs::file_size(segment), cut->tail_offset);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("cut a torn tail"), std::string::npos) << warnings[0];
}

}  // namespace
}  // namespace tl
