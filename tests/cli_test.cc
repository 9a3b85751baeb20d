// The tokenledger binary end to end: `serve` as a child process on a free
// loopback port, the `token` subcommands against it, and `log verify` /
// `replay` on its data dir after it stopped.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "events/event.h"
#include "events/log_format.h"
#include "events/log_test_util.h"
#include "services/secret.h"
#include "tests/http_test_util.h"

#ifndef TOKENLEDGER_BIN
#error "TOKENLEDGER_BIN must name the tokenledger binary"
#endif

namespace tl {
namespace {

using testing::TempDir;

constexpr const char* kAdmin = "cli-test-admin-secret-0123456789abcdef";

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// NAME=VALUE strings for execve: this process's environment plus `extra`.
std::vector<std::string> Environment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    std::string name = kv.substr(0, kv.find('='));
    if (extra.count(name) == 0 && name.rfind("TOKENLEDGER_", 0) != 0) env.push_back(kv);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (std::string& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Forks and execs the binary with `args`; fd 0/1/2 become the given fds
// (-1: /dev/null). Everything is prepared before fork: the child only calls
// async-signal-safe functions.
pid_t Spawn(std::vector<std::string> args, const std::map<std::string, std::string>& env, int in,
            int out, int err) {
  args.insert(args.begin(), TOKENLEDGER_BIN);
  std::vector<std::string> envs = Environment(env);
  std::vector<char*> argv = CStrings(args);
  std::vector<char*> envp = CStrings(envs);
  const int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in >= 0 ? in : devnull, 0);
    dup2(out >= 0 ? out : devnull, 1);
    dup2(err >= 0 ? err : devnull, 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(devnull);
  return pid;
}

// `tokenledger serve` as a child: killed on destruction whatever happened.
class Server {
 public:
  // `admin_secret` empty: no TOKENLEDGER_BOOTSTRAP_TOKEN, the server mints one.
  // `extra` is appended to the serve command line; with "--verify-listen"
  // the data plane's port is read too.
  Server(const std::string& data_dir, const std::string& stderr_path,
         const std::string& admin_secret = kAdmin, std::vector<std::string> extra = {}) {
    int pipe_fds[2];
    EXPECT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
    int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    std::vector<std::string> args{"serve",       "--data",    data_dir, "--listen",
                                  "127.0.0.1:0", "--threads", "8"};
    const bool data_plane = std::find(extra.begin(), extra.end(), "--verify-listen") != extra.end();
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = Spawn(
        args,
        admin_secret.empty()
            ? std::map<std::string, std::string>{}
            : std::map<std::string, std::string>{{"TOKENLEDGER_BOOTSTRAP_TOKEN", admin_secret}},
        -1, pipe_fds[1], err);
    close(pipe_fds[1]);
    close(err);
    out_ = pipe_fds[0];
    // The bound port is announced once the socket listens.
    while (auto line = ReadLine()) {
      stdout_lines_.push_back(*line);
      const std::string prefix = "listening on http://127.0.0.1:";
      if (line->rfind(prefix, 0) == 0) {
        port_ = std::stoi(line->substr(prefix.size()));
        break;
      }
    }
    EXPECT_GT(port_, 0) << "serve did not start; stderr:\n" << ReadFile(stderr_path);
    if (data_plane && port_ > 0) {
      auto line = ReadLine();
      const std::string prefix = "verify listener (POST /v1/verify) on http://127.0.0.1:";
      if (line && line->rfind(prefix, 0) == 0) {
        verify_port_ = std::stoi(line->substr(prefix.size()));
      } else {
        ADD_FAILURE() << "no verify listener line: " << (line ? *line : "(none)");
      }
    }
  }
  ~Server() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // SIGTERM and wait (at most 20 s, then SIGKILL). Returns the exit status.
  int Stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 2000; ++i) {
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      poll(nullptr, 0, 10);
    }
    ADD_FAILURE() << "serve did not stop on SIGTERM";
    return -1;
  }

  int port() const { return port_; }
  int verify_port() const { return verify_port_; }
  std::string addr() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::vector<std::string>& stdout_lines() const { return stdout_lines_; }

 private:
  // One line of the child's stdout, waiting at most 20 s in total.
  std::optional<std::string> ReadLine() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::string line;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char c;
      ssize_t n = read(out_, &c, 1);
      if (n <= 0) return std::nullopt;
      if (c == '\n') return line;
      line += c;
    }
    return std::nullopt;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  int port_ = 0;
  int verify_port_ = 0;
  std::vector<std::string> stdout_lines_;
};

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
  Json json() const { return Json::parse(out, nullptr, false); }
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { server_ = std::make_unique<Server>(data_, dir_.sub("serve.stderr")); }

  // Runs `tokenledger args...` with TOKENLEDGER_ADDR/TOKENLEDGER_TOKEN set.
  Outcome Tokenledger(std::vector<std::string> args, const std::string& token = kAdmin,
                      const std::string& stdin_text = "") {
    std::map<std::string, std::string> env{{"TOKENLEDGER_ADDR", server_->addr()}};
    if (!token.empty()) env["TOKENLEDGER_TOKEN"] = token;
    const std::string out_path = dir_.sub("out"), err_path = dir_.sub("err"),
                      in_path = dir_.sub("in");
    std::ofstream(in_path) << stdin_text;
    int in = open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    pid_t pid = Spawn(std::move(args), env, in, out, err);
    close(in);
    close(out);
    close(err);
    int status = 0;
    waitpid(pid, &status, 0);
    Outcome r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = ReadFile(out_path);
    r.err = ReadFile(err_path);
    return r;
  }
  Outcome Token(std::vector<std::string> args, const std::string& token = kAdmin) {
    args.insert(args.begin(), "token");
    return Tokenledger(std::move(args), token);
  }
  Json TokenJson(std::vector<std::string> args) {
    args.push_back("--json");
    Outcome r = Token(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    Json j = r.json();
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }

  Json Readyz() {
    httplib::Client c("127.0.0.1", server_->port());
    auto r = c.Get("/readyz");
    EXPECT_TRUE(r && r->status == 200);
    return r ? Json::parse(r->body, nullptr, false) : Json();
  }

  TempDir dir_;
  const std::string data_ = dir_.sub("data");
  std::unique_ptr<Server> server_;
};

// "key:   value" lines of the human output of a single token.
std::map<std::string, std::string> Fields(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos || line[0] == ' ') continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    out.emplace(line.substr(0, colon), value);
  }
  return out;
}

// An operator-chosen secret (TOKENLEDGER_BOOTSTRAP_TOKEN) is never printed:
// stdout is often kept in a service log.
TEST_F(CliTest, ServeNamesTheBootstrapTokenButNeverPrintsAChosenSecret) {
  const auto& lines = server_->stdout_lines();
  ASSERT_FALSE(lines.empty());
  for (const std::string& line : lines) EXPECT_EQ(line.find(kAdmin), std::string::npos) << line;
  Json admins = TokenJson({"list", "--owner", "admin"});
  ASSERT_EQ(admins["tokens"].size(), 1u) << admins;
  const std::string id = admins["tokens"][0]["id"];
  EXPECT_EQ(lines[0], "bootstrap admin token " + id + " created from TOKENLEDGER_BOOTSTRAP_TOKEN");
}

// serve --verify-listen: the data plane answers verifications on its own
// port, counted in the main port's /metrics; a bad address is refused.
TEST_F(CliTest, VerifyListenServesTheDataPlane) {
  Json created = TokenJson({"create", "--name", "plane", "--credits", "2"});
  const std::string secret = created["token"];
  server_->Stop();
  Server s(data_, dir_.sub("plane.stderr"), kAdmin,
           {"--verify-listen", "127.0.0.1:0", "--verify-gather-us", "1000"});
  ASSERT_GT(s.verify_port(), 0);
  httplib::Client plane("127.0.0.1", s.verify_port());
  const httplib::Headers auth{{"Authorization", std::string("Bearer ") + kAdmin}};
  const std::string body = Json({{"token", secret}}).dump();
  for (int remaining : {1, 0}) {
    auto r = plane.Post("/v1/verify", auth, body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(Json::parse(r->body)["remaining"], remaining) << r->body;
  }
  auto exceeded = plane.Post("/v1/verify", auth, body, "application/json");
  ASSERT_TRUE(exceeded);
  EXPECT_EQ(Json::parse(exceeded->body)["code"], "USAGE_EXCEEDED");
  auto other = plane.Get("/readyz");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  httplib::Client main("127.0.0.1", s.port());
  auto metrics = main.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("tokenledger_verifications_total{code=\"VALID\"} 2"),
            std::string::npos);
  EXPECT_EQ(s.Stop(), 0);

  Outcome bad = Tokenledger({"serve", "--data", dir_.sub("bad"), "--listen", "127.0.0.1:0",
                             "--verify-listen", "nowhere"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--verify-listen must be HOST:PORT"), std::string::npos) << bad.err;
  Outcome slow = Tokenledger({"serve", "--data", dir_.sub("bad"), "--listen", "127.0.0.1:0",
                              "--verify-listen", "127.0.0.1:0", "--verify-gather-us", "200000"});
  EXPECT_EQ(slow.exit_code, 2);
  EXPECT_NE(slow.err.find("--verify-gather-us must be"), std::string::npos) << slow.err;
}

// A generated secret is printed once, on the first start only.
TEST_F(CliTest, ServePrintsAGeneratedBootstrapSecretOnce) {
  const std::string data = dir_.sub("generated");
  std::string secret;
  {
    Server first(data, dir_.sub("generated.stderr"), /*admin_secret=*/"");
    const auto& lines = first.stdout_lines();
    ASSERT_FALSE(lines.empty());
    const std::string prefix = "bootstrap admin token: ";
    ASSERT_EQ(lines[0].rfind(prefix, 0), 0u) << lines[0];
    secret = lines[0].substr(prefix.size());
    EXPECT_TRUE(LooksLikeSecret(secret)) << secret;
    httplib::Client c("127.0.0.1", first.port());
    auto r = c.Get("/v1/tokens", {{"Authorization", "Bearer " + secret}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(first.Stop(), 0);
  }
  Server again(data, dir_.sub("generated.stderr"), /*admin_secret=*/"");
  for (const std::string& line : again.stdout_lines()) {
    EXPECT_EQ(line.find("bootstrap"), std::string::npos) << line;
  }
}

TEST_F(CliTest, CreateShowListUpdateAsTablesAndJson) {
  Outcome created =
      Token({"create", "--name", "reports", "--permission", "reports:read", "--permission",
             "reports:write", "--credits", "10", "--meta", R"({"team":"bi"})"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto f = Fields(created.out);
  const std::string secret = f["secret"];
  const std::string id = f["id"];
  EXPECT_EQ(secret.rfind("tl_", 0), 0u) << created.out;
  EXPECT_EQ(secret.size(), 3u + 43 + 6);
  EXPECT_EQ(id.rfind("tok_", 0), 0u) << created.out;
  EXPECT_EQ(f["name"], "reports");
  EXPECT_EQ(f["status"], "active");
  EXPECT_EQ(f["permissions"], R"(["reports:read","reports:write"])");
  EXPECT_EQ(f["meta"], R"({"team":"bi"})");
  EXPECT_NE(created.out.find("shown once"), std::string::npos);

  Json json = TokenJson({"create", "--name", "ro", "--preset", "read-only", "--owner", "acme",
                         "--expires-in", "7d", "--rate-limit", "5", "--rate-window-ms", "1000",
                         "--origin", "app.example.com", "--ip", "10.0.0.0/8", "--prefix", "acme"});
  EXPECT_EQ(json["permissions"], Json({"*:read"}));
  EXPECT_EQ(json["owner"], "acme");
  EXPECT_EQ(json["token"].get<std::string>().rfind("acme_", 0), 0u);
  EXPECT_EQ(json["rate_limit"], Json({{"limit", 5}, {"window_ms", 1000}}));
  EXPECT_EQ(json["allowed_origins"], Json({"app.example.com"}));
  EXPECT_EQ(json["allowed_ips"], Json({"10.0.0.0/8"}));
  EXPECT_FALSE(json["expires_at"].is_null());

  // show: no secret, human and JSON.
  Outcome shown = Token({"show", id});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(shown.out.find(secret), std::string::npos);
  EXPECT_EQ(Fields(shown.out)["id"], id);
  EXPECT_EQ(Fields(shown.out).count("secret"), 0u);
  Json shown_json = TokenJson({"show", id});
  EXPECT_EQ(shown_json["credits"]["remaining"], 10);
  EXPECT_FALSE(shown_json.contains("token"));

  // list: a table, newest first; filters.
  Outcome listed = Token({"list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  std::istringstream rows(listed.out);
  std::string header;
  std::getline(rows, header);
  for (const char* col : {"ID", "NAME", "OWNER", "STATUS", "PERMISSIONS", "EXPIRES", "CREDITS"}) {
    EXPECT_NE(header.find(col), std::string::npos) << header;
  }
  std::vector<std::string> row_ids;
  for (std::string row; std::getline(rows, row);) row_ids.push_back(row.substr(0, row.find(' ')));
  ASSERT_EQ(row_ids.size(), 3u) << listed.out;
  EXPECT_EQ(row_ids[0], json["id"]);
  EXPECT_EQ(row_ids[1], id);
  EXPECT_EQ(listed.out.find(secret), std::string::npos);
  Json acme = TokenJson({"list", "--owner", "acme"});
  ASSERT_EQ(acme["tokens"].size(), 1u);
  EXPECT_EQ(acme["tokens"][0]["id"], json["id"]);
  Json paged = TokenJson({"list", "--limit", "1"});
  EXPECT_EQ(paged["tokens"].size(), 1u);
  ASSERT_TRUE(paged["next_cursor"].is_string());
  Json next = TokenJson({"list", "--limit", "1", "--cursor", paged["next_cursor"]});
  EXPECT_EQ(next["tokens"][0]["id"], id);
  Outcome paged_table = Token({"list", "--limit", "1"});
  EXPECT_NE(paged_table.out.find("next cursor: " + paged["next_cursor"].get<std::string>()),
            std::string::npos);

  // update, with If-Match.
  Json updated =
      TokenJson({"update", id, "--name", "renamed", "--description", "d", "--if-match", "1"});
  EXPECT_EQ(updated["name"], "renamed");
  EXPECT_EQ(updated["version"], 2);
  Outcome stale = Token({"update", id, "--name", "again", "--if-match", "1"});
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_NE(stale.err.find("412"), std::string::npos) << stale.err;
  Json as_of = TokenJson({"show", id, "--as-of", "2"});
  EXPECT_EQ(as_of["name"], "reports");
}

TEST_F(CliTest, VerifyCreditsRegenerateRevokeEventsUsage) {
  Json t = TokenJson({"create", "--name", "metered", "--credits", "5", "--permission", "x:read"});
  const std::string id = t["id"], secret = t["token"];

  Outcome ok = Token({"verify", secret, "--cost", "2", "--permissions", "x:read"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "VALID  token " + id + " (metered)  remaining 3\n");
  // The secret can come on stdin, out of the process list.
  Outcome piped = Tokenledger({"token", "verify", "-", "--json"}, kAdmin, secret + "\n");
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.json()["remaining"], 2);
  Outcome forbidden = Token({"verify", secret, "--permissions", "x:write OR y:read"});
  EXPECT_EQ(forbidden.exit_code, 0);  // a well-formed verification answers, whatever the code
  EXPECT_EQ(forbidden.out.substr(0, 9), "FORBIDDEN");
  Outcome unknown = Token({"verify", "tl_nope", "--json"});
  EXPECT_EQ(unknown.json(), Json({{"valid", false}, {"code", "NOT_FOUND"}}));

  Outcome set = Token({"credits", id, "--set", "7"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(Fields(set.out)["credits"], R"({"refill":null,"remaining":7})");
  Json added = TokenJson({"credits", id, "--add", "-10"});
  EXPECT_EQ(added["credits"]["remaining"], 0);
  Outcome both = Token({"credits", id, "--set", "1", "--add", "1"});
  EXPECT_EQ(both.exit_code, 2);

  Json regen = TokenJson({"regenerate", id, "--grace-period-s", "3600"});
  const std::string new_secret = regen["token"];
  EXPECT_NE(new_secret, secret);
  TokenJson({"credits", id, "--set", "4"});
  EXPECT_EQ(Token({"verify", secret, "--json"}).json()["remaining"], 3);  // old one, in grace
  EXPECT_EQ(Token({"verify", new_secret, "--json"}).json()["remaining"], 2);

  Outcome revoked = Token({"revoke", id, "--reason", "done"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_EQ(Fields(revoked.out)["status"], "revoked");
  EXPECT_EQ(Token({"verify", new_secret}).out.substr(0, 7), "REVOKED");

  Outcome events = Token({"events", id});
  ASSERT_EQ(events.exit_code, 0) << events.err;
  for (const char* type : {"token.created", "token.used", "token.use_denied",
                           "token.credits_adjusted", "token.regenerated", "token.revoked"}) {
    EXPECT_NE(events.out.find(type), std::string::npos) << type << "\n" << events.out;
  }
  EXPECT_EQ(events.out.find(secret), std::string::npos);
  EXPECT_EQ(events.out.find(new_secret), std::string::npos);
  EXPECT_EQ(events.out.rfind("POSITION", 0), 0u);
  Json page = TokenJson({"events", id, "--after", "1", "--limit", "2"});
  ASSERT_EQ(page["events"].size(), 2u);
  EXPECT_EQ(page["events"][0]["version"], 2);

  Json usage = TokenJson({"usage", id, "--bucket", "day"});
  EXPECT_EQ(usage["total"]["uses"], 4);
  EXPECT_EQ(usage["total"]["credits_spent"], 5);
  EXPECT_EQ(usage["total"]["denied"]["FORBIDDEN"], 1);
  EXPECT_EQ(usage["total"]["denied"]["REVOKED"], 1);
  Outcome usage_text = Token({"usage"});
  ASSERT_EQ(usage_text.exit_code, 0) << usage_text.err;
  EXPECT_EQ(usage_text.out.rfind("total: uses 4, credits spent 5, denied ", 0), 0u)
      << usage_text.out;
  EXPECT_NE(usage_text.out.find("START"), std::string::npos);
}

TEST_F(CliTest, FailuresExitNonZeroWithTheServersMessage) {
  Outcome missing = Token({"show", "tok_AAAAAAAAAAAAAAAAAAAAAA"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("404"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("no token tok_AAAAAAAAAAAAAAAAAAAAAA"), std::string::npos)
      << missing.err;
  EXPECT_TRUE(missing.out.empty());

  Outcome bad = Token({"create", "--name", "x", "--expires-in", "soon"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("400"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("(field expires_in)"), std::string::npos) << bad.err;

  Outcome unauthenticated = Token({"list"}, "tl_not_a_real_secret_at_all_0000000000");
  EXPECT_EQ(unauthenticated.exit_code, 1);
  EXPECT_NE(unauthenticated.err.find("401"), std::string::npos) << unauthenticated.err;

  Json reader = TokenJson({"create", "--name", "r", "--permission", "ledger:read"});
  Outcome forbidden = Token({"create", "--name", "y"}, reader["token"]);
  EXPECT_EQ(forbidden.exit_code, 1);
  EXPECT_NE(forbidden.err.find("403"), std::string::npos) << forbidden.err;
  EXPECT_NE(forbidden.err.find("ledger:write"), std::string::npos) << forbidden.err;

  Outcome no_token = Token({"list"}, "");
  EXPECT_EQ(no_token.exit_code, 2);
  EXPECT_NE(no_token.err.find("TOKENLEDGER_TOKEN"), std::string::npos);
  Outcome unknown_verb = Token({"frobnicate"});
  EXPECT_EQ(unknown_verb.exit_code, 2);
  // Flags override the environment: a dead address fails to connect.
  Outcome unreachable = Token({"list", "--addr", "http://127.0.0.1:1"});
  EXPECT_EQ(unreachable.exit_code, 3);
  // A whole sentence, not httplib's cut-short "Connection".
  EXPECT_NE(unreachable.err.find("cannot reach http://127.0.0.1:1: connection refused or failed"),
            std::string::npos)
      << unreachable.err;
}

// The audit found stray arguments and repeated flags ignored, and a bad
// --from answered with the usage line alone.
TEST_F(CliTest, StrayArgumentsRepeatedFlagsAndBadValuesAreNamed) {
  auto expect_usage_error = [](const Outcome& r, const std::string& message) {
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  };
  expect_usage_error(Tokenledger({"replay", "--data", data_, "extra"}, ""),
                     "unexpected argument 'extra'");
  expect_usage_error(Tokenledger({"log", "verify", "--data", data_, "x", "y"}, ""),
                     "unexpected arguments 'x' 'y'");
  expect_usage_error(
      Tokenledger({"log", "export", "--data", data_, "--from", "1", "--from", "2"}, ""),
      "--from is given more than once");
  for (const std::string bad : {"abc", "-1", "5x", "", "99999999999999999999"}) {
    expect_usage_error(Tokenledger({"log", "export", "--data", data_, "--from", bad}, ""),
                       "--from must be a position");
  }
  expect_usage_error(Token({"show", "tok_AAAAAAAAAAAAAAAAAAAAAA", "extra"}),
                     "unexpected argument 'extra'");
  expect_usage_error(Token({"list", "extra"}), "unexpected argument 'extra'");
  expect_usage_error(
      Token({"revoke", "tok_AAAAAAAAAAAAAAAAAAAAAA", "--reason", "a", "--reason", "b"}),
      "--reason is given more than once");
  // Repeatable flags stay repeatable.
  Json t = TokenJson({"create", "--name", "r", "--permission", "a:b", "--permission", "c:d"});
  EXPECT_EQ(t["permissions"], Json({"a:b", "c:d"}));

  // serve's --listen is optional, and its usage says so.
  Outcome serve = Tokenledger({"serve"}, "");
  expect_usage_error(serve, "--data DIR is required");
  EXPECT_NE(serve.err.find("[--listen HOST:PORT]"), std::string::npos) << serve.err;
  EXPECT_NE(serve.err.find("defaults to\n  127.0.0.1:8080"), std::string::npos) << serve.err;
  Outcome help = Tokenledger({"--help"}, "");
  EXPECT_NE(help.out.find("serve      --data DIR [--listen HOST:PORT]"), std::string::npos)
      << help.out;
}

TEST_F(CliTest, LogVerifyAndReplayAgreeWithReadyzAfterStop) {
  Json t = TokenJson({"create", "--name", "a", "--credits", "3"});
  Token({"verify", t["token"].get<std::string>(), "--cost", "2"});
  Token({"verify", t["token"].get<std::string>(), "--cost", "2"});
  TokenJson({"update", t["id"], "--permission", "p:q"});
  Json ready = Readyz();
  const uint64_t position = ready["position"];
  const std::string digest = ready["digest"];
  EXPECT_GE(position, 5u);  // bootstrap, created, used, use_denied, permission change
  // On a running server's data the newest segment ends in preallocated
  // space: reported, and not damage.
  Outcome live = Tokenledger({"log", "verify", "--data", data_}, "");
  EXPECT_EQ(live.exit_code, 0) << live.err;
  EXPECT_NE(live.err.find("unwritten space after position " + std::to_string(position)),
            std::string::npos)
      << live.err;
  EXPECT_EQ(server_->Stop(), 0);

  Outcome verified = Tokenledger({"log", "verify", "--data", data_}, "");
  ASSERT_EQ(verified.exit_code, 0) << verified.err;
  const std::string pos = std::to_string(position);
  EXPECT_NE(verified.out.find("events: " + pos + "\n"), std::string::npos) << verified.out;
  EXPECT_NE(verified.out.find("last position: " + pos + "\n"), std::string::npos) << verified.out;
  EXPECT_NE(verified.out.find("ok"), std::string::npos);
  Outcome replayed = Tokenledger({"replay", "--data", data_}, "");
  ASSERT_EQ(replayed.exit_code, 0) << replayed.err;
  EXPECT_NE(replayed.out.find("digest: " + digest + "\n"), std::string::npos) << replayed.out;
  EXPECT_NE(replayed.out.find("\nposition: " + pos + "\n"), std::string::npos) << replayed.out;
  // The state as of an earlier position differs.
  Outcome earlier = Tokenledger({"replay", "--data", data_, "--until", "2"}, "");
  EXPECT_EQ(earlier.out.find(digest), std::string::npos);

  // A restart keeps the state and never shows the admin secret again.
  server_ = std::make_unique<Server>(data_, dir_.sub("serve2.stderr"));
  for (const std::string& line : server_->stdout_lines()) {
    EXPECT_EQ(line.find("bootstrap"), std::string::npos) << line;
  }
  Json again = Readyz();
  EXPECT_EQ(again["digest"], digest);
  EXPECT_EQ(again["position"], position);
  // No secret reached the server's logs.
  EXPECT_EQ(ReadFile(dir_.sub("serve.stderr")).find(t["token"].get<std::string>()),
            std::string::npos);
  EXPECT_EQ(ReadFile(dir_.sub("serve.stderr")).find(kAdmin), std::string::npos);
}

// SIGTERM: every request the server has received is answered (its event
// durable), then serve exits 0.
TEST_F(CliTest, SigtermAnswersEveryReceivedRequestThenExitsZero) {
  constexpr int kConnections = 4;
  constexpr int kPerConnection = 25;
  std::vector<int> fds;
  for (int c = 0; c < kConnections; ++c) {
    std::string batch;  // pipelined: most wait in the server's buffer when the signal comes
    for (int i = 0; i < kPerConnection; ++i) {
      const std::string body =
          Json{{"name", "term-" + std::to_string(c) + "-" + std::to_string(i)}}.dump();
      batch += "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
               std::string(kAdmin) + "\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\n\r\n" + body;
    }
    const int fd = testing::ConnectAndSend(server_->port(), batch);
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
  }
  poll(nullptr, 0, 20);  // received, most not yet answered
  int exit_code = -1;
  std::thread stop([&] { exit_code = server_->Stop(); });
  int created = 0;
  for (int fd : fds) {
    for (const std::string& r : testing::ReadResponses(fd, kPerConnection)) {
      created += r.rfind("HTTP/1.1 201 ", 0) == 0 ? 1 : 0;
    }
    close(fd);
  }
  stop.join();
  EXPECT_EQ(exit_code, 0);
  EXPECT_EQ(created, kConnections * kPerConnection);
  Outcome verified = Tokenledger({"log", "verify", "--data", data_}, "");
  ASSERT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_NE(
      verified.out.find("events: " + std::to_string(1 + kConnections * kPerConnection) + "\n"),
      std::string::npos)
      << verified.out;
}

// The last record of a stopped server's log is damaged: the snapshot written
// on stop proves it was acknowledged. `log verify` fails naming both
// positions; replay and export still read what is intact but say what they
// left out.
TEST_F(CliTest, ALostLastRecordIsReportedByVerifyReplayAndExport) {
  TokenJson({"create", "--name", "a"});
  const uint64_t position = Readyz()["position"];
  EXPECT_EQ(server_->Stop(), 0);  // writes the snapshot of `position`
  const std::string segment = data_ + "/log/" + logfmt::SegmentFileName(Position(1));
  std::filesystem::resize_file(segment, std::filesystem::file_size(segment) - 5);
  const std::string before = std::to_string(position - 1);

  Outcome verified = Tokenledger({"log", "verify", "--data", data_}, "");
  EXPECT_EQ(verified.exit_code, 1);
  EXPECT_NE(verified.err.find("covers position " + std::to_string(position) +
                              " but the log ends at position " + before),
            std::string::npos)
      << verified.err;
  Outcome replayed = Tokenledger({"replay", "--data", data_}, "");
  EXPECT_EQ(replayed.exit_code, 0) << replayed.err;
  EXPECT_NE(replayed.out.find("\nposition: " + before + "\n"), std::string::npos);
  EXPECT_NE(replayed.err.find("replay: warning: the record after position " + before),
            std::string::npos)
      << replayed.err;
  Outcome exported = Tokenledger({"log", "export", "--data", data_}, "");
  EXPECT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_NE(exported.err.find("log export: warning: the record after position " + before),
            std::string::npos)
      << exported.err;
}

// An event altered on disk with fresh CRCs (its hash left as it was) stops
// every command that reads it, naming its position.
TEST_F(CliTest, AnAlteredEventStopsVerifyReplayAndExport) {
  Json t = TokenJson({"create", "--name", "a"});
  EXPECT_EQ(server_->Stop(), 0);
  ASSERT_TRUE(
      testing::AlterEventData(data_ + "/log", Position(2), [](Json& data) { data["name"] = "b"; }));
  for (std::vector<std::string> command :
       {std::vector<std::string>{"log", "verify"}, std::vector<std::string>{"replay"},
        std::vector<std::string>{"log", "export"}}) {
    command.insert(command.end(), {"--data", data_});
    Outcome outcome = Tokenledger(command, "");
    EXPECT_EQ(outcome.exit_code, 1) << command[0];
    EXPECT_NE(outcome.err.find("position 2"), std::string::npos) << outcome.err;
    EXPECT_NE(outcome.err.find("hash mismatch"), std::string::npos) << outcome.err;
  }
}

}  // namespace
}  // namespace tl
