// Replay throughput and memory: how fast a cold start rebuilds the projections
// from the log alone, and how much memory the rebuilt state needs.
//
//   replay_bench generate DIR [events=10000000] [tokens=1000000]
//   replay_bench replay DIR [--digest]
//
// `generate` writes a log of `events` events over `tokens` tokens into
// DIR/log: every token's token.created first, then a realistic mix of
// token.used (most), token.use_denied, token.updated, token.regenerated,
// token.credits_adjusted and token.revoked over 30 simulated days. It stages
// through EventLog::Stage (positions, versions and the hash chain are the
// log's own) and waits for durability once at the end.
//
// `replay` folds DIR/log into a fresh Projection with ReplayLog and prints
// events/s and the peak RSS of the process. Run it as its own process (see
// replay_bench.sh) so the generator's memory does not count.

#include <malloc.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "events/crypto.h"
#include "events/log.h"
#include "events/time_format.h"
#include "projections/projection.h"
#include "projections/replay.h"

namespace tl {
namespace {

using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

long PeakRssKiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;  // KiB on Linux
}

constexpr int64_t kStartMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kSpanMs = 30LL * 86'400'000;   // the simulated month

const char* const kPermissions[] = {"read:users",   "write:users",  "read:orders",
                                    "write:orders", "read:billing", "admin:reports"};
const char* const kOrigins[] = {"https://app.example.com", "https://*.example.org",
                                "http://localhost:3000"};
const char* const kIps[] = {"10.0.0.0/8", "192.168.1.0/24", "203.0.113.7/32", "2001:db8::/32"};
const char* const kDenials[] = {"INSUFFICIENT_CREDITS", "RATE_LIMITED", "INSUFFICIENT_PERMISSIONS",
                                "ORIGIN_NOT_ALLOWED", "EXPIRED"};

std::string RandomDigest(std::mt19937_64& rng) {
  std::string raw(32, '\0');
  for (size_t i = 0; i < raw.size(); i += 8) {
    const uint64_t v = rng();
    std::memcpy(raw.data() + i, &v, 8);
  }
  return ToHex(raw);
}

std::string TokenId(uint64_t i) {
  // Same shape as NewTokenId: "tok_" + 22 base62 chars.
  static constexpr char kB62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string id = "tok_";
  uint64_t x = i * 0x9E3779B97F4A7C15ull + 12345;
  for (int k = 0; k < 22; ++k) {
    id.push_back(kB62[x % 62]);
    x = x / 62 + (k == 10 ? i * 7919 : 0);
  }
  return id;
}

Json CreatedData(std::mt19937_64& rng, uint64_t i, const std::string& digest) {
  const std::string owner = "org-" + std::to_string(rng() % 2000);
  Json permissions = Json::array();
  const int nperm = 1 + static_cast<int>(rng() % 3);
  for (int k = 0; k < nperm; ++k) permissions.push_back(kPermissions[(i + k) % 6]);
  Json credits = nullptr;
  if (rng() % 3 == 0) {
    Json refill = nullptr;
    if (rng() % 2 == 0) refill = Json{{"amount", 10000}, {"interval", rng() % 2 ? "day" : "month"}};
    credits = Json{{"remaining", 1'000'000}, {"refill", std::move(refill)}};
  }
  Json rate_limit = nullptr;
  if (rng() % 4 == 0) rate_limit = Json{{"limit", 100}, {"window_ms", 60'000}};
  Json origins = Json::array();
  if (rng() % 5 == 0) origins.push_back(kOrigins[rng() % 3]);
  Json ips = Json::array();
  if (rng() % 5 == 0) ips.push_back(kIps[rng() % 4]);
  Json meta = Json::object();
  if (rng() % 10 == 0) meta = Json{{"team", "payments"}, {"ticket", "OPS-" + std::to_string(i)}};
  Json expires = nullptr;
  if (rng() % 4 == 0)
    expires = FormatRfc3339Ms(kStartMs + kSpanMs + static_cast<int64_t>(rng() % kSpanMs));
  return Json{{"owner", owner},
              {"name", "service key " + std::to_string(i)},
              {"description", rng() % 2 ? "" : "Used by the nightly export job"},
              {"permissions", std::move(permissions)},
              {"expires_at", std::move(expires)},
              {"credits", std::move(credits)},
              {"rate_limit", std::move(rate_limit)},
              {"allowed_origins", std::move(origins)},
              {"allowed_ips", std::move(ips)},
              {"meta", std::move(meta)},
              {"prefix", "tl"},
              {"hint", "tl_\u2026" + digest.substr(0, 4)},
              {"secret_digest", digest}};
}

int Generate(const std::string& dir, uint64_t events, uint64_t tokens) {
  LogOptions options;
  auto log = EventLog::Open(dir + "/log", options);
  if (!log.ok()) {
    std::fprintf(stderr, "open: %s\n", log.error().message.c_str());
    return 1;
  }
  if ((*log)->LastStagedPosition() != Position(0)) {
    std::fprintf(stderr, "%s/log is not empty\n", dir.c_str());
    return 1;
  }
  std::mt19937_64 rng(42);
  std::vector<std::string> ids;
  ids.reserve(tokens);
  const auto start = SteadyClock::now();
  Position last;
  auto stage = [&](AppendRequest req) {
    auto staged = (*log)->Stage(std::move(req));
    if (!staged.ok()) {
      std::fprintf(stderr, "stage: %s\n", staged.error().message.c_str());
      std::exit(1);
    }
    last = staged->last;
  };
  // Creations during the first day, then the rest over the month in time order.
  for (uint64_t i = 0; i < tokens; ++i) {
    ids.push_back(TokenId(i));
    AppendRequest r;
    r.token_id = ids.back();
    r.expected_version = Version(0);
    r.time_ms = kStartMs + static_cast<int64_t>(i * 86'400'000 / tokens);
    r.actor = "tok_admin000000000000000000";
    r.events.emplace_back(EventType::kCreated, CreatedData(rng, i, RandomDigest(rng)));
    stage(std::move(r));
  }
  const uint64_t rest = events > tokens ? events - tokens : 0;
  for (uint64_t k = 0; k < rest; ++k) {
    AppendRequest r;
    r.token_id = ids[rng() % tokens];
    r.time_ms = kStartMs + 86'400'000 + static_cast<int64_t>(k * (kSpanMs - 86'400'000) / rest);
    r.actor = "tok_verifier00000000000000";
    const uint64_t roll = rng() % 1000;
    if (roll < 940) {
      Json perms = nullptr;
      if (roll % 2 == 0) perms = Json::array({kPermissions[roll % 6]});
      r.events.emplace_back(
          EventType::kUsed,
          Json{{"cost", 1 + static_cast<int>(roll % 3)},
               {"permissions", std::move(perms)},
               {"origin", roll % 5 == 0 ? Json(kOrigins[0]) : Json(nullptr)},
               {"ip", "10." + std::to_string(roll % 256) + ".0." + std::to_string(k % 256)}});
    } else if (roll < 980) {
      r.events.emplace_back(EventType::kUseDenied,
                            Json{{"code", kDenials[roll % 5]},
                                 {"cost", 1},
                                 {"origin", nullptr},
                                 {"ip", "10.0.0." + std::to_string(k % 256)}});
    } else if (roll < 990) {
      r.actor = "tok_admin000000000000000000";
      r.events.emplace_back(EventType::kUpdated,
                            Json{{"name", "renamed key " + std::to_string(k)},
                                 {"rate_limit", Json{{"limit", 1000}, {"window_ms", 60'000}}}});
    } else if (roll < 995) {
      r.actor = "tok_admin000000000000000000";
      r.events.emplace_back(EventType::kRegenerated,
                            Json{{"secret_digest", RandomDigest(rng)},
                                 {"hint", "tl_\u2026abcd"},
                                 {"previous_valid_until", FormatRfc3339Ms(r.time_ms + 3'600'000)}});
    } else if (roll < 999) {
      r.actor = "tok_admin000000000000000000";
      r.events.emplace_back(EventType::kCreditsAdjusted,
                            Json{{"op", "add"}, {"amount", 500}, {"balance", 5000}});
    } else {
      r.actor = "tok_admin000000000000000000";
      r.events.emplace_back(EventType::kRevoked, Json{{"reason", "rotated out"}});
    }
    stage(std::move(r));
    if (k % 1'000'000 == 0 && k > 0) {
      std::fprintf(stderr, "  %llu events staged (%.0f s)\n",
                   static_cast<unsigned long long>(tokens + k), SecondsSince(start));
    }
  }
  if (!(*log)->WaitDurable(last).ok()) return 1;
  const double secs = SecondsSince(start);
  std::printf("generated %llu events over %llu tokens in %.1f s (%.0f events/s, %llu segments)\n",
              static_cast<unsigned long long>(last.value()),
              static_cast<unsigned long long>(tokens), secs, last.value() / secs,
              static_cast<unsigned long long>((*log)->Counters().segments));
  return 0;
}

int Replay(const std::string& dir, bool digest) {
  Projection p;
  const auto start = SteadyClock::now();
  Result<Position> last = ReplayLog(dir + "/log", p);
  const double secs = SecondsSince(start);
  if (!last.ok()) {
    std::fprintf(stderr, "replay: %s\n", last.error().message.c_str());
    return 1;
  }
  std::printf("replayed %llu events, %zu tokens in %.2f s: %.0f events/s\n",
              static_cast<unsigned long long>(last->value()), p.token_count(), secs,
              last->value() / secs);
  std::printf("peak RSS after replay: %.1f MiB\n", PeakRssKiB() / 1024.0);
  // What the state itself holds, apart from allocator slack and freed buffers.
  const struct mallinfo2 mi = mallinfo2();
  std::printf("heap in use: %.1f MiB (+ %.1f MiB mmapped)\n", mi.uordblks / 1048576.0,
              mi.hblkhd / 1048576.0);
  if (digest) {
    const auto d_start = SteadyClock::now();
    const std::string d = p.Digest();
    std::printf("digest: %s (%.1f s)\n", d.c_str(), SecondsSince(d_start));
    std::printf("peak RSS after digest: %.1f MiB\n", PeakRssKiB() / 1024.0);
  }
  return 0;
}

}  // namespace
}  // namespace tl

int main(int argc, char** argv) {
  if (argc >= 3 && std::strcmp(argv[1], "generate") == 0) {
    const uint64_t events = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 10'000'000;
    const uint64_t tokens = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1'000'000;
    if (tokens == 0 || events < tokens) {
      std::fprintf(stderr, "need events >= tokens >= 1\n");
      return 2;
    }
    return tl::Generate(argv[2], events, tokens);
  }
  if (argc >= 3 && std::strcmp(argv[1], "replay") == 0) {
    return tl::Replay(argv[2], argc > 3 && std::strcmp(argv[3], "--digest") == 0);
  }
  std::fprintf(stderr,
               "usage: replay_bench generate DIR [events] [tokens]\n"
               "       replay_bench replay DIR [--digest]\n");
  return 2;
}
