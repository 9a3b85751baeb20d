// Durable append throughput and latency with many concurrent writers, and the
// cost of one fsync on the same disk (what bounds group commit).
//
//   log_append_bench [DIR=/work/tmp-bench] [threads=64] [seconds=10] [syncs=2] [depth=1]
//                    [driver=threads|loop|loop:N|loop:N:each] [batch=0]
//
// `syncs` is LogOptions::max_syncs_in_flight (1 = no overlapping rounds).
// `threads` is the number of writers; `driver` says how they run:
//   threads: each writer is an OS thread that blocks in WaitDurable.
//   loop:    the writers are logical clients multiplexed on ONE thread, as an
//            epoll server serves its connections: each iteration stages the
//            next append(s) of every writer that is ready, asks a
//            DurableWaiter (`syncs` threads) for the last position staged,
//            blocks on an eventfd that the waiter's notify writes to, and
//            acknowledges every writer whose appends are now durable (its
//            latency ends when the loop sees that); those become ready again.
//   loop:N:  N such loops on N threads (one loop per core, as an event-loop
//            server scales), each with threads/N of the writers and its own
//            eventfd, sharing the log and one DurableWaiter whose notify
//            writes every loop's eventfd. loop = loop:1.
//   loop:N:each: the same with a DurableWaiter (`syncs` threads) per loop.
// `batch` (loop drivers): 0 = a loop asks for durability once per iteration,
// after staging every ready writer; K = after every K writers it stages, so
// the round of the first K syncs while it stages the next (each writer still
// waits for its own append to be durable before staging the next).
//
// Each writer appends token.used events to its own stream as fast as it can.
// With depth 1 it is synchronous (with either driver): one event at a time,
// the next staged only once the previous one is durable. With depth N it
// pipelines: it stages N appends (EventLog::Stage), then waits until the last
// is durable; each event's latency runs from its Stage until the writer learns
// that (WaitDurable returns, or the loop reads the eventfd), so nothing is
// counted before it is on disk.
// Prints events/s, append latency p50/p99/max, fsyncs/s and events per fsync
// (with `loop` also the loop thread's time staging and blocked per iteration);
// then a write+fdatasync loop of the size one group commit writes, alone.
// The log lives in a fresh directory under DIR (same disk as /work by
// default) and is removed afterwards.

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "events/durable_waiter.h"
#include "events/log.h"

namespace tl {
namespace {

using SteadyClock = std::chrono::steady_clock;

double Percentile(std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(q * sorted.size()));
  return sorted[i];
}

// How FsyncAlone's file gets its space before the timed writes.
enum class Space { kAppend, kFallocate, kZeros };

const char* SpaceName(Space space) {
  switch (space) {
    case Space::kAppend:
      return "appending";
    case Space::kFallocate:
      return "into fallocate'd space";
    case Space::kZeros:
      return "over written zeros";
  }
  return "?";
}

// write+fdatasync of `bytes` to one file, `n` times: the floor of a group
// commit's latency. Appending grows the file (each sync also records the new
// size); fallocate'd blocks are "unwritten" until written (each sync also
// writes the inode); over zeros written and synced first, as the log does,
// the sync flushes the data alone.
void FsyncAlone(const std::string& dir, size_t bytes, int n, Space space) {
  const std::string path = dir + "/fsync-probe";
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) {
    std::perror("open");
    return;
  }
  const off_t total = static_cast<off_t>(bytes) * n;
  bool ready = true;
  if (space == Space::kFallocate) {
    ready = ::fallocate(fd, 0, 0, total) == 0;
  } else if (space == Space::kZeros) {
    const std::string zeros(static_cast<size_t>(total), '\0');
    ready = ::pwrite(fd, zeros.data(), zeros.size(), 0) == static_cast<ssize_t>(zeros.size()) &&
            ::fdatasync(fd) == 0;
  }
  if (!ready) {
    std::perror("preparing the probe file");
    ::close(fd);
    return;
  }
  std::string buf(bytes, 'x');
  std::vector<double> lat;
  lat.reserve(n);
  const auto start = SteadyClock::now();
  for (int i = 0; i < n; ++i) {
    const auto t0 = SteadyClock::now();
    if (::pwrite(fd, buf.data(), buf.size(), static_cast<off_t>(bytes) * i) !=
            static_cast<ssize_t>(buf.size()) ||
        ::fdatasync(fd) != 0) {
      std::perror("write/fdatasync");
      break;
    }
    lat.push_back(std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count());
  }
  const double secs = std::chrono::duration<double>(SteadyClock::now() - start).count();
  ::close(fd);
  std::filesystem::remove(path);
  std::sort(lat.begin(), lat.end());
  std::printf(
      "fsync alone (write %zu B + fdatasync, %s): %.0f/s, p50 %.0f us, p99 %.0f us, max "
      "%.0f us\n",
      bytes, SpaceName(space), lat.size() / secs, Percentile(lat, 0.50), Percentile(lat, 0.99),
      lat.back());
}

// One writer's appends: its own stream, the same event data every time.
struct Writer {
  explicit Writer(int t) {
    proto.token_id = "tok_bench" + std::to_string(t);
    proto.actor = "tok_verifier";
    data = Json{{"cost", 1},
                {"permissions", Json::array({"read:orders"})},
                {"origin", nullptr},
                {"ip", "10.0.0." + std::to_string(t)}};
    latencies.reserve(1 << 20);
  }
  // Stages `depth` appends (noting when each was staged in staged_at) and
  // returns the last position, or nothing after printing why it failed.
  std::optional<Position> StageAppends(EventLog& log, size_t depth) {
    staged_at.clear();
    Position last;
    for (size_t d = 0; d < depth; ++d) {
      AppendRequest r = proto;
      r.time_ms = 1'767'225'600'000 + static_cast<int64_t>(latencies.size() + d);
      r.events.emplace_back(EventType::kUsed, data);
      staged_at.push_back(SteadyClock::now());
      auto res = log.Stage(std::move(r));
      if (!res.ok()) {
        std::fprintf(stderr, "append: %s\n", res.error().message.c_str());
        return std::nullopt;
      }
      last = res->last;
    }
    return last;
  }
  // The staged appends are durable (seen at `done`).
  void Acknowledge(SteadyClock::time_point done) {
    for (const auto& t0 : staged_at) {
      latencies.push_back(std::chrono::duration<double, std::micro>(done - t0).count());
    }
    staged_at.clear();
  }

  AppendRequest proto;
  Json data;
  std::vector<SteadyClock::time_point> staged_at;  // of the appends in flight
  Position last;                                   // the last one in flight
  std::vector<double> latencies;                   // microseconds
};

// Each writer on its own thread, blocking in WaitDurable. False on failure.
bool DriveThreads(EventLog& log, std::vector<Writer>& writers, double seconds, size_t depth) {
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (Writer& writer : writers) {
    threads.emplace_back([&, w = &writer] {
      while (!stop.load(std::memory_order_relaxed)) {
        const std::optional<Position> last = w->StageAppends(log, depth);
        if (!last) {
          failed = true;
          return;
        }
        (void)log.WaitDurable(*last);
        w->Acknowledge(SteadyClock::now());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  return !failed;
}

// What one event loop's DurableWaiter notify tells it: the durable position
// is published before the eventfd is written, so the loop reads it after.
struct LoopWake {
  LoopWake() : efd(::eventfd(0, EFD_CLOEXEC)) {}
  ~LoopWake() {
    if (efd >= 0) ::close(efd);
  }
  LoopWake(const LoopWake&) = delete;
  LoopWake& operator=(const LoopWake&) = delete;
  void Notify(Position p) {
    uint64_t seen = durable.load(std::memory_order_relaxed);
    while (seen < p.value() &&
           !durable.compare_exchange_weak(seen, p.value(), std::memory_order_release)) {
    }
    const uint64_t one = 1;
    if (::write(efd, &one, sizeof one) != sizeof one) std::abort();
  }
  const int efd;
  std::atomic<uint64_t> durable{0};
};

// What one event loop did: staging (CPU) against blocking on the eventfd.
struct LoopStats {
  SteadyClock::duration staging{}, waiting{};
  uint64_t iterations = 0;  // that staged
  uint64_t staged_events = 0;
  bool ok = true;
};

// One event loop: `writers` multiplexed on the calling thread until `end`,
// durability asked of `waiter`, whose notify reaches `wake`.
// With `batch` > 0 the loop asks for durability after every `batch` writers it
// stages (so the first ones' round syncs while it stages the rest), else once
// after staging all that are ready.
void RunLoop(EventLog& log, Writer* writers, size_t count, SteadyClock::time_point end,
             size_t depth, size_t batch, DurableWaiter& waiter, LoopWake& wake,
             LoopStats& stats) {
  std::vector<Writer*> ready;
  for (size_t i = 0; i < count; ++i) ready.push_back(&writers[i]);
  std::vector<Writer*> in_flight;
  bool stopping = false;
  while (true) {
    stopping = stopping || SteadyClock::now() >= end;
    if (!stopping && !ready.empty()) {
      const auto stage_start = SteadyClock::now();
      Position last, requested;
      for (size_t i = 0; i < ready.size(); ++i) {
        Writer* w = ready[i];
        const std::optional<Position> staged = w->StageAppends(log, depth);
        if (!staged) {
          stats.ok = false;
          break;
        }
        w->last = *staged;
        last = *staged;
        stats.staged_events += depth;
        in_flight.push_back(w);
        if (batch > 0 && (i + 1) % batch == 0) {
          waiter.Request(last);
          requested = last;
        }
      }
      ready.clear();
      if (!stats.ok) break;
      if (requested != last) waiter.Request(last);
      stats.staging += SteadyClock::now() - stage_start;
      ++stats.iterations;
    }
    if (in_flight.empty()) break;  // stopping, and everything acknowledged
    const auto wait_start = SteadyClock::now();
    uint64_t count_read;
    if (::read(wake.efd, &count_read, sizeof count_read) != sizeof count_read) {
      std::perror("read eventfd");
      stats.ok = false;
      break;
    }
    const Position now_durable(wake.durable.load(std::memory_order_acquire));
    const auto done = SteadyClock::now();
    stats.waiting += done - wait_start;
    std::erase_if(in_flight, [&](Writer* w) {
      if (w->last > now_durable) return false;
      w->Acknowledge(done);
      ready.push_back(w);
      return true;
    });
  }
}

// The writers split over `loops` event-loop threads (the first loop's on the
// calling thread), each with its own eventfd, told of durability by one
// DurableWaiter (`syncs` threads) whose notify wakes every loop, or by one
// waiter each (`waiter_each`). False on failure.
bool DriveLoops(EventLog& log, std::vector<Writer>& writers, double seconds, size_t depth,
                size_t syncs, size_t loops, bool waiter_each, size_t batch) {
  std::vector<std::unique_ptr<LoopWake>> wakes;
  for (size_t i = 0; i < loops; ++i) {
    wakes.push_back(std::make_unique<LoopWake>());
    if (wakes.back()->efd < 0) {
      std::perror("eventfd");
      return false;
    }
  }
  std::vector<LoopStats> stats(loops);
  {
    // Destroyed before the eventfds close: a waiter makes whatever is still
    // requested durable, and notifies, first.
    std::vector<std::unique_ptr<DurableWaiter>> waiters;
    if (waiter_each) {
      for (size_t i = 0; i < loops; ++i) {
        waiters.push_back(std::make_unique<DurableWaiter>(
            log, syncs, [wake = wakes[i].get()](Position p) { wake->Notify(p); }));
      }
    } else {
      waiters.push_back(std::make_unique<DurableWaiter>(log, syncs, [&wakes](Position p) {
        for (const auto& wake : wakes) wake->Notify(p);
      }));
    }
    const SteadyClock::time_point end =
        SteadyClock::now() +
        std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(seconds));
    std::vector<std::thread> threads;
    size_t first = 0;
    for (size_t i = 0; i < loops; ++i) {
      const size_t count = writers.size() / loops + (i < writers.size() % loops ? 1 : 0);
      DurableWaiter& waiter = *waiters[waiter_each ? i : 0];
      auto run = [&, i, first, count, &waiter = waiter] {
        RunLoop(log, writers.data() + first, count, end, depth, batch, waiter, *wakes[i],
                stats[i]);
      };
      first += count;
      if (i + 1 < loops) {
        threads.emplace_back(run);
      } else {
        run();
      }
    }
    for (std::thread& t : threads) t.join();
  }
  bool ok = true;
  for (size_t i = 0; i < loops; ++i) {
    const LoopStats& s = stats[i];
    ok = ok && s.ok;
    const double stage_us = std::chrono::duration<double, std::micro>(s.staging).count();
    const double wait_us = std::chrono::duration<double, std::micro>(s.waiting).count();
    const uint64_t iterations = std::max<uint64_t>(s.iterations, 1);
    if (loops > 1) std::printf("loop %zu of %zu: ", i + 1, loops);
    std::printf(
        "event loop: %llu iterations; per iteration %.0f us staging (%.2f us an event), "
        "%.0f us blocked on the eventfd\n",
        static_cast<unsigned long long>(s.iterations), stage_us / iterations,
        stage_us / static_cast<double>(std::max<uint64_t>(s.staged_events, 1)),
        wait_us / iterations);
  }
  return ok;
}

// `loops`: 0 = a thread per writer, else that many event-loop threads.
int Run(const std::string& base, int threads, double seconds, size_t syncs, size_t depth,
        size_t loops, bool waiter_each, size_t batch) {
  std::random_device rd;
  const std::string dir = base + "/log-append-bench-" + std::to_string(rd());
  std::filesystem::create_directories(dir);
  double events_per_fsync = 1;
  uint64_t total_events = 0;
  {
    LogOptions options;
    options.max_syncs_in_flight = syncs;
    auto opened = EventLog::Open(dir + "/log", options);
    if (!opened.ok()) {
      std::fprintf(stderr, "open: %s\n", opened.error().message.c_str());
      return 1;
    }
    EventLog& log = **opened;
    std::vector<Writer> writers;
    writers.reserve(threads);
    for (int t = 0; t < threads; ++t) writers.emplace_back(t);
    const LogCounters before = log.Counters();
    const auto start = SteadyClock::now();
    const bool ok = loops > 0
                         ? DriveLoops(log, writers, seconds, depth, syncs, loops, waiter_each, batch)
                         : DriveThreads(log, writers, seconds, depth);
    const double secs = std::chrono::duration<double>(SteadyClock::now() - start).count();
    if (!ok) return 1;
    const LogCounters after = log.Counters();
    std::vector<double> all;
    for (const Writer& w : writers) all.insert(all.end(), w.latencies.begin(), w.latencies.end());
    std::sort(all.begin(), all.end());
    const uint64_t events = after.events - before.events;
    const uint64_t fsyncs = after.fsyncs - before.fsyncs;
    total_events = after.events;
    events_per_fsync = fsyncs ? static_cast<double>(events) / fsyncs : 0;
    std::string how =
        loops == 0   ? "one thread each"
        : loops == 1 ? "one event-loop thread"
                     : std::to_string(loops) + " event-loop threads, " +
                           (waiter_each ? "a DurableWaiter each" : "one DurableWaiter");
    if (loops > 0 && batch > 0) {
      how += ", durability asked every ";
      how += std::to_string(batch);
      how += " writers";
    }
    std::printf(
        "%d writers (%s), %zu appends in flight each, %zu syncs in flight, %.1f s: %llu "
        "events, %.0f events/s\n",
        threads, how.c_str(), depth, syncs, secs,
        static_cast<unsigned long long>(events), events / secs);
    std::printf("append latency: p50 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us\n",
                Percentile(all, 0.50), Percentile(all, 0.99), Percentile(all, 0.999), all.back());
    std::printf("fsyncs: %llu (%.0f/s), %.1f events per fsync\n",
                static_cast<unsigned long long>(fsyncs), fsyncs / secs, events_per_fsync);
  }
  // A group commit writes one record per event it covers.
  uint64_t log_bytes = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir + "/log")) {
    if (f.is_regular_file()) log_bytes += f.file_size();
  }
  const size_t record = total_events ? log_bytes / total_events : 300;
  std::printf("record size: %zu bytes on average\n", record);
  const size_t round_bytes = static_cast<size_t>(record * std::max(1.0, events_per_fsync));
  for (Space space : {Space::kAppend, Space::kFallocate, Space::kZeros}) {
    FsyncAlone(dir, round_bytes, 2000, space);
    FsyncAlone(dir, record, 2000, space);
  }
  std::filesystem::remove_all(dir);
  return 0;
}

// "threads" -> 0 loops; "loop" = "loop:1"; "loop:N" -> N loops sharing one
// DurableWaiter; "loop:N:each" -> N loops with a DurableWaiter each.
bool ParseDriver(const std::string& driver, size_t& loops, bool& waiter_each) {
  waiter_each = false;
  if (driver == "threads") {
    loops = 0;
    return true;
  }
  if (driver == "loop") {
    loops = 1;
    return true;
  }
  if (driver.rfind("loop:", 0) != 0) return false;
  std::string rest = driver.substr(5);
  if (const size_t colon = rest.find(':'); colon != std::string::npos) {
    if (rest.substr(colon + 1) != "each") return false;
    waiter_each = true;
    rest.resize(colon);
  }
  char* parsed_end = nullptr;
  loops = std::strtoul(rest.c_str(), &parsed_end, 10);
  return !rest.empty() && *parsed_end == '\0' && loops >= 1;
}

}  // namespace
}  // namespace tl

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/work/tmp-bench";
  const int threads = argc > 2 ? std::atoi(argv[2]) : 64;
  const double seconds = argc > 3 ? std::atof(argv[3]) : 10;
  const size_t syncs = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 2;
  const size_t depth = argc > 5 ? std::strtoul(argv[5], nullptr, 10) : 1;
  const std::string driver = argc > 6 ? argv[6] : "threads";
  const size_t batch = argc > 7 ? std::strtoul(argv[7], nullptr, 10) : 0;
  size_t loops = 0;
  bool waiter_each = false;
  if (threads < 1 || seconds <= 0 || syncs < 1 || depth < 1 ||
      !tl::ParseDriver(driver, loops, waiter_each) || loops > static_cast<size_t>(threads)) {
    std::fprintf(stderr,
                 "usage: log_append_bench [DIR] [threads] [seconds] [syncs] [depth] "
                 "[threads|loop|loop:N|loop:N:each] [batch]\n");
    return 2;
  }
  return tl::Run(dir, threads, seconds, syncs, depth, loops, waiter_each, batch);
}
