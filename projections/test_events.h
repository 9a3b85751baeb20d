#pragma once

// Test-only helper: builds event envelopes by hand with consecutive positions
// and per-stream versions. Hashes are left empty: projections never read them.

#include <cstdint>
#include <map>
#include <string>

#include "events/event.h"
#include "events/time_format.h"

namespace tl::testing {

class EventMaker {
 public:
  Event Make(EventType type, const std::string& token_id, int64_t time_ms, Json data) {
    Event e;
    e.id = "evt_" + std::to_string(next_position_);
    e.type = type;
    e.token_id = token_id;
    e.version = Version(++versions_[token_id]);
    e.position = Position(next_position_++);
    e.time_ms = time_ms;
    e.actor = "system";
    e.data = std::move(data);
    return e;
  }

  Event Created(const std::string& id, int64_t time_ms, Json overrides = Json::object()) {
    Json d = {{"owner", "acme"},
              {"name", "name-" + id},
              {"description", ""},
              {"permissions", Json::array({"read"})},
              {"expires_at", nullptr},
              {"credits", nullptr},
              {"rate_limit", nullptr},
              {"allowed_origins", Json::array()},
              {"allowed_ips", Json::array()},
              {"meta", Json::object()},
              {"prefix", "tl"},
              {"hint", "tl_...abcd"},
              {"secret_digest", "digest-" + id}};
    d.update(overrides);
    return Make(EventType::kCreated, id, time_ms, std::move(d));
  }

  Event Used(const std::string& id, int64_t time_ms, int64_t cost) {
    return Make(EventType::kUsed, id, time_ms,
                {{"cost", cost}, {"permissions", nullptr}, {"origin", nullptr}, {"ip", nullptr}});
  }

  Event Denied(const std::string& id, int64_t time_ms, const std::string& code) {
    return Make(EventType::kUseDenied, id, time_ms,
                {{"code", code}, {"cost", 1}, {"origin", nullptr}, {"ip", nullptr}});
  }

  uint64_t next_position() const { return next_position_; }

 private:
  uint64_t next_position_ = 1;
  std::map<std::string, uint64_t> versions_;
};

// Milliseconds of an RFC 3339 time; aborts the test binary on a typo.
inline int64_t T(const char* rfc3339) {
  auto ms = ParseRfc3339(rfc3339);
  if (!ms) std::abort();
  return *ms;
}

}  // namespace tl::testing
