// The tokenledger binary end to end: `serve` as a child process on a free
// loopback port, the `token` subcommands against it, and `log verify` /
// `replay` on its data dir after it stopped.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "events/event.h"
#include "events/log_format.h"
#include "events/log_test_util.h"
#include "events/time_format.h"
#include "services/domain/secret.h"
#include "services/http/metrics.h"
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
pid_t SpawnProgram(std::vector<std::string> args, const std::map<std::string, std::string>& env,
                   int in, int out, int err) {
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

// The same for the tokenledger binary: `args` are its arguments.
pid_t Spawn(std::vector<std::string> args, const std::map<std::string, std::string>& env, int in,
            int out, int err) {
  args.insert(args.begin(), TOKENLEDGER_BIN);
  return SpawnProgram(std::move(args), env, in, out, err);
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
      bool found = false;
      for (const std::string scheme : {"http", "https"}) {
        const std::string prefix = "listening on " + scheme + "://127.0.0.1:";
        if (line->rfind(prefix, 0) == 0) {
          port_ = std::stoi(line->substr(prefix.size()));
          scheme_ = scheme;
          found = true;
        }
      }
      if (found) break;
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
  pid_t pid() const { return pid_; }
  std::string addr() const { return scheme_ + "://127.0.0.1:" + std::to_string(port_); }
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
  std::string scheme_ = "http";
  int verify_port_ = 0;
  std::vector<std::string> stdout_lines_;
};

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
  Json json() const { return Json::parse(out, nullptr, false); }
};

// Runs the program args[0] to its end (at most 60 s) with `env` added to
// this process's environment and `stdin_text` on its standard input; its
// output goes through files in `scratch`.
Outcome RunProgram(std::vector<std::string> args, const std::map<std::string, std::string>& env,
                   TempDir& scratch, const std::string& stdin_text = "") {
  const std::string out_path = scratch.sub("out"), err_path = scratch.sub("err"),
                    in_path = scratch.sub("in");
  std::ofstream(in_path) << stdin_text;
  int in = open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
  int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  pid_t pid = SpawnProgram(std::move(args), env, in, out, err);
  close(in);
  close(out);
  close(err);
  // Bounded: a command that should have exited (a refused serve) fails
  // the test instead of hanging it.
  int status = 0;
  bool exited = false;
  for (int i = 0; i < 6000 && !exited; ++i) {
    exited = waitpid(pid, &status, WNOHANG) == pid;
    if (!exited) poll(nullptr, 0, 10);
  }
  if (!exited) {
    ADD_FAILURE() << "command still running after 60 s";
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  Outcome r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  return r;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { server_ = std::make_unique<Server>(data_, dir_.sub("serve.stderr")); }

  // Runs `tokenledger args...` with TOKENLEDGER_ADDR/TOKENLEDGER_TOKEN set.
  Outcome Tokenledger(std::vector<std::string> args, const std::string& token = kAdmin,
                      const std::string& stdin_text = "") {
    std::map<std::string, std::string> env{{"TOKENLEDGER_ADDR", server_->addr()}};
    if (!token.empty()) env["TOKENLEDGER_TOKEN"] = token;
    args.insert(args.begin(), TOKENLEDGER_BIN);
    return Run(std::move(args), env, stdin_text);
  }
  // Runs the program args[0] with `env` added to this process's environment.
  Outcome Run(std::vector<std::string> args, const std::map<std::string, std::string>& env,
              const std::string& stdin_text = "") {
    return RunProgram(std::move(args), env, dir_, stdin_text);
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
  EXPECT_EQ(forbidden.exit_code, 15);  // every code but VALID has its own status
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

TEST_F(CliTest, VersionPrintsTheBuildVersion) {
  for (const char* verb : {"version", "--version"}) {
    Outcome v = Tokenledger({verb}, "");
    EXPECT_EQ(v.exit_code, 0) << v.err;
    EXPECT_EQ(v.out, "tokenledger " + std::string(BuildVersion()) + "\n");
  }
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

  // The export keeps the secrets' digests, which the HTTP feeds leave out (a
  // restore needs them).
  Outcome exported = Tokenledger({"log", "export", "--data", data_}, "");
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_NE(exported.out.find("\"secret_digest\":\"" + SecretDigest(t["token"].get<std::string>())),
            std::string::npos);
  EXPECT_NE(exported.out.find("\"secret_digest\":\"" + SecretDigest(kAdmin)), std::string::npos);

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
  EXPECT_NE(verified.err.find("position " + std::to_string(position) + " was acknowledged (" +
                              data_ + "/acknowledged.json) but the log ends at position " + before),
            std::string::npos)
      << verified.err;
  // Without the high-water mark, the snapshot proves the same.
  std::filesystem::remove(data_ + "/acknowledged.json");
  verified = Tokenledger({"log", "verify", "--data", data_}, "");
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

// One process at a time writes a data directory: a second serve on it exits
// at once naming the holder, the first one keeps serving, and the read-only
// commands work beside it without changing anything.
TEST_F(CliTest, ASecondServeIsRefusedAndReadersWorkBesideTheFirst) {
  Json t = TokenJson({"create", "--name", "first"});
  const std::string pid = std::to_string(server_->pid());
  EXPECT_EQ(ReadFile(data_ + "/LOCK"), pid + "\n");

  Outcome second = Tokenledger({"serve", "--data", data_, "--listen", "127.0.0.1:0"}, "");
  EXPECT_EQ(second.exit_code, 1) << second.err;
  EXPECT_NE(second.err.find("in use by process " + pid), std::string::npos) << second.err;
  EXPECT_EQ(ReadFile(data_ + "/LOCK"), pid + "\n");  // the holder's pid stays

  TokenJson({"create", "--name", "still served"});
  const uint64_t position = Readyz()["position"];
  const std::string segment = data_ + "/log/" + logfmt::SegmentFileName(Position(1));
  const std::string bytes = ReadFile(segment);
  Outcome verified = Tokenledger({"log", "verify", "--data", data_}, "");
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_NE(verified.out.find("last position: " + std::to_string(position) + "\n"),
            std::string::npos)
      << verified.out;
  EXPECT_NE(verified.out.find("while process " + pid + " writes the log"), std::string::npos)
      << verified.out;
  Outcome replayed = Tokenledger({"replay", "--data", data_}, "");
  EXPECT_EQ(replayed.exit_code, 0) << replayed.err;
  EXPECT_NE(replayed.out.find("\nposition: " + std::to_string(position) + "\n"), std::string::npos)
      << replayed.out;
  Outcome exported = Tokenledger({"log", "export", "--data", data_}, "");
  EXPECT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_EQ(ReadFile(segment), bytes);  // the readers cut nothing
  TokenJson({"show", t["id"]});
  EXPECT_EQ(server_->Stop(), 0);

  // Once the holder is gone, the next one takes the lock.
  server_ = std::make_unique<Server>(data_, dir_.sub("serve2.stderr"));
  EXPECT_EQ(ReadFile(data_ + "/LOCK"), std::to_string(server_->pid()) + "\n");
}

// The newest segment cut to half with no snapshot: serve refuses naming the
// acknowledged position and where the log ends, `log verify` fails alike;
// --accept-log-loss starts and prints what it dropped.
TEST_F(CliTest, AShortenedLogIsRefusedUntilTheLossIsAccepted) {
  for (int i = 0; i < 30; ++i) TokenJson({"create", "--name", "t" + std::to_string(i)});
  const uint64_t acknowledged = Readyz()["position"];
  EXPECT_EQ(server_->Stop(), 0);
  std::filesystem::remove_all(data_ + "/snapshots");
  const std::string segment = data_ + "/log/" + logfmt::SegmentFileName(Position(1));
  std::filesystem::resize_file(segment, std::filesystem::file_size(segment) / 2);
  const auto half = std::filesystem::file_size(segment);

  Outcome refused = Tokenledger({"serve", "--data", data_, "--listen", "127.0.0.1:0"}, "");
  EXPECT_EQ(refused.exit_code, 1);
  const std::string mark = "position " + std::to_string(acknowledged) + " was acknowledged";
  EXPECT_NE(refused.err.find(mark), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("last intact event is position "), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--accept-log-loss"), std::string::npos) << refused.err;
  EXPECT_EQ(std::filesystem::file_size(segment), half);  // nothing was cut
  Outcome verified = Tokenledger({"log", "verify", "--data", data_}, "");
  EXPECT_EQ(verified.exit_code, 1);
  EXPECT_NE(verified.err.find(mark), std::string::npos) << verified.err;

  const std::string err_path = dir_.sub("accept.stderr");
  server_ = std::make_unique<Server>(data_, err_path, kAdmin,
                                     std::vector<std::string>{"--accept-log-loss"});
  const uint64_t kept = Readyz()["position"];
  EXPECT_LT(kept, acknowledged);
  EXPECT_NE(ReadFile(err_path).find("positions " + std::to_string(kept + 1) + " to " +
                                    std::to_string(acknowledged) + " (" +
                                    std::to_string(acknowledged - kept) +
                                    " acknowledged events) are missing from the log and are "
                                    "dropped"),
            std::string::npos)
      << ReadFile(err_path);
  EXPECT_EQ(server_->Stop(), 0);
  server_ = std::make_unique<Server>(data_, dir_.sub("after.stderr"));
  EXPECT_EQ(Readyz()["position"], kept);
}

// Every file the server writes is its owner's alone, whatever the umask.
TEST(CliFiles, AreTheOwnersAloneWhateverTheUmask) {
  TempDir dir;
  const std::string data = dir.sub("data");
  const mode_t old_umask = umask(022);
  {
    Server s(data, dir.sub("serve.stderr"));
    httplib::Client c("127.0.0.1", s.port());
    auto r = c.Post("/v1/tokens", {{"Authorization", std::string("Bearer ") + kAdmin}},
                    R"({"name":"t"})", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 201) << r->body;
    EXPECT_EQ(s.Stop(), 0);  // writes a snapshot and the high-water mark
  }
  umask(old_umask);
  size_t files = 0;
  auto mode = [](const std::filesystem::path& p) {
    struct stat st {};
    EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 0777;
  };
  EXPECT_EQ(mode(data), 0700u);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(data)) {
    if (entry.is_directory()) {
      EXPECT_EQ(mode(entry.path()), 0700u) << entry.path();
    } else {
      EXPECT_EQ(mode(entry.path()), 0600u) << entry.path();
      ++files;
    }
  }
  EXPECT_GE(files, 4u);  // LOCK, acknowledged.json, a segment, a snapshot
  EXPECT_TRUE(std::filesystem::exists(data + "/LOCK"));
  EXPECT_TRUE(std::filesystem::exists(data + "/acknowledged.json"));
  EXPECT_TRUE(std::filesystem::exists(data + "/snapshots"));
}

// A full disk, for real: a 2 MiB tmpfs is filled while serve writes to it.
// Writes (creates, and verifications on both ports) answer 503 naming the
// cause, the process lives on, reads, /healthz and /metrics answer, /readyz
// says why it is not ready; once space is freed writes resume without a
// restart, the log verifies, and every acknowledged write is in it.
TEST(CliDiskFull, WritesAnswer503AndResumeWhenSpaceReturns) {
  TempDir dir;
  const std::string mnt = dir.sub("mnt");
  std::filesystem::create_directories(mnt);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=2m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs on " << mnt << " (" << std::strerror(errno)
                 << "): this test needs root (CAP_SYS_ADMIN) to fill a small file system";
  }
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{mnt};
  const std::string data = mnt + "/data";
  const std::string err_path = dir.sub("serve.stderr");
  auto server = std::make_unique<Server>(
      data, err_path, kAdmin, std::vector<std::string>{"--verify-listen", "127.0.0.1:0"});
  ASSERT_GT(server->verify_port(), 0);
  httplib::Client main("127.0.0.1", server->port());
  httplib::Client plane("127.0.0.1", server->verify_port());
  const httplib::Headers auth{{"Authorization", std::string("Bearer ") + kAdmin}};
  std::vector<std::string> created;  // ids of acknowledged creates
  auto create = [&] {
    auto r = main.Post("/v1/tokens", auth, R"({"name":"t"})", "application/json");
    EXPECT_TRUE(r);
    if (r && r->status == 201) created.push_back(Json::parse(r->body)["id"]);
    return r;
  };
  ASSERT_EQ(create()->status, 201);
  auto t = main.Post("/v1/tokens", auth, R"({"name":"verified"})", "application/json");
  ASSERT_TRUE(t && t->status == 201);
  const Json token = Json::parse(t->body);
  const std::string verify_body = Json{{"token", token["token"]}}.dump();
  size_t verified = 0;  // acknowledged verifications (one token.used each)
  auto verify = [&](httplib::Client& c) {
    auto r = c.Post("/v1/verify", auth, verify_body, "application/json");
    EXPECT_TRUE(r);
    if (r && r->status == 200) {
      EXPECT_EQ(Json::parse(r->body)["valid"], true) << r->body;
      ++verified;
    }
    return r;
  };

  // Fill the file system.
  const std::string filler = mnt + "/filler";
  {
    const int fd = open(filler.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    const std::string block(64 << 10, 'x');
    while (write(fd, block.data(), block.size()) > 0) {
    }
    EXPECT_EQ(errno, ENOSPC);
    const std::string small(512, 'x');
    while (write(fd, small.data(), small.size()) > 0) {
    }
    close(fd);
  }
  // The log's preallocated space takes writes for a while; then they fail.
  std::optional<httplib::Result> refused;
  for (int i = 0; i < 20000 && !refused; ++i) {
    auto r = verify(i % 2 ? plane : main);
    ASSERT_TRUE(r && (r->status == 200 || r->status == 503))
        << i << ": " << (r ? r->body : httplib::to_string(r.error())) << "\n"
        << ReadFile(err_path);
    if (r->status == 503) refused.emplace(std::move(r));
  }
  ASSERT_TRUE(refused) << "the disk never filled up";
  const Json problem = Json::parse((**refused).body);
  EXPECT_EQ(problem["type"], "urn:tokenledger:problem:storage-unavailable") << problem;
  EXPECT_NE(problem["detail"].get<std::string>().find("no space left on device"), std::string::npos)
      << problem;
  for (httplib::Client* c : {&main, &plane}) {
    auto r = verify(*c);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503) << r->body;
  }
  auto refused_create = create();
  ASSERT_TRUE(refused_create);
  EXPECT_EQ(refused_create->status, 503) << refused_create->body;
  // Still alive: reads, liveness, readiness (with why) and metrics answer.
  EXPECT_EQ(waitpid(server->pid(), nullptr, WNOHANG), 0);
  auto health = main.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto got = main.Get("/v1/tokens/" + token["id"].get<std::string>(), auth);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  auto ready = main.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_NE(ready->body.find("no space left on device"), std::string::npos) << ready->body;
  auto metrics = main.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("# TYPE tokenledger_storage_errors_total counter"),
            std::string::npos);
  EXPECT_EQ(metrics->body.find("tokenledger_storage_errors_total 0\n"), std::string::npos);

  // Space returns: writes resume on their own (after the retry back-off).
  std::filesystem::remove(filler);
  bool resumed = false;
  for (int i = 0; i < 100 && !resumed; ++i) {
    poll(nullptr, 0, 100);
    auto r = verify(i % 2 ? plane : main);
    resumed = r && r->status == 200;
  }
  ASSERT_TRUE(resumed) << ReadFile(err_path);
  ASSERT_EQ(create()->status, 201);
  ASSERT_EQ(verify(plane)->status, 200);
  ready = main.Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;
  EXPECT_EQ(server->Stop(), 0);
  EXPECT_EQ(ReadFile(err_path).find("fatal"), std::string::npos) << ReadFile(err_path);

  // Every acknowledged write is in a log that verifies; nothing else is.
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), TOKENLEDGER_BIN);
    Outcome o = RunProgram(std::move(args), {}, dir);
    EXPECT_EQ(o.exit_code, 0) << o.err;
    return o.out;
  };
  EXPECT_NE(run({"log", "verify", "--data", data}).find("ok"), std::string::npos);
  size_t used = 0;
  std::set<std::string> subjects;
  std::istringstream lines(run({"log", "export", "--data", data}));
  for (std::string line; std::getline(lines, line);) {
    const Json e = Json::parse(line);
    if (e["type"] == "token.used" && e["subject"] == token["id"]) ++used;
    if (e["type"] == "token.created") subjects.insert(e["subject"].get<std::string>());
  }
  EXPECT_EQ(used, verified);
  for (const std::string& id : created) EXPECT_EQ(subjects.count(id), 1u) << id;
  EXPECT_EQ(subjects.size(), created.size() + 2);  // + the admin and the verified token
}

// A backup taken while serve writes holds a prefix of the live history: its
// replay has the digest the live log has at the backup's position, and
// serve starts on it.
TEST_F(CliTest, ABackupUnderWriteLoadRestoresTheSameState) {
  Json t = TokenJson({"create", "--name", "loaded"});
  const std::string body = Json{{"token", t["token"]}}.dump();
  std::atomic<bool> stop{false};
  std::atomic<int> verified{0};
  std::thread load([&] {
    httplib::Client c("127.0.0.1", server_->port());
    const httplib::Headers auth{{"Authorization", std::string("Bearer ") + kAdmin}};
    while (!stop) {
      auto r = c.Post("/v1/verify", auth, body, "application/json");
      if (r && r->status == 200) ++verified;
    }
  });
  while (verified < 200) poll(nullptr, 0, 10);
  // The high-water mark, which bounds the backup, trails the durable log by
  // up to its interval (100 ms): let it pass the first 200.
  poll(nullptr, 0, 300);
  const std::string dest = dir_.sub("backup");
  Outcome backup = Tokenledger({"backup", "--data", data_, "--to", dest}, "");
  const int during = verified;
  while (verified < during + 200) poll(nullptr, 0, 10);
  stop = true;
  load.join();
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  const std::string prefix = "backup of position ";
  ASSERT_EQ(backup.out.rfind(prefix, 0), 0u) << backup.out;
  const std::string position = std::to_string(std::stoull(backup.out.substr(prefix.size())));
  EXPECT_GT(std::stoull(position), 200u);
  const uint64_t live = Readyz()["position"];
  EXPECT_LT(std::stoull(position), live);  // the load went on after the backup
  EXPECT_EQ(server_->Stop(), 0);

  Outcome from_backup = Tokenledger({"replay", "--data", dest}, "");
  ASSERT_EQ(from_backup.exit_code, 0) << from_backup.err;
  EXPECT_NE(from_backup.out.find("\nposition: " + position + "\n"), std::string::npos)
      << from_backup.out;
  Outcome from_live = Tokenledger({"replay", "--data", data_, "--until", position}, "");
  ASSERT_EQ(from_live.exit_code, 0) << from_live.err;
  EXPECT_EQ(from_backup.out, from_live.out);
  Outcome verified_backup = Tokenledger({"log", "verify", "--data", dest}, "");
  EXPECT_EQ(verified_backup.exit_code, 0) << verified_backup.err;

  server_ = std::make_unique<Server>(dest, dir_.sub("restored.stderr"));
  Json ready = Readyz();
  EXPECT_EQ(ready["position"], std::stoull(position));
  const std::string digest_line = "digest: " + ready["digest"].get<std::string>() + "\n";
  EXPECT_NE(from_backup.out.find(digest_line), std::string::npos) << from_backup.out;
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

// --help at every level: on stdout, exit 0, naming that level's flags.
TEST_F(CliTest, HelpAtEveryLevelIsOnStdout) {
  const std::map<std::vector<std::string>, std::vector<std::string>> expected{
      {{"--help"}, {"Usage: tokenledger", "serve", "token", "completion", "--version"}},
      {{"help"}, {"Usage: tokenledger", "serve"}},
      {{"token", "--help"}, {"create", "verify", "--addr", "--token-file", "--ca-cert"}},
      {{"token", "create", "--help"},
       {"tokenledger token create", "--name", "--permission", "--token-file", "--ca-cert"}},
      {{"help", "token", "create"}, {"tokenledger token create", "--name"}},
      {{"log", "--help"}, {"verify", "export"}},
      {{"log", "verify", "--help"}, {"tokenledger log verify", "--data"}},
      {{"token", "verify", "--help"}, {"--secret-file", "Exit status:", "FORBIDDEN", "15"}},
      {{"completion", "bash", "--help"}, {"source <(tokenledger completion bash)"}},
  };
  for (const auto& [args, words] : expected) {
    Outcome help = Tokenledger(args, "");
    EXPECT_EQ(help.exit_code, 0) << args[0] << " " << help.err;
    EXPECT_TRUE(help.err.empty()) << help.err;
    for (const std::string& w : words) {
      EXPECT_NE(help.out.find(w), std::string::npos) << args.back() << ": " << w << "\n"
                                                     << help.out;
    }
  }
  // serve lists every flag it takes.
  Outcome serve = Tokenledger({"serve", "--help"}, "");
  EXPECT_EQ(serve.exit_code, 0) << serve.err;
  for (const char* flag : {"--data",
                           "--listen",
                           "--tls-cert",
                           "--tls-key",
                           "--accept-log-loss",
                           "--bootstrap-token-file",
                           "--workers",
                           "--threads",
                           "--verify-listen",
                           "--verify-gather-us",
                           "--head-timeout-ms",
                           "--idle-timeout-ms",
                           "--drain-timeout-ms",
                           "--max-connections",
                           "--max-connections-per-address",
                           "--max-headers",
                           "--max-header-bytes",
                           "--max-body-bytes",
                           "--kafka-brokers",
                           "--kafka-topic",
                           "--kafka-property"}) {
    EXPECT_NE(serve.out.find(std::string("  ") + flag + " "), std::string::npos) << flag << "\n"
                                                                                 << serve.out;
  }
}

// Unknown commands and flags are usage errors (exit 2) named on stderr; a
// value after an unknown flag is not repeated (it may be a secret).
TEST_F(CliTest, UnknownCommandsAndFlagsExitTwoNamingThem) {
  const std::map<std::vector<std::string>, std::string> expected{
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"token", "frobnicate"}, "unknown command 'frobnicate'"},
      {{"log", "frobnicate", "--data", "d"}, "unknown command 'frobnicate'"},
      {{"token"}, "needs a command: create, list"},
      {{"log"}, "needs a command: verify, export"},
      {{"serve", "--bogus"}, "unknown flag --bogus"},
      {{"--bogus"}, "unknown flag --bogus"},
      {{"log", "verify", "--data"}, "--data needs a value"},
      {{"token", "list", "--json=yes"}, "--json takes no value"},
      {{"token", "create", "--tokn=tl_hunter2hunter2"}, "unknown flag --tokn"},
      {{"token", "list", "--name", "x"}, "unknown flag --name"},
  };
  for (const auto& [args, message] : expected) {
    Outcome r = Tokenledger(args, "");
    EXPECT_EQ(r.exit_code, 2) << args[0] << " " << message;
    EXPECT_NE(r.err.find(message), std::string::npos) << message << "\n" << r.err;
    EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

// token verify: 0 only for VALID; each verification code its own status;
// 1 the server refused, 2 usage, 3 no answer.
TEST_F(CliTest, VerifyExitsWithAStatusPerCode) {
  auto status = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "verify");
    Outcome r = Token(args);
    return r.exit_code;
  };
  Json t = TokenJson({"create", "--name", "codes", "--credits", "1", "--permission", "x:read",
                      "--origin", "app.example.com", "--ip", "10.0.0.0/8"});
  const std::string secret = t["token"];
  const std::string origin = "https://app.example.com";
  EXPECT_EQ(status({secret, "--origin", origin, "--ip", "10.1.2.3"}), 0);
  EXPECT_EQ(status({"tl_nope"}), 10);
  EXPECT_EQ(status({secret, "--origin", "https://evil.example.org", "--ip", "10.1.2.3"}), 13);
  EXPECT_EQ(status({secret, "--origin", origin, "--ip", "192.168.1.1"}), 14);
  EXPECT_EQ(status({secret, "--origin", origin, "--ip", "10.1.2.3", "--permissions", "x:write"}),
            15);
  // Its one credit is spent.
  EXPECT_EQ(status({secret, "--origin", origin, "--ip", "10.1.2.3"}), 17);
  Json limited = TokenJson({"create", "--name", "rl", "--rate-limit", "1"});
  EXPECT_EQ(status({limited["token"]}), 0);
  EXPECT_EQ(status({limited["token"]}), 16);
  // Far enough ahead to be accepted even by a slow (sanitized) build.
  const auto expiry = std::chrono::system_clock::now() + std::chrono::seconds(4);
  Json expiring = TokenJson({"create", "--name", "ex", "--expires-at",
                             FormatRfc3339Ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 expiry.time_since_epoch())
                                                 .count())});
  std::this_thread::sleep_until(expiry + std::chrono::milliseconds(200));
  EXPECT_EQ(status({expiring["token"]}), 12);
  TokenJson({"revoke", t["id"]});
  EXPECT_EQ(status({secret}), 11);
  Outcome json = Token({"verify", secret, "--json"});
  EXPECT_EQ(json.exit_code, 11);
  EXPECT_EQ(json.json()["code"], "REVOKED");  // the answer is printed all the same
  EXPECT_EQ(Token({"verify", secret}, "tl_not_a_real_secret_at_all_0000000000").exit_code, 1);
  EXPECT_EQ(status({}), 2);
  EXPECT_EQ(status({secret, "--addr", "http://127.0.0.1:1"}), 3);
}

// --token-file PATH and --token-file - (stdin) carry the bearer; verify's
// --secret-file the secret under test; serve's --bootstrap-token-file the
// first admin secret. One trailing newline is dropped; an empty or
// unreadable file is a usage error that never shows the file's contents.
TEST_F(CliTest, SecretsComeFromFilesOrStdin) {
  const std::string file = dir_.sub("bearer");
  std::ofstream(file) << kAdmin << "\n";
  Outcome listed = Tokenledger({"token", "list", "--token-file", file, "--json"}, "");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.json()["tokens"].size(), 1u);
  Outcome piped =
      Tokenledger({"token", "list", "--token-file", "-", "--json"}, "", std::string(kAdmin) + "\n");
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  // Before the verb too, as a flag of `token`.
  EXPECT_EQ(Tokenledger({"token", "--token-file", file, "list"}, "").exit_code, 0);

  const std::string empty = dir_.sub("empty");
  std::ofstream(empty) << "\n";
  Outcome e = Tokenledger({"token", "list", "--token-file", empty}, "");
  EXPECT_EQ(e.exit_code, 2);
  EXPECT_NE(e.err.find("--token-file: " + empty + " is empty"), std::string::npos) << e.err;
  Outcome missing = Tokenledger({"token", "list", "--token-file", dir_.sub("nope")}, "");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("cannot read " + dir_.sub("nope")), std::string::npos) << missing.err;
  Outcome both = Tokenledger({"token", "list", "--token", kAdmin, "--token-file", file}, "");
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_EQ(both.err.find(kAdmin), std::string::npos) << both.err;
  // A wrong secret in the file is refused by the server and not echoed.
  const std::string wrong = dir_.sub("wrong");
  std::ofstream(wrong) << "tl_wrongwrongwrongwrongwrongwrongwrongwrong\n";
  Outcome refused = Tokenledger({"token", "list", "--token-file", wrong}, "");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err.find("wrongwrong"), std::string::npos) << refused.err;

  // verify's secret under test.
  Json t = TokenJson({"create", "--name", "filed"});
  const std::string secret_file = dir_.sub("secret");
  std::ofstream(secret_file) << t["token"].get<std::string>() << "\n";
  Outcome from_file = Token({"verify", "--secret-file", secret_file});
  EXPECT_EQ(from_file.exit_code, 0) << from_file.err;
  EXPECT_EQ(from_file.out.rfind("VALID", 0), 0u) << from_file.out;
  Outcome from_stdin = Tokenledger({"token", "verify", "--secret-file", "-"}, kAdmin,
                                   t["token"].get<std::string>() + "\n");
  EXPECT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  Outcome two_stdins =
      Tokenledger({"token", "verify", "--token-file", "-", "--secret-file", "-"}, "", "x\n");
  EXPECT_EQ(two_stdins.exit_code, 2);
  EXPECT_NE(two_stdins.err.find("cannot both come from standard input"), std::string::npos);
  EXPECT_EQ(Token({"verify", "--secret-file", empty}).exit_code, 2);

  // serve: the first admin's secret from a file, never printed.
  const std::string chosen = "cli-test-file-admin-secret-0123456789";
  const std::string admin_file = dir_.sub("admin");
  std::ofstream(admin_file) << chosen << "\n";
  Server s(dir_.sub("filed-data"), dir_.sub("filed.stderr"), /*admin_secret=*/"",
           {"--bootstrap-token-file", admin_file});
  ASSERT_GT(s.port(), 0);
  for (const std::string& line : s.stdout_lines()) {
    EXPECT_EQ(line.find(chosen), std::string::npos) << line;
  }
  httplib::Client c("127.0.0.1", s.port());
  auto r = c.Get("/v1/tokens", {{"Authorization", "Bearer " + chosen}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(s.Stop(), 0);
}

// token show: every value starts in one column, past the longest key.
TEST_F(CliTest, KeyValueOutputIsAligned) {
  Json t = TokenJson({"create", "--name", "aligned", "--origin", "app.example.com"});
  Outcome shown = Token({"show", t["id"]});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  const size_t column = std::string("allowed_origins:").size() + 2;
  std::istringstream lines(shown.out);
  size_t count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    ASSERT_GE(line.size(), column) << line;
    EXPECT_LT(line.find(':') + 1, column) << line;
    EXPECT_EQ(line[column - 1], ' ') << line;
    if (line.size() > column) {
      EXPECT_NE(line[column], ' ') << line;  // else the value is empty
    }
  }
  EXPECT_EQ(count, 17u) << shown.out;
  Outcome created = Token({"create", "--name", "again"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  // The note under the secret is indented to the same column.
  EXPECT_NE(created.out.find("\n" + std::string(column, ' ') + "(shown once"), std::string::npos)
      << created.out;
}

// The bash completion script, sourced by a real bash, completes verbs,
// sub-verbs, flags and file names after a flag that takes a value.
TEST_F(CliTest, BashCompletionCompletesVerbsSubVerbsAndFlags) {
  Outcome script = Tokenledger({"completion", "bash"}, "");
  ASSERT_EQ(script.exit_code, 0) << script.err;
  const std::string script_path = dir_.sub("completion.bash");
  std::ofstream(script_path) << script.out;
  std::filesystem::create_directories(dir_.sub("files"));
  std::ofstream(dir_.sub("files") + "/datadir-one") << "";
  const std::string driver =
      "source \"$1\" || exit 9\n"
      "spec=$(complete -p tokenledger) || exit 8\n"
      "fn=${spec#*-F }; fn=${fn%% *}\n"
      "try() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); \"$fn\";"
      " echo \"${COMPREPLY[*]}\"; }\n"
      "try tokenledger to\n"
      "try tokenledger token cr\n"
      "try tokenledger token crea\n"
      "try tokenledger serve --verify-l\n"
      "try tokenledger log ''\n"
      "try tokenledger token --addr http://x crea\n"
      "try tokenledger token create --na\n"
      "try tokenledger serve --data \"$2/datadir-o\"\n"
      "try tokenledger completion b\n"
      "try tokenledger --ver\n";
  Outcome r =
      Run({"/bin/bash", "--norc", "-c", driver, "bash", script_path, dir_.sub("files")}, {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::vector<std::string> got;
  for (std::string line; std::getline(lines, line);) got.push_back(line);
  const std::vector<std::string> want{
      "token",         "create credits", "create", "--verify-listen",
      "verify export", "create",         "--name", dir_.sub("files") + "/datadir-one",
      "bash",          "--version"};
  EXPECT_EQ(got, want) << r.out << r.err;
}

// --ca-cert: every client verb talks HTTPS to a serve whose certificate a
// private CA signed (here: self-signed); without it the certificate is
// refused (exit 3).
TEST(CliTls, EveryClientVerbTrustsAPrivateCaWithCaCert) {
  TempDir dir;
  const std::string cert = dir.sub("cert.pem"), key = dir.sub("key.pem");
  testing::WriteSelfSignedCert(cert, key);
  Server s(dir.sub("data"), dir.sub("serve.stderr"), kAdmin,
           {"--tls-cert", cert, "--tls-key", key});
  ASSERT_GT(s.port(), 0);
  ASSERT_EQ(s.addr().rfind("https://", 0), 0u) << s.addr();
  auto run = [&](std::vector<std::string> args, bool with_ca = true) {
    args.insert(args.begin(), "token");
    args.insert(args.end(), {"--addr", s.addr(), "--token", kAdmin});
    if (with_ca) args.insert(args.end(), {"--ca-cert", cert});
    args.insert(args.begin(), TOKENLEDGER_BIN);
    return RunProgram(std::move(args), {}, dir);
  };
  Outcome created = run({"create", "--name", "tls", "--credits", "5", "--json"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const Json t = created.json();
  const std::string id = t["id"], secret = t["token"];
  for (std::vector<std::string> verb :
       std::vector<std::vector<std::string>>{{"list"},
                                             {"show", id},
                                             {"update", id, "--name", "tls2"},
                                             {"credits", id, "--add", "1"},
                                             {"verify", secret},
                                             {"events", id},
                                             {"usage", id},
                                             {"usage"},
                                             {"regenerate", id},
                                             {"revoke", id}}) {
    Outcome o = run(verb);
    EXPECT_EQ(o.exit_code, 0) << verb[0] << ": " << o.err;
  }
  Outcome untrusted = run({"list"}, /*with_ca=*/false);
  EXPECT_EQ(untrusted.exit_code, 3);
  EXPECT_NE(untrusted.err.find("could not be verified"), std::string::npos) << untrusted.err;
  Outcome unreadable = run({"list", "--ca-cert", dir.sub("missing.pem")}, /*with_ca=*/false);
  EXPECT_EQ(unreadable.exit_code, 2);
  EXPECT_NE(unreadable.err.find("--ca-cert: cannot read"), std::string::npos) << unreadable.err;
  EXPECT_EQ(s.Stop(), 0);
}

}  // namespace
}  // namespace tl
