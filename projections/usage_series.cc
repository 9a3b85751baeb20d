#include "projections/usage_series.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace tl {
namespace {

// Records are LEB128 varints: hour delta from the previous record (zigzag:
// the first one is from hour 0 and may be negative), kind, count, and for
// kind 0 the credits (zigzag).
constexpr size_t kMaxRecordBytes = 10 + 5 + 5 + 10;

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

size_t PutVarint(unsigned char* out, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = static_cast<unsigned char>(v | 0x80);
    v >>= 7;
  }
  out[n++] = static_cast<unsigned char>(v);
  return n;
}

uint64_t GetVarint(const unsigned char*& p) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    const unsigned char b = *p++;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) return v;
  }
}

}  // namespace

struct UsageSeries::Header {
  uint32_t size;        // bytes of records
  uint32_t capacity;    // bytes of records the block has room for
  int32_t last_hour;    // the hour of the last record
  int32_t group_base;   // the hour of the record before the last hour's first (0: none)
  uint32_t last_group;  // offset of the last hour's first record
};

namespace {

size_t Encode(unsigned char* out, int32_t hour, uint32_t kind, uint32_t count, int64_t credits,
              int32_t prev_hour) {
  size_t n = PutVarint(out, ZigZag(static_cast<int64_t>(hour) - prev_hour));
  n += PutVarint(out + n, kind);
  n += PutVarint(out + n, count);
  if (kind == 0) n += PutVarint(out + n, ZigZag(credits));
  return n;
}

}  // namespace

UsageSeries::UsageSeries(const UsageSeries& other) {
  if (other.block_ == nullptr) return;
  const size_t bytes = sizeof(Header) + reinterpret_cast<const Header*>(other.block_)->size;
  block_ = static_cast<unsigned char*>(std::malloc(bytes));
  if (block_ == nullptr) throw std::bad_alloc();
  std::memcpy(block_, other.block_, bytes);
  reinterpret_cast<Header*>(block_)->capacity = static_cast<uint32_t>(bytes - sizeof(Header));
}

UsageSeries& UsageSeries::operator=(const UsageSeries& other) {
  if (this != &other) *this = UsageSeries(other);
  return *this;
}

UsageSeries& UsageSeries::operator=(UsageSeries&& other) noexcept {
  if (this != &other) {
    std::free(block_);
    block_ = other.block_;
    other.block_ = nullptr;
  }
  return *this;
}

UsageSeries::~UsageSeries() { std::free(block_); }

const void* UsageSeries::prefetch_address() const { return block_; }

bool UsageSeries::WalkRecords(bool (*visit)(void*, const Record&), void* context) const {
  if (block_ == nullptr) return true;
  const Header& h = *reinterpret_cast<const Header*>(block_);
  const unsigned char* p = block_ + sizeof(Header);
  const unsigned char* end = p + h.size;
  int32_t hour = 0;
  while (p < end) {
    Record r;
    r.hour = hour = static_cast<int32_t>(hour + UnZigZag(GetVarint(p)));
    r.kind = static_cast<uint32_t>(GetVarint(p));
    r.count = static_cast<uint32_t>(GetVarint(p));
    r.credits = r.kind == 0 ? UnZigZag(GetVarint(p)) : 0;
    if (!visit(context, r)) return false;
  }
  return true;
}

void UsageSeries::AddHour(int32_t hour, uint32_t uses, int64_t credits) {
  Add(Record{hour, 0, uses, credits});
}

void UsageSeries::AddDenial(int32_t hour, uint16_t code, uint32_t n) {
  Add(Record{hour, static_cast<uint32_t>(code) + 1, n, 0});
}

void UsageSeries::Add(const Record& r) {
  unsigned char bytes[2 * kMaxRecordBytes];
  // Replaces records [at, at + old) with bytes[0, n), growing the block by a
  // quarter when it is full (appends stay amortized O(1) with little slack).
  auto splice = [&](uint32_t at, size_t old, size_t n) -> Header& {
    Header* h = reinterpret_cast<Header*>(block_);
    const size_t size = h == nullptr ? 0 : h->size;
    const size_t need = size - old + n;
    if (h == nullptr || need > h->capacity) {
      const size_t capacity = std::max(need, size + size / 4 + 8);
      auto* grown = static_cast<unsigned char*>(std::realloc(block_, sizeof(Header) + capacity));
      if (grown == nullptr) throw std::bad_alloc();
      if (block_ == nullptr) std::memset(grown, 0, sizeof(Header));
      block_ = grown;
      h = reinterpret_cast<Header*>(block_);
      h->capacity = static_cast<uint32_t>(capacity);
    }
    unsigned char* records = block_ + sizeof(Header);
    std::memmove(records + at + n, records + at + old, size - at - old);
    std::memcpy(records + at, bytes, n);
    h->size = static_cast<uint32_t>(need);
    return *h;
  };

  const Header* h = reinterpret_cast<const Header*>(block_);
  if (h == nullptr || h->size == 0 || r.hour > h->last_hour) {  // a new last hour
    const int32_t prev = h == nullptr || h->size == 0 ? 0 : h->last_hour;
    const uint32_t at = h == nullptr ? 0 : h->size;
    Header& grown = splice(at, 0, Encode(bytes, r.hour, r.kind, r.count, r.credits, prev));
    grown.group_base = prev;
    grown.last_group = at;
    grown.last_hour = r.hour;
    return;
  }
  // Find the first record at or after (hour, kind): in the last hour when it
  // is that hour (the common case), else from the start.
  const bool in_last = r.hour == h->last_hour;
  uint32_t at = in_last ? h->last_group : 0;
  int32_t prev = in_last ? h->group_base : 0;
  const unsigned char* records = block_ + sizeof(Header);
  while (at < h->size) {
    const unsigned char* p = records + at;
    const int32_t hour = static_cast<int32_t>(prev + UnZigZag(GetVarint(p)));
    const auto kind = static_cast<uint32_t>(GetVarint(p));
    uint32_t count = static_cast<uint32_t>(GetVarint(p));
    int64_t credits = kind == 0 ? UnZigZag(GetVarint(p)) : 0;
    const auto length = static_cast<size_t>(p - (records + at));
    if (hour == r.hour && kind == r.kind) {  // add to it
      count += r.count;
      credits = SaturatingAdd(credits, r.credits);
      const size_t n = Encode(bytes, hour, kind, count, credits, prev);
      Header& grown = splice(at, length, n);
      // Before the last hour, its start moves with the length of this record.
      if (!in_last) grown.last_group = static_cast<uint32_t>(grown.last_group + n - length);
      return;
    }
    if (hour > r.hour || (hour == r.hour && kind > r.kind)) {  // insert before it
      const size_t first = Encode(bytes, r.hour, r.kind, r.count, r.credits, prev);
      const size_t n = first + Encode(bytes + first, hour, kind, count, credits, r.hour);
      const uint32_t last_group = h->last_group;
      Header& grown = splice(at, length, n);
      if (!in_last) {
        if (at == last_group) {  // a new hour just before the last one
          grown.last_group = static_cast<uint32_t>(at + first);
          grown.group_base = r.hour;
        } else {
          grown.last_group = static_cast<uint32_t>(grown.last_group + n - length);
        }
      }
      return;
    }
    prev = hour;
    at += static_cast<uint32_t>(length);
  }
  // After every record of the last hour.
  splice(at, 0, Encode(bytes, r.hour, r.kind, r.count, r.credits, prev));
}

}  // namespace tl
