// A follower of the log must hold exactly the fold of the log up to its
// position, however it got there (label "concurrent": CatchUp and readers
// run on several threads, also under ThreadSanitizer).

#include "projections/follower.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "events/log.h"
#include "events/log_test_util.h"
#include "projections/replay.h"
#include "projections/test_events.h"

namespace tl {
namespace {

using testing::EventMaker;
using testing::TempDir;

constexpr int64_t kStart = 1'767'225'600'000;  // 2026-01-01

// Appends `count` events (a creation per ten, uses and denials of them).
void AppendEvents(EventLog& log, EventMaker& m, int count) {
  for (int i = 0; i < count; ++i) {
    const int64_t t = kStart + static_cast<int64_t>(m.next_position()) * 60'000;
    const std::string id = "tok_" + std::to_string(m.next_position() / 10);
    Event e = m.next_position() % 10 == 1 ? m.Created(id, t)
              : i % 3 == 0                ? m.Denied(id, t, "RATE_LIMITED")
                                          : m.Used(id, t, i % 4);
    AppendRequest r;
    r.token_id = e.token_id;
    r.time_ms = e.time_ms;
    r.actor = e.actor;
    r.events.emplace_back(e.type, e.data);
    ASSERT_TRUE(log.Append(std::move(r)).ok());
  }
}

Projection Replayed(const std::string& log_dir, Position until) {
  Projection p;
  auto last = ReplayLog(log_dir, p, {.until = until});
  EXPECT_TRUE(last.ok());
  return p;
}

std::string DigestOf(const ProjectionFollower& f) {
  return f.Read([](const Projection& p) { return p.Digest(); });
}

TEST(ProjectionFollowerTest, CatchUpFoldsExactlyUpToTheGivenPosition) {
  TempDir dir;
  auto log = EventLog::Open(dir.sub("log"));
  ASSERT_TRUE(log.ok());
  EventMaker m;
  ASSERT_NO_FATAL_FAILURE(AppendEvents(**log, m, 500));

  ProjectionFollower f(**log, Projection());
  EXPECT_EQ(f.CatchUp(Position(123)), Position(123));
  EXPECT_EQ(DigestOf(f), Replayed(dir.sub("log"), Position(123)).Digest());
  // Not backwards.
  EXPECT_EQ(f.CatchUp(Position(50)), Position(123));
  EXPECT_EQ(f.CatchUp(Position(500)), Position(500));
  EXPECT_EQ(DigestOf(f), Replayed(dir.sub("log"), Position(500)).Digest());
  // Past the durable end: as far as the log goes.
  EXPECT_EQ(f.CatchUp(Position(900)), Position(500));
}

TEST(ProjectionFollowerTest, SeededFromAReplayItContinuesFromTheSeedsPosition) {
  TempDir dir;
  auto log = EventLog::Open(dir.sub("log"));
  ASSERT_TRUE(log.ok());
  EventMaker m;
  ASSERT_NO_FATAL_FAILURE(AppendEvents(**log, m, 10'000));  // more than one batch after the seed

  ProjectionFollower f(**log, Replayed(dir.sub("log"), Position(777)));
  EXPECT_EQ(f.position(), Position(777));
  EXPECT_EQ(f.CatchUp((*log)->DurablePosition()), Position(10'000));
  EXPECT_EQ(DigestOf(f), Replayed(dir.sub("log"), Position(10'000)).Digest());
}

TEST(ProjectionFollowerTest, FollowsALogBeingAppendedToWithConcurrentCatchUpsAndReads) {
  TempDir dir;
  auto log = EventLog::Open(dir.sub("log"));
  ASSERT_TRUE(log.ok());
  ProjectionFollower f(**log, Projection());
  std::atomic<bool> done{false};
  std::vector<std::thread> followers;
  for (int t = 0; t < 2; ++t) {
    followers.emplace_back([&] {
      while (!done.load()) {
        f.CatchUp((*log)->DurablePosition());
        f.Read([](const Projection& p) { return p.token_count(); });
      }
    });
  }
  EventMaker m;
  ASSERT_NO_FATAL_FAILURE(AppendEvents(**log, m, 3'000));
  done = true;
  for (auto& th : followers) th.join();
  EXPECT_EQ(f.CatchUp((*log)->DurablePosition()), Position(3'000));
  EXPECT_EQ(DigestOf(f), Replayed(dir.sub("log"), Position(3'000)).Digest());
}

}  // namespace
}  // namespace tl
