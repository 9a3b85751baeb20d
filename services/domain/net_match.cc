#include "services/domain/net_match.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace tl {
namespace {

// The longest textual IPv6 address (with embedded IPv4) is 45 chars.
constexpr size_t kMaxAddressText = 63;

struct Address {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
};

// inet_pton wants a NUL-terminated string; copy into a stack buffer so the hot
// path does not allocate.
std::optional<Address> ParseAddress(std::string_view text) {
  if (text.empty() || text.size() > kMaxAddressText) return std::nullopt;
  // inet_pton stops at a NUL: "10.0.0.1\0junk" would pass for 10.0.0.1.
  if (std::memchr(text.data(), '\0', text.size()) != nullptr) return std::nullopt;
  char buf[kMaxAddressText + 1];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  Address a;
  if (inet_pton(AF_INET, buf, a.bytes.data()) == 1) return a;
  if (inet_pton(AF_INET6, buf, a.bytes.data()) == 1) {
    a.v6 = true;
    return a;
  }
  return std::nullopt;
}

bool IsV4Mapped(const Address& a) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return a.v6 && std::memcmp(a.bytes.data(), kPrefix, 12) == 0;
}

bool PrefixEqual(const uint8_t* a, const uint8_t* b, int bits) {
  const int whole = bits / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

bool ContainsAddress(const Cidr& c, const Address& a) {
  if (c.v6 == a.v6) return PrefixEqual(c.addr.data(), a.bytes.data(), c.prefix_len);
  if (!c.v6 && IsV4Mapped(a)) return PrefixEqual(c.addr.data(), a.bytes.data() + 12, c.prefix_len);
  return false;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

constexpr size_t kMaxHostLength = 253;

// Host of an origin or bare host; with `allow_wildcard`, a leading "*." label
// is kept in the result.
std::optional<std::string> HostOf(std::string_view s, bool allow_wildcard) {
  if (s.empty() || s.size() > 2048) return std::nullopt;
  const size_t scheme_end = s.find("://");
  if (scheme_end != std::string_view::npos) {
    if (scheme_end == 0) return std::nullopt;
    for (size_t i = 0; i < scheme_end; ++i) {
      const char c = Lower(s[i]);
      const bool ok = (c >= 'a' && c <= 'z') ||
                      (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
      if (!ok) return std::nullopt;
    }
    s.remove_prefix(scheme_end + 3);
  }
  // An origin has no path, but a pasted URL might: drop it.
  s = s.substr(0, s.find_first_of("/?#"));
  if (s.find('@') != std::string_view::npos) return std::nullopt;  // userinfo: not an origin
  std::string_view host;
  std::string_view rest;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = s.substr(1, close - 1);
    rest = s.substr(close + 1);
    auto a = ParseAddress(host);
    if (!a || !a->v6) return std::nullopt;
  } else {
    const size_t colon = s.find(':');
    host = s.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : s.substr(colon);
  }
  if (!rest.empty()) {
    // Only ":<port>" may follow the host.
    if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6) return std::nullopt;
    for (char c : rest.substr(1)) {
      if (c < '0' || c > '9') return std::nullopt;
    }
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || host.size() > kMaxHostLength) return std::nullopt;
  std::string out;
  out.reserve(host.size());
  size_t i = 0;
  const bool bracketed = !s.empty() && s.front() == '[';
  if (allow_wildcard && host.size() > 2 && host[0] == '*' && host[1] == '.') {
    out += "*.";
    i = 2;
  }
  for (; i < host.size(); ++i) {
    const char c = Lower(host[i]);
    if (!IsHostChar(c) && !(bracketed && c == ':')) {
      return std::nullopt;
    }
    out += c;
  }
  if (out.find("..") != std::string::npos || out.back() == '.' || out.front() == '.') {
    return std::nullopt;
  }
  return out;
}

bool HostMatches(std::string_view pattern, std::string_view host) {
  if (pattern.starts_with("*.")) {
    const std::string_view suffix = pattern.substr(1);  // ".example.com"
    return host.size() > suffix.size() && host.ends_with(suffix);
  }
  return pattern == host;
}

}  // namespace

Result<Cidr> ParseCidr(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string_view addr_text = text.substr(0, slash);
  auto a = ParseAddress(addr_text);
  if (!a) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + std::string(addr_text.substr(0, 64)) + "' is not an IP address");
  }
  Cidr c;
  c.v6 = a->v6;
  const int max_len = a->v6 ? 128 : 32;
  c.prefix_len = max_len;
  if (slash != std::string_view::npos) {
    const std::string_view len_text = text.substr(slash + 1);
    int len = -1;
    const char* end = len_text.data() + len_text.size();
    auto [ptr, ec] = std::from_chars(len_text.data(), end, len);
    if (len_text.empty() || len_text.size() > 3 || ec != std::errc() || ptr != end || len < 0 ||
        len > max_len || len_text.front() < '0' || len_text.front() > '9') {  // "-0", "+8"
      return MakeError(ErrorCode::kInvalidArgument,
                       "prefix length must be 0.." + std::to_string(max_len));
    }
    c.prefix_len = len;
  }
  // Clear host bits.
  const int bytes = c.v6 ? 16 : 4;
  for (int i = 0; i < bytes; ++i) {
    const int keep = c.prefix_len - i * 8;
    uint8_t mask = keep >= 8 ? 0xFF : keep <= 0 ? 0 : static_cast<uint8_t>(0xFF << (8 - keep));
    c.addr[i] = a->bytes[i] & mask;
  }
  return c;
}

std::string ToString(const Cidr& c) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(c.v6 ? AF_INET6 : AF_INET, c.addr.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(c.prefix_len);
}

bool Contains(const Cidr& c, std::string_view ip) {
  auto a = ParseAddress(ip);
  return a && ContainsAddress(c, *a);
}

bool IpAllowed(const std::vector<std::string>& cidrs, std::string_view ip) {
  auto a = ParseAddress(ip);
  if (!a) return false;
  for (const auto& text : cidrs) {
    auto c = ParseCidr(text);
    if (c.ok() && ContainsAddress(*c, *a)) return true;
  }
  return false;
}

bool CidrWithin(const std::vector<std::string>& cidrs, std::string_view cidr) {
  auto inner = ParseCidr(cidr);
  if (!inner.ok()) return false;
  for (const auto& text : cidrs) {
    auto outer = ParseCidr(text);
    if (outer.ok() && outer->v6 == inner->v6 && outer->prefix_len <= inner->prefix_len &&
        PrefixEqual(outer->addr.data(), inner->addr.data(), outer->prefix_len)) {
      return true;
    }
  }
  return false;
}

bool IsIpAddress(std::string_view ip) { return ParseAddress(ip).has_value(); }

std::optional<std::string> OriginHost(std::string_view origin) { return HostOf(origin, false); }

bool IsValidOriginPattern(std::string_view s) { return HostOf(s, true).has_value(); }

bool OriginAllowed(const std::vector<std::string>& allowed, std::string_view origin) {
  const auto host = OriginHost(origin);
  if (!host) return false;
  for (const auto& entry : allowed) {
    const auto pattern = HostOf(entry, true);
    if (pattern && HostMatches(*pattern, *host)) return true;
  }
  return false;
}

bool OriginPatternWithin(const std::vector<std::string>& allowed, std::string_view pattern) {
  const auto inner = HostOf(pattern, true);
  if (!inner) return false;
  for (const auto& entry : allowed) {
    const auto outer = HostOf(entry, true);
    if (!outer) continue;
    if (*outer == *inner) return true;
    // "*.a.example.com" matches only hosts that end in ".a.example.com", all
    // of which "*.example.com" matches; a host "a.example.com" likewise.
    if (outer->starts_with("*.") &&
        HostMatches(*outer, inner->starts_with("*.") ? inner->substr(2) : *inner)) {
      return true;
    }
  }
  return false;
}

}  // namespace tl
