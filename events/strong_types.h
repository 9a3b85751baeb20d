#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace tl {

// An integer that cannot be mixed up with another kind of integer: a Position
// is not accepted where a Version is expected.
template <typename Tag>
class StrongInt {
 public:
  constexpr StrongInt() = default;
  constexpr explicit StrongInt(uint64_t v) : v_(v) {}
  constexpr uint64_t value() const { return v_; }
  constexpr auto operator<=>(const StrongInt&) const = default;
  constexpr StrongInt next() const { return StrongInt(v_ + 1); }

 private:
  uint64_t v_ = 0;
};

// Global, gapless order of the log, from 1. 0 means "before the first event".
using Position = StrongInt<struct PositionTag>;
// Order within one token's stream, from 1. 0 means "stream does not exist".
using Version = StrongInt<struct VersionTag>;

}  // namespace tl

template <typename Tag>
struct std::hash<tl::StrongInt<Tag>> {
  size_t operator()(tl::StrongInt<Tag> s) const noexcept {
    return std::hash<uint64_t>{}(s.value());
  }
};
