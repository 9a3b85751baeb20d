#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/result.h"

namespace tl {

// An IPv4 or IPv6 network. Host bits below the prefix are cleared on parse,
// so "10.1.2.3/8" is the network 10.0.0.0/8 (what an operator who pastes an
// address with a mask means).
struct Cidr {
  bool v6 = false;
  std::array<uint8_t, 16> addr{};  // network address; IPv4 uses the first 4 bytes
  int prefix_len = 0;              // 0..32 (IPv4) or 0..128 (IPv6)
  bool operator==(const Cidr&) const = default;
};

// "192.168.0.0/16", "2001:db8::/32"; a bare address is /32 or /128.
// kInvalidArgument (no field: callers set it) when malformed.
Result<Cidr> ParseCidr(std::string_view text);
// Canonical text form, e.g. "10.0.0.0/8", "2001:db8::/32".
std::string ToString(const Cidr& c);

// Whether `ip` (an address, no mask) lies in `c`. An IPv4-mapped IPv6 address
// (::ffff:10.1.2.3, what dual-stack sockets report) is matched as IPv4.
// False when `ip` is not an address.
bool Contains(const Cidr& c, std::string_view ip);
// Whether `ip` lies in any of `cidrs` (CIDR strings; malformed ones match
// nothing). Parses `ip` once.
bool IpAllowed(const std::vector<std::string>& cidrs, std::string_view ip);
// Whether the whole network `cidr` lies inside one of `cidrs`: an address
// list that only holds such networks allows nothing more. IPv4 and IPv6
// networks are compared within their own family; malformed text is inside
// nothing.
bool CidrWithin(const std::vector<std::string>& cidrs, std::string_view cidr);
// True when `ip` is an IPv4 or IPv6 address.
bool IsIpAddress(std::string_view ip);

// The host of an origin or bare host, lowercased, without scheme, port, path
// or a trailing dot: "https://App.Example.com:8443" -> "app.example.com",
// "[::1]:80" -> "::1". nullopt when there is no plausible host.
std::optional<std::string> OriginHost(std::string_view origin);
// Whether `s` is acceptable in an allowed_origins list: what OriginHost
// accepts, or the same with a leading "*." wildcard label ("*.example.com",
// "https://*.example.com").
bool IsValidOriginPattern(std::string_view s);
// Whether `origin`'s host matches one of `allowed` (hosts or origins; the
// scheme and port are not compared). "*.example.com" matches every subdomain
// at any depth but not example.com itself.
bool OriginAllowed(const std::vector<std::string>& allowed, std::string_view origin);
// Whether every origin `pattern` (an allowed_origins entry) matches is matched
// by one of `allowed`: "a.example.com" and "*.a.example.com" are within
// "*.example.com", "example.com" is not. Malformed text is within nothing.
bool OriginPatternWithin(const std::vector<std::string>& allowed, std::string_view pattern);

}  // namespace tl
