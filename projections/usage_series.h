#pragma once

#include <climits>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace tl {

// The per-hour usage counters of one token (or the sum over an owner's
// tokens): uses and credits spent per hour, denials per hour and code.
//
// Kept as one heap block of varint-encoded records behind one pointer. Over a
// million tokens the plain form (two vectors of 16- and 12-byte structs, with
// growth slack and a heap block each) was ~200 bytes a token, a sixth of a
// replay's memory; this is ~70. Records are sorted by (hour, kind), kind 0
// being the hour's counters and kind c+1 the denials of code c. Events arrive
// nearly in time order, so an addition almost always touches the last hour:
// the block remembers where that hour starts and only ever rewrites a few
// bytes there; an hour out of order rewrites the block from that hour on.
// a + b, held at INT64_MAX / INT64_MIN instead of overflowing. Credits spent
// are summed per hour, owner and query range: a token with unlimited credits
// may spend up to 10^15 a call, so ~9,300 calls in one hour would overflow a
// plain sum (undefined behaviour).
inline int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? INT64_MAX : INT64_MIN;
}

class UsageSeries {
 public:
  struct Hour {
    int32_t hour;  // hours since the epoch (UTC)
    uint32_t uses;
    int64_t credits_spent;
  };
  struct Denial {
    int32_t hour;
    uint16_t code;  // the projection's interned code id
    uint32_t n;
  };

  UsageSeries() = default;
  UsageSeries(const UsageSeries& other);
  UsageSeries& operator=(const UsageSeries& other);
  UsageSeries(UsageSeries&& other) noexcept : block_(other.block_) { other.block_ = nullptr; }
  UsageSeries& operator=(UsageSeries&& other) noexcept;
  ~UsageSeries();

  // Counts add up (uses and n wrap as uint32, as they always have); credits
  // saturate at the int64 limits (SaturatingAdd) rather than overflow.
  void AddHour(int32_t hour, uint32_t uses, int64_t credits);
  void AddDenial(int32_t hour, uint16_t code, uint32_t n);

  // Calls f(Hour) in hour order / f(Denial) in (hour, code) order.
  template <typename F>
  void ForEachHour(F&& f) const;
  template <typename F>
  void ForEachDenial(F&& f) const;

  // Both of the above in one pass: f_hour(Hour) and f_denial(Denial) in
  // (hour, kind) order.
  template <typename H, typename D>
  void ForEachRecord(H&& f_hour, D&& f_denial) const;

  // A block address to prefetch before AddHour (nullptr when empty).
  const void* prefetch_address() const;

 private:
  struct Record {
    int32_t hour;
    uint32_t kind;  // 0: counters; c + 1: denials of code c
    uint32_t count;
    int64_t credits;
  };
  struct Header;
  // Calls f(Record) for every record in order; stops when f returns false.
  template <typename F>
  void Walk(F&& f) const;
  bool WalkRecords(bool (*visit)(void*, const Record&), void* context) const;
  void Add(const Record& r);

  unsigned char* block_ = nullptr;  // Header, then the records
};

template <typename F>
void UsageSeries::Walk(F&& f) const {
  using Visitor = std::remove_reference_t<F>;
  WalkRecords([](void* c, const Record& r) -> bool { return (*static_cast<Visitor*>(c))(r); }, &f);
}

template <typename F>
void UsageSeries::ForEachHour(F&& f) const {
  Walk([&](const Record& r) {
    if (r.kind == 0) f(Hour{r.hour, r.count, r.credits});
    return true;
  });
}

template <typename F>
void UsageSeries::ForEachDenial(F&& f) const {
  Walk([&](const Record& r) {
    if (r.kind != 0) f(Denial{r.hour, static_cast<uint16_t>(r.kind - 1), r.count});
    return true;
  });
}

template <typename H, typename D>
void UsageSeries::ForEachRecord(H&& f_hour, D&& f_denial) const {
  Walk([&](const Record& r) {
    if (r.kind == 0) {
      f_hour(Hour{r.hour, r.count, r.credits});
    } else {
      f_denial(Denial{r.hour, static_cast<uint16_t>(r.kind - 1), r.count});
    }
    return true;
  });
}

}  // namespace tl
