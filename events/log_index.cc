#include "events/log_index.h"

namespace tl {

Version LogIndex::StreamVersion(std::string_view token_id) const {
  const uint32_t stream = streams_.Find(token_id);
  return stream == 0 ? Version(0) : streams_.version(stream);
}

const KeyedAppend* LogIndex::FindKey(const std::string& key) const {
  auto it = keys_.find(key);
  return it == keys_.end() ? nullptr : &it->second;
}

void LogIndex::RememberKey(const std::string& key, const KeyedAppend& append) {
  keys_.emplace(key, append);
}

void LogIndex::RecoverKey(std::string_view key, Position position, Version version) {
  auto [it, inserted] = keys_.try_emplace(std::string(key));
  if (inserted) it->second.first = position;
  it->second.last = position;
  it->second.stream_version = version;
}

void LogIndex::DropAfter(Position keep) {
  if (locations_.size() > keep.value()) locations_.resize(keep.value());
  streams_.DropAfter(keep);
  std::erase_if(keys_, [&](const auto& kv) { return kv.second.first > keep; });
}

}  // namespace tl
