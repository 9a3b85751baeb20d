// Snapshots and the /readyz digest are computed from the ledger's follower
// state, never from the live state under its lock, and never keep a command
// (or, with a budget, a /readyz caller) waiting (label "concurrent": also run
// under ThreadSanitizer).
// Whatever runs meanwhile, a snapshot must equal a full replay of the log at
// its position and cover only durable events.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "events/clock.h"
#include "events/log_test_util.h"
#include "projections/replay.h"
#include "projections/snapshot.h"
#include "services/core/ledger.h"

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
  VerifyCommand verify;  // a verification of the token
};

// The command of a create body, as the HTTP front end parses it.
CreateTokenCommand CreateCmd(const Json& body) {
  auto cmd = ParseCreateToken(body, kStartMs);
  EXPECT_TRUE(cmd.ok()) << body;
  return cmd.ok() ? *cmd : CreateTokenCommand{};
}

Fixture MakeFixture(Ledger& ledger) {
  auto admin = ledger.Authenticate(kBootstrapSecret);
  EXPECT_TRUE(admin.ok());
  auto created = ledger.Create(*admin, CreateCmd(Json{{"name", "verified"}, {"owner", "acme"}}));
  EXPECT_TRUE(created.ok());
  auto verify = ParseVerify(Json{{"token", created.ok() ? created->secret : ""}, {"cost", 1}});
  EXPECT_TRUE(verify.ok());
  return Fixture{*admin, verify.ok() ? *verify : VerifyCommand{}};
}

// Runs `command` on another thread and waits for it. A command that cannot
// finish (it waits for a lock the caller holds, or for a thread stopped in a
// hook) aborts the test binary after
// a minute instead of hanging it: a watchdog, not a measurement.
void RunOnAnotherThread(const std::function<void()>& command) {
  std::promise<void> finished;
  std::future<void> done = finished.get_future();
  std::thread t([&] {
    command();
    finished.set_value();
  });
  if (done.wait_for(std::chrono::minutes(1)) != std::future_status::ready) {
    std::fprintf(stderr, "a call waited on the snapshot or digest thread for a minute\n");
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
        EXPECT_TRUE(Json::parse(verified->body)["valid"].get<bool>());
      }
      auto created =
          ledger->Create(f.admin, CreateCmd(Json{{"name", "during"}, {"owner", "acme"}}));
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
              f.admin, CreateCmd(Json{{"name", "w" + std::to_string(t)}, {"owner", "acme"}}));
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

// The /readyz digest is computed on its own thread. With a budget, a caller
// never waits for a digest that is slow to compute: it gets the newest one
// there is, at the position that one covers.
TEST(LedgerDigestTest, SlowDigestsAnswerAtOnceWithTheNewestOne) {
  TempDir dir;
  FakeClock clock(kStartMs);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> armed{false};
  std::atomic<int> blocked{0};
  LedgerOptions options = Options(dir, clock);
  options.digest_budget_ms = 0;  // every digest counts as slow
  options.before_digest = [&](Position) {
    if (!armed.load()) return;
    ++blocked;
    released.wait();
  };
  auto opened = Ledger::Open(std::move(options));
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  std::unique_ptr<Ledger> ledger = std::move(opened).value();

  // The digest thread starts with one of everything durable at open (the
  // bootstrap admin); the first call gets it or waits for it.
  StateInfo first = ledger->State();
  EXPECT_EQ(first.position, ledger->log().DurablePosition());
  EXPECT_EQ(first.digest, ReplayDigest(dir.sub("log"), first.position));

  armed = true;
  const Fixture f = MakeFixture(*ledger);
  ASSERT_TRUE(ledger->Verify(f.admin, f.verify).ok());
  const Position moved = ledger->log().DurablePosition();
  ASSERT_GT(moved, first.position);
  // The digest thread is stuck in the hook; State() must not wait for it.
  StateInfo stale;
  RunOnAnotherThread([&] { stale = ledger->State(); });
  EXPECT_EQ(stale.position, first.position);
  EXPECT_EQ(stale.digest, first.digest);

  release.set_value();
  // The fresh one arrives by itself.
  StateInfo fresh;
  RunOnAnotherThread([&] {
    do {
      fresh = ledger->State();
      if (fresh.position < moved) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    } while (fresh.position < moved);
  });
  EXPECT_EQ(fresh.position, moved);
  EXPECT_EQ(fresh.digest, ReplayDigest(dir.sub("log"), moved));
  EXPECT_GE(blocked.load(), 1);
}

// However often /readyz is called, digests leave the digest thread idle at
// least three times as long as they took.
TEST(LedgerDigestTest, DigestsArePacedByTheirCost) {
  TempDir dir;
  FakeClock clock(kStartMs);
  constexpr auto kCost = std::chrono::milliseconds(100);
  std::atomic<bool> armed{false};
  std::mutex mu;
  std::vector<std::chrono::steady_clock::time_point> starts;
  LedgerOptions options = Options(dir, clock);
  options.before_digest = [&](Position) {
    if (!armed.load()) return;
    {
      std::lock_guard<std::mutex> l(mu);
      starts.push_back(std::chrono::steady_clock::now());
    }
    std::this_thread::sleep_for(kCost);  // counts as the digest's cost
  };
  auto opened = Ledger::Open(std::move(options));
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  std::unique_ptr<Ledger> ledger = std::move(opened).value();
  const Fixture f = MakeFixture(*ledger);
  (void)ledger->State();

  armed = true;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(ledger->Verify(f.admin, f.verify).ok());
    StateInfo state = ledger->State();  // no budget: waits for the fresh digest
    EXPECT_EQ(state.position, ledger->log().DurablePosition());
  }
  std::lock_guard<std::mutex> l(mu);
  ASSERT_EQ(starts.size(), 3u);
  for (size_t i = 1; i < starts.size(); ++i) {
    EXPECT_GE(starts[i] - starts[i - 1], 4 * kCost) << "digest " << i << " started too soon";
  }
}

}  // namespace
}  // namespace tl
