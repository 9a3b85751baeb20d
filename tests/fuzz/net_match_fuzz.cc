// net_match: ParseCidr / IsIpAddress / Contains against a slow reference
// parser of RFC 4291 / dotted-quad text written here, ToString round trips,
// and OriginHost / OriginAllowed invariants. Input: "<cidr>\n<ip>".

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "services/domain/net_match.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

struct RefAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexDigit(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    const size_t at = s.find(sep);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + 1);
  }
}

// Four decimal parts 0..255, no leading zeros (inet_pton's dotted quad).
std::optional<std::array<uint8_t, 4>> RefV4(std::string_view s) {
  const auto parts = Split(s, '.');
  if (parts.size() != 4) return std::nullopt;
  std::array<uint8_t, 4> out{};
  for (size_t i = 0; i < 4; ++i) {
    const std::string_view p = parts[i];
    if (p.empty() || p.size() > 3 || (p.size() > 1 && p[0] == '0')) return std::nullopt;
    int v = 0;
    for (char c : p) {
      if (!IsDigit(c)) return std::nullopt;
      v = v * 10 + (c - '0');
    }
    if (v > 255) return std::nullopt;
    out[i] = static_cast<uint8_t>(v);
  }
  return out;
}

// RFC 4291 §2.2: eight groups of 1-4 hex digits, at most one "::" standing
// for one or more zero groups, optionally a dotted quad as the last 32 bits.
std::optional<std::array<uint8_t, 16>> RefV6(std::string_view s) {
  std::vector<uint16_t> head, tail;
  bool compressed = false;
  std::string_view left = s, right;
  const size_t dc = s.find("::");
  if (dc != std::string_view::npos) {
    compressed = true;
    left = s.substr(0, dc);
    right = s.substr(dc + 2);
    if (right.find("::") != std::string_view::npos) return std::nullopt;
  }
  std::optional<std::array<uint8_t, 4>> v4;
  auto groups = [&](std::string_view text, std::vector<uint16_t>& out, bool may_end_in_v4) {
    if (text.empty()) return true;
    const auto parts = Split(text, ':');
    for (size_t i = 0; i < parts.size(); ++i) {
      const std::string_view p = parts[i];
      if (may_end_in_v4 && i + 1 == parts.size() && p.find('.') != std::string_view::npos) {
        v4 = RefV4(p);
        return v4.has_value();
      }
      if (p.empty() || p.size() > 4) return false;
      uint16_t v = 0;
      for (char c : p) {
        const int d = HexDigit(c);
        if (d < 0) return false;
        v = static_cast<uint16_t>(v * 16 + d);
      }
      out.push_back(v);
    }
    return true;
  };
  if (!groups(left, head, !compressed) || !groups(right, tail, compressed)) return std::nullopt;
  const size_t words = head.size() + tail.size() + (v4 ? 2 : 0);
  if (compressed ? words > 7 : words != 8) return std::nullopt;
  std::vector<uint16_t> all = head;
  all.resize(8 - tail.size() - (v4 ? 2 : 0), 0);
  all.insert(all.end(), tail.begin(), tail.end());
  std::array<uint8_t, 16> out{};
  for (size_t i = 0; i < all.size(); ++i) {
    out[2 * i] = static_cast<uint8_t>(all[i] >> 8);
    out[2 * i + 1] = static_cast<uint8_t>(all[i]);
  }
  if (v4) std::copy(v4->begin(), v4->end(), out.begin() + 12);
  return out;
}

std::optional<RefAddress> RefParseAddress(std::string_view s) {
  RefAddress a;
  if (auto v4 = RefV4(s)) {
    std::copy(v4->begin(), v4->end(), a.bytes.begin());
    return a;
  }
  if (auto v6 = RefV6(s)) {
    a.v6 = true;
    a.bytes = *v6;
    return a;
  }
  return std::nullopt;
}

bool Bit(const uint8_t* bytes, int i) { return (bytes[i / 8] >> (7 - i % 8)) & 1; }

// The network of `text` ("addr" or "addr/len"), host bits cleared.
std::optional<tl::Cidr> RefParseCidr(std::string_view text) {
  const size_t slash = text.find('/');
  const auto a = RefParseAddress(text.substr(0, slash));
  if (!a) return std::nullopt;
  tl::Cidr c;
  c.v6 = a->v6;
  const int max_len = a->v6 ? 128 : 32;
  c.prefix_len = max_len;
  if (slash != std::string_view::npos) {
    const std::string_view len = text.substr(slash + 1);
    if (len.empty() || len.size() > 3) return std::nullopt;
    int v = 0;
    for (char ch : len) {
      if (!IsDigit(ch)) return std::nullopt;
      v = v * 10 + (ch - '0');
    }
    if (v > max_len) return std::nullopt;
    c.prefix_len = v;
  }
  for (int i = 0; i < c.prefix_len; ++i) {
    if (Bit(a->bytes.data(), i)) c.addr[i / 8] |= static_cast<uint8_t>(0x80 >> (i % 8));
  }
  return c;
}

bool RefContains(const tl::Cidr& c, const RefAddress& a) {
  const uint8_t* bytes = a.bytes.data();
  if (c.v6 != a.v6) {
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (c.v6 || !std::equal(kMapped, kMapped + 12, a.bytes.begin())) return false;
    bytes += 12;
  }
  for (int i = 0; i < c.prefix_len; ++i) {
    if (Bit(c.addr.data(), i) != Bit(bytes, i)) return false;
  }
  return true;
}

void CheckOrigin(std::string_view s) {
  const std::optional<std::string> host = tl::OriginHost(s);
  const bool pattern = tl::IsValidOriginPattern(s);
  if (!host) return;
  FUZZ_CHECK(pattern, "OriginHost accepts %s but IsValidOriginPattern refuses it",
             tl::fuzz::Printable(s).c_str());
  FUZZ_CHECK(!host->empty() && host->find("..") == std::string::npos && host->front() != '.' &&
                 host->back() != '.',
             "OriginHost(%s) = '%s'", tl::fuzz::Printable(s).c_str(),
             tl::fuzz::Printable(*host).c_str());
  for (char c : *host) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'), "host not lowercased");
  if (host->find(':') == std::string::npos) {
    // A host is its own host, and an allowed_origins entry naming it matches.
    const auto again = tl::OriginHost(*host);
    FUZZ_CHECK(again && *again == *host, "OriginHost not idempotent on '%s'",
               tl::fuzz::Printable(*host).c_str());
    FUZZ_CHECK(tl::OriginAllowed({*host}, s), "'%s' does not allow its own origin %s",
               tl::fuzz::Printable(*host).c_str(), tl::fuzz::Printable(s).c_str());
    const size_t dot = host->find('.');
    if (dot != std::string::npos) {
      const std::string wildcard = "*" + host->substr(dot);
      FUZZ_CHECK(tl::IsValidOriginPattern(wildcard) && tl::OriginAllowed({wildcard}, s),
                 "'%s' does not allow %s", wildcard.c_str(), tl::fuzz::Printable(s).c_str());
    }
    FUZZ_CHECK(!tl::OriginAllowed({"*." + *host}, s), "*.%s matches its own apex",
               tl::fuzz::Printable(*host).c_str());
  } else {
    const auto again = tl::OriginHost("[" + *host + "]");
    FUZZ_CHECK(again && *again == *host, "OriginHost not idempotent on [%s]",
               tl::fuzz::Printable(*host).c_str());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  const std::string_view cidr_text = input.substr(0, nl);
  const std::string_view ip = nl == std::string_view::npos ? input : input.substr(nl + 1);

  const tl::Result<tl::Cidr> cidr = tl::ParseCidr(cidr_text);
  const std::optional<tl::Cidr> ref = RefParseCidr(cidr_text);
  FUZZ_CHECK(cidr.ok() == ref.has_value(), "ParseCidr(%s): ours %s, reference %s",
             tl::fuzz::Printable(cidr_text).c_str(), cidr.ok() ? "accepts" : "refuses",
             ref ? "accepts" : "refuses");
  if (cidr.ok()) {
    FUZZ_CHECK(*cidr == *ref, "ParseCidr(%s) = %s, reference %s",
               tl::fuzz::Printable(cidr_text).c_str(), tl::ToString(*cidr).c_str(),
               tl::ToString(*ref).c_str());
    const std::string text = tl::ToString(*cidr);
    const auto again = tl::ParseCidr(text);
    FUZZ_CHECK(again.ok() && *again == *cidr && tl::ToString(*again) == text, "round trip of %s",
               text.c_str());
  }

  const auto ref_ip = RefParseAddress(ip);
  FUZZ_CHECK(tl::IsIpAddress(ip) == ref_ip.has_value(), "IsIpAddress(%s): ours %d, reference %d",
             tl::fuzz::Printable(ip).c_str(), tl::IsIpAddress(ip), ref_ip.has_value());
  if (cidr.ok()) {
    const bool want = ref_ip && RefContains(*cidr, *ref_ip);
    FUZZ_CHECK(tl::Contains(*cidr, ip) == want, "Contains(%s, %s): ours %d, reference %d",
               tl::ToString(*cidr).c_str(), tl::fuzz::Printable(ip).c_str(), !want, want);
    FUZZ_CHECK(tl::IpAllowed({std::string(cidr_text)}, ip) == want, "IpAllowed(%s, %s)",
               tl::fuzz::Printable(cidr_text).c_str(), tl::fuzz::Printable(ip).c_str());
  }

  CheckOrigin(cidr_text);
  CheckOrigin(ip);
  return 0;
}
