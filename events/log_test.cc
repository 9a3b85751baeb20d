#include "events/log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "events/crypto.h"
#include "events/file_util.h"
#include "events/log_format.h"
#include "events/log_scan.h"
#include "events/log_test_util.h"

namespace tl {
namespace {

using testing::TempDir;
using testing::UseRequest;
namespace fs = std::filesystem;

std::unique_ptr<EventLog> OpenOrDie(const std::string& dir, LogOptions o = {}) {
  auto log = EventLog::Open(dir, std::move(o));
  EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().message);
  return log.ok() ? std::move(log).value() : nullptr;
}

// Reads go through a window of each segment: runs far longer than the
// window, records longer than its tail, several segments, and positions
// scattered over them (a stream) must all read back exactly as written.
TEST(EventLog, ReadsThroughTheWindowWhateverTheLayout) {
  TempDir dir;
  LogOptions o;
  o.max_segment_bytes = 1 << 20;
  auto log = OpenOrDie(dir.path(), o);
  std::vector<Event> written;
  std::mt19937 rng(11);
  for (int i = 0; i < 3000; ++i) {
    AppendRequest r = UseRequest("tok_" + std::to_string(i % 7), 1000 + i, i);
    // Mostly small records; now and then one over the 4 KiB tail (up to 40 KiB).
    const size_t pad = rng() % 10 == 0 ? 4000 + rng() % 36000 : rng() % 200;
    r.events[0].second["pad"] = std::string(pad, static_cast<char>('a' + i % 26));
    auto res = log->Append(std::move(r));
    ASSERT_TRUE(res.ok());
    for (auto& e : res->events) written.push_back(e);
  }
  ASSERT_GT(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 3);
  EXPECT_EQ(log->Read(Position(1), written.size()), written);
  EXPECT_EQ(log->Read(Position(1234), 5),
            std::vector<Event>(written.begin() + 1233, written.begin() + 1238));
  std::vector<Event> stream;
  for (const Event& e : written) {
    if (e.token_id == "tok_4") stream.push_back(e);
  }
  EXPECT_EQ(log->ReadStream("tok_4", Version(0), SIZE_MAX), stream);
}

TEST(EventLog, AppendsReopensAndReadsBackEveryField) {
  TempDir dir;
  std::vector<Event> written;
  {
    auto log = OpenOrDie(dir.path());
    for (int i = 0; i < 50; ++i) {
      AppendRequest r = UseRequest("tok_" + std::to_string(i % 5), 1000 + i, i);
      r.events.emplace_back(EventType::kUseDenied, Json{{"code", "FORBIDDEN"}, {"n", i}});
      auto res = log->Append(std::move(r));
      ASSERT_TRUE(res.ok());
      EXPECT_EQ(res->first.value(), 2u * i + 1);
      EXPECT_EQ(res->last.value(), 2u * i + 2);
      for (auto& e : res->events) written.push_back(e);
    }
    EXPECT_EQ(log->DurablePosition().value(), 100u);
    EXPECT_EQ(log->Read(Position(1), 1000), written);
  }
  auto log = OpenOrDie(dir.path());
  EXPECT_EQ(log->Read(Position(1), 1000), written);
  EXPECT_EQ(log->Read(Position(99), 10).size(), 2u);
  EXPECT_EQ(log->StreamVersion("tok_3"), Version(20));
  auto stream = log->ReadStream("tok_3", Version(18), 10);
  ASSERT_EQ(stream.size(), 2u);
  EXPECT_EQ(stream[0].version, Version(19));
  EXPECT_EQ(stream[0].token_id, "tok_3");
  // The chain links every event to the one before it.
  for (size_t i = 1; i < written.size(); ++i) EXPECT_EQ(written[i].prev_hash, written[i - 1].hash);
  EXPECT_EQ(written[0].prev_hash, kGenesisHash);
  EXPECT_EQ(written[7].hash, ComputeHash(written[7]));
  // And appends continue the chain after a reopen.
  auto more = log->Append(UseRequest("tok_1", 5000));
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(more->first.value(), 101u);
  EXPECT_EQ(more->events[0].prev_hash, written.back().hash);
  // Ids: "evt_", the time in at least 12 hex digits, the position in 16, so
  // they sort by time and then position.
  EXPECT_EQ(written[0].id, "evt_0000000003e80000000000000001");
  EXPECT_EQ(more->events[0].id, "evt_000000001388" "0000000000000065");
  auto dated = log->Append(UseRequest("tok_1", 1'767'225'600'000));
  ASSERT_TRUE(dated.ok());
  EXPECT_EQ(dated->events[0].id, "evt_019b76daa800" "0000000000000066");
  // Verifying decodes the data the hash covers, even when the caller asked
  // for envelopes only (`log verify` once failed every log that way).
  auto verified = ScanLog(dir.path(), {.parse_data = false, .verify_hashes = true},
                          [](const ScannedRecord&) { return true; });
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(verified->events, 102u);
}

TEST(EventLog, BytesOfKnownAppendsNeverChange) {
  // Every byte Stage writes (ids, times, the canonical bytes the hashes
  // cover, the hashes, the framing and CRCs, idempotency keys, several events
  // in one append, strings that need escaping), pinned as the SHA-256 of the
  // segment file: an optimisation of the append path must leave it as is,
  // since existing logs' chains and the replay digest depend on these bytes.
  TempDir dir;
  std::vector<std::string> hashes;
  {
    auto log = OpenOrDie(dir.path());
    auto first = log->Append(UseRequest("tok_pinned", 1'767'225'600'123, 7));
    ASSERT_TRUE(first.ok());
    AppendRequest r;
    r.token_id = "tok_pinned";
    r.expected_version = Version(1);
    r.idempotency_key = "key-1";
    r.time_ms = 1'767'225'600'000;  // earlier than the last event: raised to it
    r.actor = "tok_actor";
    r.events.emplace_back(EventType::kUsed,
                          Json{{"cost", 1},
                               {"permissions", Json::array({"read:orders", "w\"q"})},
                               {"origin", "caf\xc3\xa9\n"},
                               {"ip", "10.0.0.1"}});
    r.events.emplace_back(EventType::kCreditsAdjusted, Json{{"delta", -5}, {"f", 0.25}});
    auto second = log->Append(std::move(r));
    ASSERT_TRUE(second.ok());
    for (const Event& e : first->events) hashes.push_back(e.hash);
    for (const Event& e : second->events) hashes.push_back(e.hash);
  }
  EXPECT_EQ(hashes, (std::vector<std::string>{
                        "b07e2ca842789ac3360f9fc271b4a66a5284596cfa86b4667e0a2932ea5a8388",
                        "b4c0621f2cd3af1b179923c9b042e660e121ad2df1b19af90daa456b8c3d83b2",
                        "688d1ebf7c2584ebcb7a30b403626d566b16f8a9a0e68fb2c694f78d5237bd48",
                    }));
  auto bytes = ReadWholeFile(dir.path() + "/" + logfmt::SegmentFileName(Position(1)));
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), 678u);
  EXPECT_EQ(Sha256Hex(*bytes), "39ec2c3f4f91db13c85d0441ead0242ef2d4cf3409a8f6b8f07a5f466cae5079");
}

TEST(EventLog, ExpectedVersionConflictWritesNothing) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  AppendRequest create = UseRequest("tok_a", 1);
  create.expected_version = Version(0);
  ASSERT_TRUE(log->Append(create).ok());
  auto again = log->Append(create);  // the stream exists now
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  AppendRequest stale = UseRequest("tok_a", 2);
  stale.expected_version = Version(5);
  EXPECT_EQ(log->Append(stale).error().code, ErrorCode::kConflict);
  EXPECT_EQ(log->LastStagedPosition(), Position(1));
  AppendRequest right = UseRequest("tok_a", 3);
  right.expected_version = Version(1);
  auto ok = log->Append(right);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->stream_version, Version(2));
  EXPECT_EQ(log->Counters().events, 2u);
}

TEST(EventLog, IdempotencyKeyRepeatReturnsFirstResultAcrossRestarts) {
  TempDir dir;
  Position first;
  {
    auto log = OpenOrDie(dir.path());
    AppendRequest r = UseRequest("tok_a", 1);
    r.idempotency_key = "key-1";
    auto a = log->Append(r);
    ASSERT_TRUE(a.ok());
    EXPECT_FALSE(a->duplicate);
    first = a->first;
    ASSERT_TRUE(log->Append(UseRequest("tok_b", 2)).ok());
    auto b = log->Append(r);
    ASSERT_TRUE(b.ok());
    EXPECT_TRUE(b->duplicate);
    EXPECT_EQ(b->first, first);
    EXPECT_TRUE(b->events.empty());
    EXPECT_EQ(log->LastStagedPosition(), Position(2));
  }
  auto log = OpenOrDie(dir.path());
  AppendRequest r = UseRequest("tok_a", 1);
  r.idempotency_key = "key-1";
  auto c = log->Append(r);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->duplicate);
  EXPECT_EQ(c->first, first);
  EXPECT_EQ(log->LastStagedPosition(), Position(2));
}

TEST(EventLog, RejectsBadRequestsWithoutWriting) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  AppendRequest empty_token = UseRequest("", 1);
  EXPECT_EQ(log->Append(empty_token).error().code, ErrorCode::kInvalidArgument);
  AppendRequest not_object = UseRequest("tok", 1);
  not_object.events[0].second = Json::array();
  EXPECT_EQ(log->Append(not_object).error().code, ErrorCode::kInvalidArgument);
  AppendRequest huge = UseRequest("tok", 1);
  huge.events[0].second = Json{{"blob", std::string(2 << 20, 'x')}};
  EXPECT_EQ(log->Append(huge).error().field, "data");
  EXPECT_EQ(log->LastStagedPosition(), Position(0));
}

// 16 writers append concurrently; every acknowledged append is durable, the
// positions are gapless, each writer's events keep their order, the chain
// verifies, and a reopened log reads every event back.
void ConcurrentWritersShareFsyncs(const LogOptions& options) {
  TempDir dir;
  constexpr int kWriters = 16, kEach = 300;
  {
    auto log = OpenOrDie(dir.path(), options);
    std::vector<std::vector<Position>> got(kWriters);
    std::vector<std::thread> threads;
    for (int w = 0; w < kWriters; ++w) {
      threads.emplace_back([&, w] {
        for (int i = 0; i < kEach; ++i) {
          auto r = log->Append(UseRequest("tok_" + std::to_string(w), i));
          ASSERT_TRUE(r.ok());
          // Acknowledged means durable.
          EXPECT_GE(log->DurablePosition(), r->last);
          got[w].push_back(r->last);
        }
      });
    }
    for (auto& t : threads) t.join();
    std::set<uint64_t> all;
    for (auto& v : got) {
      for (size_t i = 1; i < v.size(); ++i) EXPECT_LT(v[i - 1], v[i]);  // per-writer order
      for (Position p : v) all.insert(p.value());
    }
    ASSERT_EQ(all.size(), size_t{kWriters * kEach});
    EXPECT_EQ(*all.begin(), 1u);
    EXPECT_EQ(*all.rbegin(), uint64_t{kWriters * kEach});  // gapless
    LogCounters c = log->Counters();
    EXPECT_LT(c.fsyncs, c.events) << "appends did not share fsyncs";
    for (int w = 0; w < kWriters; ++w) {
      EXPECT_EQ(log->StreamVersion("tok_" + std::to_string(w)), Version(kEach));
    }
    EXPECT_EQ(log->Read(Position(1), 100000).size(), size_t{kWriters * kEach});
  }
  auto verified =
      ScanLog(dir.path(), {.verify_hashes = true}, [](const ScannedRecord&) { return true; });
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(verified->events, uint64_t{kWriters * kEach});
  auto reopened = OpenOrDie(dir.path(), options);
  auto events = reopened->Read(Position(1), 100000);
  ASSERT_EQ(events.size(), size_t{kWriters * kEach});
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].position, Position(i + 1));
}

TEST(EventLog, GroupCommitSixteenWritersShareFsyncs) { ConcurrentWritersShareFsyncs({}); }

TEST(EventLog, GroupCommitOneRoundAtATime) {
  ConcurrentWritersShareFsyncs(LogOptions{.max_syncs_in_flight = 1});
}

TEST(EventLog, GroupCommitOverlappingRoundsAcrossSegmentRolls) {
  // Rounds overlap while segments roll every few records: a round that
  // starts a new segment must not close a descriptor an earlier round is
  // still syncing, and nothing may be acknowledged before its bytes (and
  // the older segment's) are durable.
  ConcurrentWritersShareFsyncs(LogOptions{.max_segment_bytes = 4096, .max_syncs_in_flight = 3});
}

TEST(EventLog, RollsSegmentsAndReadsAcrossThem) {
  TempDir dir;
  {
    auto log = OpenOrDie(dir.path(), LogOptions{.max_segment_bytes = 4096});
    for (int i = 0; i < 300; ++i) ASSERT_TRUE(log->Append(UseRequest("tok_x", i)).ok());
    EXPECT_GT(log->Counters().segments, 5u);
  }
  auto log = OpenOrDie(dir.path(), LogOptions{.max_segment_bytes = 4096});
  auto all = log->Read(Position(1), 1000);
  ASSERT_EQ(all.size(), 300u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].position.value(), i + 1);
  EXPECT_EQ(log->ReadStream("tok_x", Version(0), 1000).size(), 300u);
  ASSERT_TRUE(log->Append(UseRequest("tok_x", 999)).ok());
  EXPECT_EQ(log->Read(Position(301), 5).at(0).version, Version(301));
}

TEST(EventLog, WaitForNewWakesOnDurableAppend) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  EXPECT_EQ(log->WaitForNew(Position(0), std::chrono::milliseconds(1)), Position(0));
  std::thread writer([&] { ASSERT_TRUE(log->Append(UseRequest("tok", 1)).ok()); });
  Position p = log->WaitForNew(Position(0), std::chrono::seconds(10));
  writer.join();
  EXPECT_EQ(p, Position(1));
}

TEST(EventLog, AppendVerbatimCopiesAChainAndRefusesATamperedOne) {
  TempDir a, b, c;
  std::vector<Event> events;
  {
    auto src = OpenOrDie(a.path());
    for (int i = 0; i < 20; ++i)
      ASSERT_TRUE(src->Append(UseRequest("tok_" + std::to_string(i % 3), i)).ok());
    events = src->Read(Position(1), 100);
  }
  {
    auto copy = OpenOrDie(b.path());
    ASSERT_TRUE(copy->AppendVerbatim(events).ok());
    EXPECT_EQ(copy->Read(Position(1), 100), events);
  }
  auto copy = OpenOrDie(b.path());  // survives a reopen
  EXPECT_EQ(copy->Read(Position(1), 100), events);

  auto target = OpenOrDie(c.path());
  std::vector<Event> tampered = events;
  tampered[5].data["cost"] = 1000;
  auto bad = target->AppendVerbatim(tampered);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("position 6"), std::string::npos) << bad.error().message;
  EXPECT_EQ(target->LastStagedPosition(), Position(0));
}

// Pairs of token ids starting with `prefix` whose hashes have equal low 32
// bits (all the stream index's slots keep of a hash): found by brute force,
// so only the ids themselves can tell the streams apart.
std::vector<std::string> IdsWithEqualLowHashBits(const std::string& prefix, size_t pairs) {
  std::unordered_map<uint32_t, std::string> seen;
  std::vector<std::string> out;
  for (uint64_t n = 0; out.size() < 2 * pairs && n < 2'000'000; ++n) {
    std::string id = prefix + std::to_string(n);
    auto [it, fresh] =
        seen.try_emplace(static_cast<uint32_t>(std::hash<std::string_view>{}(id)), id);
    if (!fresh) {
      out.push_back(it->second);
      out.push_back(std::move(id));
    }
  }
  return out;
}

// Thousands of streams with ids of many lengths (up to the 255-byte
// maximum) and colliding hashes, appended to in a random interleaving in
// appends of 1-3 events, over many segments: after each reopen, and after
// appends on the reopened log, every stream's version, ReadStream and
// conflicts match a plain model.
TEST(EventLog, ManyStreamsKeepVersionsAndPositionsAcrossReopens) {
  TempDir dir;
  // Short ids, and ids longer than the index keeps inline.
  std::vector<std::string> ids = IdsWithEqualLowHashBits("tok_", 3);
  for (std::string& id : IdsWithEqualLowHashBits(std::string(44, 'q'), 3)) ids.push_back(id);
  ASSERT_EQ(ids.size(), 12u);
  for (size_t i = 0; i < 4'500; ++i)
    ids.push_back(std::to_string(i) + "_" + std::string(i % 97, 'x'));
  ids.push_back(std::string(255, 'z'));
  // Equal up to their last bytes, around the inline-id limit and past it.
  for (size_t length : {31, 32, 33, 41, 42, 43, 44, 64, 200}) {
    for (char last : {'a', 'b', 'c'}) ids.push_back(std::string(length - 1, 'p') + last);
  }
  std::map<std::string, std::vector<Position>> model;
  std::mt19937_64 rng(11);
  // Streams are created in one order and appended to in a random one.
  auto append_some = [&](EventLog& log, size_t appends, size_t streams) {
    Position last;
    for (size_t i = 0; i < appends; ++i) {
      const std::string& id = ids[i < streams ? i : rng() % streams];
      AppendRequest r = UseRequest(id, static_cast<int64_t>(i));
      const size_t extra = rng() % 3;
      for (size_t k = 0; k < extra; ++k)
        r.events.emplace_back(EventType::kUseDenied, Json::object());
      r.expected_version = Version(model[id].size());
      auto res = log.Stage(std::move(r));
      ASSERT_TRUE(res.ok()) << res.error().message;
      for (const Event& e : res->events) model[id].push_back(e.position);
      ASSERT_EQ(res->stream_version, Version(model[id].size()));
      last = res->last;
    }
    ASSERT_TRUE(log.WaitDurable(last).ok());
  };
  auto check = [&](EventLog& log) {
    ASSERT_EQ(log.StreamCount(), model.size());
    for (const auto& [id, positions] : model) {
      ASSERT_EQ(log.StreamVersion(id), Version(positions.size())) << id;
      std::vector<Event> events = log.ReadStream(id, Version(0), SIZE_MAX);
      ASSERT_EQ(events.size(), positions.size()) << id;
      for (size_t v = 0; v < events.size(); ++v) {
        ASSERT_EQ(events[v].position, positions[v]) << id;
        ASSERT_EQ(events[v].token_id, id);
        ASSERT_EQ(events[v].version, Version(v + 1)) << id;
      }
      const size_t after = positions.size() / 2;
      std::vector<Event> tail = log.ReadStream(id, Version(after), 2);
      ASSERT_EQ(tail.size(), std::min<size_t>(2, positions.size() - after));
      if (!tail.empty()) {
        EXPECT_EQ(tail[0].position, positions[after]) << id;
      }
    }
    EXPECT_EQ(log.StreamVersion("tok_never"), Version(0));
    EXPECT_TRUE(log.ReadStream("tok_never", Version(0), 10).empty());
    // A stale expected version conflicts; the stream is unchanged.
    AppendRequest stale = UseRequest(ids[0], 1);
    stale.expected_version = Version(model[ids[0]].size() - 1);
    auto conflict = log.Stage(std::move(stale));
    ASSERT_FALSE(conflict.ok());
    EXPECT_EQ(conflict.error().code, ErrorCode::kConflict);
  };
  const LogOptions small_segments{.max_segment_bytes = 256 << 10};
  {
    auto log = OpenOrDie(dir.path(), small_segments);
    append_some(*log, 12'000, ids.size() - 500);  // 500 streams are left for later
    check(*log);
  }
  {
    auto log = OpenOrDie(dir.path(), small_segments);
    check(*log);
    // Recovered and newly staged positions in the same streams, and new streams.
    append_some(*log, 3'000, ids.size());
    check(*log);
  }
  auto log = OpenOrDie(dir.path(), small_segments);
  check(*log);
  EXPECT_GT(log->Counters().segments, 10u);
}

// A clock may step back (NTP); event times, and the ids made from them, must
// still never decrease along positions, across a reopen too.
TEST(EventLog, EventTimesNeverGoBackAlongPositions) {
  TempDir dir;
  std::vector<Event> events;
  {
    auto log = EventLog::Open(dir.path());
    ASSERT_TRUE(log.ok());
    for (int64_t t : {5'000, 3'000, 6'000}) {
      auto r = (*log)->Append(UseRequest("tok_a", t));
      ASSERT_TRUE(r.ok());
      events.push_back(r->events.front());
    }
  }
  auto log = EventLog::Open(dir.path());
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->LastStagedTime(), 6'000);
  auto r = (*log)->Append(UseRequest("tok_b", 4'000));
  ASSERT_TRUE(r.ok());
  events.push_back(r->events.front());
  EXPECT_EQ(events[0].time_ms, 5'000);
  EXPECT_EQ(events[1].time_ms, 5'000);  // raised to the last event's
  EXPECT_EQ(events[2].time_ms, 6'000);
  EXPECT_EQ(events[3].time_ms, 6'000);
  for (size_t i = 1; i < events.size(); ++i) EXPECT_LT(events[i - 1].id, events[i].id) << i;
  EXPECT_EQ((*log)->Read(Position(2), 1).at(0), events[1]);  // as stored
}

}  // namespace
}  // namespace tl
