// How long EventLog::Open takes on a large log, and the memory its indexes
// need.
//
//   log_open_bench DIR
//
// Opens the log in DIR (the log's own directory, e.g. a copy of
// `replay_bench generate`'s DIR/log: Open may cut a torn tail, so never
// point it at a log you need unchanged), then prints the time Open took,
// the events and streams it found and the peak RSS of the process. Run it
// as its own process so nothing else counts in the RSS.

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "events/log.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: log_open_bench DIR\n");
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  auto log = tl::EventLog::Open(argv[1]);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!log.ok()) {
    std::fprintf(stderr, "open failed: %s\n", log.error().message.c_str());
    return 1;
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf(
      "open: %.2f s, %llu events, %zu streams, peak RSS %.0f MiB, user %.2f s, sys %.2f s\n",
      seconds, static_cast<unsigned long long>((*log)->LastStagedPosition().value()),
      (*log)->StreamCount(), static_cast<double>(usage.ru_maxrss) / 1024.0,
      static_cast<double>(usage.ru_utime.tv_sec) + usage.ru_utime.tv_usec / 1e6,
      static_cast<double>(usage.ru_stime.tv_sec) + usage.ru_stime.tv_usec / 1e6);
  return 0;
}
