// /metrics on a live server: what clients can and cannot make it count, and
// the exposition checked by Prometheus' own linter (promtool).

#include "services/http/metrics.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "tests/http_test_util.h"

namespace tl {
namespace {

using testing::RawExchange;
using testing::Reply;
using testing::TestServer;

TEST(MetricMethodTest, KnownMethodsAsThemselvesAnythingElseAsOther) {
  EXPECT_EQ(MetricMethod("GET"), "GET");
  EXPECT_EQ(MetricMethod("PATCH"), "PATCH");
  EXPECT_EQ(MetricMethod("FOOMETHOD"), "OTHER");
  EXPECT_EQ(MetricMethod("get"), "OTHER");
  EXPECT_EQ(MetricMethod(""), "OTHER");
}

TEST(MetricsTest, MadeUpMethodsAndPathsAddNoSeries) {
  TestServer s;
  for (const char* method : {"FOOMETHOD", "QQQ1", "QQQ2", "BREW"}) {
    Reply r = RawExchange(s.port(), std::string(method) + " /made/up/" + method +
                                        " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_GE(r.status, 400) << method;
  }
  s.Get("/no/such/route");
  const std::string text = s.Get("/metrics").raw;
  for (const char* made_up : {"FOOMETHOD", "QQQ1", "QQQ2", "BREW", "/made/up", "/no/such"}) {
    EXPECT_EQ(text.find(made_up), std::string::npos) << made_up;
  }
  EXPECT_NE(text.find(R"(method="OTHER",route="unmatched")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(method="GET",route="unmatched",status="404")"), std::string::npos);
}

TEST(MetricsTest, ProcessFamiliesAndBuildInfo) {
  TestServer s;
  const std::string text = s.Get("/metrics").raw;
  for (const char* family :
       {"process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_open_fds ",
        "process_max_fds ", "process_start_time_seconds ", "process_virtual_memory_bytes "}) {
    EXPECT_NE(text.find(std::string("\n") + family), std::string::npos) << family;
  }
  EXPECT_NE(text.find("tokenledger_build_info{version=\"" + std::string(BuildVersion()) + "\"} 1"),
            std::string::npos);
}

// Every family has HELP and TYPE, names and samples are well formed: what
// Prometheus' promtool (Debian package prometheus, installed by ops/test)
// says of a live server's /metrics after every kind of request.
TEST(MetricsTest, PromtoolAcceptsTheExposition) {
  TestServer s;
  Json t = s.CreateToken({{"name", "m"}, {"permissions", {"a:read"}}, {"credits", 1}});
  s.Verify({{"token", t["token"]}});
  s.Verify({{"token", t["token"]}});
  s.Get("/v1/tokens");
  s.Get("/nope");
  RawExchange(s.port(), "FOO / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string text = s.Get("/metrics").raw;
  const std::string path = s.dir().path() + "/metrics.txt";
  std::ofstream(path) << text;
  const std::string cmd = "promtool check metrics < " + path + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int rc = ::pclose(p);
  EXPECT_EQ(rc, 0) << "promtool check metrics: " << out << "\n--- exposition:\n" << text;
}

}  // namespace
}  // namespace tl
