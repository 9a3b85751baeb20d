#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "events/event.h"
#include "projections/token_state.h"

namespace tl {

// A run of log events decoded for Projection::ApplyBatch. The replay fills
// one on its reading thread (everything that needs no projection state:
// decoding token.used data, parsing other events' JSON, building created
// tokens, hashing token ids)
// while the projection folds the previous one; the fold then knows every id
// of the batch ahead and fetches their entries from memory in parallel.
// Reused from batch to batch: clearing keeps the buffers.
class FoldBatch {
 public:
  struct Item {
    enum Kind : uint8_t {
      kUsed,       // token.used: `cost` decoded
      kUseDenied,  // token.use_denied: its code is text(code_*)
      kCreated,    // token.created: the new token's state is built (TakeState)
      kEvent,      // anything else: EventOf(item), data parsed
      kBadData,    // data that is not a JSON object: the log is damaged here
    };
    Kind kind;
    Position position;
    Version version;
    int64_t time_ms = 0;
    size_t id_hash = 0;  // std::hash of the token id
    uint32_t id_begin = 0, id_size = 0;
    uint32_t code_begin = 0, code_size = 0;
    int64_t cost = 0;
    uint32_t event = 0;  // kEvent: index into events_; kCreated: into states_
  };

  // Appends the scanned `e`. Its data is either parsed already, or null with
  // `raw_data` the encoded data of a token.used / token.use_denied /
  // token.created (read by ReadCompactUseData / ReadCompactCreated, or parsed
  // when they are not in the compact form). May swap
  // `e` with a spare Event (so both sides keep their buffers).
  void Add(Event& e, std::string_view raw_data);
  void Clear();

  size_t size() const { return items_.size(); }
  const Item& operator[](size_t i) const { return items_[i]; }
  std::string_view TokenId(const Item& item) const {
    return std::string_view(text_).substr(item.id_begin, item.id_size);
  }
  std::string_view Code(const Item& item) const {
    return std::string_view(text_).substr(item.code_begin, item.code_size);
  }
  const Event& EventOf(const Item& item) const { return events_[item.event]; }
  // A kCreated item's token as ApplyToToken makes it from the event: built
  // here, on the reading thread, since it depends on nothing else.
  TokenState TakeState(const Item& item) { return std::move(states_[item.event]); }

 private:
  uint32_t AddText(std::string_view s);

  std::vector<Item> items_;
  std::string text_;           // token ids and denial codes, back to back
  std::vector<Event> events_;  // [0, events_used_) belong to kEvent items
  size_t events_used_ = 0;
  std::vector<TokenState> states_;  // [0, states_used_) belong to kCreated items
  size_t states_used_ = 0;
};

}  // namespace tl
