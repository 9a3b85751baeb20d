// ReplayLog reads the log on one thread and folds on another (label
// "concurrent": also run under ThreadSanitizer). Whatever the batching, the
// result must be Apply of the same events, limits must stop at the exact
// event, and damage must be reported only if a single pass would reach it.

#include "projections/replay.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "events/log_format.h"
#include "events/log_scan.h"
#include "events/log_test_util.h"
#include "projections/test_events.h"

namespace tl {
namespace {

using testing::AlterEventData;
using testing::EventMaker;
using testing::TempDir;

constexpr int64_t kStart = 1'767'225'600'000;  // 2026-01-01

// A varied log: creations, uses in and out of time order within an hour,
// denials, updates, regenerations, credits, revocations, repeated creations.
std::vector<Event> MakeEvents(int count) {
  EventMaker m;
  std::mt19937 rng(7);
  std::vector<Event> events;
  std::vector<std::string> ids;
  int64_t t = kStart;
  while (static_cast<int>(events.size()) < count) {
    t += rng() % 400'000;
    const int roll = static_cast<int>(rng() % 100);
    if (ids.empty() || roll < 5) {
      ids.push_back("tok_" + std::to_string(ids.size()));
      events.push_back(m.Created(
          ids.back(), t,
          {{"owner", "org-" + std::to_string(rng() % 3)},
           {"credits", rng() % 2 ? Json(nullptr) : Json{{"remaining", 50}, {"refill", nullptr}}},
           {"rate_limit", rng() % 2 ? Json(nullptr) : Json{{"limit", 5}, {"window_ms", 60'000}}}}));
      continue;
    }
    const std::string& id = ids[rng() % ids.size()];
    if (roll < 80) {
      events.push_back(m.Used(id, t - static_cast<int64_t>(rng() % 3) * 1'000'000,
                              static_cast<int64_t>(rng() % 4)));
    } else if (roll < 90) {
      events.push_back(m.Denied(id, t, rng() % 2 ? "RATE_LIMITED" : "EXPIRED"));
    } else if (roll < 93) {
      events.push_back(m.Make(EventType::kUpdated, id, t, {{"name", "n" + std::to_string(t)}}));
    } else if (roll < 96) {
      events.push_back(m.Make(EventType::kRegenerated, id, t,
                              {{"secret_digest", "d" + std::to_string(t)}, {"hint", "h"}}));
    } else if (roll < 98) {
      events.push_back(m.Make(EventType::kCreditsAdjusted, id, t, {{"balance", 7}}));
    } else if (roll < 99) {
      events.push_back(m.Make(EventType::kRevoked, id, t, {{"reason", "r"}}));
    } else {
      events.push_back(m.Created(id, t));  // a second creation: ignored by the fold
    }
  }
  return events;
}

// Writes `events` as a log of segments of `per_segment` records each, hashes
// chained, as the log would.
void WriteLog(const std::string& dir, std::vector<Event>& events, size_t per_segment) {
  std::filesystem::create_directories(dir);
  std::string prev = kGenesisHash;
  std::string bytes;
  Position first;
  auto flush = [&] {
    if (bytes.empty()) return;
    std::ofstream(dir + "/" + logfmt::SegmentFileName(first), std::ios::binary)
        << logfmt::EncodeSegmentHeader(first) << bytes;
    bytes.clear();
  };
  for (size_t i = 0; i < events.size(); ++i) {
    Event& e = events[i];
    if (i % per_segment == 0) {
      flush();
      first = e.position;
    }
    e.prev_hash = prev;
    e.hash = ComputeHash(e);
    prev = e.hash;
    std::string record;
    ASSERT_TRUE(logfmt::AppendRecord(e, "", record));
    bytes += record;
  }
  flush();
}

std::string DigestOfApply(const std::vector<Event>& events, size_t count) {
  Projection p;
  for (size_t i = 0; i < count; ++i) p.Apply(events[i]);
  return p.Digest();
}

TEST(ReplayTest, EqualsApplyAcrossBatchesAndSegments) {
  TempDir dir;
  std::vector<Event> events = MakeEvents(20'000);
  WriteLog(dir.path(), events, 3'000);
  Projection p;
  auto last = ReplayLog(dir.path(), p);
  ASSERT_TRUE(last.ok()) << last.error().message;
  EXPECT_EQ(*last, events.back().position);
  EXPECT_EQ(p.Digest(), DigestOfApply(events, events.size()));
}

TEST(ReplayTest, ContinuesAfterAStateItAlreadyHas) {
  TempDir dir;
  std::vector<Event> events = MakeEvents(9'000);
  WriteLog(dir.path(), events, 4'000);
  Projection p;
  for (size_t i = 0; i < 5'555; ++i) p.Apply(events[i]);
  auto last = ReplayLog(dir.path(), p);
  ASSERT_TRUE(last.ok()) << last.error().message;
  EXPECT_EQ(p.Digest(), DigestOfApply(events, events.size()));
}

TEST(ReplayTest, LimitsStopAtTheExactEvent) {
  TempDir dir;
  std::vector<Event> events = MakeEvents(10'000);
  WriteLog(dir.path(), events, 2'500);
  for (size_t until : {1, 2047, 2048, 2049, 2500, 7777, 9999}) {
    SCOPED_TRACE(until);
    Projection p;
    auto last = ReplayLog(dir.path(), p, ReplayLimit{.until = Position(until)});
    ASSERT_TRUE(last.ok()) << last.error().message;
    EXPECT_EQ(*last, Position(until));
    EXPECT_EQ(p.Digest(), DigestOfApply(events, until));

    // The first event later than event `until`'s time ends a time limit.
    const int64_t time = events[until - 1].time_ms;
    size_t n = 0;
    while (n < events.size() && events[n].time_ms <= time) ++n;
    Projection q;
    ASSERT_TRUE(ReplayLog(dir.path(), q, ReplayLimit{.until_time_ms = time}).ok());
    EXPECT_EQ(q.Digest(), DigestOfApply(events, n));
  }
}

TEST(ReplayTest, ATornTailIsLeftOutAndReportedWhenReached) {
  TempDir dir;
  std::vector<Event> events = MakeEvents(300);
  WriteLog(dir.path(), events, 1'000);
  std::vector<std::string> warnings;
  auto warn = [&](std::string_view w) { warnings.emplace_back(w); };
  Projection intact;
  ASSERT_TRUE(ReplayLog(dir.path(), intact, {}, {.warn = warn}).ok());
  EXPECT_TRUE(warnings.empty());

  // The last record loses its last 5 bytes, as a crash mid-write leaves it.
  const std::string seg = dir.path() + "/" + logfmt::SegmentFileName(Position(1));
  std::filesystem::resize_file(seg, std::filesystem::file_size(seg) - 5);
  Projection p;
  auto last = ReplayLog(dir.path(), p, {}, {.warn = warn});
  ASSERT_TRUE(last.ok()) << last.error().message;
  EXPECT_EQ(*last, Position(299));
  EXPECT_EQ(p.Digest(), DigestOfApply(events, 299));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("after position 299"), std::string::npos) << warnings[0];

  // A replay that stops before it never got there: nothing to report.
  warnings.clear();
  Projection limited;
  ASSERT_TRUE(ReplayLog(dir.path(), limited, ReplayLimit{.until = Position(100)}, {.warn = warn}).ok());
  EXPECT_TRUE(warnings.empty());
}

// An event altered on disk with fresh CRCs but its old hash: folded by a
// replay that trusts the CRCs, refused by one that verifies hashes, whether
// the batch decodes the event itself (token.used) or through JSON.
TEST(ReplayTest, VerifyingHashesRefusesAnAlteredEvent) {
  std::vector<Event> events = MakeEvents(300);
  for (EventType type : {EventType::kUsed, EventType::kUpdated}) {
    SCOPED_TRACE(EventTypeName(type));
    TempDir dir;
    std::vector<Event> copy = events;
    WriteLog(dir.path(), copy, 1'000);
    auto it = std::find_if(copy.begin() + 100, copy.end(), [&](const Event& e) {
      return e.type == type && (type != EventType::kUsed || e.data["cost"] == 1);
    });
    ASSERT_NE(it, copy.end());
    ASSERT_TRUE(AlterEventData(dir.path(), it->position, [&](Json& data) {
      if (type == EventType::kUsed) {
        data["cost"] = 3;
      } else {
        std::string& name = data["name"].get_ref<std::string&>();
        name.back() = name.back() == '0' ? '1' : '0';
      }
    }));
    Projection trusting;
    ASSERT_TRUE(ReplayLog(dir.path(), trusting).ok());
    EXPECT_NE(trusting.Digest(), DigestOfApply(copy, copy.size()));

    Projection verifying;
    auto refused = ReplayLog(dir.path(), verifying, {}, {.verify_hashes = true});
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("position " + std::to_string(it->position.value())),
              std::string::npos)
        << refused.error().message;
    EXPECT_NE(refused.error().message.find("hash mismatch"), std::string::npos);
    EXPECT_EQ(verifying.last_position().value(), it->position.value() - 1);
  }
}

TEST(ReplayTest, DamageIsReportedOnlyWhereASinglePassWouldReachIt) {
  TempDir dir;
  std::vector<Event> events = MakeEvents(10'000);
  WriteLog(dir.path(), events, 5'000);
  // Flip a byte inside the record of position 3001 (first segment, not last).
  const std::string seg = dir.path() + "/" + logfmt::SegmentFileName(Position(1));
  uint64_t offset = 0;
  {
    ASSERT_TRUE(ScanLog(dir.path(), {}, [&](const ScannedRecord& r) {
                  if (r.event.position == Position(3001)) offset = r.offset;
                  return r.event.position < Position(3001);
                }).ok());
  }
  ASSERT_GT(offset, 0u);
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset + logfmt::kRecordHeaderSize + 30));
    f.put('\x7f');
  }
  Projection whole;
  auto failed = ReplayLog(dir.path(), whole);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kCorruption);
  EXPECT_NE(failed.error().message.find("position 3001"), std::string::npos)
      << failed.error().message;
  EXPECT_EQ(whole.last_position(), Position(3000));  // folded up to the damage

  Projection limited;
  auto last = ReplayLog(dir.path(), limited, ReplayLimit{.until = Position(2999)});
  ASSERT_TRUE(last.ok()) << last.error().message;
  EXPECT_EQ(limited.Digest(), DigestOfApply(events, 2999));
}

TEST(ReplayTest, DataThatIsNotAnObjectStopsTheReplayUnlessPastTheLimit) {
  TempDir dir;
  std::vector<Event> events = MakeEvents(6'000);
  const uint64_t bad = 4'321;
  // CRCs and chain intact, but the data is an array: the log is damaged.
  events[bad - 1].type = EventType::kUsed;
  events[bad - 1].data = Json::array({1, 2});
  WriteLog(dir.path(), events, 10'000);
  Projection p;
  auto failed = ReplayLog(dir.path(), p);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message,
            "log damaged at position 4321: record does not decode (its data is not a JSON object)");
  Projection q;
  auto last = ReplayLog(dir.path(), q, ReplayLimit{.until = Position(bad - 1)});
  ASSERT_TRUE(last.ok()) << last.error().message;
  EXPECT_EQ(q.Digest(), DigestOfApply(events, bad - 1));
}

}  // namespace
}  // namespace tl
