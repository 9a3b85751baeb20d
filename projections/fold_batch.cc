#include "projections/fold_batch.h"

#include <functional>
#include <optional>
#include <utility>

#include "projections/created_data.h"
#include "projections/use_data.h"

namespace tl {

uint32_t FoldBatch::AddText(std::string_view s) {
  const auto begin = static_cast<uint32_t>(text_.size());
  text_.append(s);
  return begin;
}

void FoldBatch::Clear() {
  items_.clear();
  text_.clear();
  events_used_ = 0;
  states_used_ = 0;
}

void FoldBatch::Add(Event& e, std::string_view raw_data) {
  Item& item = items_.emplace_back();
  item.position = e.position;
  item.version = e.version;
  item.time_ms = e.time_ms;
  item.id_hash = std::hash<std::string_view>{}(e.token_id);
  item.id_size = static_cast<uint32_t>(e.token_id.size());
  item.id_begin = AddText(e.token_id);

  const bool use = e.type == EventType::kUsed || e.type == EventType::kUseDenied;
  if (use && e.data.is_null()) {
    std::optional<UseData> use_data = ReadCompactUseData(raw_data);
    if (!use_data) {
      e.data = Json::parse(raw_data, nullptr, /*allow_exceptions=*/false);
      if (!e.data.is_object()) {
        item.kind = Item::kBadData;
        return;
      }
      use_data = UseDataOf(e.data);  // its code views e.data: copied below
    }
    item.kind = e.type == EventType::kUsed ? Item::kUsed : Item::kUseDenied;
    item.cost = use_data->cost;
    if (item.kind == Item::kUseDenied) {
      item.code_size = static_cast<uint32_t>(use_data->code.size());
      item.code_begin = AddText(use_data->code);
    }
    return;
  }
  if (e.type == EventType::kCreated) {
    item.kind = Item::kCreated;
    if (states_used_ == states_.size()) states_.emplace_back();
    item.event = static_cast<uint32_t>(states_used_++);
    TokenState& state = states_[item.event];
    if (e.data.is_null()) {  // raw: read straight from the bytes when they are compact
      if (ReadCompactCreated(raw_data, e, state)) return;
      e.data = Json::parse(raw_data, nullptr, /*allow_exceptions=*/false);
      if (!e.data.is_object()) {
        item.kind = Item::kBadData;
        return;
      }
    }
    ReadCreated(e.data, e, state);
    return;
  }
  item.kind = Item::kEvent;
  if (events_used_ == events_.size()) events_.emplace_back();
  item.event = static_cast<uint32_t>(events_used_++);
  std::swap(events_[item.event], e);
}

}  // namespace tl
