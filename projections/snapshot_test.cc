#include "projections/snapshot.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "events/crypto.h"
#include "projections/token_line.h"
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

  std::string Read(const std::string& name) const {
    std::ifstream in(fs::path(dir_) / name, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  // A new file each time: rewriting one in place through a truncation makes
  // ext4 flush it on close (seconds over thousands of rewrites).
  void Write(const std::string& name, const std::string& content) const {
    fs::remove(fs::path(dir_) / name);
    std::ofstream(fs::path(dir_) / name, std::ios::binary) << content;
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

  // Format 2: a header saying what the file covers, a line per token (the
  // elements of ToJson's "tokens"), a trailer counting and checksumming them.
  const std::string content = Read("snapshot-00000000000000000030.json");
  std::vector<std::string> lines;
  for (size_t at = 0; at < content.size();) {
    const size_t nl = content.find('\n', at);
    ASSERT_NE(nl, std::string::npos);
    lines.push_back(content.substr(at, nl - at));
    at = nl + 1;
  }
  ASSERT_EQ(lines.size(), 7u + 2u);
  EXPECT_EQ(lines.front(), "{\"format\":2,\"position\":30}");
  const Json doc = p_.ToJson();
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(Json::parse(lines[i + 1]), doc["tokens"][i]) << i;
  const Json trailer = Json::parse(lines.back());
  EXPECT_EQ(trailer["count"], 7);
  EXPECT_EQ(trailer["sha256"], Sha256Hex(std::string_view(content).substr(
                                   0, content.size() - lines.back().size() - 1)));
  EXPECT_EQ(trailer.size(), 2u);
}

// Every answer the projection gives about its tokens and usage.
void ExpectSameAnswers(const Projection& a, const Projection& b, size_t tokens) {
  ASSERT_EQ(a.token_count(), b.token_count());
  EXPECT_EQ(a.last_position(), b.last_position());
  EXPECT_EQ(a.Digest(), b.Digest());
  for (size_t i = 0; i < tokens; ++i) {
    const std::string id = "tok_" + std::to_string(i);
    const TokenState* ta = a.Find(id);
    const TokenState* tb = b.Find(id);
    ASSERT_NE(ta, nullptr) << id;
    ASSERT_NE(tb, nullptr) << id;
    EXPECT_EQ(TokenStateJson(*ta), TokenStateJson(*tb));
    EXPECT_EQ(b.FindByDigest(tb->secret_digest.Hex(), nullptr), tb);
    UsageQuery q;
    q.token_id = id;
    q.to_ms = INT64_MAX / 2;
    EXPECT_EQ(a.Usage(q), b.Usage(q)) << id;
  }
  for (const char* owner : {"acme", "owner0", "owner1", "owner2", "owner3", "nobody"}) {
    for (auto bucket : {UsageQuery::Bucket::kHour, UsageQuery::Bucket::kDay}) {
      UsageQuery q;
      q.owner = owner;
      q.to_ms = INT64_MAX / 2;
      q.bucket = bucket;
      EXPECT_EQ(a.Usage(q), b.Usage(q)) << owner;
    }
    ListQuery lq;
    lq.owner = owner;
    lq.limit = 7;
    const int64_t now = testing::T("2026-03-01T00:00:00Z");
    for (int page = 0; page < 1000; ++page) {
      auto pa = a.List(lq, now);
      auto pb = b.List(lq, now);
      ASSERT_TRUE(pa.ok() && pb.ok());
      ASSERT_EQ(pa->tokens.size(), pb->tokens.size());
      for (size_t i = 0; i < pa->tokens.size(); ++i)
        EXPECT_EQ(pa->tokens[i]->id, pb->tokens[i]->id);
      ASSERT_EQ(pa->next_cursor, pb->next_cursor);
      if (pa->next_cursor.empty()) break;
      lq.cursor = pa->next_cursor;
    }
  }
}

TEST_F(SnapshotTest, RandomStatesRoundTrip) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    for (size_t n : {0u, 1u, 40u, 3000u}) {
      Projection p;
      for (const Event& e : testing::RandomEvents(n, seed)) p.Apply(e);
      fs::remove_all(dir_);
      ASSERT_TRUE(WriteSnapshot(dir_, p).ok());
      auto loaded = LoadNewestSnapshot(dir_, warn_);
      ASSERT_TRUE(loaded.ok()) << loaded.error().message;
      SCOPED_TRACE("seed " + std::to_string(seed) + ", " + std::to_string(n) + " events");
      ExpectSameAnswers(p, *loaded, p.token_count());
      EXPECT_TRUE(warnings_.empty());
    }
  }
}

TEST_F(SnapshotTest, TextNeedingEscapesRoundTrips) {
  p_.Apply(m_.Created("tok_0", 1000,
                      {{"name", "line\nbreak \"quoted\" tab\t \u00e9\u4e2d \U0001F600"},
                       {"description", std::string("nul\0byte\x01", 10)},
                       {"meta", {{"k\n", "v\r\n"}, {"nested", {{"a", {1, "\\"}}}}}}}));
  p_.Apply(m_.Denied("tok_0", 2000, "CODE \"WITH\" QUOTES\n"));
  ASSERT_TRUE(WriteSnapshot(dir_, p_).ok());
  auto loaded = LoadNewestSnapshot(dir_, warn_);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ExpectSameAnswers(p_, *loaded, 1);
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(SnapshotTest, EveryChangedByteIsRejected) {
  Grow(12);
  ASSERT_TRUE(WriteSnapshot(dir_, p_).ok());
  const std::string name = "snapshot-00000000000000000012.json";
  const std::string good = Read(name);
  size_t rejected = 0;
  for (size_t at = 0; at < good.size(); ++at) {
    for (char replacement : {static_cast<char>(good[at] ^ 1), ' ', '\n', '0'}) {
      if (replacement == good[at]) continue;
      std::string bad = good;
      bad[at] = replacement;
      Write(name, bad);
      warnings_.clear();
      auto loaded = LoadNewestSnapshot(dir_, warn_);
      ASSERT_TRUE(loaded.ok());
      ASSERT_EQ(loaded->token_count(), 0u) << "byte " << at << " -> " << int{replacement};
      ASSERT_EQ(warnings_.size(), 2u);
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 3 * good.size());
}

TEST_F(SnapshotTest, RecordsTheHashOfItsLastEvent) {
  Grow(12);
  const std::string hash(64, 'a');
  ASSERT_TRUE(WriteSnapshot(dir_, p_, hash).ok());
  const std::string name = "snapshot-00000000000000000012.json";
  EXPECT_EQ(Read(name).substr(0, Read(name).find('\n')),
            "{\"format\":2,\"hash\":\"" + hash + "\",\"position\":12}");
  std::string loaded_hash = "stale";
  auto loaded = LoadNewestSnapshot(dir_, warn_, &loaded_hash);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->Digest(), p_.Digest());
  EXPECT_EQ(loaded_hash, hash);
  EXPECT_TRUE(warnings_.empty());
  EXPECT_EQ(NewestSnapshotPosition(dir_), Position(12));

  // Without one (snapshots written before it was recorded): loaded, no hash.
  Grow(3);
  ASSERT_TRUE(WriteSnapshot(dir_, p_).ok());
  loaded = LoadNewestSnapshot(dir_, warn_, &loaded_hash);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->last_position(), Position(15));
  EXPECT_EQ(loaded_hash, "");
  EXPECT_EQ(NewestSnapshotPosition(dir_), Position(15));
  EXPECT_EQ(NewestSnapshotPosition(dir_ + "/missing"), Position(0));
}

TEST_F(SnapshotTest, AHashThatIsNotLowerCaseHexIsRejected) {
  Grow(12);
  ASSERT_TRUE(WriteSnapshot(dir_, p_, std::string(64, 'a')).ok());
  const std::string name = "snapshot-00000000000000000012.json";
  const std::string good = Read(name);
  for (const std::string& bad : {std::string(64, 'A'), std::string(63, 'a'), std::string("")}) {
    std::string content = good;
    content.replace(content.find(std::string(64, 'a')), 64, bad);
    Write(name, content);
    warnings_.clear();
    std::string loaded_hash = "stale";
    auto loaded = LoadNewestSnapshot(dir_, warn_, &loaded_hash);
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(loaded->token_count(), 0u) << bad;
    EXPECT_EQ(loaded_hash, "") << bad;
    ASSERT_FALSE(warnings_.empty());
    EXPECT_NE(warnings_.front().find("unreadable header"), std::string::npos) << warnings_.front();
  }
}

TEST_F(SnapshotTest, EveryTruncationIsRejected) {
  Grow(12);
  ASSERT_TRUE(WriteSnapshot(dir_, p_).ok());
  const std::string name = "snapshot-00000000000000000012.json";
  const std::string good = Read(name);
  for (size_t size = 0; size < good.size(); ++size) {
    Write(name, good.substr(0, size));
    warnings_.clear();
    auto loaded = LoadNewestSnapshot(dir_, warn_);
    ASSERT_TRUE(loaded.ok());
    ASSERT_EQ(loaded->token_count(), 0u) << size;
  }
}

TEST_F(SnapshotTest, TrailerMustBeLastAndAgree) {
  Grow(12);
  ASSERT_TRUE(WriteSnapshot(dir_, p_).ok());
  const std::string name = "snapshot-00000000000000000012.json";
  const std::string good = Read(name);
  const size_t trailer_at = good.rfind("{\"count\":");
  ASSERT_NE(trailer_at, std::string::npos);
  const std::string body = good.substr(0, trailer_at);
  auto warning_for = [&](const std::string& content) {
    Write(name, content);
    warnings_.clear();
    auto loaded = LoadNewestSnapshot(dir_, warn_);
    EXPECT_TRUE(loaded.ok());
    EXPECT_EQ(loaded->token_count(), 0u);
    return warnings_.empty() ? std::string() : warnings_.front();
  };
  EXPECT_NE(warning_for(body).find("no trailer"), std::string::npos);
  const std::string sha = Sha256Hex(body);
  EXPECT_NE(warning_for(body + "{\"count\":8,\"sha256\":\"" + sha + "\"}\n").find("count"),
            std::string::npos);
  EXPECT_NE(warning_for(body + "{\"count\":6,\"sha256\":\"" + sha + "\"}\n").find("count"),
            std::string::npos);
  EXPECT_NE(warning_for(good + good.substr(trailer_at)).find("after the trailer"),
            std::string::npos);
  EXPECT_NE(warning_for(good + "\n").find("after the trailer"), std::string::npos);
  // A token line dropped (count and checksum fixed up) or repeated: the count
  // or the id order says so.
  const size_t second = body.find('\n', body.find('\n') + 1) + 1;
  const size_t third = body.find('\n', second) + 1;
  const std::string dropped = body.substr(0, second) + body.substr(third);
  EXPECT_NE(warning_for(dropped + "{\"count\":7,\"sha256\":\"" + Sha256Hex(dropped) + "\"}\n")
                .find("count"),
            std::string::npos);
  const std::string repeated = body.substr(0, third) + body.substr(second);
  EXPECT_NE(warning_for(repeated + "{\"count\":8,\"sha256\":\"" + Sha256Hex(repeated) + "\"}\n")
                .find("sorted"),
            std::string::npos);
  // Put back together, it loads.
  Write(name, body + "{\"count\":7,\"sha256\":\"" + sha + "\"}\n");
  warnings_.clear();
  auto loaded = LoadNewestSnapshot(dir_, warn_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->Digest(), p_.Digest());
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(SnapshotTest, Format1FilesStillLoad) {
  for (const Event& e : testing::RandomEvents(500, 9)) p_.Apply(e);
  const std::string body = p_.ToJson().dump();
  const std::string name = "snapshot-" + std::string(20 - 3, '0') + "500.json";
  fs::create_directories(dir_);
  Write(name, "{\"format\":1,\"position\":500,\"sha256\":\"" + Sha256Hex(body) +
                  "\",\"state\":" + body + "}");
  auto loaded = LoadNewestSnapshot(dir_, warn_);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_TRUE(warnings_.empty());
  ExpectSameAnswers(p_, *loaded, p_.token_count());

  // A damaged one is still rejected.
  std::string bad = Read(name);
  bad[bad.size() / 2] ^= 1;
  Write(name, bad);
  loaded = LoadNewestSnapshot(dir_, warn_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->token_count(), 0u);
  EXPECT_EQ(warnings_.size(), 2u);
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
