#include "projections/projection.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>
#include <memory>

#include "events/crypto.h"
#include "events/time_format.h"
#include "projections/canonical_json.h"
#include "projections/token_line.h"
#include "projections/use_data.h"

namespace tl {
namespace {

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kDayMs = 86'400'000;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

int32_t HourOf(int64_t ms) { return static_cast<int32_t>(FloorDiv(ms, kHourMs)); }

void PrefetchLines(const void* p, size_t bytes) {
  for (size_t off = 0; off < bytes; off += 64)
    __builtin_prefetch(static_cast<const char*>(p) + off);
}

// ---- cursor: base64url("<created_ms>:<id>") so clients treat it as opaque.

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64Url(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kB64[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kB64[(acc << (6 - bits)) & 63]);
  return out;
}

std::optional<std::string> FromBase64Url(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '-') {
      v = 62;
    } else if (c == '_') {
      v = 63;
    } else {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be padding zeros of a canonical encoding.
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

struct CursorKey {
  int64_t created_ms;
  std::string id;
};

std::string EncodeCursor(const TokenState& t) {
  return Base64Url(std::to_string(t.created_at_ms) + ":" + t.id);
}

std::optional<CursorKey> DecodeCursor(std::string_view cursor) {
  auto raw = FromBase64Url(cursor);
  if (!raw) return std::nullopt;
  const size_t colon = raw->find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == raw->size()) return std::nullopt;
  CursorKey key;
  const char* begin = raw->data();
  auto [ptr, ec] = std::from_chars(begin, begin + colon, key.created_ms);
  if (ec != std::errc() || ptr != begin + colon) return std::nullopt;
  key.id = raw->substr(colon + 1);
  return key;
}

bool CreatedBefore(const TokenState& a, const TokenState& b) {
  if (a.created_at_ms != b.created_at_ms) return a.created_at_ms < b.created_at_ms;
  return a.id < b.id;
}

bool BeforeKey(const TokenState& a, const CursorKey& k) {
  if (a.created_at_ms != k.created_ms) return a.created_at_ms < k.created_ms;
  return a.id < k.id;
}

struct Totals {
  int64_t uses = 0;
  int64_t credits_spent = 0;
  std::map<std::string, int64_t> denied;
};

Json TotalsToJson(const Totals& t) {
  Json denied = Json::object();
  for (const auto& [code, n] : t.denied) denied[code] = n;
  return Json{{"uses", t.uses}, {"credits_spent", t.credits_spent}, {"denied", std::move(denied)}};
}

}  // namespace

// ---- copying: every index holds entry numbers, which mean the same in the
// copy, so everything is copied as data; only the entries' owner pointers are
// pointed at the copied owners. (Rebuilding the indexes instead took ~20 s
// for a million tokens, most of it re-adding each token's hours into its
// owner's usage.)

Projection::Projection(const Projection& other)
    : entries_(other.entries_),
      by_id_(other.by_id_),
      by_digest_(other.by_digest_),
      owners_(other.owners_),
      by_created_(other.by_created_),
      codes_(other.codes_),
      last_position_(other.last_position_) {
  // Each entry is in exactly one owner's list.
  for (auto& [name, owner] : owners_) {
    for (const Ref ref : owner.by_created) EntryAt(ref)->owner = &owner;
  }
}

Projection& Projection::operator=(const Projection& other) {
  if (this != &other) {
    Projection copy(other);
    *this = std::move(copy);
  }
  return *this;
}

void Projection::RebuildIndexes() {
  by_id_.Clear();
  by_digest_.Clear();
  owners_.clear();
  by_created_.clear();
  int64_t min_created = INT64_MAX, max_created = INT64_MIN;
  for (size_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    const auto ref = static_cast<Ref>(i + 1);
    e.owner = &owners_[e.state.owner];
    by_id_.Insert(std::hash<std::string_view>{}(e.state.id), ref);
    IndexDigests(ref);
    min_created = std::min(min_created, e.state.created_at_ms);
    max_created = std::max(max_created, e.state.created_at_ms);
  }
  // Entries are in id order (the Builder's), so (created_at_ms, ref) order is
  // CreatedBefore's. When the times span less than 2^(64 - bits of a ref) ms
  // (centuries, for a million tokens) the pairs are sorted packed into one
  // integer each: sorting the refs by CreatedBefore reads the scattered
  // entries in every comparison (~0.6 s of a million-token load), and
  // unpacked pairs would be a 16 MB temporary where memory peaks.
  by_created_.resize(entries_.size());
  const int ref_bits = 64 - __builtin_clzll(static_cast<uint64_t>(entries_.size()) | 1);
  const uint64_t span = static_cast<uint64_t>(max_created) - static_cast<uint64_t>(min_created);
  if (!entries_.empty() && (span >> (64 - ref_bits)) == 0) {
    std::vector<uint64_t> keys(entries_.size());
    for (size_t i = 0; i < entries_.size(); ++i) {
      const uint64_t since_min = static_cast<uint64_t>(entries_[i].state.created_at_ms) -
                                 static_cast<uint64_t>(min_created);
      keys[i] = since_min << ref_bits | (i + 1);
    }
    std::sort(keys.begin(), keys.end());
    const uint64_t ref_mask = (uint64_t{1} << ref_bits) - 1;
    for (size_t i = 0; i < keys.size(); ++i) by_created_[i] = static_cast<Ref>(keys[i] & ref_mask);
  } else {
    for (size_t i = 0; i < entries_.size(); ++i) by_created_[i] = static_cast<Ref>(i + 1);
    std::sort(by_created_.begin(), by_created_.end(),
              [this](Ref a, Ref b) { return CreatedBefore(EntryAt(a)->state, EntryAt(b)->state); });
  }
  // An owner's list is the global order filtered, so it comes out sorted.
  constexpr size_t kAhead = 8;
  for (size_t i = 0; i < by_created_.size(); ++i) {
    if (i + kAhead < by_created_.size())
      __builtin_prefetch(&EntryAt(by_created_[i + kAhead])->owner);
    const Ref ref = by_created_[i];
    EntryAt(ref)->owner->by_created.push_back(ref);
  }
  // An owner's usage is the sum of its tokens'. Added token by token, the
  // hours arrive out of order and each one rewrites the owner's block from
  // that hour on (~11 s of a 28 s load of a million tokens); sorted first,
  // every addition lands at the end. The sorted copies are one owner's at a
  // time.
  std::vector<UsageSeries::Hour> hours;
  std::vector<UsageSeries::Denial> denials;
  for (auto& [name, owner] : owners_) {
    hours.clear();
    denials.clear();
    const std::vector<Ref>& refs = owner.by_created;
    for (size_t i = 0; i < refs.size(); ++i) {
      if (i + kAhead < refs.size()) __builtin_prefetch(&EntryAt(refs[i + kAhead])->usage);
      if (i + kAhead / 2 < refs.size()) {
        if (const void* block = EntryAt(refs[i + kAhead / 2])->usage.prefetch_address())
          __builtin_prefetch(block);
      }
      EntryAt(refs[i])->usage.ForEachRecord(
          [&](const UsageSeries::Hour& h) { hours.push_back(h); },
          [&](const UsageSeries::Denial& d) { denials.push_back(d); });
    }
    std::sort(hours.begin(), hours.end(),
              [](const auto& a, const auto& b) { return a.hour < b.hour; });
    std::sort(denials.begin(), denials.end(), [](const auto& a, const auto& b) {
      return a.hour != b.hour ? a.hour < b.hour : a.code < b.code;
    });
    // Merged, so an hour's denials follow its counters and precede later hours.
    size_t d = 0;
    for (const UsageSeries::Hour& h : hours) {
      for (; d < denials.size() && denials[d].hour < h.hour; ++d)
        owner.usage.AddDenial(denials[d].hour, denials[d].code, denials[d].n);
      owner.usage.AddHour(h.hour, h.uses, h.credits_spent);
    }
    for (; d < denials.size(); ++d)
      owner.usage.AddDenial(denials[d].hour, denials[d].code, denials[d].n);
  }
}

// ---- folding

Projection::Ref Projection::FindRef(std::string_view id, size_t hash) const {
  return by_id_.Find(hash, [&](Ref ref) { return EntryAt(ref)->state.id == id; });
}

Projection::Entry* Projection::FindEntry(std::string_view id) const {
  const Ref ref = FindRef(id, std::hash<std::string_view>{}(id));
  return ref == 0 ? nullptr : EntryAt(ref);
}

void Projection::IndexDigests(Ref ref) {
  const TokenState& t = EntryAt(ref)->state;
  if (!t.secret_digest.empty()) by_digest_.Insert(t.secret_digest.Hash(), ref);
  if (!t.previous_digest.empty() && t.previous_digest != t.secret_digest) {
    by_digest_.Insert(t.previous_digest.Hash(), ref);
  }
}

void Projection::UnindexDigests(Ref ref) {
  const TokenState& t = EntryAt(ref)->state;
  for (const StoredDigest* d : {&t.secret_digest, &t.previous_digest}) {
    if (!d->empty()) by_digest_.Erase(d->Hash(), ref);
  }
}

void Projection::Index(Ref ref) {
  Entry* e = EntryAt(ref);
  by_id_.Insert(std::hash<std::string_view>{}(e->state.id), ref);
  IndexDigests(ref);
  auto insert_sorted = [this, ref, e](std::vector<Ref>& v) {
    // Creations arrive nearly in time order, so this is almost always an append.
    auto pos = v.end();
    if (!v.empty() && !CreatedBefore(EntryAt(v.back())->state, e->state)) {
      pos = std::upper_bound(v.begin(), v.end(), ref, [this](Ref a, Ref b) {
        return CreatedBefore(EntryAt(a)->state, EntryAt(b)->state);
      });
    }
    v.insert(pos, ref);
  };
  insert_sorted(by_created_);
  insert_sorted(e->owner->by_created);
}

uint16_t Projection::CodeId(std::string_view code) {
  for (size_t i = 0; i < codes_.size(); ++i) {
    if (codes_[i] == code) return static_cast<uint16_t>(i);
  }
  codes_.emplace_back(code);
  return static_cast<uint16_t>(codes_.size() - 1);
}

void Projection::Apply(const Event& e) {
  if (e.position <= last_position_) return;
  last_position_ = e.position;

  const Ref ref = FindRef(e.token_id, std::hash<std::string_view>{}(e.token_id));
  Entry* entry = ref == 0 ? nullptr : EntryAt(ref);
  if (e.type == EventType::kCreated) {
    // A second creation of a stream cannot pass the decider's version check.
    if (entry != nullptr) return;
    TokenState state;
    ApplyToToken(state, e);
    AddToken(std::move(state));
    return;
  }
  if (entry == nullptr) return;  // a stream without its creation: nothing to fold into

  switch (e.type) {
    case EventType::kUsed:
      FoldUsed(entry, e, UseDataOf(e.data).cost);
      break;
    case EventType::kUseDenied:
      FoldUseDenied(entry, e, UseDataOf(e.data).code);
      break;
    case EventType::kRegenerated:
      UnindexDigests(ref);
      ApplyToToken(entry->state, e);
      IndexDigests(ref);
      break;
    default:
      ApplyToToken(entry->state, e);
      break;
  }
}

void Projection::AddToken(TokenState&& state) {
  Entry& fresh = entries_.emplace_back();
  fresh.state = std::move(state);
  fresh.owner = &owners_[fresh.state.owner];
  Index(static_cast<Ref>(entries_.size()));
}

void Projection::FoldUsed(Entry* entry, const Event& e, int64_t cost) {
  ApplyUsedToToken(entry->state, e, cost);
  const int32_t hour = HourOf(e.time_ms);
  entry->usage.AddHour(hour, 1, cost);
  entry->owner->usage.AddHour(hour, 1, cost);
}

void Projection::FoldUseDenied(Entry* entry, const Event& e, std::string_view code) {
  ApplyUseDeniedToToken(entry->state, e);
  const uint16_t id = CodeId(code);
  const int32_t hour = HourOf(e.time_ms);
  entry->usage.AddDenial(hour, id, 1);
  entry->owner->usage.AddDenial(hour, id, 1);
}

bool Projection::ApplyEncoded(Event& e, std::string_view data) {
  if (e.type == EventType::kUsed || e.type == EventType::kUseDenied) {
    if (std::optional<UseData> use = ReadCompactUseData(data)) {
      if (e.position <= last_position_) return true;
      last_position_ = e.position;
      Entry* entry = FindEntry(e.token_id);
      if (entry == nullptr) return true;
      if (e.type == EventType::kUsed) {
        FoldUsed(entry, e, use->cost);
      } else {
        FoldUseDenied(entry, e, use->code);
      }
      return true;
    }
  }
  e.data = Json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (!e.data.is_object()) return false;
  Apply(e);
  return true;
}

// ---- the replay's batched fold
//
// Finding an event's token costs dependent cache misses: its id slot, then
// its entry, then the id's heap block and the usage series. Paid one event at
// a time they were ~40% of a replay. A batch knows its ids ahead, so each
// step is prefetched for an event further ahead than the next step: the
// misses of many events overlap instead of following one another.
// Prefetching only reads; every event is then looked up as usual, so an
// entry created within the batch or a stale hint changes nothing.

namespace {
constexpr size_t kPrefetchAhead = 8;  // events between two prefetch steps

}  // namespace

void Projection::Prefetch(const FoldBatch& batch, size_t i, size_t count) const {
  if (i + 3 * kPrefetchAhead < count) by_id_.Prefetch(batch[i + 3 * kPrefetchAhead].id_hash);
  if (i + 2 * kPrefetchAhead < count) {
    // What token.used reads and writes: the head of the entry (see TokenState).
    if (const Ref ref = by_id_.Peek(batch[i + 2 * kPrefetchAhead].id_hash)) {
      const Entry* e = EntryAt(ref);
      PrefetchLines(e, static_cast<size_t>(reinterpret_cast<const char*>(&e->state.owner) -
                                           reinterpret_cast<const char*>(e)));
    }
  }
  if (i + kPrefetchAhead < count) {
    if (const Ref ref = by_id_.Peek(batch[i + kPrefetchAhead].id_hash)) {
      const Entry* e = EntryAt(ref);
      __builtin_prefetch(e->state.id.data());
      if (const void* usage = e->usage.prefetch_address()) PrefetchLines(usage, 128);
      if (!e->state.recent_uses.empty()) __builtin_prefetch(e->state.recent_uses.data());
    }
  }
}

void Projection::ApplyBatch(FoldBatch& batch, size_t count) {
  Event envelope;  // the fields FoldUsed / FoldUseDenied read
  for (size_t i = 0; i < count; ++i) {
    Prefetch(batch, i, count);
    const FoldBatch::Item& item = batch[i];
    if (item.kind == FoldBatch::Item::kEvent) {
      Apply(batch.EventOf(item));
      continue;
    }
    if (item.position <= last_position_) continue;
    last_position_ = item.position;
    const Ref ref = FindRef(batch.TokenId(item), item.id_hash);
    Entry* entry = ref == 0 ? nullptr : EntryAt(ref);
    if (item.kind == FoldBatch::Item::kCreated) {
      if (entry == nullptr) AddToken(batch.TakeState(item));  // as Apply does
      continue;
    }
    if (entry == nullptr) continue;
    envelope.position = item.position;
    envelope.version = item.version;
    envelope.time_ms = item.time_ms;
    if (item.kind == FoldBatch::Item::kUsed) {
      envelope.type = EventType::kUsed;
      FoldUsed(entry, envelope, item.cost);
    } else {
      envelope.type = EventType::kUseDenied;
      FoldUseDenied(entry, envelope, batch.Code(item));
    }
  }
}

// ---- reads

const TokenState* Projection::Find(std::string_view id) const {
  const Entry* e = FindEntry(id);
  return e ? &e->state : nullptr;
}

const TokenState* Projection::FindByDigest(std::string_view digest, bool* is_previous) const {
  if (digest.empty()) return nullptr;
  const StoredDigest wanted(digest);
  const TokenState* previous_match = nullptr;
  const Ref current = by_digest_.Find(wanted.Hash(), [&](Ref ref) {
    const TokenState& t = EntryAt(ref)->state;
    if (t.secret_digest == wanted) return true;
    if (t.previous_digest == wanted) previous_match = &t;
    return false;
  });
  if (current != 0) {
    if (is_previous) *is_previous = false;
    return &EntryAt(current)->state;
  }
  if (previous_match && is_previous) *is_previous = true;
  return previous_match;
}

Result<ListPage> Projection::List(const ListQuery& q, int64_t now_ms) const {
  if (q.limit < 1 || q.limit > 1000) {
    return MakeError(ErrorCode::kInvalidArgument, "limit must be between 1 and 1000", "limit");
  }
  std::optional<CursorKey> key;
  if (!q.cursor.empty()) {
    key = DecodeCursor(q.cursor);
    if (!key) return MakeError(ErrorCode::kInvalidArgument, "malformed cursor", "cursor");
  }
  ListPage page;
  const std::vector<Ref>* index = &by_created_;
  if (q.owner) {
    auto it = owners_.find(*q.owner);
    if (it == owners_.end()) return page;
    index = &it->second.by_created;
  }
  // Walk newest to oldest, starting strictly before the cursor's token.
  auto end = index->end();
  if (key) {
    end = std::lower_bound(index->begin(), index->end(), *key, [this](Ref r, const CursorKey& k) {
      return BeforeKey(EntryAt(r)->state, k);
    });
  }
  for (auto it = end; it != index->begin();) {
    --it;
    const TokenState& t = EntryAt(*it)->state;
    if (q.status && StatusAt(t, now_ms) != *q.status) continue;
    if (page.tokens.size() == q.limit) {
      // One more match exists: there is a next page.
      page.next_cursor = EncodeCursor(*page.tokens.back());
      break;
    }
    page.tokens.push_back(&t);
  }
  return page;
}

Json Projection::Usage(const UsageQuery& q) const {
  std::vector<const UsageSeries*> series;
  if (q.token_id) {
    const Entry* e = FindEntry(*q.token_id);
    if (e && (!q.owner || e->state.owner == *q.owner)) series.push_back(&e->usage);
  } else if (q.owner) {
    auto it = owners_.find(*q.owner);
    if (it != owners_.end()) series.push_back(&it->second.usage);
  } else {
    for (const auto& [name, owner] : owners_) series.push_back(&owner.usage);
  }

  const int64_t bucket_ms = q.bucket == UsageQuery::Bucket::kDay ? kDayMs : kHourMs;
  // Hour h counts when its start is in [from, to).
  auto in_range = [&](int32_t hour) {
    const int64_t start = static_cast<int64_t>(hour) * kHourMs;
    return start >= q.from_ms && start < q.to_ms;
  };
  auto bucket_of = [&](int32_t hour) {
    return FloorDiv(static_cast<int64_t>(hour) * kHourMs, bucket_ms) * bucket_ms;
  };
  std::map<int64_t, Totals> buckets;
  Totals total;
  for (const UsageSeries* s : series) {
    s->ForEachHour([&](const UsageSeries::Hour& h) {
      if (!in_range(h.hour)) return;
      Totals& b = buckets[bucket_of(h.hour)];
      b.uses += h.uses;
      b.credits_spent = SaturatingAdd(b.credits_spent, h.credits_spent);
      total.uses += h.uses;
      total.credits_spent = SaturatingAdd(total.credits_spent, h.credits_spent);
    });
    s->ForEachDenial([&](const UsageSeries::Denial& d) {
      if (!in_range(d.hour)) return;
      buckets[bucket_of(d.hour)].denied[codes_[d.code]] += d.n;
      total.denied[codes_[d.code]] += d.n;
    });
  }
  Json out_buckets = Json::array();
  for (const auto& [start, t] : buckets) {
    Json b = TotalsToJson(t);
    b["start"] = FormatRfc3339Ms(start);
    out_buckets.push_back(std::move(b));
  }
  return Json{{"total", TotalsToJson(total)}, {"buckets", std::move(out_buckets)}};
}

// ---- serialization

std::vector<const Projection::Entry*> Projection::EntriesById() const {
  // Sorting pointers compares ids through two cache misses a comparison;
  // sorting the ids' first 16 bytes (big-endian, so integer order is byte
  // order; zero-padded) next to the pointer needs the ids only on a tie.
  struct Keyed {
    uint64_t head[2];
    const Entry* entry;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(entries_.size());
  for (const Entry& e : entries_) {
    unsigned char bytes[16] = {};
    std::memcpy(bytes, e.state.id.data(), std::min(e.state.id.size(), sizeof(bytes)));
    Keyed k{{0, 0}, &e};
    for (int i = 0; i < 16; ++i) k.head[i / 8] = (k.head[i / 8] << 8) | bytes[i];
    keyed.push_back(k);
  }
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    if (a.head[0] != b.head[0]) return a.head[0] < b.head[0];
    if (a.head[1] != b.head[1]) return a.head[1] < b.head[1];
    return a.entry->state.id < b.entry->state.id;
  });
  std::vector<const Entry*> sorted;
  sorted.reserve(keyed.size());
  for (const Keyed& k : keyed) sorted.push_back(k.entry);
  return sorted;
}

std::string Projection::Digest() const {
  Sha256 sha;
  sha.Update("tokenledger-projection-v1\n");
  sha.Update(std::to_string(last_position_.value()));
  sha.Update("\n");
  // The lines are hashed in large pieces rather than a line at a time.
  CanonicalJsonWriter out(
      256 << 10,
      [](void* sha, std::string_view bytes) { static_cast<Sha256*>(sha)->Update(bytes); }, &sha);
  WriteTokenLines(out);
  out.Flush();
  return sha.HexDigest();
}

void Projection::WriteTokenLines(CanonicalJsonWriter& out) const {
  const std::vector<const Entry*> sorted = EntriesById();
  // In id order the entries are scattered: fetch each one's memory ahead
  // (entry first, then the heap blocks it points to), as the replay does.
  constexpr size_t kAhead = 8;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i + 2 * kAhead < sorted.size()) PrefetchLines(sorted[i + 2 * kAhead], sizeof(Entry));
    if (i + kAhead < sorted.size()) {
      const Entry* ahead = sorted[i + kAhead];
      for (const std::string* s : {&ahead->state.id, &ahead->state.name, &ahead->state.description})
        __builtin_prefetch(s->data());
      __builtin_prefetch(ahead->state.permissions.data());
      if (const void* usage = ahead->usage.prefetch_address()) __builtin_prefetch(usage);
    }
    WriteTokenLine(out, sorted[i]->state, sorted[i]->usage, codes_);
  }
}

Json Projection::ToJson() const {
  const std::vector<const Entry*> sorted = EntriesById();
  Json tokens = Json::array();
  for (const Entry* e : sorted) {
    tokens.push_back(TokenLineToJson(e->state, e->usage, codes_));
  }
  return Json{{"last_position", last_position_.value()}, {"tokens", std::move(tokens)}};
}

Result<Projection> Projection::FromJson(const Json& j) {
  auto corrupt = [](const std::string& what) {
    return MakeError(ErrorCode::kCorruption, "projection state: " + what);
  };
  if (!j.is_object()) return corrupt("expected an object around 'last_position'");
  auto position = j.find("last_position");
  if (position == j.end()) return corrupt("missing 'last_position'");
  if (!position->is_number_unsigned()) {
    return corrupt("'last_position' is not an unsigned integer");
  }
  auto tokens = j.find("tokens");
  if (tokens == j.end()) return corrupt("missing 'tokens'");
  if (!tokens->is_array()) return corrupt("'tokens' is not an array");
  Builder builder{Position(position->get<uint64_t>())};
  for (const Json& tj : *tokens) {
    if (Status added = builder.Add(tj); !added.ok()) return added.error();
  }
  return std::move(builder).Finish();
}

Projection::Builder::Builder(Position last_position) { p_.last_position_ = last_position; }

Status Projection::Builder::Add(const Json& tj) {
  TokenState state;
  UsageSeries usage;
  if (Status read = TokenLineFromJson(
          tj, [this](std::string_view code) { return p_.CodeId(code); }, state, usage);
      !read.ok()) {
    return read;
  }
  return Add(std::move(state), std::move(usage));
}

Status Projection::Builder::Add(TokenState state, UsageSeries usage) {
  // Sorted, unique ids: what ToJson writes, and a cheap duplicate check.
  if (p_.entries_.size() > 0 && !(p_.entries_[p_.entries_.size() - 1].state.id < state.id)) {
    return MakeError(ErrorCode::kCorruption,
                     "projection state: tokens not sorted by unique id at '" + state.id + "'");
  }
  Entry& e = p_.entries_.emplace_back();
  e.state = std::move(state);
  e.usage = std::move(usage);
  return Ok{};
}

Projection Projection::Builder::Finish() && {
  p_.RebuildIndexes();
  return std::move(p_);
}

}  // namespace tl
