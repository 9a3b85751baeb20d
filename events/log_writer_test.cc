#include "events/log_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "events/file_util.h"
#include "events/log_test_util.h"

namespace tl {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

// A directory for the segments, and options that collect the warnings.
class SegmentWriterTest : public ::testing::Test {
 protected:
  SegmentWriterTest() {
    options.warn = [this](std::string_view w) { warnings.emplace_back(w); };
  }
  // A writer on a new segment "a.seg" of dir.
  void StartA(SegmentWriter& writer) {
    int retired = 0;
    ASSERT_TRUE(writer.StartSegment(dir.sub("a.seg"), &retired).ok());
    EXPECT_EQ(retired, -1);
  }

  TempDir dir;
  std::vector<std::string> warnings;
  LogOptions options;
};

bool ZerosFrom(const std::string& path, size_t from) {
  const std::string bytes = ReadWholeFile(path).value();
  return bytes.find_first_not_of('\0', from) == std::string::npos;
}

TEST_F(SegmentWriterTest, WritesAtTheEndAndFillsZerosAhead) {
  SegmentWriter writer(dir.path(), options);
  const std::string path = dir.sub("a.seg");
  StartA(writer);
  ASSERT_TRUE(writer.Append("hello", path).ok());
  ASSERT_TRUE(writer.Append(" world", path).ok());
  EXPECT_EQ(writer.written(), 11u);
  ASSERT_TRUE(writer.Sync(writer.fd(), path, /*created_files=*/true).ok());
  EXPECT_NE(writer.fsync_latency().Render("s").find("s_count 1"), std::string::npos);
  const std::string bytes = ReadWholeFile(path).value();
  EXPECT_EQ(bytes.substr(0, 11), "hello world");
  EXPECT_GE(bytes.size(), 11u + (256u << 10)) << "zeros a chunk ahead of the writes";
  EXPECT_EQ(bytes.size() % 4096, 0u);
  EXPECT_TRUE(ZerosFrom(path, 11));

  writer.Close();  // a clean close cuts the zeros
  EXPECT_EQ(ReadWholeFile(path).value(), "hello world");
  EXPECT_TRUE(warnings.empty());
}

TEST_F(SegmentWriterTest, PreallocatesNoMoreThanASegment) {
  options.max_segment_bytes = 1000;
  SegmentWriter writer(dir.path(), options);
  StartA(writer);
  ASSERT_TRUE(writer.Append("x", dir.sub("a.seg")).ok());
  EXPECT_EQ(fs::file_size(dir.sub("a.seg")), 4096u);
}

TEST_F(SegmentWriterTest, StartingASegmentCutsAndRetiresTheOldOne) {
  SegmentWriter writer(dir.path(), options);
  StartA(writer);
  const int first_fd = writer.fd();
  int retired = 0;
  ASSERT_TRUE(writer.Append("old", dir.sub("a.seg")).ok());
  ASSERT_TRUE(writer.StartSegment(dir.sub("b.seg"), &retired).ok());
  EXPECT_EQ(retired, first_fd) << "handed over for the caller to close";
  EXPECT_NE(writer.fd(), first_fd);
  EXPECT_EQ(ReadWholeFile(dir.sub("a.seg")).value(), "old") << "no zeros in a closed segment";
  EXPECT_EQ(writer.written(), 0u);
  ::close(retired);
  // A segment that exists is never started over.
  ASSERT_FALSE(writer.StartSegment(dir.sub("a.seg"), &retired).ok());
}

TEST_F(SegmentWriterTest, InjectedFailuresNameTheOperationAndNotThePath) {
  for (const char* op : {"create", "write", "fdatasync", "fsync directory"}) {
    SCOPED_TRACE(op);
    warnings.clear();
    options.inject_error = [op](std::string_view o) { return o == op ? ENOSPC : 0; };
    SegmentWriter writer(dir.path(), options);
    const std::string path = dir.sub(std::string(op) + ".seg");
    int retired = 0;
    Status s = writer.StartSegment(path, &retired);
    if (s.ok()) s = writer.Append("bytes", path);
    if (s.ok()) s = writer.Sync(writer.fd(), path, /*created_files=*/true);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kStorageUnavailable);
    EXPECT_NE(s.error().message.find("no space left on device"), std::string::npos)
        << s.error().message;
    EXPECT_EQ(s.error().message.find(dir.path()), std::string::npos) << "paths stay in the log";
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find(std::string(op) + " "), std::string::npos) << warnings[0];
  }
}

TEST_F(SegmentWriterTest, AFailedPreallocationOnlyMeansTheWritesExtendTheFile) {
  options.inject_error = [](std::string_view o) { return o == "preallocate" ? EIO : 0; };
  SegmentWriter writer(dir.path(), options);
  StartA(writer);
  ASSERT_TRUE(writer.Append("abc", dir.sub("a.seg")).ok());
  EXPECT_EQ(ReadWholeFile(dir.sub("a.seg")).value(), "abc");
}

TEST_F(SegmentWriterTest, RewindRemovesLaterSegmentsAndCutsTheNewest) {
  SegmentWriter writer(dir.path(), options);
  StartA(writer);
  ASSERT_TRUE(writer.Append("durable|staged", dir.sub("a.seg")).ok());
  int retired = 0;
  ASSERT_TRUE(writer.StartSegment(dir.sub("b.seg"), &retired).ok());
  ::close(retired);
  ASSERT_TRUE(writer.Append("staged", dir.sub("b.seg")).ok());

  auto failed =
      writer.Rewind({dir.sub("b.seg"), dir.sub("never-created.seg")}, dir.sub("a.seg"), 7);
  ASSERT_FALSE(failed.has_value()) << failed->error.message;
  EXPECT_FALSE(fs::exists(dir.sub("b.seg")));
  EXPECT_EQ(ReadWholeFile(dir.sub("a.seg")).value(), "durable");
  EXPECT_EQ(writer.written(), 7u);
  ASSERT_TRUE(writer.Append("!", dir.sub("a.seg")).ok());
  writer.Close();
  EXPECT_EQ(ReadWholeFile(dir.sub("a.seg")).value(), "durable!");
}

TEST_F(SegmentWriterTest, ResumeContinuesAfterTheGivenEnd) {
  ASSERT_TRUE(WriteFileAtomically(dir.sub("a.seg"), "kept").ok());
  SegmentWriter writer(dir.path(), options);
  EXPECT_FALSE(writer.Resume(dir.sub("missing.seg"), 0));
  ASSERT_TRUE(writer.Resume(dir.sub("a.seg"), 4));
  ASSERT_TRUE(writer.Append("+more", dir.sub("a.seg")).ok());
  writer.Close();
  EXPECT_EQ(ReadWholeFile(dir.sub("a.seg")).value(), "kept+more");
}

TEST(RoundBells, ARingWakesTheSleepersOfThatRoundOnly) {
  RoundBells bells(2);  // rounds 0..2 each have their own bell
  EXPECT_NE(&bells.For(1), &bells.For(2));
  EXPECT_EQ(&bells.For(1), &bells.For(4));
  std::atomic<uint32_t>& bell = bells.For(1);
  const uint32_t seen = bell.load();
  std::atomic<bool> woke{false};
  std::thread sleeper([&] {
    bell.wait(seen);
    woke = true;
  });
  RoundBells::Ring(bells.For(2), /*everyone=*/true);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(woke.load()) << "another round's bell";
  RoundBells::Ring(bell, /*everyone=*/true);
  sleeper.join();
  EXPECT_TRUE(woke.load());
}

}  // namespace
}  // namespace tl
