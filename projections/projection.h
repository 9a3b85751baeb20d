#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "events/event.h"
#include "events/result.h"
#include "projections/block_vector.h"
#include "projections/fold_batch.h"
#include "events/hash_index.h"
#include "projections/token_state.h"
#include "projections/usage_series.h"

namespace tl {

class CanonicalJsonWriter;

struct ListQuery {
  std::optional<std::string> owner;   // only this owner's tokens
  std::optional<TokenStatus> status;  // only tokens with this StatusAt(now)
  size_t limit = 100;                 // 1..1000
  std::string cursor;                 // opaque; empty = first page
};

struct ListPage {
  // Newest first (created_at desc, then id desc). The pointers are valid until
  // the next Apply or assignment to the Projection.
  std::vector<const TokenState*> tokens;
  std::string next_cursor;  // empty when there is no further page
};

struct UsageQuery {
  enum class Bucket { kHour, kDay };
  std::optional<std::string> token_id;  // one token
  std::optional<std::string> owner;     // all tokens of one owner
  // Neither set: every token. A bucket counts when its start hour is in [from, to).
  int64_t from_ms = 0;
  int64_t to_ms = 0;
  Bucket bucket = Bucket::kHour;
};

// The token table and usage counters: a pure fold of the log.
// Not thread-safe: the caller locks. Copyable (a copy is a deep, independent
// state) and movable.
class Projection {
 public:
  Projection() = default;
  Projection(const Projection& other);
  Projection& operator=(const Projection& other);
  Projection(Projection&&) = default;
  Projection& operator=(Projection&&) = default;

  // Folds one event. Events at or before last_position() are ignored, so a
  // replay overlapping a snapshot is harmless.
  // REQUIRES: positions arrive in increasing order.
  void Apply(const Event& e);

  // Apply for an event whose data is still the encoded JSON `data` (e.data
  // is not read): token.used and token.use_denied in the compact form the
  // log holds are folded straight from the bytes; anything else is parsed
  // into e.data and applied. Same result as Apply with the parsed data.
  // Returns false, applying nothing, when `data` is not a JSON object.
  bool ApplyEncoded(Event& e, std::string_view data);

  // Folds batch[0, count): the same as Apply of each event in turn, with the
  // memory of the tokens of upcoming events fetched ahead (the replay's fast
  // path). REQUIRES: no item in [0, count) is kBadData.
  void ApplyBatch(FoldBatch& batch, size_t count);

  Position last_position() const { return last_position_; }
  size_t token_count() const { return entries_.size(); }

  // nullptr when unknown. Pointers are valid until the next Apply or assignment.
  const TokenState* Find(std::string_view id) const;
  // The token whose current secret has `digest`, else the one whose previous
  // secret has it (then *is_previous = true; whether its grace period is over
  // is the caller's business). nullptr when none. `is_previous` may be null.
  const TokenState* FindByDigest(std::string_view digest, bool* is_previous) const;

  // kInvalidArgument (field "limit" or "cursor") for a bad query.
  Result<ListPage> List(const ListQuery& q, int64_t now_ms) const;

  // {"total": {"uses", "credits_spent", "denied": {CODE: n}},
  //  "buckets": [{"start", "uses", "credits_spent", "denied"}]} — only buckets
  // with activity, in time order; day buckets are UTC days.
  Json Usage(const UsageQuery& q) const;

  // SHA-256 hex of a canonical serialization of the whole state (every token
  // field including digests, usage counters, last position). Equal states
  // give equal digests however they were reached.
  std::string Digest() const;

  // The whole state as a deterministic document (digests included: it is
  // meant for local snapshot files). FromJson(ToJson()) has the same Digest().
  // A million tokens make a document of several GB: snapshots stream
  // WriteTokenLines and Builder instead.
  Json ToJson() const;
  // kCorruption when `j` is not a document ToJson could have produced.
  static Result<Projection> FromJson(const Json& j);

  // One line per token, in id order: {"state":S,"usage":U} and '\n', where
  // the line's JSON is the bytes of the token's element of ToJson's "tokens",
  // dumped. Digest() hashes these lines; snapshots store them.
  void WriteTokenLines(CanonicalJsonWriter& out) const;

  // Builds a Projection from the elements of ToJson's "tokens" one at a
  // time, so that loading never holds the whole document.
  class Builder;

 private:
  struct Entry;
  // An entry's reference in the hash indexes and the by-created lists: its
  // number in entries_ + 1. Unlike a pointer it means the same in a copy, so
  // the indexes copy as plain data.
  using Ref = uint32_t;
  struct OwnerEntry {
    std::vector<Ref> by_created;  // sorted by (created_at, id)
    UsageSeries usage;            // the sum over the owner's tokens (codes_ ids)
  };
  struct Entry {
    // Next to the hot head of `state` (see TokenState): what token.used updates.
    UsageSeries usage;  // denial codes are codes_ ids
    OwnerEntry* owner = nullptr;
    TokenState state;
  };
  Entry* EntryAt(Ref ref) const { return const_cast<Entry*>(&entries_[ref - 1]); }
  Ref FindRef(std::string_view id, size_t hash) const;  // 0 when unknown
  Entry* FindEntry(std::string_view id) const;
  void Prefetch(const FoldBatch& batch, size_t i, size_t count) const;
  void AddToken(TokenState&& state);  // a token.created of a new id
  void FoldUsed(Entry* entry, const Event& e, int64_t cost);
  void FoldUseDenied(Entry* entry, const Event& e, std::string_view code);
  void Index(Ref ref);  // adds the entry to every index (its owner must be set)
  void IndexDigests(Ref ref);
  void UnindexDigests(Ref ref);
  void RebuildIndexes();  // REQUIRES: entries_ in id order (as the Builder adds them)
  uint16_t CodeId(std::string_view code);
  std::vector<const Entry*> EntriesById() const;  // the order of Digest and ToJson

  // Tokens are never removed and BlockVector keeps element addresses stable,
  // so the indexes below hold entry numbers and an entry points at its owner.
  BlockVector<Entry> entries_;
  // A replayed event usually costs one cache miss here to find its token.
  HashIndex by_id_;
  // Keyed by StoredDigest::Hash (compared in full on lookup) so the index
  // holds no copy of the digests.
  HashIndex by_digest_;
  std::unordered_map<std::string, OwnerEntry> owners_;
  std::vector<Ref> by_created_;     // every token, sorted by (created_at, id)
  std::vector<std::string> codes_;  // interned denial codes
  Position last_position_;
};

class Projection::Builder {
 public:
  explicit Builder(Position last_position);
  Builder(const Builder&) = delete;
  Builder& operator=(const Builder&) = delete;

  // Adds one token: an element of ToJson's "tokens" (a parsed token line of
  // WriteTokenLines). kCorruption when ToJson could not have written it, or
  // when its id does not sort after the previous token's.
  Status Add(const Json& token);
  // Adds one token read some other way (TokenLineReader), its usage's denial
  // codes being ids from CodeId. kCorruption when its id does not sort after
  // the previous token's.
  Status Add(TokenState state, UsageSeries usage);
  // The id the projection gives a denial code in its usage series.
  uint16_t CodeId(std::string_view code) { return p_.CodeId(code); }
  size_t token_count() const { return p_.token_count(); }
  // The projection with its indexes built. The Builder is spent.
  Projection Finish() &&;

 private:
  Projection p_;
};

}  // namespace tl
