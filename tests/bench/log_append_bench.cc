// Durable append throughput and latency with many concurrent writers, and the
// cost of one fsync on the same disk (what bounds group commit).
//
//   log_append_bench [DIR=/work/tmp-bench] [threads=64] [seconds=10] [syncs=2] [depth=1]
//
// `syncs` is LogOptions::max_syncs_in_flight (1 = no overlapping rounds).
//
// Each writer appends token.used events to its own stream as fast as it can.
// With depth 1 it is synchronous: one event at a time, each returning once it
// is durable (EventLog::Append). With depth N it pipelines: it stages N
// appends (EventLog::Stage), then waits until the last is durable
// (WaitDurable); each event's latency runs from its Stage to that return, so
// nothing is counted before it is on disk.
// Prints events/s, append latency p50/p99/max, fsyncs/s and events per fsync;
// then a write+fdatasync loop of the size one group commit writes, alone.
// The log lives in a fresh directory under DIR (same disk as /work by
// default) and is removed afterwards.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "events/log.h"

namespace tl {
namespace {

using SteadyClock = std::chrono::steady_clock;

double Percentile(std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(q * sorted.size()));
  return sorted[i];
}

// write+fdatasync of `bytes` to one file, `n` times: the floor of a group
// commit's latency. Appending grows the file (each sync also records the new
// size); `preallocated` writes into space fallocate gave the file first, as
// the log does.
void FsyncAlone(const std::string& dir, size_t bytes, int n, bool preallocated) {
  const std::string path = dir + "/fsync-probe";
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) {
    std::perror("open");
    return;
  }
  if (preallocated && ::fallocate(fd, 0, 0, static_cast<off_t>(bytes) * n) != 0) {
    std::perror("fallocate");
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
      bytes, preallocated ? "into preallocated space" : "appending", lat.size() / secs, Percentile(lat, 0.50), Percentile(lat, 0.99), lat.back());
}

int Run(const std::string& base, int threads, double seconds, size_t syncs, size_t depth) {
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
    std::atomic<bool> stop{false};
    std::atomic<bool> failed{false};
    std::vector<std::vector<double>> latencies(threads);
    std::vector<std::thread> writers;
    const LogCounters before = log.Counters();
    const auto start = SteadyClock::now();
    for (int t = 0; t < threads; ++t) {
      writers.emplace_back([&, t] {
        std::vector<double>& lat = latencies[t];
        lat.reserve(1 << 20);
        AppendRequest proto;
        proto.token_id = "tok_bench" + std::to_string(t);
        proto.actor = "tok_verifier";
        const Json data{{"cost", 1},
                        {"permissions", Json::array({"read:orders"})},
                        {"origin", nullptr},
                        {"ip", "10.0.0." + std::to_string(t)}};
        std::vector<SteadyClock::time_point> staged_at;
        staged_at.reserve(depth);
        while (!stop.load(std::memory_order_relaxed)) {
          // `depth` appends in flight, each acknowledged only once durable.
          staged_at.clear();
          Position last;
          for (size_t d = 0; d < depth; ++d) {
            AppendRequest r = proto;
            r.time_ms = 1'767'225'600'000 + static_cast<int64_t>(lat.size() + d);
            r.events.emplace_back(EventType::kUsed, data);
            staged_at.push_back(SteadyClock::now());
            auto res = log.Stage(std::move(r));
            if (!res.ok()) {
              std::fprintf(stderr, "append: %s\n", res.error().message.c_str());
              failed = true;
              return;
            }
            last = res->last;
          }
          log.WaitDurable(last);
          const auto done = SteadyClock::now();
          for (const auto& t0 : staged_at) {
            lat.push_back(std::chrono::duration<double, std::micro>(done - t0).count());
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& w : writers) w.join();
    const double secs = std::chrono::duration<double>(SteadyClock::now() - start).count();
    if (failed) return 1;
    const LogCounters after = log.Counters();
    std::vector<double> all;
    for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    const uint64_t events = after.events - before.events;
    const uint64_t fsyncs = after.fsyncs - before.fsyncs;
    total_events = after.events;
    events_per_fsync = fsyncs ? static_cast<double>(events) / fsyncs : 0;
    std::printf("%d writers, %zu appends in flight each, %zu syncs in flight, %.1f s: %llu events, "
                "%.0f events/s\n",
                threads, depth, syncs, secs, static_cast<unsigned long long>(events), events / secs);
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
  for (bool preallocated : {false, true}) {
    FsyncAlone(dir, round_bytes, 2000, preallocated);
    FsyncAlone(dir, record, 2000, preallocated);
  }
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace tl

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/work/tmp-bench";
  const int threads = argc > 2 ? std::atoi(argv[2]) : 64;
  const double seconds = argc > 3 ? std::atof(argv[3]) : 10;
  const size_t syncs = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 2;
  const size_t depth = argc > 5 ? std::strtoul(argv[5], nullptr, 10) : 1;
  if (threads < 1 || seconds <= 0 || syncs < 1 || depth < 1) {
    std::fprintf(stderr, "usage: log_append_bench [DIR] [threads] [seconds] [syncs] [depth]\n");
    return 2;
  }
  return tl::Run(dir, threads, seconds, syncs, depth);
}
