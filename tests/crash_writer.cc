// The victim of crash_test: appends a stream of events until it is killed and
// reports every acknowledged one on a file descriptor the moment it is
// acknowledged. Not a test by itself.
//
//   crash_writer log DIR ACK_FD FIRST_SEQ THREADS
//     THREADS writers append token.used events to DIR/log through
//     EventLog::Append; the event with sequence number s (unique, from
//     FIRST_SEQ) has cost s. After Append returns, a writer reports
//     "<seq> <position> <hash>\n".
//   crash_writer ledger DIR ACK_FD ROUND
//     Ledger commands on DIR: creates tokens with 1,000,000 credits and
//     verifies them (cost 1). Reports "created <id>\n" after a Create returns
//     and "used <id>\n" after a Verify answers valid.
//
// Each report is one write(2) of less than PIPE_BUF bytes, so lines from
// several threads never interleave.

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "events/clock.h"
#include "events/log.h"
#include "services/core/ledger.h"
#include "services/http/ledger_json.h"

namespace tl {
namespace {

// The bootstrap secret of the crash test's ledger (a test fixture, not a
// real credential).
constexpr char kBootstrapSecret[] = "crash-test-bootstrap-admin-secret-0123456789";

void Report(int fd, const std::string& line) {
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) std::_Exit(3);
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "crash_writer: %s\n", what.c_str());
  std::_Exit(2);
}

int RunLog(const std::string& dir, int ack_fd, uint64_t first_seq, int threads) {
  auto log = EventLog::Open(dir + "/log");
  if (!log.ok()) Die("open: " + log.error().message);
  std::atomic<uint64_t> next_seq{first_seq};
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([&, t] {
      for (;;) {
        const uint64_t seq = next_seq.fetch_add(1);
        AppendRequest r;
        r.token_id = "tok_crash_writer_" + std::to_string(t);
        r.time_ms = 1'767'225'600'000 + static_cast<int64_t>(seq);
        r.actor = "system";
        r.events.emplace_back(
            EventType::kUsed,
            Json{{"cost", seq}, {"permissions", nullptr}, {"origin", nullptr}, {"ip", nullptr}});
        auto appended = (*log)->Append(std::move(r));
        if (!appended.ok()) Die("append: " + appended.error().message);
        Report(ack_fd, std::to_string(seq) + " " + std::to_string(appended->last.value()) + " " +
                           appended->events.back().hash + "\n");
      }
    });
  }
  for (auto& w : writers) w.join();  // never: the parent kills us
  return 0;
}

int RunLedger(const std::string& dir, int ack_fd, int round) {
  SystemClock clock;
  LedgerOptions options;
  options.data_dir = dir;
  options.clock = &clock;
  options.bootstrap_secret = kBootstrapSecret;
  auto ledger = Ledger::Open(std::move(options));
  if (!ledger.ok()) Die("open: " + ledger.error().message);
  auto admin = (*ledger)->Authenticate(kBootstrapSecret);
  if (!admin.ok()) Die("authenticate: " + admin.error().message);
  std::vector<std::string> secrets;
  for (uint64_t i = 0;; ++i) {
    if (i % 8 == 0) {
      auto created =
          CreateFromJson(**ledger, *admin,
                         Json{{"name", "crash " + std::to_string(round) + "/" + std::to_string(i)},
                              {"owner", "crash-owner"},
                              {"credits", 1'000'000}},
                         "");
      if (!created.ok()) Die("create: " + created.error().message);
      secrets.push_back((*created)["token"].get<std::string>());
      Report(ack_fd, "created " + (*created)["id"].get<std::string>() + "\n");
      continue;
    }
    auto verified =
        VerifyFromJson(**ledger, *admin, Json{{"token", secrets[i % secrets.size()]}, {"cost", 1}});
    if (!verified.ok()) Die("verify: " + verified.error().message);
    if (!(*verified)["valid"].get<bool>()) Die("verify: not valid: " + verified->dump());
    Report(ack_fd, "used " + (*verified)["token_id"].get<std::string>() + "\n");
  }
}

}  // namespace
}  // namespace tl

int main(int argc, char** argv) {
  if (argc == 6 && std::strcmp(argv[1], "log") == 0) {
    return tl::RunLog(argv[2], std::atoi(argv[3]), std::strtoull(argv[4], nullptr, 10),
                      std::atoi(argv[5]));
  }
  if (argc == 5 && std::strcmp(argv[1], "ledger") == 0) {
    return tl::RunLedger(argv[2], std::atoi(argv[3]), std::atoi(argv[4]));
  }
  std::fprintf(stderr, "usage: see the comment at the top of tests/crash_writer.cc\n");
  return 2;
}
