#include "events/stream_index.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tl {
namespace {

[[noreturn]] void Broken(const char* what) {
  std::fprintf(stderr, "fatal: stream index: %s\n", what);
  std::abort();
}

}  // namespace

std::string_view StreamIndex::Id(const Entry& e) const {
  if (e.id_size <= kInlineId) return {e.id, e.id_size};
  uint64_t offset;
  std::memcpy(&offset, e.id, sizeof offset);
  return {long_ids_.data() + offset, e.id_size};
}

uint32_t StreamIndex::Find(std::string_view id, size_t hash) const {
  return by_id_.Find(hash, [&](uint32_t ref) { return Id(At(ref)) == id; });
}

uint32_t StreamIndex::Find(std::string_view id) const { return Find(id, hash_(id)); }

uint32_t StreamIndex::FindOrAdd(std::string_view id) {
  const size_t hash = hash_(id);
  if (uint32_t ref = Find(id, hash); ref != 0) return ref;
  if (id.size() > UINT16_MAX || count_ >= UINT32_MAX - 1) Broken("id too long or too many streams");
  if ((count_ & (kBlockEntries - 1)) == 0) {
    blocks_.push_back(std::make_unique<Entry[]>(kBlockEntries));
  }
  const auto ref = static_cast<uint32_t>(++count_);
  Entry& e = At(ref);
  e.id_size = static_cast<uint16_t>(id.size());
  if (id.size() <= kInlineId) {
    std::memcpy(e.id, id.data(), id.size());
  } else {
    const uint64_t offset = long_ids_.size();
    long_ids_.append(id);
    std::memcpy(e.id, &offset, sizeof offset);
  }
  by_id_.Insert(hash, ref);
  return ref;
}

void StreamIndex::Prefetch(std::string_view upcoming) {
  Hint& oldest = hints_[hint_count_++ % kEntryLag];
  if (oldest.valid) {
    if (uint32_t ref = by_id_.Peek(oldest.hash); ref != 0) __builtin_prefetch(&At(ref));
  }
  oldest = Hint{!upcoming.empty(), upcoming.empty() ? 0 : hash_(upcoming)};
  if (oldest.valid) by_id_.Prefetch(oldest.hash);
}

void StreamIndex::AddRecovered(uint32_t ref, Position p) {
  if (p.value() != recovered_refs_.size() + 1) Broken("recovered positions out of order");
  recovered_refs_.push_back(ref);
}

void StreamIndex::FinishRecovery() {
  // Each stream's range in recovered_: its recovered events are its version.
  uint64_t end = 0;
  for (uint32_t ref = 1; ref <= count_; ++ref) {
    Entry& e = At(ref);
    end += e.version.value();
    e.recovered_begin = end;
  }
  if (end != recovered_refs_.size()) Broken("versions do not add up to the recovered events");
  recovered_.resize(end);
  // Backwards, so that each range fills from its end and recovered_begin
  // ends at its start; popping frees the queue as it goes. Entries are
  // prefetched kAhead events early, their next slot in recovered_ half as early.
  constexpr size_t kAhead = 16;
  for (size_t n = recovered_refs_.size(); n > 0; --n) {
    if (n > kAhead) __builtin_prefetch(&At(recovered_refs_[n - 1 - kAhead]));
    if (n > kAhead / 2) {
      const Entry& soon = At(recovered_refs_[n - 1 - kAhead / 2]);
      __builtin_prefetch(&recovered_[soon.recovered_begin - 1], /*rw=*/1);
    }
    recovered_[--At(recovered_refs_.back()).recovered_begin] = Position(n);
    recovered_refs_.pop_back();
  }
  recovered_refs_.shrink_to_fit();
}

void StreamIndex::Append(uint32_t ref, Position p) {
  Entry& e = At(ref);
  if (e.appended == 0) {
    appended_.emplace_back();
    e.appended = static_cast<uint32_t>(appended_.size());
  }
  appended_[e.appended - 1].push_back(p);
  e.version = e.version.next();
}

void StreamIndex::DropAfter(Position keep) {
  // Only events staged since open can lie past `keep` (the recovered ones
  // were durable), so only streams with appended positions are touched.
  for (uint32_t ref = 1; ref <= count_; ++ref) {
    Entry& e = At(ref);
    if (e.appended == 0) continue;
    std::vector<Position>& later = appended_[e.appended - 1];
    while (!later.empty() && later.back() > keep) {
      later.pop_back();
      e.version = Version(e.version.value() - 1);
    }
  }
}

std::vector<Position> StreamIndex::Positions(uint32_t ref, Version after, size_t max,
                                             Position upto) const {
  const Entry& e = At(ref);
  static const std::vector<Position> kNone;
  const std::vector<Position>& later = e.appended == 0 ? kNone : appended_[e.appended - 1];
  const uint64_t recovered = e.version.value() - later.size();
  std::vector<Position> out;
  for (uint64_t i = after.value(); i < e.version.value() && out.size() < max; ++i) {
    const Position p = i < recovered ? recovered_[e.recovered_begin + i] : later[i - recovered];
    if (p > upto) break;
    out.push_back(p);
  }
  return out;
}

}  // namespace tl
