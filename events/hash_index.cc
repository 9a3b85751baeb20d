#include "events/hash_index.h"

#include <utility>

namespace tl {

void HashIndex::Rehash(size_t capacity) {
  std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(capacity));
  for (const Slot& slot : old) {
    if (slot.ref == 0) continue;
    size_t i = slot.hash & (capacity - 1);
    while (slots_[i].ref != 0) i = (i + 1) & (capacity - 1);
    slots_[i] = slot;
  }
}

void HashIndex::Insert(size_t hash, uint32_t ref) {
  if ((count_ + 1) * 10 > slots_.size() * 7) Rehash(slots_.empty() ? 16 : slots_.size() * 2);
  const size_t mask = slots_.size() - 1;
  Slot* s = slots_.data();
  size_t i = hash & mask;
  while (s[i].ref != 0) i = (i + 1) & mask;
  s[i] = Slot{static_cast<uint32_t>(hash), ref};
  ++count_;
}

bool HashIndex::Erase(size_t hash, uint32_t ref) {
  if (slots_.empty()) return false;
  const size_t mask = slots_.size() - 1;
  Slot* s = slots_.data();
  size_t i = hash & mask;
  while (s[i].ref != 0 && !(s[i].hash == static_cast<uint32_t>(hash) && s[i].ref == ref)) {
    i = (i + 1) & mask;
  }
  if (s[i].ref == 0) return false;
  // Backward-shift deletion: move later slots of the run into the hole when
  // their home slot is not between the hole and them, so that no probe
  // sequence is cut short (no tombstones).
  for (size_t j = (i + 1) & mask; s[j].ref != 0; j = (j + 1) & mask) {
    const size_t home = s[j].hash & mask;
    const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (!stays) {
      s[i] = s[j];
      i = j;
    }
  }
  s[i] = Slot{};
  --count_;
  return true;
}

void HashIndex::Clear() {
  slots_ = {};
  count_ = 0;
}

}  // namespace tl
