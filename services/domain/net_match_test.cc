#include "services/domain/net_match.h"

#include <gtest/gtest.h>

#include <string>

namespace tl {
namespace {

Cidr MustParse(std::string_view s) {
  auto c = ParseCidr(s);
  EXPECT_TRUE(c.ok()) << s << ": " << (c.ok() ? "" : c.error().message);
  return c.ok() ? c.value() : Cidr{};
}

TEST(ParseCidrTest, ValidForms) {
  const struct {
    const char* in;
    const char* canonical;
  } cases[] = {
      {"10.0.0.0/8", "10.0.0.0/8"},
      {"10.1.2.3/8", "10.0.0.0/8"},  // host bits cleared
      {"192.168.1.7", "192.168.1.7/32"},
      {"0.0.0.0/0", "0.0.0.0/0"},
      {"255.255.255.255/32", "255.255.255.255/32"},
      {"172.16.255.1/12", "172.16.0.0/12"},
      {"10.0.0.255/31", "10.0.0.254/31"},
      {"2001:db8::/32", "2001:db8::/32"},
      {"2001:DB8:ffff::1/48", "2001:db8:ffff::/48"},
      {"::1", "::1/128"},
      {"::/0", "::/0"},
      {"fe80::1/10", "fe80::/10"},
      {"::ffff:10.0.0.1/128", "::ffff:10.0.0.1/128"},
  };
  for (const auto& c : cases) EXPECT_EQ(ToString(MustParse(c.in)), c.canonical) << c.in;
}

TEST(ParseCidrTest, Invalid) {
  for (const char* in : {"",
                         "/8",
                         "10.0.0.0/",
                         "10.0.0.0/33",
                         "10.0.0.0/-1",
                         "10.0.0.0/+8",
                         "10.0.0.0/8/8",
                         "10.0.0.0/ 8",
                         "10.0.0.0/8x",
                         "10.0.0/8",
                         "10.0.0.256",
                         "::/129",
                         "2001:db8::g/32",
                         "example.com",
                         " 10.0.0.1",
                         "10.0.0.1 ",
                         "010.0.0.1/0800",
                         "10.0.0.0/-0",
                         "::/-0",
                         "10.1.2.3/-00"}) {
    auto c = ParseCidr(in);
    EXPECT_FALSE(c.ok()) << in;
    if (!c.ok()) {
      EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
    }
  }
}

// inet_pton stops at a NUL: an address followed by a NUL and anything else
// (a JSON string may hold \u0000) must not pass for the address before it.
TEST(ParseCidrTest, EmbeddedNulIsNoAddress) {
  using std::string_literals::operator""s;
  for (const std::string& in :
       {"10.0.0.1\0junk"s, "::ff\0\0ff:1.2.3.4"s, "10.0.0.1\0"s, "::1\0/128"s}) {
    EXPECT_FALSE(IsIpAddress(in)) << in.size();
    EXPECT_FALSE(ParseCidr(in).ok()) << in.size();
    EXPECT_FALSE(Contains(MustParse("0.0.0.0/0"), in)) << in.size();
    EXPECT_FALSE(IpAllowed({"::/0", "0.0.0.0/0"}, in)) << in.size();
  }
  EXPECT_FALSE(ParseCidr(std::string("10.0.0.0/8\0", 11)).ok());
}

TEST(ContainsTest, Ipv4EdgeBits) {
  const struct {
    const char* cidr;
    const char* ip;
    bool in;
  } cases[] = {
      {"10.0.0.0/8", "10.255.255.255", true},
      {"10.0.0.0/8", "11.0.0.0", false},
      {"10.0.0.0/8", "9.255.255.255", false},
      {"192.168.0.0/23", "192.168.1.255", true},
      {"192.168.0.0/23", "192.168.2.0", false},
      {"192.168.1.128/25", "192.168.1.127", false},
      {"192.168.1.128/25", "192.168.1.128", true},
      {"10.0.0.0/31", "10.0.0.1", true},
      {"10.0.0.0/31", "10.0.0.2", false},
      {"10.0.0.1/32", "10.0.0.1", true},
      {"10.0.0.1/32", "10.0.0.0", false},
      {"10.0.0.1", "10.0.0.1", true},
      {"0.0.0.0/0", "1.2.3.4", true},
      {"0.0.0.0/0", "255.255.255.255", true},
      {"0.0.0.0/0", "::1", false},  // family differs
      {"128.0.0.0/1", "127.255.255.255", false},
      {"128.0.0.0/1", "128.0.0.0", true},
      // IPv4-mapped IPv6 addresses match IPv4 networks.
      {"10.0.0.0/8", "::ffff:10.9.8.7", true},
      {"10.0.0.0/8", "::ffff:11.9.8.7", false},
      // Not an address.
      {"0.0.0.0/0", "", false},
      {"0.0.0.0/0", "localhost", false},
      {"0.0.0.0/0", "1.2.3.4/32", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Contains(MustParse(c.cidr), c.ip), c.in) << c.cidr << " ∋ " << c.ip;
  }
}

TEST(ContainsTest, Ipv6EdgeBits) {
  const struct {
    const char* cidr;
    const char* ip;
    bool in;
  } cases[] = {
      {"2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true},
      {"2001:db8::/32", "2001:db9::", false},
      {"2001:db8::/33", "2001:db8:7fff::1", true},
      {"2001:db8::/33", "2001:db8:8000::", false},
      {"::/0", "::", true},
      {"::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
      {"::/0", "10.0.0.1", false},  // family differs
      {"::1/128", "::1", true},
      {"::1/128", "::2", false},
      {"::/127", "::1", true},
      {"::/127", "::2", false},
      {"fe80::/10", "febf::1", true},
      {"fe80::/10", "fec0::1", false},
      {"8000::/1", "7fff::", false},
      {"8000::/1", "8000::", true},
      {"2001:DB8::/32", "2001:db8::abcd", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Contains(MustParse(c.cidr), c.ip), c.in) << c.cidr << " ∋ " << c.ip;
  }
}

TEST(IpAllowedTest, AnyEntryAndMalformedEntriesMatchNothing) {
  const std::vector<std::string> cidrs = {"garbage", "10.0.0.0/8", "2001:db8::/32"};
  EXPECT_TRUE(IpAllowed(cidrs, "10.1.1.1"));
  EXPECT_TRUE(IpAllowed(cidrs, "2001:db8::5"));
  EXPECT_FALSE(IpAllowed(cidrs, "192.168.0.1"));
  EXPECT_FALSE(IpAllowed(cidrs, "not-an-ip"));
  EXPECT_FALSE(IpAllowed({}, "10.1.1.1"));
  EXPECT_TRUE(IsIpAddress("::1"));
  EXPECT_TRUE(IsIpAddress("1.2.3.4"));
  EXPECT_FALSE(IsIpAddress("1.2.3.4/32"));
  EXPECT_FALSE(IsIpAddress(std::string(100, '1')));
}

TEST(OriginHostTest, Table) {
  const struct {
    const char* in;
    std::optional<std::string> host;
  } cases[] = {
      {"https://app.example.com:8443", "app.example.com"},
      {"https://App.Example.COM", "app.example.com"},
      {"http://localhost:3000", "localhost"},
      {"app.example.com", "app.example.com"},
      {"app.example.com:8080", "app.example.com"},
      {"https://app.example.com/", "app.example.com"},
      {"https://app.example.com/path?q=1", "app.example.com"},
      {"https://example.com.", "example.com"},
      {"http://[::1]:8080", "::1"},
      {"[2001:DB8::1]", "2001:db8::1"},
      {"chrome-extension://abcdef", "abcdef"},
      {"https://10.0.0.1:443", "10.0.0.1"},
      {"", std::nullopt},
      {"https://", std::nullopt},
      {"://example.com", std::nullopt},
      {"1http://example.com", std::nullopt},
      {"https://user@example.com", std::nullopt},
      {"https://example.com:", std::nullopt},
      {"https://example.com:80a", std::nullopt},
      {"https://example.com:1234567", std::nullopt},
      {"https://exa mple.com", std::nullopt},
      {"https://*.example.com", std::nullopt},  // wildcards only in allow lists
      {"https://a..b", std::nullopt},
      {"https://.example.com", std::nullopt},
      {"http://[::1", std::nullopt},
      {"http://[nothex]", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(OriginHost(c.in), c.host) << c.in;
}

TEST(OriginPatternTest, Validity) {
  for (const char* ok : {"app.example.com", "*.example.com", "https://*.example.com",
                         "https://app.example.com:8443", "localhost"}) {
    EXPECT_TRUE(IsValidOriginPattern(ok)) << ok;
  }
  for (const char* bad : {"", "*", "*.", "a.*.example.com", "**.example.com", "https://",
                          "exa mple.com", "*example.com"}) {
    EXPECT_FALSE(IsValidOriginPattern(bad)) << bad;
  }
}

TEST(OriginAllowedTest, Table) {
  const std::vector<std::string> allowed = {"https://app.example.com", "api.example.org:8443",
                                            "*.example.net", "not valid entry"};
  const struct {
    const char* origin;
    bool ok;
  } cases[] = {
      {"https://app.example.com", true},
      {"http://app.example.com:1234", true},  // hosts compared, not scheme or port
      {"https://APP.example.com", true},
      {"app.example.com", true},
      {"https://evil.app.example.com", false},
      {"https://app.example.com.evil.io", false},
      {"https://api.example.org", true},
      {"https://a.example.net", true},
      {"https://a.b.example.net", true},
      {"https://example.net", false},  // the wildcard needs a subdomain
      {"https://evilexample.net", false},
      {"https://not", false},
      {"", false},
      {"garbage value", false},
  };
  for (const auto& c : cases) EXPECT_EQ(OriginAllowed(allowed, c.origin), c.ok) << c.origin;
  EXPECT_FALSE(OriginAllowed({}, "https://app.example.com"));
}

TEST(CidrWithinTest, WholeNetworkInsideOneEntry) {
  const std::vector<std::string> allowed = {"10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32",
                                            "junk"};
  const struct {
    const char* cidr;
    bool within;
  } cases[] = {
      {"10.0.0.0/8", true},
      {"10.1.0.0/16", true},
      {"10.255.255.255", true},  // a bare address is /32
      {"10.1.2.3/8", true},      // host bits cleared: 10.0.0.0/8
      {"0.0.0.0/0", false},
      {"10.0.0.0/7", false},  // wider than the entry
      {"11.0.0.0/8", false},
      {"192.168.0.0/16", false},
      {"192.168.1.128/25", true},
      {"2001:db8:1::/48", true},
      {"2001:db8::/31", false},
      {"::ffff:10.0.0.0/104", false},  // families are not mixed
      {"junk", false},
      {"", false},
  };
  for (const auto& c : cases) EXPECT_EQ(CidrWithin(allowed, c.cidr), c.within) << c.cidr;
  EXPECT_FALSE(CidrWithin({}, "10.0.0.1"));
}

TEST(OriginPatternWithinTest, EveryOriginThePatternMatchesIsAllowed) {
  const std::vector<std::string> allowed = {"https://app.example.com", "*.example.net",
                                            "bad entry"};
  const struct {
    const char* pattern;
    bool within;
  } cases[] = {
      {"app.example.com", true},
      {"http://APP.example.com:8080", true},  // hosts compared, as OriginAllowed does
      {"example.com", false},
      {"*.app.example.com", false},
      {"a.example.net", true},
      {"*.example.net", true},
      {"*.a.example.net", true},
      {"example.net", false},  // the wildcard needs a subdomain
      {"*.net", false},
      {"evilexample.net", false},
      {"not valid", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(OriginPatternWithin(allowed, c.pattern), c.within) << c.pattern;
  }
}

}  // namespace
}  // namespace tl
