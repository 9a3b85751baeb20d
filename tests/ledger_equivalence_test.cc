// State is a pure fold of the log: after 10,000 randomized commands through
// a Ledger, the live state, a full replay of the log, a snapshot plus the
// tail, a reopened Ledger and `tokenledger replay` all have the same digest.
// A damaged snapshot is passed over with a warning, never trusted.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "events/clock.h"
#include "events/log_scan.h"
#include "events/time_format.h"
#include "projections/replay.h"
#include "projections/snapshot.h"
#include "services/core/ledger.h"
#include "services/http/ledger_json.h"

namespace tl {
namespace {

namespace fs = std::filesystem;

constexpr char kBootstrapSecret[] = "equivalence-test-bootstrap-admin-secret-000";
constexpr int64_t kStartMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr int kCommands = 10'000;

// A data directory on tmpfs when there is one: every command waits for an
// fdatasync, and durability is not what this test is about.
class DataDir {
 public:
  DataDir() {
    std::random_device rd;
    const fs::path base =
        fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    path_ = (base / ("tl-equiv-" + std::to_string(rd()) + std::to_string(rd()))).string();
    fs::create_directories(path_);
  }
  ~DataDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Secrets {
  std::string current;
  std::string previous;
};

class Driver {
 public:
  Driver(const std::string& dir, FakeClock& clock, uint64_t seed)
      : dir_(dir), clock_(clock), rng_(seed) {}

  std::unique_ptr<Ledger> Open(std::vector<std::string>* warnings) {
    LedgerOptions options;
    options.data_dir = dir_;
    options.clock = &clock_;
    // Deterministic "random" bytes: secrets and ids repeat with the seed.
    options.random_bytes = [this](size_t n) {
      std::string out(n, '\0');
      for (char& c : out) c = static_cast<char>(bytes_rng_() & 0xff);
      return out;
    };
    options.bootstrap_secret = kBootstrapSecret;
    // Snapshots only when the test asks (and on close).
    options.snapshot_every_events = UINT64_MAX / 2;
    options.snapshot_check_ms = 3'600'000;
    options.warn = [warnings](std::string_view w) {
      if (warnings) warnings->emplace_back(w);
    };
    auto ledger = Ledger::Open(std::move(options));
    EXPECT_TRUE(ledger.ok()) << ledger.error().message;
    return ledger.ok() ? std::move(ledger).value() : nullptr;
  }

  // Issues one random command and notes its outcome.
  void Step(Ledger& ledger) {
    // Time moves forward by random steps, sometimes by days (refills, expiry).
    // A third of the commands happen in the same millisecond as the last
    // (bursts that hit rate limits).
    const int64_t step = rng_() % 50 == 0  ? Uniform(3'600'000, 3 * 86'400'000)
                         : rng_() % 3 == 0 ? 0
                                           : Uniform(0, 90'000);
    clock_.Advance(step);
    if (!admin_) {
      auto a = ledger.Authenticate(kBootstrapSecret);
      ASSERT_TRUE(a.ok());
      admin_ = *a;
    }
    const int roll = static_cast<int>(rng_() % 100);
    if (ids_.size() < 5 || roll < 12) return Create(ledger);
    // Verifications often repeat the last token verified, as a client does.
    const std::string id = roll >= 40 && !last_verified_.empty() && rng_() % 2
                               ? last_verified_
                               : ids_[rng_() % ids_.size()];
    const Caller& caller = PickCaller();
    Result<Json> r = MakeError(ErrorCode::kInvalidArgument, "unset");
    if (roll < 20) {
      r = UpdateFromJson(ledger, caller, id, RandomUpdate(), MaybeIfMatch(ledger, id));
    } else if (roll < 25) {
      r = UpdateFromJson(ledger, caller, id, Json{{"permissions", RandomPermissions()}},
                         std::nullopt);
    } else if (roll < 30) {
      r = RegenerateFromJson(ledger, caller, id, Json{{"grace_period_s", Uniform(0, 2) * 300}});
      if (r.ok()) {
        secrets_[id].previous = secrets_[id].current;
        secrets_[id].current = (*r)["token"].get<std::string>();
      }
    } else if (roll < 32) {
      r = RevokeFromJson(ledger, caller, id, Json{{"reason", "test " + std::to_string(roll)}});
    } else if (roll < 40) {
      r = AdjustCreditsFromJson(
          ledger, caller, id,
          rng_() % 2 ? Json{{"set", Uniform(0, 50)}} : Json{{"add", Uniform(-20, 20)}});
    } else {
      last_verified_ = id;
      r = VerifyFromJson(ledger, caller, RandomVerify(id));
      if (r.ok()) ++verify_codes_[(*r)["code"].get<std::string>()];
    }
    ++outcomes_[r.ok() ? "ok" : "error " + std::to_string(static_cast<int>(r.error().code))];
  }

  const std::map<std::string, int>& verify_codes() const { return verify_codes_; }
  const std::map<std::string, int>& outcomes() const { return outcomes_; }
  void ForgetCallers() { admin_.reset(), manager_.reset(); }

 private:
  int64_t Uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }

  const Caller& PickCaller() {
    // Mostly the admin; sometimes an owner's manager (tenant isolation turns
    // other owners' tokens into NOT_FOUND).
    if (manager_ && rng_() % 4 == 0) return *manager_;
    return *admin_;
  }

  Json RandomPermissions() {
    static const char* const kPerms[] = {"orders:read", "orders:write", "users:read", "*:read",
                                         "reports/daily:read"};
    Json p = Json::array();
    for (const char* perm : kPerms) {
      if (rng_() % 3 == 0) p.push_back(perm);
    }
    return p;
  }

  void Create(Ledger& ledger) {
    static const char* const kOwners[] = {"acme", "globex", "initech", "umbrella"};
    Json body{{"name", "token " + std::to_string(ids_.size())},
              {"owner", kOwners[rng_() % 4]},
              {"permissions", RandomPermissions()}};
    if (rng_() % 2) body["description"] = "made by the equivalence test";
    switch (rng_() % 4) {
      case 0:
        body["credits"] = Uniform(0, 30);
        break;
      case 1:
        body["credits"] = Json{
            {"remaining", Uniform(0, 30)},
            {"refill", {{"amount", Uniform(1, 40)}, {"interval", rng_() % 2 ? "day" : "month"}}}};
        break;
      default:
        break;  // unlimited
    }
    if (rng_() % 3 == 0)
      body["rate_limit"] = Json{{"limit", Uniform(1, 5)}, {"window_ms", Uniform(1, 300) * 1000}};
    if (rng_() % 3 == 0) body["expires_in"] = std::to_string(Uniform(1, 48)) + "h";
    if (rng_() % 4 == 0) body["allowed_origins"] = Json::array({"https://app.example.com"});
    if (rng_() % 4 == 0) body["allowed_ips"] = Json::array({"10.0.0.0/8"});
    if (rng_() % 5 == 0) body["meta"] = Json{{"team", "t" + std::to_string(rng_() % 3)}};
    // The first owner token is a manager: it acts for its owner only.
    const bool manager = !manager_ && ids_.size() >= 3;
    if (manager) {
      body = Json{{"name", "acme manager"},
                  {"owner", "acme"},
                  {"permissions", {"ledger:read", "ledger:write", "ledger:verify"}}};
    }
    const std::string key = rng_() % 10 == 0 ? "key-" + std::to_string(rng_() % 1000) : "";
    auto r = CreateFromJson(ledger, *admin_, body, key);
    ++outcomes_[r.ok() ? "ok" : "error " + std::to_string(static_cast<int>(r.error().code))];
    if (!r.ok()) return;
    const std::string id = (*r)["id"].get<std::string>();
    if (secrets_.count(id)) return;  // an idempotent repeat
    ids_.push_back(id);
    secrets_[id].current = (*r)["token"].get<std::string>();
    if (manager) {
      auto m = ledger.Authenticate(secrets_[id].current);
      ASSERT_TRUE(m.ok());
      manager_ = *m;
    }
  }

  Json RandomUpdate() {
    Json u = Json::object();
    if (rng_() % 2) u["name"] = "renamed " + std::to_string(rng_() % 100);
    if (rng_() % 3 == 0) u["description"] = rng_() % 2 ? Json(nullptr) : Json("updated");
    if (rng_() % 3 == 0) {
      u["rate_limit"] =
          rng_() % 3 == 0 ? Json(nullptr) : Json{{"limit", Uniform(1, 5)}, {"window_ms", 60'000}};
    }
    if (rng_() % 4 == 0) u["expires_in"] = std::to_string(Uniform(1, 72)) + "h";
    if (rng_() % 6 == 0) u["expires_at"] = nullptr;
    if (rng_() % 4 == 0) {
      u["refill"] =
          rng_() % 3 == 0 ? Json(nullptr) : Json{{"amount", Uniform(1, 40)}, {"interval", "day"}};
    }
    if (rng_() % 5 == 0)
      u["allowed_origins"] = rng_() % 2 ? Json(nullptr) : Json::array({"https://*.example.org"});
    if (rng_() % 5 == 0)
      u["allowed_ips"] = rng_() % 2 ? Json(nullptr) : Json::array({"192.168.0.0/16"});
    if (rng_() % 5 == 0) u["meta"] = rng_() % 2 ? Json(nullptr) : Json{{"k", rng_() % 4}};
    if (u.empty()) u["name"] = "touched";
    return u;
  }

  std::optional<Version> MaybeIfMatch(Ledger& ledger, const std::string& id) {
    if (rng_() % 4 != 0) return std::nullopt;
    auto got = GetJson(ledger, *admin_, id, std::nullopt);
    if (!got.ok()) return std::nullopt;
    // Sometimes stale on purpose: a precondition failure is an outcome too.
    const uint64_t v = (*got)["version"].get<uint64_t>();
    return Version(rng_() % 3 == 0 && v > 1 ? v - 1 : v);
  }

  Json RandomVerify(const std::string& id) {
    const Secrets& s = secrets_[id];
    std::string secret = s.current;
    const int which = static_cast<int>(rng_() % 20);
    if (which == 0) secret = "tl_not-a-real-secret-at-all-0123456789abcdef";
    if (which == 1 && !s.previous.empty()) secret = s.previous;
    Json body{{"token", secret}, {"cost", Uniform(0, 3)}};
    if (rng_() % 3 == 0) body["permissions"] = RandomPermissions();
    if (rng_() % 3 == 0)
      body["origin"] = rng_() % 2 ? "https://app.example.com" : "https://evil.example.net";
    if (rng_() % 3 == 0) body["ip"] = rng_() % 2 ? "10.1.2.3" : "203.0.113.9";
    return body;
  }

  const std::string dir_;
  FakeClock& clock_;
  std::mt19937_64 rng_;
  std::mt19937_64 bytes_rng_{7};
  std::optional<Caller> admin_;
  std::optional<Caller> manager_;
  std::vector<std::string> ids_;
  std::string last_verified_;
  std::map<std::string, Secrets> secrets_;
  std::map<std::string, int> verify_codes_;
  std::map<std::string, int> outcomes_;
};

StateInfo FullReplay(const std::string& dir) {
  Projection p;
  auto last = ReplayLog(dir + "/log", p);
  EXPECT_TRUE(last.ok()) << last.error().message;
  return StateInfo{p.last_position(), p.Digest()};
}

std::vector<fs::path> Snapshots(const std::string& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir + "/snapshots")) {
    if (e.path().extension() == ".json") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());  // zero-padded positions: oldest first
  return out;
}

void FlipByteInTheMiddle(const fs::path& file) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(0, std::ios::end);
  const std::streamoff middle = f.tellg() / 2;
  f.seekg(middle);
  char c = 0;
  f.get(c);
  f.seekp(middle);
  f.put(static_cast<char>(c ^ 0x20));
}

// `tokenledger replay --data DIR`'s printed digest and position.
std::string BinaryReplay(const std::string& dir) {
  const std::string cmd = std::string(TOKENLEDGER_BIN) + " replay --data " + dir + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = ::pclose(pipe);
  EXPECT_EQ(status, 0) << out;
  return out;
}

TEST(LedgerEquivalenceTest, LiveEqualsReplayEqualsSnapshotPlusTail) {
  DataDir dir;
  FakeClock clock(kStartMs);
  const uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  Driver driver(dir.path(), clock, seed);

  StateInfo live;
  Position mid_position;
  {
    std::vector<std::string> warnings;
    std::unique_ptr<Ledger> ledger = driver.Open(&warnings);
    ASSERT_NE(ledger, nullptr);
    const int midpoint = 3'000 + static_cast<int>(seed % 4'000);
    for (int i = 0; i < kCommands; ++i) {
      ASSERT_NO_FATAL_FAILURE(driver.Step(*ledger));
      if (i == midpoint) {
        ASSERT_TRUE(ledger->WriteSnapshotNow().ok());
        mid_position = ledger->State().position;
      }
    }
    live = ledger->State();
    EXPECT_TRUE(warnings.empty());
  }  // closing writes a final snapshot
  driver.ForgetCallers();

  // The commands covered the ground: every kind of event and verify outcome.
  std::map<EventType, int> types;
  auto scanned = ScanLog(dir.path() + "/log", {.parse_data = true, .verify_hashes = true},
                         [&](const ScannedRecord& r) {
                           ++types[r.event.type];
                           return true;
                         });
  ASSERT_TRUE(scanned.ok()) << scanned.error().message;
  for (EventType t : AllEventTypes()) EXPECT_GT(types[t], 0) << EventTypeName(t);
  for (const char* code : {"VALID", "NOT_FOUND", "REVOKED", "EXPIRED", "ORIGIN_NOT_ALLOWED",
                           "IP_NOT_ALLOWED", "FORBIDDEN", "RATE_LIMITED", "USAGE_EXCEEDED"}) {
    EXPECT_GT(driver.verify_codes().count(code), 0u) << code;
  }
  for (const auto& [what, n] : driver.outcomes()) std::printf("outcome %s: %d\n", what.c_str(), n);
  EXPECT_GT(driver.outcomes().size(), 3u);  // successes and several kinds of rejection
  EXPECT_GT(live.position.value(), static_cast<uint64_t>(kCommands / 2));

  // Full replay of the log.
  StateInfo replayed = FullReplay(dir.path());
  EXPECT_EQ(replayed.position, live.position);
  EXPECT_EQ(replayed.digest, live.digest);

  // The binary's replay subcommand.
  const std::string printed = BinaryReplay(dir.path());
  EXPECT_NE(printed.find("digest: " + live.digest), std::string::npos) << printed;
  EXPECT_NE(printed.find(std::to_string(live.position.value())), std::string::npos) << printed;

  // Snapshot + tail: set the final snapshot aside so the midpoint one is newest.
  std::vector<fs::path> snaps = Snapshots(dir.path());
  ASSERT_EQ(snaps.size(), 2u);
  const fs::path final_snapshot = snaps.back();
  fs::rename(final_snapshot, dir.path() + "/final.aside");
  {
    std::vector<std::string> warnings;
    auto loaded = LoadNewestSnapshot(dir.path() + "/snapshots",
                                     [&](std::string_view w) { warnings.emplace_back(w); });
    ASSERT_TRUE(loaded.ok());
    EXPECT_TRUE(warnings.empty());
    ASSERT_EQ(loaded->last_position(), mid_position);
    ASSERT_LT(mid_position, live.position);
    auto last = ReplayLog(dir.path() + "/log", *loaded);
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(*last, live.position);
    EXPECT_EQ(loaded->Digest(), live.digest);
  }
  {
    std::vector<std::string> warnings;
    std::unique_ptr<Ledger> reopened = driver.Open(&warnings);
    ASSERT_NE(reopened, nullptr);
    EXPECT_EQ(reopened->State().position, live.position);
    EXPECT_EQ(reopened->State().digest, live.digest);
    EXPECT_TRUE(warnings.empty()) << warnings.front();
  }  // writes the final snapshot again

  // A damaged newest snapshot: warned about, the older one plus the tail used.
  snaps = Snapshots(dir.path());
  ASSERT_EQ(snaps.size(), 2u);
  FlipByteInTheMiddle(snaps.back());
  {
    std::vector<std::string> warnings;
    std::unique_ptr<Ledger> reopened = driver.Open(&warnings);
    ASSERT_NE(reopened, nullptr);
    EXPECT_EQ(reopened->State().digest, live.digest);
    ASSERT_FALSE(warnings.empty());
    EXPECT_NE(warnings.front().find(snaps.back().filename().string()), std::string::npos)
        << warnings.front();
  }

  // Every snapshot damaged (a byte flipped; cut short, its trailer lost):
  // warned about, full replay, same state. Each reopening writes a good final
  // snapshot for the next kind of damage to spoil.
  void (*const damages[])(const fs::path&) = {
      FlipByteInTheMiddle, [](const fs::path& s) { fs::resize_file(s, fs::file_size(s) - 40); }};
  for (const auto damage : damages) {
    for (const fs::path& s : Snapshots(dir.path())) damage(s);
    std::vector<std::string> warnings;
    std::unique_ptr<Ledger> reopened = driver.Open(&warnings);
    ASSERT_NE(reopened, nullptr);
    EXPECT_EQ(reopened->State().position, live.position);
    EXPECT_EQ(reopened->State().digest, live.digest);
    EXPECT_GE(warnings.size(), 2u);
  }
  // Nothing new was appended by any reopening.
  EXPECT_EQ(FullReplay(dir.path()).digest, live.digest);
}

}  // namespace
}  // namespace tl
