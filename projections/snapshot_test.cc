#include "projections/snapshot.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "projections/test_events.h"

namespace tl {
namespace {

namespace fs = std::filesystem;
using testing::EventMaker;

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("tl_snapshot_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Applies `n` more events and returns the projection.
  void Grow(int n) {
    for (int i = 0; i < n; ++i) {
      const std::string id = "tok_" + std::to_string(count_ % 7);
      if (count_ < 7) {
        p_.Apply(m_.Created(id, 1000 + count_,
                            {{"credits", {{"remaining", 100}, {"refill", nullptr}}}}));
      } else if (count_ % 5 == 0) {
        p_.Apply(m_.Denied(id, 1000 + count_ * 1000, "FORBIDDEN"));
      } else {
        p_.Apply(m_.Used(id, 1000 + count_ * 1000, 1));
      }
      ++count_;
    }
  }

  std::vector<std::string> Files() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_))
      names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  std::string dir_;
  EventMaker m_;
  Projection p_;
  int count_ = 0;
  std::vector<std::string> warnings_;
  std::function<void(std::string_view)> warn_ = [this](std::string_view w) {
    warnings_.emplace_back(w);
  };
};

TEST_F(SnapshotTest, WriteThenLoadRoundTrips) {
  Grow(30);
  ASSERT_TRUE(WriteSnapshot(dir_, p_).ok());
  EXPECT_EQ(Files(), std::vector<std::string>{"snapshot-00000000000000000030.json"});
  auto loaded = LoadNewestSnapshot(dir_, warn_);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->last_position(), Position(30));
  EXPECT_EQ(loaded->Digest(), p_.Digest());
  EXPECT_EQ(loaded->Find("tok_3")->credits->remaining, p_.Find("tok_3")->credits->remaining);
  EXPECT_TRUE(warnings_.empty());

  // The file says what it covers and checksums the state.
  std::ifstream in(fs::path(dir_) / "snapshot-00000000000000000030.json");
  Json doc = Json::parse(in);
  EXPECT_EQ(doc["format"], 1);
  EXPECT_EQ(doc["position"], 30);
  EXPECT_EQ(doc["sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(doc["state"], p_.ToJson());
}

TEST_F(SnapshotTest, KeepsNewestTwo) {
  for (int round = 0; round < 4; ++round) {
    Grow(10);
    ASSERT_TRUE(WriteSnapshot(dir_, p_).ok());
  }
  EXPECT_EQ(Files(), (std::vector<std::string>{"snapshot-00000000000000000030.json",
                                               "snapshot-00000000000000000040.json"}));
}

TEST_F(SnapshotTest, CorruptNewestFallsBackToOlderWithWarning) {
  Grow(10);
  ASSERT_TRUE(WriteSnapshot(dir_, p_).ok());
  const std::string older_digest = p_.Digest();
  Grow(10);
  ASSERT_TRUE(WriteSnapshot(dir_, p_).ok());
  const fs::path newest = fs::path(dir_) / "snapshot-00000000000000000020.json";
  {
    // Flip one byte inside the state: valid JSON, wrong checksum.
    std::fstream f(newest, std::ios::in | std::ios::out | std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    size_t at = content.find("\"remaining\":");
    ASSERT_NE(at, std::string::npos);
    at += std::string("\"remaining\":").size();
    f.seekp(static_cast<std::streamoff>(at));
    f.put(content[at] == '9' ? '8' : '9');
  }
  auto loaded = LoadNewestSnapshot(dir_, warn_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->last_position(), Position(10));
  EXPECT_EQ(loaded->Digest(), older_digest);
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("snapshot-00000000000000000020.json"), std::string::npos)
      << warnings_[0];
  EXPECT_NE(warnings_[0].find("checksum"), std::string::npos) << warnings_[0];
}

TEST_F(SnapshotTest, TruncatedAndGarbageFilesAreSkipped) {
  Grow(5);
  ASSERT_TRUE(WriteSnapshot(dir_, p_).ok());
  Grow(5);
  ASSERT_TRUE(WriteSnapshot(dir_, p_).ok());
  const fs::path newest = fs::path(dir_) / "snapshot-00000000000000000010.json";
  fs::resize_file(newest, fs::file_size(newest) / 2);
  std::ofstream(fs::path(dir_) / "snapshot-00000000000000000099.json") << "garbage";
  std::ofstream(fs::path(dir_) / "unrelated.txt") << "not a snapshot";
  auto loaded = LoadNewestSnapshot(dir_, warn_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->last_position(), Position(5));
  EXPECT_EQ(warnings_.size(), 2u);
}

TEST_F(SnapshotTest, RenamedFileIsRejected) {
  Grow(5);
  ASSERT_TRUE(WriteSnapshot(dir_, p_).ok());
  fs::rename(fs::path(dir_) / "snapshot-00000000000000000005.json",
             fs::path(dir_) / "snapshot-00000000000000000006.json");
  auto loaded = LoadNewestSnapshot(dir_, warn_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->last_position(), Position(0));
  EXPECT_EQ(warnings_.size(), 2u);  // the file, then "starting from empty"
}

TEST_F(SnapshotTest, NoneValidGivesEmptyProjection) {
  auto missing = LoadNewestSnapshot(dir_, warn_);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->token_count(), 0u);
  EXPECT_EQ(missing->last_position(), Position(0));
  EXPECT_TRUE(warnings_.empty());

  fs::create_directories(dir_);
  auto empty_dir = LoadNewestSnapshot(dir_, warn_);
  ASSERT_TRUE(empty_dir.ok());
  EXPECT_TRUE(warnings_.empty());

  std::ofstream(fs::path(dir_) / "snapshot-00000000000000000003.json") << "{}";
  auto corrupt_only = LoadNewestSnapshot(dir_, warn_);
  ASSERT_TRUE(corrupt_only.ok());
  EXPECT_EQ(corrupt_only->token_count(), 0u);
  ASSERT_EQ(warnings_.size(), 2u);
  EXPECT_NE(warnings_[1].find("empty"), std::string::npos);
}

TEST_F(SnapshotTest, NoTemporaryFilesLeftBehind) {
  Grow(3);
  ASSERT_TRUE(WriteSnapshot(dir_, p_).ok());
  for (const std::string& name : Files()) EXPECT_EQ(name.find(".tmp"), std::string::npos) << name;
}

TEST_F(SnapshotTest, UnwritableDirectoryIsAnIoError) {
  ASSERT_TRUE(fs::create_directories(dir_));
  const std::string file_as_dir = dir_ + "/plain_file";
  std::ofstream(file_as_dir) << "x";
  Status s = WriteSnapshot(file_as_dir, p_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace tl
