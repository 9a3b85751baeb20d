// Failed appends (no space, too many files, I/O errors) through the log's
// I/O seam (LogOptions::inject_error): nothing that was not durable is
// acknowledged, the process goes on, and Rewind brings appends back.

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "events/log.h"
#include "events/log_test_util.h"

namespace tl {
namespace {

using testing::TempDir;
using testing::UseRequest;

// Fails the named operation with `err` while armed.
struct Injector {
  std::mutex mu;
  std::string operation;
  int err = 0;
  std::atomic<int> hits{0};
  void Arm(std::string op, int e) {
    std::lock_guard<std::mutex> l(mu);
    operation = std::move(op);
    err = e;
  }
  void Disarm() { Arm("", 0); }
  int operator()(std::string_view op) {
    std::lock_guard<std::mutex> l(mu);
    if (err == 0 || op != operation) return 0;
    ++hits;
    return err;
  }
};

LogOptions WithInjector(Injector& inj) {
  LogOptions o;
  o.inject_error = [&inj](std::string_view op) { return inj(op); };
  o.warn = [](std::string_view) {};
  return o;
}

std::unique_ptr<EventLog> OpenOrDie(const std::string& dir, LogOptions o = {}) {
  auto log = EventLog::Open(dir, std::move(o));
  EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().message);
  return log.ok() ? std::move(log).value() : nullptr;
}

class FailedAppend : public ::testing::TestWithParam<std::pair<const char*, int>> {};

TEST_P(FailedAppend, IsAnErrorAndTheLogRewindsToItsDurableEnd) {
  const auto [operation, err] = GetParam();
  TempDir dir;
  Injector inj;
  std::vector<Event> acknowledged;
  {
    LogOptions o = WithInjector(inj);
    o.max_segment_bytes = 4096;  // rolls segments: "create", "truncate", "fsync" happen
    auto log = OpenOrDie(dir.path(), o);
    ASSERT_TRUE(log);
    int i = 0;
    auto append = [&]() {
      auto r = log->Append(UseRequest("tok_" + std::to_string(i % 3), 1000 + i));
      ++i;
      if (r.ok()) acknowledged.insert(acknowledged.end(), r->events.begin(), r->events.end());
      return r;
    };
    for (int k = 0; k < 20; ++k) ASSERT_TRUE(append().ok());
    inj.Arm(operation, err);
    // Appends go on failing or succeeding (an operation a round may not
    // need) until the armed one is hit.
    std::optional<Error> failed;
    for (int k = 0; k < 200 && !failed; ++k) {
      auto r = append();
      if (!r.ok()) failed = r.error();
    }
    ASSERT_TRUE(failed) << operation << " was never reached";
    EXPECT_EQ(failed->code, ErrorCode::kStorageUnavailable);
    EXPECT_NE(failed->message.find("the event log cannot be written: "), std::string::npos)
        << failed->message;
    EXPECT_NE(failed->message.find(std::strerror(err) + 1), std::string::npos) << failed->message;
    ASSERT_TRUE(log->WriteFailure());
    // Refused while failed, even with the disk back.
    inj.Disarm();
    auto refused = append();
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::kStorageUnavailable);
    EXPECT_EQ(log->DurablePosition(), acknowledged.back().position);
    EXPECT_EQ(log->Read(Position(1), 1000), acknowledged);

    const uint64_t epoch = log->Epoch();
    ASSERT_TRUE(log->Rewind().ok());
    EXPECT_FALSE(log->WriteFailure());
    EXPECT_EQ(log->Epoch(), epoch + 1);
    EXPECT_EQ(log->LastStagedPosition(), acknowledged.back().position);
    for (int k = 0; k < 20; ++k) ASSERT_TRUE(append().ok());
    EXPECT_EQ(log->Read(Position(1), 1000), acknowledged);
  }
  // Exactly the acknowledged events, in a log that opens without damage.
  std::vector<std::string> warnings;
  LogOptions o;
  o.warn = [&](std::string_view w) { warnings.emplace_back(w); };
  auto log = OpenOrDie(dir.path(), o);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->Read(Position(1), 1000), acknowledged);
  for (const std::string& w : warnings) EXPECT_EQ(w.find("torn"), std::string::npos) << w;
}

INSTANTIATE_TEST_SUITE_P(
    EveryOperation, FailedAppend,
    ::testing::Values(std::make_pair("write", ENOSPC), std::make_pair("fdatasync", EIO),
                      std::make_pair("create", EMFILE), std::make_pair("truncate", EIO),
                      std::make_pair("fsync", ENOSPC), std::make_pair("fsync directory", EIO)),
    [](const auto& info) {
      std::string name = info.param.first;
      for (char& c : name) {
        if (c == ' ') c = '_';
      }
      return name;
    });

// Filling the space ahead of the writes is best effort: an append whose
// bytes fit succeeds without it.
TEST(EventLog, APreallocationFailureFailsNoAppend) {
  TempDir dir;
  Injector inj;
  inj.Arm("preallocate", ENOSPC);
  std::vector<Event> written;
  {
    auto log = OpenOrDie(dir.path(), WithInjector(inj));
    for (int i = 0; i < 50; ++i) {
      auto r = log->Append(UseRequest("tok_a", 1000 + i));
      ASSERT_TRUE(r.ok()) << r.error().message;
      written.insert(written.end(), r->events.begin(), r->events.end());
    }
    EXPECT_FALSE(log->WriteFailure());
  }
  EXPECT_GT(inj.hits.load(), 0);
  auto log = OpenOrDie(dir.path());
  EXPECT_EQ(log->Read(Position(1), 100), written);
}

// Concurrent appenders while writes fail now and then: an append that
// returned Ok is in the log after reopening, and nothing else is; the
// stream versions and idempotency keys of discarded appends are forgotten.
TEST(EventLog, UnderConcurrentFailuresOnlyAcknowledgedEventsRemain) {
  TempDir dir;
  Injector inj;
  std::mutex mu;
  std::set<std::string> acknowledged;  // event ids
  {
    LogOptions o = WithInjector(inj);
    o.max_segment_bytes = 8192;
    auto log = OpenOrDie(dir.path(), o);
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int t = 0; t < 6; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0; !stop; ++i) {
          AppendRequest r = UseRequest("tok_" + std::to_string(t), 1000 + i);
          r.idempotency_key = "k" + std::to_string(t) + "-" + std::to_string(i);
          auto res = log->Append(std::move(r));
          if (!res.ok()) continue;
          std::lock_guard<std::mutex> l(mu);
          for (const Event& e : res->events) acknowledged.insert(e.id);
        }
      });
    }
    const char* ops[] = {"write", "fdatasync", "create"};
    for (int round = 0; round < 30; ++round) {
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
      inj.Arm(ops[round % 3], round % 2 ? ENOSPC : EIO);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      inj.Disarm();
      // The ledger rewinds under its state lock; here no one else stages
      // while the writers' appends are refused, which is what Rewind needs
      // for a consistent cut (a racing Stage is refused by the failure).
      ASSERT_TRUE(log->Rewind().ok());
    }
    stop = true;
    for (std::thread& w : writers) w.join();
    ASSERT_TRUE(log->Rewind().ok());
    ASSERT_GT(inj.hits.load(), 0);
  }
  auto log = OpenOrDie(dir.path());
  std::set<std::string> in_log;
  for (const Event& e : log->Read(Position(1), SIZE_MAX)) in_log.insert(e.id);
  EXPECT_EQ(in_log, acknowledged);
  // Versions run 1,2,3… per stream (the open checks), and so do positions.
  EXPECT_EQ(log->DurablePosition().value(), acknowledged.size());
}

}  // namespace
}  // namespace tl
