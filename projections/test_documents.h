#pragma once

// Test-only helper: projection documents (Projection::ToJson's form) with
// values no fold of the test logs produces, for tests of what reads and
// writes them.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "events/crypto.h"
#include "events/event.h"

namespace tl::testing {

// Text that needs escaping (quotes, control characters, NUL), multi-byte
// UTF-8, and plain ASCII (events/json_text_test.cc covers each kind), some
// of it longer than a small writer's buffer.
inline const std::vector<std::string> kStrings = {
    "",       "plain", "tl_...abcd",   "with \"quotes\"", "back\\slash",
    "t\tn\n", "\x01\x1f", "del\x7f/", "caf\xc3\xa9",    "emoji \xf0\x9f\x98\x80",
    std::string("nul\0", 4), std::string(300, 'x'), std::string(100, '\x02'),
};

// Snapshot documents with values no fold of the test logs produces: every
// kind of string, extreme and negative numbers, nulls and empties, nested
// metadata, digests that are and are not 64 hex digits, usage at the edges
// of the hour range.
inline Json RandomDocument(std::mt19937_64& rng, size_t tokens) {
  auto pick = [&](size_t k) { return std::uniform_int_distribution<size_t>(0, k - 1)(rng); };
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const std::vector<int64_t> ints = {0, 1, -1, 42, -3'600'000, 1'767'225'600'000, kMin, kMax};
  const std::vector<uint64_t> uints = {0, 1, 7, uint64_t{1} << 63,
                                       std::numeric_limits<uint64_t>::max()};
  const std::vector<int64_t> hours = {std::numeric_limits<int32_t>::min(), -1, 0, 1, 490'000,
                                      std::numeric_limits<int32_t>::max()};
  const std::vector<uint32_t> counts = {0, 1, 9, std::numeric_limits<uint32_t>::max()};
  // Credits spent add up per hour and per owner (as int64, which must not
  // overflow), so they stay well inside the range.
  const std::vector<int64_t> hour_credits = {0, 1, -1, 1'000'000'000'000'000, -3};
  const std::vector<Json> metas = {
      Json::object(),
      {{"team", "core"}},
      {{"nested", {{"x", Json::array({1, 2.5, nullptr, true, "\xc3\xbc"})}}}, {"\xc3\x9f", "\n"}},
      {{"big", std::numeric_limits<uint64_t>::max()}, {"neg", kMin}, {"f", 1e300}, {"e", ""}},
  };
  auto str = [&] { return kStrings[pick(kStrings.size())]; };
  auto strings = [&] {
    Json a = Json::array();
    for (size_t n = pick(4); n > 0; --n) a.push_back(str());
    return a;
  };
  auto digest = [&]() -> std::string {
    switch (pick(3)) {
      case 0:
        return "";
      case 1:
        return Sha256Hex(std::to_string(rng()));
      default:
        return str() + "d";
    }
  };
  auto optional_int = [&] { return pick(2) ? Json(nullptr) : Json(ints[pick(ints.size())]); };
  auto any_int = [&] { return ints[pick(ints.size())]; };

  std::vector<std::string> ids;
  for (size_t i = 0; i < tokens; ++i) ids.push_back(str() + std::to_string(i));
  std::sort(ids.begin(), ids.end());
  Json docs = Json::array();
  for (const std::string& id : ids) {
    Json credits = nullptr;
    if (pick(2)) {
      Json refill = pick(2) ? Json(nullptr)
                            : Json{{"amount", any_int()}, {"interval", pick(2) ? "day" : "month"}};
      credits = {{"remaining", any_int()}, {"refill", refill}, {"period_start_ms", any_int()}};
    }
    Json rate = pick(2) ? Json(nullptr) : Json{{"limit", any_int()}, {"window_ms", any_int()}};
    std::vector<int64_t> recent;
    for (size_t n = pick(4); n > 0; --n) recent.push_back(any_int());
    std::sort(recent.begin(), recent.end());
    Json state = {{"id", id},
                  {"owner", str()},
                  {"name", str()},
                  {"description", str()},
                  {"permissions", strings()},
                  {"revoked", pick(2) == 0},
                  {"created_at_ms", any_int()},
                  {"updated_at_ms", any_int()},
                  {"last_used_at_ms", optional_int()},
                  {"expires_at_ms", optional_int()},
                  {"allowed_origins", strings()},
                  {"allowed_ips", strings()},
                  {"rate_limit", rate},
                  {"credits", credits},
                  {"meta", metas[pick(metas.size())]},
                  {"prefix", str()},
                  {"hint", str()},
                  {"secret_digest", digest()},
                  {"previous_digest", digest()},
                  {"previous_valid_until_ms", any_int()},
                  {"version", uints[pick(uints.size())]},
                  {"stream_version", uints[pick(uints.size())]},
                  {"recent_uses", recent}};
    Json hour_rows = Json::array();
    Json denied_rows = Json::array();
    for (size_t n = pick(5); n > 0; --n) {
      hour_rows.push_back({hours[pick(hours.size())] * 3'600'000, counts[pick(counts.size())],
                           hour_credits[pick(hour_credits.size())]});
    }
    for (size_t n = pick(5); n > 0; --n) {
      denied_rows.push_back(
          {hours[pick(hours.size())] * 3'600'000, str() + "CODE", counts[pick(counts.size())]});
    }
    docs.push_back(
        {{"state", std::move(state)}, {"usage", {{"hours", hour_rows}, {"denied", denied_rows}}}});
  }
  return {{"last_position", uints[pick(uints.size())]}, {"tokens", std::move(docs)}};
}

}  // namespace tl::testing
