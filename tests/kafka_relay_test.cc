// The Kafka relay, reader, chain checker and consume subcommand against
// librdkafka's in-memory mock cluster. Each test starts its own cluster.
// Volumes stay far below the mock's ~5 MiB per-partition retention.

#include "events/kafka_relay.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "events/kafka_mock.h"
#include "events/kafka_reader.h"
#include "events/kafka_test_util.h"
#include "events/thread_annotations.h"
#include "services/cli/kafka_cli.h"

namespace tl {
namespace {

using testing::ReadTopicRaw;
using testing::TopicMessage;

using namespace std::chrono_literals;

// A hash-chained, in-memory log that can grow while a relay reads it.
class MemorySource final : public EventSource {
 public:
  // Appends one event to `token`'s stream and returns its position.
  Position Append(const std::string& token, EventType type, std::string note = "") {
    MutexLock lock(mu_);
    Event e;
    e.position = Position(events_.size() + 1);
    e.id = "evt_" + std::to_string(e.position.value());
    e.type = type;
    e.token_id = token;
    e.version = Version(++versions_[token]);
    e.time_ms = clock_.NowMs();
    e.actor = "system";
    e.data = Json{{"n", e.position.value()}, {"note", std::move(note)}};
    e.prev_hash = events_.empty() ? kGenesisHash : events_.back().hash;
    e.hash = ComputeHash(e);
    events_.push_back(e);
    cv_.notify_all();
    return e.position;
  }

  std::vector<Event> Read(Position from, size_t max) const override {
    MutexLock lock(mu_);
    std::vector<Event> out;
    for (uint64_t p = std::max<uint64_t>(from.value(), 1); p <= events_.size() && out.size() < max;
         ++p) {
      out.push_back(events_[p - 1]);
    }
    return out;
  }
  Position DurablePosition() const override {
    MutexLock lock(mu_);
    return Position(events_.size());
  }
  Position WaitForNew(Position after, std::chrono::milliseconds timeout) const override {
    UniqueLock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (events_.size() <= after.value()) {
      if (cv_.wait_until(lock.native(), deadline) == std::cv_status::timeout) break;
    }
    return Position(events_.size());
  }
  std::vector<Event> All() const {
    MutexLock lock(mu_);
    return events_;
  }

 private:
  SystemClock clock_;
  mutable Mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Event> events_ TL_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> versions_ TL_GUARDED_BY(mu_);
};

// A workload over `tokens` tokens: mostly uses, some lifecycle events.
void AppendRandom(MemorySource& source, std::mt19937& rng, int count, int tokens) {
  static const EventType kTypes[] = {EventType::kUsed,
                                     EventType::kUsed,
                                     EventType::kUsed,
                                     EventType::kUpdated,
                                     EventType::kCreditsAdjusted,
                                     EventType::kUseDenied};
  for (int i = 0; i < count; ++i) {
    std::string token = "tok_" + std::to_string(rng() % tokens);
    source.Append(token, kTypes[rng() % 6], std::string(rng() % 40, 'x'));
  }
}

using testing::WaitFor;

// Produces raw messages (key, value) in order, partitioned by key as the
// relay does (for tampering, duplicates and holes).
void ProduceRawMany(const std::string& brokers, const std::string& topic,
                    const std::vector<std::pair<std::string, std::string>>& messages) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), errstr, sizeof errstr);
  rd_kafka_conf_set(conf, "partitioner", "murmur2_random", errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  ASSERT_NE(rk, nullptr);
  for (const auto& [key, value] : messages) {
    ASSERT_EQ(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()),
                                RD_KAFKA_V_KEY(key.data(), key.size()),
                                RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ASSERT_EQ(rd_kafka_flush(rk, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(rk);
}

void ProduceRaw(const std::string& brokers, const std::string& topic, const std::string& key,
                const std::string& value) {
  ProduceRawMany(brokers, topic, {{key, value}});
}

// A fresh path for this run of the current test (repeats and parallel runs
// never share a checkpoint).
std::string TempPath(const std::string& name) {
  static std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() /
             ("tl_kafka_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
              std::to_string(rd()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

RelayOptions Options(const MockKafkaCluster& cluster, const std::string& topic,
                     const std::string& checkpoint = "") {
  RelayOptions o;
  o.brokers = cluster.bootstrap();
  o.topic = topic;
  o.checkpoint_path = checkpoint;
  o.log_errors = false;
  o.properties = {{"reconnect.backoff.max.ms", "300"}};
  return o;
}

ReaderOptions ReadOpts(const MockKafkaCluster& cluster, const std::string& topic) {
  ReaderOptions o;
  o.brokers = cluster.bootstrap();
  o.topic = topic;
  o.stall_timeout = 10s;
  return o;
}

// ---------------------------------------------------------------------------

TEST(ChainChecker, AcceptsAnyOrderAndDuplicates) {
  MemorySource source;
  for (int i = 0; i < 6; ++i) source.Append("tok_" + std::to_string(i % 2), EventType::kUsed);
  std::vector<Event> events = source.All();
  ChainChecker checker;
  for (int i : {1, 0, 3, 2, 2, 5, 4, 0}) {
    ASSERT_TRUE(checker.Feed(events[i]).ok()) << i;
  }
  EXPECT_FALSE(checker.last_was_new());
  EXPECT_EQ(checker.count(), 6u);
  EXPECT_TRUE(checker.Finish(true).ok());
}

TEST(ChainChecker, NamesThePositionOfEachKindOfBreak) {
  MemorySource source;
  for (int i = 0; i < 5; ++i) source.Append("tok_a", EventType::kUsed);
  std::vector<Event> events = source.All();

  // Contents changed, hash left alone.
  Event edited = events[2];
  edited.data["note"] = "forged";
  ChainChecker c1;
  ASSERT_TRUE(c1.Feed(events[0]).ok());
  Status st = c1.Feed(edited);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kCorruption);
  EXPECT_NE(st.error().message.find("position 3"), std::string::npos) << st.error().message;

  // Contents changed and hash recomputed: the link to the next event breaks.
  edited.hash = ComputeHash(edited);
  ChainChecker c2;
  ASSERT_TRUE(c2.Feed(events[3]).ok());
  st = c2.Feed(edited);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("positions 3 and 4"), std::string::npos) << st.error().message;

  // The same position twice with different contents.
  ChainChecker c3;
  ASSERT_TRUE(c3.Feed(events[2]).ok());
  st = c3.Feed(edited);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("position 3"), std::string::npos) << st.error().message;

  // A hole.
  ChainChecker c4;
  for (int i : {0, 1, 3, 4}) ASSERT_TRUE(c4.Feed(events[i]).ok());
  st = c4.Finish(true);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("position 3"), std::string::npos) << st.error().message;
}

TEST(KafkaRelay, FastEncodingIsByteIdenticalToCloudEventDump) {
  MemorySource source;
  std::mt19937 rng(1);
  AppendRandom(source, rng, 50, 5);
  source.Append("tok_\"quoted\\", EventType::kUpdated,
                "tab\there\nnewline \x01 caf\xc3\xa9 \xe2\x82\xac");
  for (const Event& e : source.All()) {
    EXPECT_EQ(EncodeCloudEvent(e, "tokenledger"), ToCloudEvent(e, "tokenledger").dump());
    EXPECT_EQ(EncodeCloudEvent(e, "urn:\"x\""), ToCloudEvent(e, "urn:\"x\"").dump());
  }
}

TEST(KafkaRelay, FastEncodingOfEveryJsonValueKindIsByteIdentical) {
  Event e;
  e.position = Position(7);
  e.id = "evt_7";
  e.type = EventType::kUpdated;
  e.token_id = "tok_1";
  e.version = Version(3);
  e.time_ms = 1764258968123;
  e.actor = "system";
  e.data = Json::parse(R"({"z":-42,"a":[1,2.5,-0.0,1e300,"x",null,true,false,{"k":[]}],)"
                       R"("big":18446744073709551615,"min":-9223372036854775808,"f":0.1,)"
                       R"("o":{},"s":"caf\u00e9 \"q\" \\ \u0001","e":"","n":null,"t":true})");
  e.hash = ComputeHash(e);
  EXPECT_EQ(EncodeCloudEvent(e, "tokenledger"), ToCloudEvent(e, "tokenledger").dump());
}

TEST(KafkaRelay, CheckpointRoundTripsAndIsTopicSpecific) {
  std::string path = TempPath("cp");
  EXPECT_EQ(KafkaRelay::ReadCheckpoint(path, "t")->value(), 0u);
  ASSERT_TRUE(KafkaRelay::WriteCheckpoint(path, "t", Position(42)).ok());
  EXPECT_EQ(KafkaRelay::ReadCheckpoint(path, "t")->value(), 42u);
  EXPECT_EQ(KafkaRelay::ReadCheckpoint(path, "other")->value(), 0u);
  std::ofstream(path) << "{garbage";
  Result<Position> damaged = KafkaRelay::ReadCheckpoint(path, "t");
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.error().code, ErrorCode::kCorruption);
}

TEST(KafkaRelay, RandomWorkloadArrivesExactlyOnceInOrderPerToken) {
  MockKafkaCluster cluster(3);
  ASSERT_TRUE(cluster.CreateTopic("ledger", 4).ok());
  MemorySource source;
  std::mt19937 rng(7);
  AppendRandom(source, rng, 1000, 50);
  KafkaRelay relay(source, Options(cluster, "ledger", TempPath("cp")));
  ASSERT_TRUE(relay.Start().ok());
  AppendRandom(source, rng, 2000, 50);  // the log grows while the relay runs
  ASSERT_TRUE(WaitFor([&] { return relay.Stats().acked_position.value() == 3000; }, 20s))
      << relay.Stats().acked_position.value() << " " << relay.Stats().last_error;
  RelayStats stats = relay.Stats();
  EXPECT_EQ(stats.lag_positions, 0u);
  EXPECT_FALSE(stats.degraded);
  relay.Stop();

  std::vector<TopicMessage> raw = ReadTopicRaw(cluster.bootstrap(), "ledger");
  ASSERT_EQ(raw.size(), 3000u);  // no duplicates without faults
  std::set<uint64_t> positions;
  std::map<std::string, int> partition_of;
  std::map<std::string, uint64_t> last_version;
  std::sort(raw.begin(), raw.end(), [](const TopicMessage& a, const TopicMessage& b) {
    return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset);
  });
  for (const TopicMessage& m : raw) {
    EXPECT_TRUE(positions.insert(m.event.position.value()).second);
    EXPECT_EQ(m.key, m.event.token_id);
    auto [it, fresh] = partition_of.emplace(m.key, m.partition);
    EXPECT_EQ(it->second, m.partition) << "token " << m.key << " spans partitions";
    EXPECT_EQ(m.event.version.value(), last_version[m.key] + 1) << "token " << m.key;
    last_version[m.key] = m.event.version.value();
  }
  EXPECT_EQ(positions.size(), 3000u);
  EXPECT_EQ(*positions.rbegin(), 3000u);

  Result<std::vector<Event>> read = ReadAllEvents(ReadOpts(cluster, "ledger"));
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(*read, source.All());
}

TEST(KafkaRelay, RestartFromAnOlderCheckpointLeavesNoGap) {
  MockKafkaCluster cluster(3);
  MemorySource source;
  std::mt19937 rng(11);
  std::string cp = TempPath("cp");
  std::string stale;
  {
    KafkaRelay relay(source, Options(cluster, "ledger", cp));  // topic auto-created
    ASSERT_TRUE(relay.Start().ok());
    for (int round = 0; round < 10; ++round) {
      AppendRandom(source, rng, 50, 20);
      std::this_thread::sleep_for(5ms);
      if (round == 4) {
        // A checkpoint at or past 100 lands within kCheckpointEveryMs of the
        // acknowledgements (or longer on a loaded machine: wait for it).
        ASSERT_TRUE(WaitFor(
            [&] {
              Result<Position> at = KafkaRelay::ReadCheckpoint(cp, "ledger");
              return at.ok() && at->value() >= 100;
            },
            10s));
        std::ifstream in(cp);
        std::getline(in, stale);
      }
    }
    // Destroyed mid-stream without a flush.
  }
  ASSERT_FALSE(stale.empty());
  // As if the process had died after producing but before the checkpoint
  // write: the next relay starts from the older checkpoint.
  std::ofstream(cp, std::ios::trunc) << stale << "\n";
  uint64_t resumed_from = KafkaRelay::ReadCheckpoint(cp, "ledger")->value();
  EXPECT_GE(resumed_from, 100u);
  AppendRandom(source, rng, 200, 20);

  KafkaRelay relay(source, Options(cluster, "ledger", cp));
  ASSERT_TRUE(relay.Start().ok());
  EXPECT_GE(relay.Stats().acked_position.value(), resumed_from);
  ASSERT_TRUE(WaitFor([&] { return relay.Stats().acked_position.value() == 700; }, 20s))
      << relay.Stats().last_error;
  relay.Stop();
  EXPECT_EQ(KafkaRelay::ReadCheckpoint(cp, "ledger")->value(), 700u);

  std::vector<TopicMessage> raw = ReadTopicRaw(cluster.bootstrap(), "ledger");
  EXPECT_GT(raw.size(), 700u) << "expected re-sent duplicates after the stale checkpoint";
  Result<std::vector<Event>> read = ReadAllEvents(ReadOpts(cluster, "ledger"));
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(*read, source.All());
}

TEST(KafkaRelay, BrokerOutageNeverBlocksTheLogAndIsCaughtUp) {
  MockKafkaCluster cluster(3);
  ASSERT_TRUE(cluster.CreateTopic("ledger", 4).ok());
  MemorySource source;
  std::mt19937 rng(3);
  KafkaRelay relay(source, Options(cluster, "ledger", TempPath("cp")));
  ASSERT_TRUE(relay.Start().ok());
  AppendRandom(source, rng, 200, 30);
  ASSERT_TRUE(WaitFor([&] { return relay.Stats().acked_position.value() == 200; }, 10s));

  cluster.SetAllBrokersDown();
  std::chrono::nanoseconds slowest{0};
  for (int i = 0; i < 500; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    source.Append("tok_" + std::to_string(i % 30), EventType::kUsed);
    slowest = std::max(slowest, std::chrono::steady_clock::now() - t0);
    if (i % 50 == 0) std::this_thread::sleep_for(20ms);
  }
  // Appends stay in-memory fast: the relay never holds the log while Kafka is away.
  EXPECT_LT(slowest, 50ms);
  ASSERT_TRUE(WaitFor(
      [&] {
        RelayStats s = relay.Stats();
        return s.errors > 0 && s.degraded && s.lag_positions > 0;
      },
      10s));
  RelayStats during = relay.Stats();
  EXPECT_FALSE(during.last_error.empty());
  EXPECT_LT(during.acked_position.value(), 700u);

  cluster.SetAllBrokersUp();
  ASSERT_TRUE(WaitFor([&] { return relay.Stats().acked_position.value() == 700; }, 30s))
      << relay.Stats().acked_position.value() << " " << relay.Stats().last_error;
  relay.Stop();
  Result<std::vector<Event>> read = ReadAllEvents(ReadOpts(cluster, "ledger"));
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(*read, source.All());
}

TEST(KafkaRelay, InjectedProduceErrorsAreRetried) {
  MockKafkaCluster cluster(1);
  ASSERT_TRUE(cluster.CreateTopic("ledger", 2).ok());
  MemorySource source;
  std::mt19937 rng(5);
  cluster.PushRequestErrors(/*Produce=*/0, 5, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  KafkaRelay relay(source, Options(cluster, "ledger"));
  ASSERT_TRUE(relay.Start().ok());
  AppendRandom(source, rng, 300, 10);
  ASSERT_TRUE(WaitFor([&] { return relay.Stats().acked_position.value() == 300; }, 15s))
      << relay.Stats().last_error;
  relay.Stop();
  Result<std::vector<Event>> read = ReadAllEvents(ReadOpts(cluster, "ledger"));
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(*read, source.All());
}

TEST(KafkaRelay, UnreachableBrokersAreReportedNotFatal) {
  MemorySource source;
  source.Append("tok_a", EventType::kCreated);
  RelayOptions o;
  o.brokers = "127.0.0.1:1";  // nothing listens there
  o.topic = "ledger";
  o.log_errors = false;
  KafkaRelay relay(source, o);
  ASSERT_TRUE(relay.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return relay.Stats().errors > 0; }, 10s));
  RelayStats s = relay.Stats();
  EXPECT_TRUE(s.running);
  EXPECT_TRUE(s.degraded);
  EXPECT_EQ(s.lag_positions, 1u);
  EXPECT_FALSE(s.last_error.empty());
  auto t0 = std::chrono::steady_clock::now();
  relay.Stop(200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST(KafkaRelay, BadPropertyIsRefusedAtStart) {
  MemorySource source;
  RelayOptions o;
  o.brokers = "127.0.0.1:1";
  o.properties = {{"no.such.property", "1"}};
  KafkaRelay relay(source, o);
  Status st = relay.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("no.such.property"), std::string::npos);
}

TEST(KafkaReader, MissingTopicIsNotFound) {
  MockKafkaCluster cluster(1);
  Result<std::vector<Event>> read = ReadAllEvents(ReadOpts(cluster, "absent"));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, ErrorCode::kNotFound) << read.error().message;
}

// Relays `n` events, then produces a forged copy of the next one.
void RelayThenTamper(MockKafkaCluster& cluster, MemorySource& source, int n) {
  std::mt19937 rng(9);
  AppendRandom(source, rng, n, 5);
  KafkaRelay relay(source, Options(cluster, "ledger"));
  ASSERT_TRUE(relay.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return relay.Stats().acked_position.value() == uint64_t(n); }, 10s));
  relay.Stop();
  // A genuine-looking event n+1 whose hash does not cover its contents.
  source.Append("tok_1", EventType::kCreditsAdjusted);
  Event forged = source.All().back();
  forged.data["note"] = "credits for free";
  ProduceRaw(cluster.bootstrap(), "ledger", forged.token_id, ToCloudEvent(forged).dump());
}

TEST(KafkaReader, RebuildDetectsATamperedEvent) {
  MockKafkaCluster cluster(1);
  ASSERT_TRUE(cluster.CreateTopic("ledger", 3).ok());
  MemorySource source;
  RelayThenTamper(cluster, source, 40);
  Result<std::vector<Event>> read = ReadAllEvents(ReadOpts(cluster, "ledger"));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, ErrorCode::kCorruption);
  EXPECT_NE(read.error().message.find("position 41"), std::string::npos) << read.error().message;
}

TEST(KafkaConsume, PrintsEachEventOnceVerifiesAndCommits) {
  MockKafkaCluster cluster(1);
  ASSERT_TRUE(cluster.CreateTopic("ledger", 3).ok());
  MemorySource source;
  std::mt19937 rng(2);
  AppendRandom(source, rng, 30, 5);
  source.Append("tok_0", EventType::kRevoked);
  KafkaRelay relay(source, Options(cluster, "ledger"));
  ASSERT_TRUE(relay.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return relay.Stats().acked_position.value() == 31; }, 10s));
  relay.Stop();
  // A re-sent duplicate, as after a relay crash.
  Event dup = source.All()[4];
  ProduceRaw(cluster.bootstrap(), "ledger", dup.token_id, ToCloudEvent(dup).dump());

  // --max-idle-ms is generous: on a loaded 2-core machine the partitions'
  // first fetches can come more than a second apart (700 ms made it flaky).
  std::vector<std::string> args{"--brokers",        cluster.bootstrap(), "--topic",
                                "ledger",           "--group",           "audit",
                                "--from-beginning", "--max-idle-ms",     "3000"};
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int rc = RunConsume(args);
  std::string out = ::testing::internal::GetCapturedStdout();
  std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(rc, 0) << err;
  std::set<uint64_t> printed;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    Event e = EventFromJson(Json::parse(line));
    EXPECT_TRUE(printed.insert(e.position.value()).second) << "printed twice: " << line;
  }
  EXPECT_EQ(printed.size(), 31u);

  // The group committed its offsets: a second run has nothing new.
  source.Append("tok_0", EventType::kUsed);
  ::testing::internal::CaptureStdout();
  rc = RunConsume(args);
  out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, "");

  // --type filters what is printed.
  std::vector<std::string> revoked{
      "--brokers",   cluster.bootstrap(), "--topic", "ledger",        "--group",
      "revocations", "--from-beginning",  "--type",  "token.revoked", "--max-idle-ms",
      "3000"};
  ::testing::internal::CaptureStdout();
  rc = RunConsume(revoked);
  out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  EXPECT_NE(out.find("token.revoked"), std::string::npos);
}

TEST(KafkaConsume, ReportsATamperedEventLoudly) {
  MockKafkaCluster cluster(1);
  ASSERT_TRUE(cluster.CreateTopic("ledger", 3).ok());
  MemorySource source;
  RelayThenTamper(cluster, source, 25);
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int rc = RunConsume({"--brokers", cluster.bootstrap(), "--topic", "ledger", "--group", "audit",
                       "--from-beginning", "--max-idle-ms", "3000"});
  std::string out = ::testing::internal::GetCapturedStdout();
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 3);
  EXPECT_NE(err.find("CHAIN BREAK"), std::string::npos) << err;
  EXPECT_NE(err.find("position 26"), std::string::npos) << err;
}

// Appends `count` random events over `tokens` tokens to `source` and relays
// them to `topic`, waiting until Kafka acknowledged them all.
void RelayRandomWorkload(const MockKafkaCluster& cluster, const std::string& topic,
                         MemorySource& source, unsigned seed, int count, int tokens) {
  std::mt19937 rng(seed);
  AppendRandom(source, rng, count, tokens);
  KafkaRelay relay(source, Options(cluster, topic));
  ASSERT_TRUE(relay.Start().ok());
  ASSERT_TRUE(WaitFor(
      [&] { return relay.Stats().acked_position.value() == static_cast<uint64_t>(count); }, 10s));
  relay.Stop();
}

// A consume run: exit code, stdout, stderr.
struct ConsumeRun {
  int rc;
  std::string out;
  std::string err;
};
ConsumeRun Consume(const std::vector<std::string>& args) {
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int rc = RunConsume(args);
  std::string out = ::testing::internal::GetCapturedStdout();
  return {rc, out, ::testing::internal::GetCapturedStderr()};
}

TEST(KafkaConsume, ReportsAMissingPositionAsAChainBreakAndPrintsNothingPastIt) {
  MockKafkaCluster cluster(1);
  ASSERT_TRUE(cluster.CreateTopic("ledger", 3).ok());
  ASSERT_TRUE(cluster.CreateTopic("holed", 3).ok());
  MemorySource source;
  std::mt19937 rng(5);
  AppendRandom(source, rng, 40, 5);
  // The topic as an attacker or a lost write leaves it: position 20 gone.
  std::vector<std::pair<std::string, std::string>> without_20;
  for (const Event& e : source.All()) {
    if (e.position.value() != 20) without_20.emplace_back(e.token_id, ToCloudEvent(e).dump());
  }
  ProduceRawMany(cluster.bootstrap(), "holed", without_20);
  for (int run = 0; run < 2; ++run) {  // nothing past the hole is committed: reported again
    ConsumeRun c = Consume({"--brokers", cluster.bootstrap(), "--topic", "holed", "--group",
                            "audit", "--from-beginning", "--max-idle-ms", "3000"});
    EXPECT_EQ(c.rc, 3) << c.err;
    EXPECT_NE(c.err.find("CHAIN BREAK: position 20 is missing"), std::string::npos) << c.err;
    EXPECT_NE(c.err.find("next present: 21"), std::string::npos) << c.err;
    std::vector<uint64_t> printed;
    std::istringstream lines(c.out);
    for (std::string line; std::getline(lines, line);) {
      printed.push_back(EventFromJson(Json::parse(line)).position.value());
    }
    std::vector<uint64_t> expected(run == 0 ? 19 : 0);
    std::iota(expected.begin(), expected.end(), 1);
    EXPECT_EQ(printed, expected) << "run " << run;
  }
}

TEST(KafkaConsume, MissingTopicAndUnreachableBrokersAreErrors) {
  MockKafkaCluster cluster(1);
  ConsumeRun missing = Consume({"--brokers", cluster.bootstrap(), "--topic", "absent", "--group",
                                "audit", "--from-beginning", "--max-idle-ms", "3000"});
  EXPECT_EQ(missing.rc, 1);
  EXPECT_NE(missing.err.find("kafka topic absent does not exist"), std::string::npos)
      << missing.err;

  auto started = std::chrono::steady_clock::now();
  ConsumeRun down =
      Consume({"--brokers", "127.0.0.1:1", "--group", "audit", "--max-idle-ms", "3000"});
  EXPECT_EQ(down.rc, 1);
  EXPECT_NE(down.err.find("kafka brokers 127.0.0.1:1 unreachable"), std::string::npos) << down.err;
  EXPECT_EQ(down.err.find("%3|"), std::string::npos) << "raw librdkafka lines: " << down.err;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 15s);
}

TEST(KafkaConsume, HelpPrintsUsage) {
  ConsumeRun c = Consume({"--help"});
  EXPECT_EQ(c.rc, 0);
  EXPECT_NE(c.out.find("usage: tokenledger consume"), std::string::npos) << c.out;
}

TEST(KafkaRelay, RecordsAreStructuredModeCloudEvents) {
  MockKafkaCluster cluster(1);
  ASSERT_TRUE(cluster.CreateTopic("ledger", 2).ok());
  MemorySource source;
  RelayRandomWorkload(cluster, "ledger", source, /*seed=*/6, /*count=*/10, /*tokens=*/3);
  std::vector<TopicMessage> messages = ReadTopicRaw(cluster.bootstrap(), "ledger");
  ASSERT_EQ(messages.size(), 10u);
  for (const TopicMessage& m : messages) {
    EXPECT_EQ(m.content_type, "application/cloudevents+json") << "offset " << m.offset;
  }
}

TEST(KafkaRelay, LogLinesAreJsonAndNeverHoldASecret) {
  const std::string password = "pw-" + std::to_string(std::random_device{}()) + "-secret";
  const std::string checkpoint = TempPath("relay.checkpoint");
  std::ofstream(checkpoint) << "not a checkpoint";  // a warning of its own
  MemorySource source;
  source.Append("tok_0", EventType::kUsed);
  RelayOptions o;
  o.brokers = "127.0.0.1:1";  // nothing listens: librdkafka and relay errors
  o.topic = "ledger";
  o.checkpoint_path = checkpoint;
  o.properties = {{"sasl.username", "relay"}, {"sasl.password", password}, {"acks", "1"}};
  ::testing::internal::CaptureStderr();
  {
    KafkaRelay relay(source, o);
    ASSERT_TRUE(relay.Start().ok());
    WaitFor([&] { return relay.Stats().errors >= 2; }, 10s);
    relay.Stop(100ms);
  }
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.find(password), std::string::npos) << err;
  int lines_seen = 0;
  bool checkpoint_warned = false;
  bool acks_warned = false;  // a forced property the user tried to change
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);) {
    ++lines_seen;
    Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(j.is_object()) << "not a JSON log line: " << line;
    EXPECT_TRUE(j.contains("level") && j.contains("msg") && j.contains("time")) << line;
    checkpoint_warned |= line.find("unusable checkpoint") != std::string::npos;
    acks_warned |= line.find("acks=1 ignored") != std::string::npos;
  }
  EXPECT_GE(lines_seen, 2) << err;
  EXPECT_TRUE(checkpoint_warned) << err;
  EXPECT_TRUE(acks_warned) << err;
}

TEST(KafkaCli, ReadEventsFromKafkaRebuildsTheLog) {
  MockKafkaCluster cluster(3);
  MemorySource source;
  RelayRandomWorkload(cluster, "tokenledger.events", source, /*seed=*/4, /*count=*/400,
                      /*tokens=*/50);
  Result<std::vector<Event>> read = ReadEventsFromKafka(cluster.bootstrap(), "tokenledger.events");
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(*read, source.All());
}

TEST(KafkaCli, DevKafkaPrintsBootstrapAndForwardsAFixedPort) {
  // Pick a free loopback port.
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(probe);

  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    _exit(RunDevKafka({"--brokers", "2", "--port", std::to_string(port)}));
  }
  ::close(fds[1]);
  FILE* in = ::fdopen(fds[0], "r");
  char line[1024] = {};
  ASSERT_NE(std::fgets(line, sizeof line, in), nullptr);
  std::string bootstrap(line);
  ASSERT_EQ(bootstrap.rfind("bootstrap: ", 0), 0u) << bootstrap;
  EXPECT_EQ(std::count(bootstrap.begin(), bootstrap.end(), ','), 2);  // forwarder + 2 brokers

  // Only the fixed port is given: the rest is learned from metadata.
  std::string fixed = "127.0.0.1:" + std::to_string(port);
  MemorySource source;
  std::mt19937 rng(1);
  AppendRandom(source, rng, 50, 5);
  RelayOptions o;
  o.brokers = fixed;
  o.topic = "ledger";
  o.log_errors = false;
  KafkaRelay relay(source, o);
  ASSERT_TRUE(relay.Start().ok());
  EXPECT_TRUE(WaitFor([&] { return relay.Stats().acked_position.value() == 50; }, 10s));
  relay.Stop();
  Result<std::vector<Event>> read = ReadEventsFromKafka(fixed, "ledger");
  EXPECT_TRUE(read.ok() && *read == source.All());

  ::kill(child, SIGTERM);
  int status = 0;
  ::waitpid(child, &status, 0);
  std::fclose(in);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace tl
