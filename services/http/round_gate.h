#pragma once

#include <cstddef>
#include <cstdint>

namespace tl {

struct RoundGateOptions {
  // A round starts once the requests staged since the last one reach this
  // fraction of the open connections...
  double gather_fraction = 0.75;
  // ...or once the first of them has waited this long (µs). 0: every pass
  // that has something staged starts a round (no gathering).
  int64_t max_gather_us = 300;
};

// When the data plane asks for its next group commit. Pure: the caller
// passes the time (steady µs) and what it sees.
//
// Why gather: right after a round's answers go out, the clients' next
// requests arrive one by one over ~100-300 µs. Syncing at once with the first
// few makes many small rounds; each fdatasync costs about the same whatever
// it carries, and on the measured VM the host throttles a guest that flushes
// often (both vCPUs idle 5-9 ms with work queued, ending on 100 ms quota
// boundaries: README, "What bounds the figures"). Waiting until most
// connections have their next request staged, bounded by max_gather_us,
// makes fewer, fuller rounds. A lone client never waits: one staged request
// out of one connection is the whole fraction.
class RoundGate {
 public:
  explicit RoundGate(RoundGateOptions options = {}) : options_(options) {}

  // A request was staged at `now_us`; the first since the last round starts
  // the gathering clock.
  void Staged(int64_t now_us) {
    if (staged_++ == 0) first_staged_us_ = now_us;
  }
  // Whether to start a round now: something is staged, a round may start
  // (`slot_free`: fewer rounds in flight than allowed), and enough is staged
  // or the first staged request has waited long enough.
  bool ShouldStart(size_t connections, bool slot_free, int64_t now_us) const;
  // The round started with everything staged: the clock stops.
  void Started() { staged_ = 0; }
  // How long the caller may wait for other events before ShouldStart can turn
  // true by time alone (µs, ≥ 0), or -1 when time alone cannot make it
  // (nothing staged, or no free slot: the round's end wakes the caller).
  int64_t WaitUs(bool slot_free, int64_t now_us) const;

  size_t staged() const { return staged_; }

 private:
  RoundGateOptions options_;
  size_t staged_ = 0;
  int64_t first_staged_us_ = 0;
};

}  // namespace tl
