// Snapshots are written from the ledger's follower state, never from the live
// state under its lock (label "concurrent": also run under ThreadSanitizer).
// Whatever runs meanwhile, a snapshot must equal a full replay of the log at
// its position and cover only durable events.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "events/clock.h"
#include "events/log_test_util.h"
#include "projections/replay.h"
#include "projections/snapshot.h"
#include "services/ledger.h"

namespace tl {
namespace {

using testing::TempDir;

constexpr char kBootstrapSecret[] = "snapshot-test-bootstrap-admin-secret-00000";
constexpr int64_t kStartMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

LedgerOptions Options(const TempDir& dir, const Clock& clock) {
  LedgerOptions o;
  o.data_dir = dir.path();
  o.clock = &clock;
  o.bootstrap_secret = kBootstrapSecret;
  o.snapshot_every_events = UINT64_MAX / 2;  // only when the test asks (and on close)
  return o;
}

// The full replay of the log up to `until`.
std::string ReplayDigest(const std::string& log_dir, Position until) {
  Projection p;
  auto last = ReplayLog(log_dir, p, {.until = until});
  EXPECT_TRUE(last.ok()) << last.error().message;
  EXPECT_EQ(p.last_position(), until);
  return p.Digest();
}

Projection NewestSnapshot(const std::string& data_dir) {
  auto loaded = LoadNewestSnapshot(data_dir + "/snapshots", [](std::string_view w) {
    ADD_FAILURE() << "unexpected warning: " << w;
  });
  EXPECT_TRUE(loaded.ok());
  return loaded.ok() ? std::move(loaded).value() : Projection();
}

// A token to verify, created by the bootstrap admin.
struct Fixture {
  Caller admin;
  Json verify;  // a verify request body for the token
};

Fixture MakeFixture(Ledger& ledger) {
  auto admin = ledger.Authenticate(kBootstrapSecret);
  EXPECT_TRUE(admin.ok());
  auto created = ledger.Create(*admin, Json{{"name", "verified"}, {"owner", "acme"}}, "");
  EXPECT_TRUE(created.ok());
  return Fixture{*admin, Json{{"token", (*created)["token"]}, {"cost", 1}}};
}

// Runs `command` on another thread and waits for it. A command that cannot
// finish (it waits for a lock the caller holds) aborts the test binary after
// a minute instead of hanging it: a watchdog, not a measurement.
void RunOnAnotherThread(const std::function<void()>& command) {
  std::promise<void> finished;
  std::future<void> done = finished.get_future();
  std::thread t([&] {
    command();
    finished.set_value();
  });
  if (done.wait_for(std::chrono::minutes(1)) != std::future_status::ready) {
    std::fprintf(stderr, "a command waited on the snapshot writer: the state lock is held\n");
    std::abort();
  }
  t.join();
}

TEST(LedgerSnapshotTest, CommandsCompleteWhileASnapshotIsBeingWritten) {
  TempDir dir;
  FakeClock clock(kStartMs);
  std::optional<Position> hooked;
  std::unique_ptr<Ledger> ledger;
  Fixture f;
  LedgerOptions options = Options(dir, clock);
  options.before_snapshot_write = [&](Position covered) {
    if (hooked) return;  // the final snapshot on close
    hooked = covered;
    // The snapshot writer is stopped right here, its state in hand: commands
    // must still get the state lock and become durable.
    RunOnAnotherThread([&] {
      for (int i = 0; i < 3; ++i) {
        auto verified = ledger->Verify(f.admin, f.verify);
        ASSERT_TRUE(verified.ok());
        EXPECT_TRUE((*verified)["valid"].get<bool>());
      }
      auto created = ledger->Create(f.admin, Json{{"name", "during"}, {"owner", "acme"}}, "");
      ASSERT_TRUE(created.ok());
    });
  };
  auto opened = Ledger::Open(std::move(options));
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  ledger = std::move(opened).value();
  f = MakeFixture(*ledger);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ledger->Verify(f.admin, f.verify).ok());
  const Position before = ledger->log().DurablePosition();

  ASSERT_TRUE(ledger->WriteSnapshotNow().ok());
  ASSERT_TRUE(hooked);
  // The snapshot covers everything before the call and nothing from the
  // commands that ran while it was written.
  EXPECT_EQ(*hooked, before);
  EXPECT_EQ(ledger->log().DurablePosition(), Position(before.value() + 4));
  Projection snap = NewestSnapshot(dir.path());
  EXPECT_EQ(snap.last_position(), before);
  EXPECT_EQ(snap.Digest(), ReplayDigest(dir.sub("log"), before));
  // The live state has the commands.
  StateInfo state = ledger->State();
  EXPECT_EQ(state.position, ledger->log().DurablePosition());
  EXPECT_EQ(state.digest, ReplayDigest(dir.sub("log"), state.position));
}

TEST(LedgerSnapshotTest, SnapshotsWrittenWhileCommandsRunEqualReplayAtTheirPosition) {
  TempDir dir;
  FakeClock clock(kStartMs);
  LedgerOptions options = Options(dir, clock);
  options.snapshot_check_ms = 1;  // the background loop follows the log meanwhile
  auto opened = Ledger::Open(std::move(options));
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  std::unique_ptr<Ledger> ledger = std::move(opened).value();
  const Fixture f = MakeFixture(*ledger);

  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 2; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        if (i % 10 == 0) {
          auto created = ledger->Create(
              f.admin, Json{{"name", "w" + std::to_string(t)}, {"owner", "acme"}}, "");
          ASSERT_TRUE(created.ok());
        } else {
          ASSERT_TRUE(ledger->Verify(f.admin, f.verify).ok());
        }
        clock.Advance(1'000);
      }
    });
  }
  // /readyz digests read the follower meanwhile too.
  std::thread readyz([&] {
    while (!stop.load()) (void)ledger->State();
  });
  std::vector<Projection> snapshots;
  for (int i = 0; i < 5; ++i) {
    // Let some commands land between snapshots.
    const Position from = ledger->log().DurablePosition();
    while (ledger->log().WaitForNew(Position(from.value() + 20), std::chrono::seconds(1)) <=
           Position(from.value() + 20)) {
    }
    const Position asked = ledger->log().DurablePosition();
    ASSERT_TRUE(ledger->WriteSnapshotNow().ok());
    snapshots.push_back(NewestSnapshot(dir.path()));
    // Everything durable before the call, and nothing that is not durable.
    EXPECT_GE(snapshots.back().last_position(), asked);
    EXPECT_LE(snapshots.back().last_position(), ledger->log().DurablePosition());
  }
  stop = true;
  for (auto& w : writers) w.join();
  readyz.join();

  for (size_t i = 0; i < snapshots.size(); ++i) {
    SCOPED_TRACE("snapshot " + std::to_string(i));
    const Position at = snapshots[i].last_position();
    if (i > 0) {
      EXPECT_GT(at, snapshots[i - 1].last_position());
    }
    EXPECT_EQ(snapshots[i].Digest(), ReplayDigest(dir.sub("log"), at));
  }
  StateInfo state = ledger->State();
  EXPECT_EQ(state.position, ledger->log().DurablePosition());
  EXPECT_EQ(state.digest, ReplayDigest(dir.sub("log"), state.position));
}

}  // namespace
}  // namespace tl
