#pragma once

// Test-only helper: builds event envelopes by hand with consecutive positions
// and per-stream versions. Hashes are left empty: projections never read them.

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

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

// A random but plausible log: tokens of four owners created over time, with
// uses, denials, updates, regenerations, adjustments and revocations.
inline std::vector<Event> RandomEvents(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  EventMaker m;
  std::vector<Event> out;
  std::vector<std::string> ids;
  int64_t now = T("2026-01-30T20:00:00Z");
  static const char* kCodes[] = {"REVOKED", "EXPIRED", "RATE_LIMITED", "USAGE_EXCEEDED",
                                 "FORBIDDEN"};
  auto pick = [&](size_t k) { return std::uniform_int_distribution<size_t>(0, k - 1)(rng); };
  while (out.size() < n) {
    now += static_cast<int64_t>(pick(40 * 60 * 1000));  // up to 40 minutes: crosses days and months
    if (ids.empty() || pick(20) == 0) {
      std::string id = "tok_" + std::to_string(ids.size());
      Json credits = nullptr;
      if (pick(3) != 0) {
        Json refill =
            pick(2) ? Json(nullptr)
                    : Json{{"amount", 50 + pick(50)}, {"interval", pick(2) ? "day" : "month"}};
        credits = {{"remaining", pick(100)}, {"refill", refill}};
      }
      Json rate = pick(2) ? Json(nullptr) : Json{{"limit", 5}, {"window_ms", 1 + pick(3'600'000)}};
      out.push_back(m.Created(id, now,
                              {{"owner", "owner" + std::to_string(pick(4))},
                               {"credits", credits},
                               {"rate_limit", rate},
                               {"meta", {{"n", pick(10)}}}}));
      ids.push_back(id);
      continue;
    }
    const std::string& id = ids[pick(ids.size())];
    switch (pick(12)) {
      case 0:
        out.push_back(
            m.Make(EventType::kUpdated, id, now,
                   {{"name", "n" + std::to_string(pick(1000))},
                    {"refill", pick(2) ? Json(nullptr) : Json{{"amount", 7}, {"interval", "day"}}},
                    {"expires_at", pick(2) ? Json(nullptr) : Json(FormatRfc3339Ms(now + 1000))}}));
        break;
      case 1:
        out.push_back(m.Make(
            EventType::kPermissionsChanged, id, now,
            {{"permissions", {"p" + std::to_string(pick(5))}}, {"previous", Json::array()}}));
        break;
      case 2:
        out.push_back(m.Make(EventType::kRegenerated, id, now,
                             {{"secret_digest", "d" + std::to_string(out.size())},
                              {"hint", "h"},
                              {"previous_valid_until", FormatRfc3339Ms(now + 60000)}}));
        break;
      case 3:
        out.push_back(m.Denied(id, now, kCodes[pick(5)]));
        break;
      case 4:
        out.push_back(
            m.Make(EventType::kCreditsAdjusted, id, now, {{"set", 5}, {"balance", pick(30)}}));
        break;
      case 5:
        if (pick(5) == 0) {
          out.push_back(m.Make(EventType::kRevoked, id, now, {{"reason", "r"}}));
          break;
        }
        [[fallthrough]];
      default:
        out.push_back(m.Used(id, now, static_cast<int64_t>(pick(8))));
        break;
    }
  }
  return out;
}

}  // namespace tl::testing
