// The ledger's start-up checks against its own snapshots, and the times its
// commands stamp on events.

#include "services/ledger.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "events/clock.h"
#include "events/log_format.h"
#include "events/log_scan.h"
#include "events/log_test_util.h"
#include "projections/replay.h"

namespace tl {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

constexpr char kBootstrapSecret[] = "ledger-test-bootstrap-admin-secret-000000";
constexpr int64_t kStartMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

// Creates `n` tokens as the bootstrap admin; returns their ids.
std::vector<std::string> CreateTokens(Ledger& ledger, int n) {
  auto admin = ledger.Authenticate(kBootstrapSecret);
  EXPECT_TRUE(admin.ok());
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    auto created = ledger.Create(*admin, Json{{"name", "t" + std::to_string(i)}}, "");
    EXPECT_TRUE(created.ok());
    if (created.ok()) ids.push_back((*created)["id"].get<std::string>());
  }
  return ids;
}

std::string OnlySegment(const TempDir& dir) {
  return dir.path() + "/log/" + logfmt::SegmentFileName(Position(1));
}

// Cuts the last `bytes` bytes of the log, as a damaged disk (or a careless
// operator) might: the last record no longer reads back.
void CutLogTail(const TempDir& dir, uintmax_t bytes) {
  const std::string seg = OnlySegment(dir);
  fs::resize_file(seg, fs::file_size(seg) - bytes);
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class LedgerTest : public ::testing::Test {
 protected:
  // Opens the ledger in dir_; warnings_ collects what it reports.
  Result<std::unique_ptr<Ledger>> Open() {
    LedgerOptions o;
    o.data_dir = dir_.path();
    o.clock = &clock_;
    o.bootstrap_secret = kBootstrapSecret;
    o.snapshot_every_events = UINT64_MAX / 2;  // only on close
    o.warn = [this](std::string_view w) { warnings_.emplace_back(w); };
    o.log.warn = o.warn;
    return Ledger::Open(std::move(o));
  }

  // Opens the ledger, creates `n` tokens, closes it (which writes a
  // snapshot); returns the state digest it had.
  std::string RunOnce(int n) {
    auto ledger = Open();
    EXPECT_TRUE(ledger.ok()) << ledger.error().message;
    if (!ledger.ok()) return "";
    CreateTokens(**ledger, n);
    return (*ledger)->State().digest;
  }

  TempDir dir_;
  FakeClock clock_{kStartMs};
  std::vector<std::string> warnings_;
};

TEST_F(LedgerTest, ALogThatLostAcknowledgedEventsIsRefused) {
  RunOnce(2);  // positions 2 and 3; closing snapshots position 3
  CutLogTail(dir_, 5);
  const auto size_before = fs::file_size(OnlySegment(dir_));

  auto refused = Open();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kCorruption);
  const std::string& m = refused.error().message;
  EXPECT_TRUE(Contains(m, "covers position 3") && Contains(m, "ends at position 2") &&
              Contains(m, "acknowledged events are missing") && Contains(m, "restore"))
      << m;
  // The log's own open cut the torn record; nothing else was changed, and no
  // new admin was minted.
  EXPECT_LE(fs::file_size(OnlySegment(dir_)), size_before);
  Projection replayed;
  ASSERT_TRUE(ReplayLog(dir_.path() + "/log", replayed).ok());
  EXPECT_EQ(replayed.last_position(), Position(2));
}

TEST_F(LedgerTest, ASnapshotOfAnotherHistoryIsRefused) {
  RunOnce(2);
  // Keep the snapshot of position 3, lose event 3, then let another event 3
  // be written (with the snapshots moved away, as the refusal above tells
  // an operator who accepts the loss), and put the old snapshot back.
  const std::string snapshots = dir_.path() + "/snapshots";
  const std::string kept = dir_.path() + "/kept-snapshots";
  fs::rename(snapshots, kept);
  CutLogTail(dir_, 5);
  clock_.Advance(1'000);
  RunOnce(1);  // a different event at position 3
  fs::remove_all(snapshots);
  fs::rename(kept, snapshots);

  auto refused = Open();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kCorruption);
  EXPECT_TRUE(Contains(refused.error().message, "position 3") &&
              Contains(refused.error().message, "not the history"))
      << refused.error().message;
}

TEST_F(LedgerTest, AMissingSnapshotIsReplacedByAFullReplayWithAWarning) {
  const std::string digest = RunOnce(3);
  EXPECT_TRUE(warnings_.empty());  // a fresh start has nothing to rebuild
  fs::remove_all(dir_.path() + "/snapshots");
  auto ledger = Open();
  ASSERT_TRUE(ledger.ok());
  EXPECT_EQ((*ledger)->State().digest, digest);
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_TRUE(Contains(warnings_[0], "no snapshot") && Contains(warnings_[0], "4 events"))
      << warnings_[0];
}

// An event after the snapshot altered on disk (CRCs redone, hash not) is
// refused when the start-up folds it.
TEST_F(LedgerTest, AnAlteredEventAfterTheSnapshotIsRefused) {
  RunOnce(1);  // the snapshot covers positions 1 and 2
  {
    auto ledger = Open();
    ASSERT_TRUE(ledger.ok());
    auto admin = (*ledger)->Authenticate(kBootstrapSecret);
    ASSERT_TRUE((*ledger)->Create(*admin, Json{{"name", "short-lived"}}, "").ok());
    // Closing without a new snapshot: position 3 stays after it.
    fs::rename(dir_.path() + "/snapshots", dir_.path() + "/kept");
  }
  fs::remove_all(dir_.path() + "/snapshots");
  fs::rename(dir_.path() + "/kept", dir_.path() + "/snapshots");
  ASSERT_TRUE(testing::AlterEventData(dir_.path() + "/log", Position(3), [](Json& data) {
    data["name"] = "short-lIved";
  }));
  auto refused = Open();
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(Contains(refused.error().message, "position 3") &&
              Contains(refused.error().message, "hash mismatch"))
      << refused.error().message;
}

// Commands read the clock in the order they stage their events, and never
// before the last command's time: a clock that steps back (across a restart
// too) leaves event times, and the ids made from them, in position order.
TEST_F(LedgerTest, EventTimesFollowPositionsWhenTheClockStepsBack) {
  {
    auto ledger = Open();
    ASSERT_TRUE(ledger.ok());
    clock_.Set(kStartMs + 10'000);
    CreateTokens(**ledger, 1);
    clock_.Set(kStartMs + 5'000);
    CreateTokens(**ledger, 1);
  }
  clock_.Set(kStartMs + 1'000);
  {
    auto ledger = Open();
    ASSERT_TRUE(ledger.ok());
    auto ids = CreateTokens(**ledger, 1);
    auto admin = (*ledger)->Authenticate(kBootstrapSecret);
    auto shown = (*ledger)->Get(*admin, ids.at(0), std::nullopt);
    ASSERT_TRUE(shown.ok());
    EXPECT_EQ((*shown)["created_at"], "2026-01-01T00:00:10.000Z");
  }
  std::vector<Event> events;
  ASSERT_TRUE(ScanLog(dir_.path() + "/log", {}, [&](const ScannedRecord& r) {
                events.push_back(r.event);
                return true;
              }).ok());
  ASSERT_EQ(events.size(), 4u);
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_LE(events[i - 1].time_ms, events[i].time_ms) << i;
    EXPECT_LT(events[i - 1].id, events[i].id) << i;
  }
  EXPECT_EQ(events.back().time_ms, kStartMs + 10'000);
}

// A decision is taken at the time its event will carry: after an event at
// 00:00:10, a clock stepped back to 00:00:05 cannot make a token that expired
// at 00:00:08 verify as valid.
TEST_F(LedgerTest, DecisionsUseTheTimeTheirEventsCarry) {
  auto ledger = Open();
  ASSERT_TRUE(ledger.ok());
  auto admin = (*ledger)->Authenticate(kBootstrapSecret);
  ASSERT_TRUE(admin.ok());
  auto created = (*ledger)->Create(
      *admin, Json{{"name", "short"}, {"expires_at", "2026-01-01T00:00:08Z"}}, "");
  ASSERT_TRUE(created.ok()) << created.error().message;
  clock_.Set(kStartMs + 10'000);
  CreateTokens(**ledger, 1);
  clock_.Set(kStartMs + 5'000);
  auto verified = (*ledger)->Verify(*admin, Json{{"token", (*created)["token"]}});
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ((*verified)["code"], "EXPIRED");
}

}  // namespace
}  // namespace tl
