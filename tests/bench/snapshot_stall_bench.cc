// How long writers stall while the ledger writes a snapshot (or computes the
// /readyz digest) of a large state.
//
//   snapshot_stall_bench copy DIR
//   snapshot_stall_bench ledger DATA_DIR [writers=2] [quiet_seconds=3]
//
// `copy` folds DIR/log into a Projection (as `replay_bench replay DIR`) and
// times a copy of it (`Projection copy = p`, what WriteSnapshotNow used to do
// under the state lock) and its Digest() (what /readyz computed under it).
//
// `ledger` opens a Ledger on DATA_DIR (its log in DATA_DIR/log: use a copy of a
// generated log, the ledger appends to it and writes snapshots beside it), then
// runs `writers` threads that verify one token back to back (each a token.used
// event: state lock, then group commit) and reports the longest command in
// three windows: `quiet_seconds` without background work, one
// WriteSnapshotNow(), and one State() (the /readyz digest). A command that
// waits for the state lock shows as a long command in that window; without a
// stall the longest command is about one group commit (fsync).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "events/clock.h"
#include "projections/projection.h"
#include "projections/replay.h"
#include "services/ledger.h"

namespace tl {
namespace {

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

int Copy(const std::string& dir) {
  Projection p;
  auto start = SteadyClock::now();
  Result<Position> last = ReplayLog(dir + "/log", p);
  if (!last.ok()) {
    std::fprintf(stderr, "replay: %s\n", last.error().message.c_str());
    return 1;
  }
  std::printf("replayed %llu events, %zu tokens in %.2f s\n",
              static_cast<unsigned long long>(last->value()), p.token_count(), SecondsSince(start));
  for (int i = 0; i < 3; ++i) {
    start = SteadyClock::now();
    Projection copy = p;
    std::printf("copy %d: %.3f s (%zu tokens)\n", i + 1, SecondsSince(start), copy.token_count());
  }
  start = SteadyClock::now();
  const std::string digest = p.Digest();
  std::printf("digest: %.3f s (%s)\n", SecondsSince(start), digest.c_str());
  return 0;
}

// One command: when it started and how long it took, in seconds since t0.
struct Call {
  double start;
  double seconds;
};

struct Window {
  const char* what;
  double from, to;  // seconds since t0
};

void Report(const Window& w, const std::vector<std::vector<Call>>& calls) {
  double longest = 0;
  size_t n = 0;
  std::vector<double> all;
  for (const auto& per_thread : calls) {
    for (const Call& c : per_thread) {
      // Every command that overlapped the window.
      if (c.start + c.seconds < w.from || c.start > w.to) continue;
      ++n;
      longest = std::max(longest, c.seconds);
      all.push_back(c.seconds);
    }
  }
  std::sort(all.begin(), all.end());
  const double p99 = all.empty() ? 0 : all[all.size() * 99 / 100];
  std::printf("%-22s %7.3f s window: %6zu commands, longest %8.1f ms, p99 %6.1f ms\n", w.what,
              w.to - w.from, n, longest * 1e3, p99 * 1e3);
}

int RunLedger(const std::string& dir, int writers, double quiet_seconds) {
  SystemClock clock;
  LedgerOptions options;
  options.data_dir = dir;
  options.clock = &clock;
  options.snapshot_every_events = UINT64_MAX;  // only the snapshots this program asks for
  auto start = SteadyClock::now();
  auto ledger = Ledger::Open(std::move(options));
  if (!ledger.ok()) {
    std::fprintf(stderr, "open: %s\n", ledger.error().message.c_str());
    return 1;
  }
  std::printf("opened at position %llu in %.1f s\n",
              static_cast<unsigned long long>((*ledger)->log().DurablePosition().value()),
              SecondsSince(start));
  // The log's own admin secret is unknown here; the ledger trusts its callers.
  const Caller admin{"bench", "admin", {std::string(kLedgerAdmin)}};
  auto created = (*ledger)->Create(
      admin, Json{{"name", "snapshot stall bench"}, {"owner", "bench"}}, "");
  if (!created.ok()) {
    std::fprintf(stderr, "create: %s\n", created.error().message.c_str());
    return 1;
  }
  const Json verify{{"token", (*created)["token"]}, {"cost", 1}};

  const auto t0 = SteadyClock::now();
  std::atomic<bool> stop{false};
  std::vector<std::vector<Call>> calls(writers);
  std::vector<std::thread> threads;
  for (int t = 0; t < writers; ++t) {
    threads.emplace_back([&, t] {
      while (!stop.load()) {
        const double s = SecondsSince(t0);
        auto r = (*ledger)->Verify(admin, verify);
        if (!r.ok() || !(*r)["valid"].get<bool>()) std::abort();
        calls[t].push_back(Call{s, SecondsSince(t0) - s});
      }
    });
  }
  std::vector<Window> windows;
  windows.push_back(Window{"quiet", SecondsSince(t0), 0});
  std::this_thread::sleep_for(std::chrono::duration<double>(quiet_seconds));
  windows.back().to = SecondsSince(t0);

  windows.push_back(Window{"WriteSnapshotNow", SecondsSince(t0), 0});
  Status written = (*ledger)->WriteSnapshotNow();
  windows.back().to = SecondsSince(t0);
  if (!written.ok()) std::fprintf(stderr, "snapshot: %s\n", written.error().message.c_str());

  windows.push_back(Window{"State (readyz digest)", SecondsSince(t0), 0});
  StateInfo state = (*ledger)->State();
  windows.back().to = SecondsSince(t0);

  stop = true;
  for (auto& th : threads) th.join();
  std::printf("state at %llu: %s\n", static_cast<unsigned long long>(state.position.value()),
              state.digest.c_str());
  for (const Window& w : windows) Report(w, calls);
  start = SteadyClock::now();
  ledger->reset();  // writes the final snapshot
  std::printf("closed in %.1f s\n", SecondsSince(start));
  return 0;
}

}  // namespace
}  // namespace tl

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "copy") == 0) return tl::Copy(argv[2]);
  if (argc >= 3 && std::strcmp(argv[1], "ledger") == 0) {
    const int writers = argc > 3 ? std::atoi(argv[3]) : 2;
    const double quiet = argc > 4 ? std::atof(argv[4]) : 3;
    if (writers < 1) return 2;
    return tl::RunLedger(argv[2], writers, quiet);
  }
  std::fprintf(stderr,
               "usage: snapshot_stall_bench copy DIR\n"
               "       snapshot_stall_bench ledger DATA_DIR [writers] [quiet_seconds]\n");
  return 2;
}
