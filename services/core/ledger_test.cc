// The ledger's start-up checks against its own snapshots, and the times its
// commands stamp on events.

#include "services/core/ledger.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "events/clock.h"
#include "events/log_format.h"
#include "events/log_scan.h"
#include "events/log_test_util.h"
#include "events/time_format.h"
#include "projections/replay.h"

namespace tl {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

constexpr char kBootstrapSecret[] = "ledger-test-bootstrap-admin-secret-000000";
constexpr int64_t kStartMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

// The commands of these bodies, as the HTTP front end parses them.
CreateTokenCommand CreateCmd(const Json& body) {
  auto cmd = ParseCreateToken(body, kStartMs);
  EXPECT_TRUE(cmd.ok()) << body;
  return cmd.ok() ? *cmd : CreateTokenCommand{};
}
VerifyCommand VerifyCmd(const Json& body) {
  auto cmd = ParseVerify(body);
  EXPECT_TRUE(cmd.ok()) << body;
  return cmd.ok() ? *cmd : VerifyCommand{};
}

// Creates `n` tokens as the bootstrap admin; returns their ids.
std::vector<std::string> CreateTokens(Ledger& ledger, int n) {
  auto admin = ledger.Authenticate(kBootstrapSecret);
  EXPECT_TRUE(admin.ok());
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    auto created = ledger.Create(*admin, CreateCmd(Json{{"name", "t" + std::to_string(i)}}));
    EXPECT_TRUE(created.ok());
    if (created.ok()) ids.push_back(created->token.state.id);
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
  Result<std::unique_ptr<Ledger>> Open(const std::function<void(LedgerOptions&)>& tweak = {}) {
    LedgerOptions o;
    o.data_dir = dir_.path();
    o.clock = &clock_;
    o.bootstrap_secret = kBootstrapSecret;
    o.snapshot_every_events = UINT64_MAX / 2;  // only on close
    o.warn = [this](std::string_view w) { warnings_.emplace_back(w); };
    o.log.warn = o.warn;
    if (tweak) tweak(o);
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

  // The high-water mark names the loss first, before anything is cut.
  auto refused = Open();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kCorruption);
  EXPECT_TRUE(Contains(refused.error().message, "last intact event is position 2") &&
              Contains(refused.error().message, "position 3 was acknowledged") &&
              Contains(refused.error().message, "restore") &&
              Contains(refused.error().message, "--accept-log-loss"))
      << refused.error().message;
  EXPECT_EQ(fs::file_size(OnlySegment(dir_)), size_before);

  // Without the mark, the snapshot tells the same.
  fs::remove(dir_.path() + "/acknowledged.json");
  refused = Open();
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
  fs::remove(dir_.path() + "/acknowledged.json");  // the mark would refuse first
  RunOnce(1);                                      // a different event at position 3
  fs::remove_all(snapshots);
  fs::rename(kept, snapshots);

  auto refused = Open();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kCorruption);
  EXPECT_TRUE(Contains(refused.error().message, "position 3") &&
              Contains(refused.error().message, "not the history"))
      << refused.error().message;
}

// The newest segment cut to half, no snapshot: nothing but the high-water
// mark knows events are missing. The start is refused naming both
// positions and changes nothing; accepting the loss says what is dropped,
// and the next start is normal.
TEST_F(LedgerTest, AShortenedLogWithoutSnapshotIsRefusedUntilTheLossIsAccepted) {
  const std::string digest = RunOnce(40);  // positions 1..41
  ASSERT_FALSE(digest.empty());
  fs::remove_all(dir_.path() + "/snapshots");
  const std::string seg = OnlySegment(dir_);
  fs::resize_file(seg, fs::file_size(seg) / 2);
  const auto half = fs::file_size(seg);

  auto refused = Open();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kCorruption);
  const std::string& m = refused.error().message;
  EXPECT_TRUE(Contains(m, "position 41 was acknowledged") &&
              Contains(m, "last intact event is position ") && Contains(m, "--accept-log-loss"))
      << m;
  EXPECT_EQ(fs::file_size(seg), half);
  Projection intact;
  ASSERT_TRUE(ReplayLog(dir_.path() + "/log", intact).ok());
  const uint64_t kept = intact.last_position().value();
  ASSERT_GT(kept, 1u);
  ASSERT_LT(kept, 41u);
  EXPECT_TRUE(Contains(m, "position " + std::to_string(kept) + " ")) << m;

  warnings_.clear();
  {
    auto accepted = Open([](LedgerOptions& o) { o.accept_log_loss = true; });
    ASSERT_TRUE(accepted.ok()) << accepted.error().message;
    EXPECT_EQ((*accepted)->log().DurablePosition().value(), kept);
  }
  bool told = false;
  for (const std::string& w : warnings_) {
    told |=
        Contains(w, "positions " + std::to_string(kept + 1) + " to 41") && Contains(w, "dropped");
  }
  EXPECT_TRUE(told) << ::testing::PrintToString(warnings_);
  auto again = Open();
  ASSERT_TRUE(again.ok()) << again.error().message;
}

// A snapshot that covers lost events is set aside by accepting the loss.
TEST_F(LedgerTest, AcceptingALossSetsAsideTheSnapshotsThatCoverIt) {
  RunOnce(2);
  CutLogTail(dir_, 5);
  auto accepted = Open([](LedgerOptions& o) { o.accept_log_loss = true; });
  ASSERT_TRUE(accepted.ok()) << accepted.error().message;
  EXPECT_EQ((*accepted)->State().position, Position(2));
  EXPECT_TRUE(
      fs::exists(dir_.path() + "/snapshots/" + "snapshot-00000000000000000003.json.dropped"));
  accepted->reset();
  auto again = Open();
  ASSERT_TRUE(again.ok()) << again.error().message;
}

// A write that fails (no space) is answered with an error, and the live
// state forgets it: reads never see it, the next write after the back-off
// goes through, and a restart finds exactly the acknowledged state.
TEST_F(LedgerTest, AFailedWriteIsNeitherAcknowledgedNorKept) {
  std::atomic<int> fail_with{0};
  std::string live_digest;
  {
    auto ledger = Open([&](LedgerOptions& o) {
      o.write_retry_ms = 300;
      o.log.inject_error = [&](std::string_view op) {
        return op == "write" ? fail_with.load() : 0;
      };
    });
    ASSERT_TRUE(ledger.ok()) << ledger.error().message;
    Ledger& l = **ledger;
    auto admin = l.Authenticate(kBootstrapSecret);
    ASSERT_TRUE(admin.ok());
    auto kept =
        l.Create(*admin, CreateCmd(Json{{"name", "kept"}, {"credits", {{"remaining", 5}}}}));
    ASSERT_TRUE(kept.ok());
    const std::string kept_id = kept->token.state.id;
    const Position before = l.log().DurablePosition();
    EXPECT_FALSE(l.WriteHealth());

    fail_with = ENOSPC;
    auto lost = l.Create(*admin, CreateCmd(Json{{"name", "lost"}}));
    ASSERT_FALSE(lost.ok());
    EXPECT_EQ(lost.error().code, ErrorCode::kStorageUnavailable);
    EXPECT_TRUE(Contains(lost.error().message, "no space left on device")) << lost.error().message;
    auto used = l.Verify(*admin, VerifyCmd(Json{{"token", kept->secret}}));
    ASSERT_FALSE(used.ok());
    EXPECT_EQ(used.error().code, ErrorCode::kStorageUnavailable);
    ASSERT_TRUE(l.WriteHealth());
    EXPECT_TRUE(Contains(*l.WriteHealth(), "no space left on device")) << *l.WriteHealth();
    EXPECT_GE(l.StorageErrors(), 2u);
    // Reads answer, from the durable state only.
    auto listed = l.List(*admin, ListQuery{});
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(listed->tokens.size(), 2u);  // admin + kept
    auto got = l.Get(*admin, kept_id, std::nullopt);
    ASSERT_TRUE(got.ok());
    ASSERT_TRUE(got->state.credits);
    EXPECT_EQ(got->state.credits->remaining, 5);
    EXPECT_EQ(l.log().DurablePosition(), before);

    fail_with = 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(350));
    auto resumed = l.Verify(*admin, VerifyCmd(Json{{"token", kept->secret}}));
    ASSERT_TRUE(resumed.ok()) << resumed.error().message;
    EXPECT_EQ(Json::parse(resumed->body)["remaining"], 4) << resumed->body;
    EXPECT_FALSE(l.WriteHealth());
    EXPECT_EQ(l.log().DurablePosition(), before.next());
    live_digest = l.State().digest;
  }
  auto reopened = Open();
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  EXPECT_EQ((*reopened)->State().digest, live_digest);
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
    ASSERT_TRUE((*ledger)->Create(*admin, CreateCmd(Json{{"name", "short-lived"}})).ok());
    // Closing without a new snapshot: position 3 stays after it.
    fs::rename(dir_.path() + "/snapshots", dir_.path() + "/kept");
  }
  fs::remove_all(dir_.path() + "/snapshots");
  fs::rename(dir_.path() + "/kept", dir_.path() + "/snapshots");
  ASSERT_TRUE(testing::AlterEventData(dir_.path() + "/log", Position(3),
                                      [](Json& data) { data["name"] = "short-lIved"; }));
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
    EXPECT_EQ(FormatRfc3339Ms(shown->state.created_at_ms), "2026-01-01T00:00:10.000Z");
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
      *admin, CreateCmd(Json{{"name", "short"}, {"expires_at", "2026-01-01T00:00:08Z"}}));
  ASSERT_TRUE(created.ok()) << created.error().message;
  clock_.Set(kStartMs + 10'000);
  CreateTokens(**ledger, 1);
  clock_.Set(kStartMs + 5'000);
  auto verified = (*ledger)->Verify(*admin, VerifyCmd(Json{{"token", created->secret}}));
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(verified->code, "EXPIRED");
}

// An Idempotency-Key: a repeat with the same request gets the first answer,
// secret included; with another request, a conflict. After a restart the
// secret is gone (it was never stored) and the log still knows the key.
TEST_F(LedgerTest, AnIdempotencyKeyRepeatsTheFirstAnswerUntilARestart) {
  const IdempotencyKey key{"k-1", "digest of the first body"};
  std::string first_id;
  {
    auto ledger = Open();
    ASSERT_TRUE(ledger.ok());
    auto admin = (*ledger)->Authenticate(kBootstrapSecret);
    ASSERT_TRUE(admin.ok());
    auto first = (*ledger)->Create(*admin, CreateCmd(Json{{"name", "once"}}), key);
    ASSERT_TRUE(first.ok()) << first.error().message;
    first_id = first->token.state.id;
    auto repeat = (*ledger)->Create(*admin, CreateCmd(Json{{"name", "once"}}), key);
    ASSERT_TRUE(repeat.ok());
    EXPECT_EQ(repeat->token.state.id, first_id);
    EXPECT_EQ(repeat->secret, first->secret);
    auto other = (*ledger)->Create(*admin, CreateCmd(Json{{"name", "twice"}}),
                                   IdempotencyKey{"k-1", "digest of another body"});
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.error().code, ErrorCode::kConflict);
    EXPECT_EQ(other.error().field, "Idempotency-Key");
    EXPECT_EQ((*ledger)->log().DurablePosition(), Position(2));
  }
  auto ledger = Open();
  ASSERT_TRUE(ledger.ok());
  auto admin = (*ledger)->Authenticate(kBootstrapSecret);
  ASSERT_TRUE(admin.ok());
  auto after = (*ledger)->Create(*admin, CreateCmd(Json{{"name", "once"}}), key);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, ErrorCode::kConflict);
  EXPECT_EQ(after.error().field, "Idempotency-Key");
  EXPECT_TRUE(Contains(after.error().message, "already used")) << after.error().message;
  EXPECT_EQ((*ledger)->log().DurablePosition(), Position(2));
}

}  // namespace
}  // namespace tl
