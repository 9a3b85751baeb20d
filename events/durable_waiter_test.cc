#include "events/durable_waiter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "events/log_test_util.h"

namespace tl {
namespace {

using testing::TempDir;
using testing::UseRequest;
using namespace std::chrono_literals;

// Guards the waits below: a test fails instead of hanging.
constexpr auto kPatience = 30s;

std::unique_ptr<EventLog> OpenOrDie(const std::string& dir) {
  auto log = EventLog::Open(dir);
  EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().message);
  return log.ok() ? std::move(log).value() : nullptr;
}

Position StageOne(EventLog& log, const std::string& token, int64_t time_ms) {
  auto staged = log.Stage(UseRequest(token, time_ms));
  EXPECT_TRUE(staged.ok()) << (staged.ok() ? "" : staged.error().message);
  return staged.ok() ? staged->last : Position();
}

// What the waiter's notify calls told: every value, and whether the log was
// durable up to it when it was told.
class Notifications {
 public:
  explicit Notifications(const EventLog& log) : log_(log) {}

  std::function<void(Position)> Callback() {
    return [this](Position durable) {
      // The log's own view, taken before the value is published to the test.
      const bool was_durable = log_.DurablePosition() >= durable;
      {
        std::lock_guard<std::mutex> l(mu_);
        seen_.push_back(durable);
        if (!was_durable) early_.push_back(durable);
        max_ = std::max(max_, durable);
      }
      cv_.notify_all();
    };
  }

  // True once some notify reported `p` or more (false after kPatience).
  bool WaitFor(Position p) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, kPatience, [&] { return max_ >= p; });
  }
  Position max() {
    std::lock_guard<std::mutex> l(mu_);
    return max_;
  }
  size_t count() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_.size();
  }
  // Values reported while the log was not yet durable up to them.
  std::vector<Position> early() {
    std::lock_guard<std::mutex> l(mu_);
    return early_;
  }

 private:
  const EventLog& log_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Position> seen_;   // guarded by mu_
  std::vector<Position> early_;  // guarded by mu_
  Position max_;                 // guarded by mu_
};

TEST(DurableWaiter, NotifiesAtOrPastEachRequestOnceTheLogIsDurable) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  ASSERT_TRUE(log);
  Notifications told(*log);
  DurableWaiter waiter(*log, 2, told.Callback());
  for (int i = 0; i < 100; ++i) {
    const Position p = StageOne(*log, "tok_" + std::to_string(i % 7), 1000 + i);
    waiter.Request(p);
    ASSERT_TRUE(told.WaitFor(p)) << "no notify for position " << p.value();
    EXPECT_GE(log->DurablePosition(), p);
  }
  EXPECT_TRUE(told.early().empty()) << "notified before durable: " << told.early()[0].value();
}

TEST(DurableWaiter, RequestsFromSeveralThreadsAreAllNotified) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  ASSERT_TRUE(log);
  Notifications told(*log);
  constexpr int kThreads = 4;
  constexpr int kEach = 300;
  std::vector<Position> last(kThreads);
  {
    DurableWaiter waiter(*log, 2, told.Callback());
    std::vector<std::thread> stagers;
    for (int t = 0; t < kThreads; ++t) {
      stagers.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          const Position p = StageOne(*log, "tok_" + std::to_string(t), 1000 + i);
          waiter.Request(p);
          last[t] = p;
          // Now and then wait, so that requests also arrive while rounds sync
          // and while waiter threads are idle.
          if (i % 50 == 49) {
            ASSERT_TRUE(told.WaitFor(p)) << "thread " << t << " position " << i;
          }
        }
      });
    }
    for (std::thread& s : stagers) s.join();
    for (int t = 0; t < kThreads; ++t) {
      EXPECT_TRUE(told.WaitFor(last[t])) << "thread " << t;
    }
    EXPECT_EQ(told.max(), Position(kThreads * kEach));
    EXPECT_EQ(log->DurablePosition(), Position(kThreads * kEach));
  }
  EXPECT_TRUE(told.early().empty()) << "notified before durable: " << told.early()[0].value();
}

TEST(DurableWaiter, DestructorMakesRequestedPositionsDurableAndNotifies) {
  TempDir dir;
  std::vector<Event> staged;
  {
    auto log = OpenOrDie(dir.path());
    ASSERT_TRUE(log);
    Notifications told(*log);
    Position last;
    {
      DurableWaiter waiter(*log, 1, told.Callback());
      for (int i = 0; i < 20; ++i) {
        auto r = log->Stage(UseRequest("tok_a", 1000 + i));
        ASSERT_TRUE(r.ok());
        staged.insert(staged.end(), r->events.begin(), r->events.end());
        last = r->last;
      }
      waiter.Request(last);
    }
    // Durable through the waiter, not through the log's own close below.
    EXPECT_GE(log->DurablePosition(), last);
    EXPECT_GE(told.max(), last);
    EXPECT_TRUE(told.early().empty());
  }
  auto reopened = OpenOrDie(dir.path());
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->Read(Position(1), 100), staged);
}

TEST(DurableWaiter, OutOfOrderAndRepeatedRequests) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  ASSERT_TRUE(log);
  std::vector<Position> positions;
  for (int i = 0; i < 10; ++i) positions.push_back(StageOne(*log, "tok_b", 1000 + i));
  Notifications told(*log);
  {
    DurableWaiter waiter(*log, 2, told.Callback());
    for (int i : {6, 2, 6, 9, 0, 9, 4}) waiter.Request(positions[i]);
    ASSERT_TRUE(told.WaitFor(positions[9]));
    EXPECT_GE(log->DurablePosition(), positions[9]);
    // Below or at what was asked for already: nothing new to claim.
    waiter.Request(positions[3]);
    waiter.Request(positions[9]);
    const Position more = StageOne(*log, "tok_b", 2000);
    waiter.Request(more);
    ASSERT_TRUE(told.WaitFor(more));
  }
  // Only requests above every earlier one are claimed (6, 9 and `more`; 6
  // may be overtaken by 9 before a thread claims it), so repeats and lower
  // requests add no WaitDurable and no notify.
  EXPECT_GE(told.count(), 2u);
  EXPECT_LE(told.count(), 3u);
  EXPECT_TRUE(told.early().empty());
}

TEST(DurableWaiter, AlreadyDurablePositionIsNotifiedPromptly) {
  TempDir dir;
  Position last;
  {
    auto log = OpenOrDie(dir.path());
    ASSERT_TRUE(log);
    for (int i = 0; i < 5; ++i) last = StageOne(*log, "tok_c", 1000 + i);
  }
  // Reopened: everything is durable, and no round will ever run again.
  auto log = OpenOrDie(dir.path());
  ASSERT_TRUE(log);
  ASSERT_EQ(log->DurablePosition(), last);
  Notifications told(*log);
  DurableWaiter waiter(*log, 2, told.Callback());
  waiter.Request(Position(2));
  EXPECT_TRUE(told.WaitFor(Position(2)));
  waiter.Request(last);
  EXPECT_TRUE(told.WaitFor(last));
  EXPECT_EQ(log->Counters().fsyncs, 0u);
}

}  // namespace
}  // namespace tl
