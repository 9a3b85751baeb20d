#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace tl {

// Where "now" comes from. Expiry, refill, rate-limit windows and event times
// all read it, so tests move time instead of sleeping.
class Clock {
 public:
  virtual ~Clock() = default;
  // UTC milliseconds since the epoch. Thread-safe.
  virtual int64_t NowMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that only moves when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ms) : now_(start_ms) {}
  int64_t NowMs() const override { return now_.load(); }
  void Set(int64_t ms) { now_.store(ms); }
  void Advance(int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace tl
