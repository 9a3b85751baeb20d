// Crash safety: a writer process (tests/crash_writer.cc) appends a stream of
// events and reports each one the moment it is acknowledged; we SIGKILL it at
// a random moment, then reopen. Every acknowledged event must be there with
// the same content, the hash chain must verify, positions must be gapless and
// appends must continue. Several rounds on the same directory, so recovery
// after recovery is covered too.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "events/clock.h"
#include "events/high_water_mark.h"
#include "events/log.h"
#include "events/log_scan.h"
#include "events/log_test_util.h"
#include "services/core/ledger.h"
#include "services/http/ledger_json.h"

namespace tl {
namespace {

using testing::TempDir;
using SteadyClock = std::chrono::steady_clock;

constexpr char kBootstrapSecret[] = "crash-test-bootstrap-admin-secret-0123456789";

// One run of crash_writer: started, killed, and its acknowledgements.
struct Killed {
  std::vector<std::string> lines;  // complete lines reported before the kill
  bool killed_by_sigkill = false;
  std::string how_it_ended;
};

// Starts crash_writer with `args` (its ack fd is inserted as argv[3]), waits
// until it has reported `min_acks` lines, lets it run `extra` more, SIGKILLs
// it and collects everything it reported.
Killed RunAndKill(std::vector<std::string> args, size_t min_acks, std::chrono::microseconds extra) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) ADD_FAILURE() << "pipe: " << std::strerror(errno);
  // The child's end must survive exec: give it a descriptor without CLOEXEC.
  const int child_fd = ::fcntl(fds[1], F_DUPFD, 10);
  args.insert(args.begin() + 2, std::to_string(child_fd));
  std::vector<char*> argv;
  std::string exe = CRASH_WRITER;
  argv.push_back(exe.data());
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execv(exe.c_str(), argv.data());
    std::_Exit(127);
  }
  ::close(fds[1]);
  ::close(child_fd);

  Killed out;
  std::string buffer;
  size_t complete = 0;
  auto pump = [&](int timeout_ms) {  // false at EOF
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return true;
    char chunk[65536];
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
    complete = static_cast<size_t>(std::count(buffer.begin(), buffer.end(), '\n'));
    return true;
  };
  const auto give_up = SteadyClock::now() + std::chrono::seconds(30);
  bool open = true;
  while (open && complete < min_acks && SteadyClock::now() < give_up) open = pump(100);
  const auto kill_at = SteadyClock::now() + extra;
  while (open && SteadyClock::now() < kill_at) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(kill_at - SteadyClock::now());
    open = pump(static_cast<int>(std::max<int64_t>(0, left.count())));
  }
  ::kill(pid, SIGKILL);
  while (open) open = pump(1000);  // whatever it wrote before dying
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  out.killed_by_sigkill = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  out.how_it_ended = WIFEXITED(status) ? "exited with " + std::to_string(WEXITSTATUS(status))
                                       : "killed by signal " + std::to_string(WTERMSIG(status));
  if (complete < min_acks) ADD_FAILURE() << "the writer reported only " << complete << " lines";

  std::istringstream lines(buffer);
  std::string line;
  while (std::getline(lines, line)) {
    if (!lines.eof()) out.lines.push_back(line);  // a last line without '\n' was cut by the kill
  }
  return out;
}

struct Recorded {
  std::string hash;
  int64_t cost = 0;
  std::string token_id;
};

// Every event of the log, checked in full: CRCs, linkage and every hash.
std::map<uint64_t, Recorded> ScanVerified(const std::string& log_dir) {
  std::map<uint64_t, Recorded> events;
  ScanOptions options;
  options.verify_hashes = true;
  uint64_t expected = 1;
  auto scanned = ScanLog(log_dir, options, [&](const ScannedRecord& r) {
    EXPECT_EQ(r.event.position.value(), expected) << "positions must be gapless";
    expected = r.event.position.value() + 1;
    events[r.event.position.value()] =
        Recorded{r.event.hash, r.event.data.value("cost", int64_t{-1}), r.event.token_id};
    return true;
  });
  EXPECT_TRUE(scanned.ok()) << scanned.error().message;
  return events;
}

// The seed is printed so a failing round can be repeated.
std::mt19937_64 SeededRng() {
  const uint64_t seed = std::random_device{}();
  std::printf("crash_test seed %llu\n", static_cast<unsigned long long>(seed));
  return std::mt19937_64(seed);
}

TEST(CrashTest, EventLogKeepsEveryAcknowledgedAppend) {
  TempDir dir;
  const std::string log_dir = dir.sub("log");
  std::mt19937_64 rng = SeededRng();
  struct Ack {
    uint64_t seq;
    uint64_t position;
    std::string hash;
  };
  std::vector<Ack> acks;  // over all rounds
  // Kill moments: right after exec (during open or recovery), after the
  // first ack, and at random points once appends are flowing.
  const std::vector<std::pair<size_t, int>> rounds = {{0, 3},     {1, 0},    {20, 40},
                                                      {100, 150}, {50, 250}, {300, 80}};
  for (size_t round = 0; round < rounds.size(); ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const auto [min_acks, max_extra_ms] = rounds[round];
    const auto extra = std::chrono::microseconds(
        std::uniform_int_distribution<int64_t>(0, max_extra_ms * 1000)(rng));
    const uint64_t first_seq = (round + 1) * 1'000'000;
    Killed run = RunAndKill({"log", dir.path(), std::to_string(first_seq), "8"}, min_acks, extra);
    ASSERT_TRUE(run.killed_by_sigkill) << "the writer " << run.how_it_ended;
    for (const std::string& line : run.lines) {
      std::istringstream in(line);
      Ack a;
      ASSERT_TRUE(in >> a.seq >> a.position >> a.hash) << line;
      acks.push_back(a);
    }
    std::printf("round %zu: killed after %zu acks (+%lld us)\n", round, run.lines.size(),
                static_cast<long long>(extra.count()));
    if (!std::filesystem::exists(log_dir)) {
      ASSERT_TRUE(acks.empty()) << "acknowledged appends but no log directory";
      continue;
    }

    // Read-only scan first: what the crash left, before recovery touches it.
    std::map<uint64_t, Recorded> events = ScanVerified(log_dir);
    for (const Ack& a : acks) {
      auto it = events.find(a.position);
      ASSERT_NE(it, events.end()) << "acknowledged position " << a.position << " is gone";
      EXPECT_EQ(it->second.hash, a.hash) << "position " << a.position;
      EXPECT_EQ(it->second.cost, static_cast<int64_t>(a.seq)) << "position " << a.position;
    }

    // Recovery (cuts a torn tail) and a new append right after the last event.
    std::vector<std::string> warnings;
    LogOptions options;
    options.warn = [&](std::string_view w) { warnings.emplace_back(w); };
    auto log = EventLog::Open(log_dir, options);
    ASSERT_TRUE(log.ok()) << log.error().message;
    const uint64_t last = events.empty() ? 0 : events.rbegin()->first;
    EXPECT_EQ((*log)->DurablePosition().value(), last);
    const uint64_t parent_seq = 900'000'000 + round;
    AppendRequest r =
        testing::UseRequest("tok_crash_parent", 1'767'225'600'000, static_cast<int>(parent_seq));
    auto appended = (*log)->Append(std::move(r));
    ASSERT_TRUE(appended.ok()) << appended.error().message;
    EXPECT_EQ(appended->first.value(), last + 1);
    acks.push_back({parent_seq, appended->first.value(), appended->events.back().hash});
    for (const std::string& w : warnings) std::printf("recovery warning: %s\n", w.c_str());
  }
  // The last round's recovery and append leave a log that verifies end to end.
  std::map<uint64_t, Recorded> events = ScanVerified(log_dir);
  for (const Ack& a : acks) {
    auto it = events.find(a.position);
    ASSERT_NE(it, events.end()) << "acknowledged position " << a.position << " is gone";
    EXPECT_EQ(it->second.hash, a.hash);
  }
  EXPECT_GT(acks.size(), 400u);
}

TEST(CrashTest, LedgerKeepsEveryAcknowledgedCommand) {
  TempDir dir;
  std::mt19937_64 rng = SeededRng();
  std::map<std::string, int64_t> uses;  // acknowledged verifications per created token
  const std::vector<std::pair<size_t, int>> rounds = {{0, 20}, {5, 30}, {40, 100}, {80, 60}};
  for (size_t round = 0; round < rounds.size(); ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const auto [min_acks, max_extra_ms] = rounds[round];
    const auto extra = std::chrono::microseconds(
        std::uniform_int_distribution<int64_t>(0, max_extra_ms * 1000)(rng));
    Killed run = RunAndKill({"ledger", dir.path(), std::to_string(round)}, min_acks, extra);
    ASSERT_TRUE(run.killed_by_sigkill) << "the writer " << run.how_it_ended;
    for (const std::string& line : run.lines) {
      std::istringstream in(line);
      std::string what, id;
      ASSERT_TRUE(in >> what >> id) << line;
      if (what == "created") {
        ASSERT_TRUE(uses.emplace(id, 0).second) << "created twice: " << id;
      } else {
        ASSERT_EQ(what, "used");
        ASSERT_TRUE(uses.count(id)) << "used before created: " << id;
        ++uses[id];
      }
    }
    std::printf("round %zu: killed after %zu acks (+%lld us)\n", round, run.lines.size(),
                static_cast<long long>(extra.count()));
    if (!std::filesystem::exists(dir.sub("log"))) {
      ASSERT_TRUE(uses.empty());
      continue;
    }
    std::map<uint64_t, Recorded> events = ScanVerified(dir.sub("log"));
    // The high-water mark never runs ahead of what survived the kill (torn
    // writes included), so it never stops this start.
    auto mark = ReadHighWaterMark(dir.path());
    ASSERT_TRUE(mark.ok()) << mark.error().message;
    if (*mark) {
      EXPECT_LE((*mark)->position.value(), events.empty() ? 0 : events.rbegin()->first);
    }

    SystemClock clock;
    LedgerOptions options;
    options.data_dir = dir.path();
    options.clock = &clock;
    options.bootstrap_secret = kBootstrapSecret;
    options.warn = [](std::string_view w) {
      std::printf("ledger warning: %s\n", std::string(w).c_str());
    };
    auto ledger = Ledger::Open(std::move(options));
    ASSERT_TRUE(ledger.ok()) << ledger.error().message;
    // Killed before its first append was durable, the log is empty; opening it
    // then creates the bootstrap admin token at position 1.
    EXPECT_EQ((*ledger)->State().position.value(), events.empty() ? 1 : events.rbegin()->first);
    auto admin = (*ledger)->Authenticate(kBootstrapSecret);
    ASSERT_TRUE(admin.ok()) << admin.error().message;
    for (const auto& [id, n] : uses) {
      auto got = GetJson(**ledger, *admin, id, std::nullopt);
      ASSERT_TRUE(got.ok()) << "acknowledged token " << id << " is gone";
      // Each acknowledged use spent one credit; an unacknowledged one may
      // have been made durable just before the kill.
      EXPECT_LE((*got)["credits"]["remaining"].get<int64_t>(), 1'000'000 - n) << id;
      UsageQuery q;
      q.token_id = id;
      q.from_ms = 0;
      q.to_ms = int64_t{1} << 50;
      auto usage = (*ledger)->Usage(*admin, q);
      ASSERT_TRUE(usage.ok());
      EXPECT_GE((*usage)["total"]["uses"].get<int64_t>(), n) << id;
    }
    // Commands continue after the crash.
    auto created = CreateFromJson(**ledger, *admin, Json{{"name", "after crash"}}, "");
    ASSERT_TRUE(created.ok()) << created.error().message;
  }
  size_t total_uses = 0;
  for (const auto& [id, n] : uses) total_uses += static_cast<size_t>(n);
  EXPECT_GT(uses.size(), 10u);
  EXPECT_GT(total_uses, 50u);
  ScanVerified(dir.sub("log"));
}

}  // namespace
}  // namespace tl
