#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tl {

// The hash indexes of the log (token id → stream) and of the projections
// (token id → entry, secret digest → entries): open addressing with linear
// probing over 8-byte slots holding the low 32 bits of the key's hash and a
// reference (an entry number + 1; 0 = empty), at most 70% full. Keys with
// equal hashes may repeat; the caller compares the keys of the references it
// is offered. Against the 16-byte slots and the node-per-digest
// std::unordered_multimap it replaces, it halves the id index and needs no
// allocation per token.
class HashIndex {
 public:
  void Insert(size_t hash, uint32_t ref);  // REQUIRES: ref > 0
  // Removes one slot holding `ref` under `hash`; false when there is none.
  bool Erase(size_t hash, uint32_t ref);
  // Offers `match` each reference stored under `hash` (and, rarely, under a
  // hash with the same low 32 bits) in probe order; returns the first it
  // accepts, or 0.
  template <typename F>
  uint32_t Find(size_t hash, F&& match) const;
  // The first reference under `hash`, unchecked: for prefetching. 0 when none.
  uint32_t Peek(size_t hash) const {
    return Find(hash, [](uint32_t) { return true; });
  }
  void Prefetch(size_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[hash & (slots_.size() - 1)]);
  }
  void Clear();
  size_t size() const { return count_; }

 private:
  struct Slot {
    uint32_t hash;
    uint32_t ref;
  };
  void Rehash(size_t capacity);

  std::vector<Slot> slots_;  // a power of two of them, or none
  size_t count_ = 0;
};

template <typename F>
uint32_t HashIndex::Find(size_t hash, F&& match) const {
  if (slots_.empty()) return 0;
  const auto low = static_cast<uint32_t>(hash);
  const size_t mask = slots_.size() - 1;
  const Slot* s = slots_.data();
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    if (s[i].ref == 0) return 0;
    if (s[i].hash == low && match(s[i].ref)) return s[i].ref;
  }
}

}  // namespace tl
