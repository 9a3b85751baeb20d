#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace tl {

// The time rules of a token, each in one place: the credit roll and refill,
// expiry, the rate-limit window and a previous secret's grace period. The
// fold (ApplyToToken) and the deciders (services/domain) both decide with
// these functions, so a replayed state and a live answer cannot disagree on
// a boundary. Every function is pure: time is a parameter, nothing is read
// from a clock. They live here, below the domain layer, because the fold
// needs them too.

// ---- credits: a balance, refilled at the start of each UTC day or month.

enum class RefillInterval { kDay, kMonth };

struct Refill {
  int64_t amount = 0;
  RefillInterval interval = RefillInterval::kDay;
  bool operator==(const Refill&) const = default;
};

struct Credits {
  int64_t remaining = 0;
  std::optional<Refill> refill;
  // Start (UTC ms) of the refill period `remaining` belongs to. When an event
  // or a read happens in a later period, the balance is first reset to
  // refill->amount (see RollCredits).
  int64_t period_start_ms = 0;
  bool operator==(const Credits&) const = default;
};

// Start of the UTC day or month containing `ms` (before 1970 too: floors).
int64_t PeriodStart(RefillInterval interval, int64_t ms);

// The balance a refill period starts with.
inline int64_t FullBalance(const Refill& r) { return r.amount; }

// Credits that start at `at_ms` with `remaining` (and `refill`): the period
// is the one containing `at_ms`, so the first refill comes at the next one.
Credits StartCredits(int64_t remaining, const std::optional<Refill>& refill, int64_t at_ms);

// Applies a refill when `now_ms` is in a later period than the balance.
// Used by the fold (at each event's time) and by reads (at the clock).
// Inline, like Debit and TrimToWindow: the replay folds every token.used
// through them.
inline void RollCredits(Credits& c, int64_t now_ms) {
  if (!c.refill) return;
  const int64_t start = PeriodStart(c.refill->interval, now_ms);
  if (start > c.period_start_ms) {
    c.remaining = FullBalance(*c.refill);
    c.period_start_ms = start;
  }
}

// The balance as it stands at `now_ms` (rolled on a copy: `c` is unchanged).
int64_t BalanceAt(const Credits& c, int64_t now_ms);

// Installs a new refill rule at `at_ms` (nullopt removes it). The balance is
// kept: it stays until the next period of the new rule. Unlimited credits
// (nullopt) given a refill become limited, starting with a full period.
void SetRefill(std::optional<Credits>& credits, const std::optional<Refill>& refill, int64_t at_ms);

// Spends `cost` (when positive); the balance never goes below 0.
inline void Debit(Credits& c, int64_t cost) {
  if (cost > 0) c.remaining = std::max<int64_t>(0, c.remaining - cost);
}

// ---- expiry: a token with an expiry is expired from that instant on.

// Whether an expiry of `expires_at_ms` (nullopt = never) has come at `now_ms`.
// Also what makes an expiry given in a command "in the past".
inline bool ExpiredAt(const std::optional<int64_t>& expires_at_ms, int64_t now_ms) {
  return expires_at_ms && *expires_at_ms <= now_ms;
}

enum class TokenStatus { kActive, kExpired, kRevoked };
std::string_view TokenStatusName(TokenStatus s);

// Revocation wins over expiry.
inline TokenStatus StatusOf(bool revoked, const std::optional<int64_t>& expires_at_ms,
                            int64_t now_ms) {
  if (revoked) return TokenStatus::kRevoked;
  if (ExpiredAt(expires_at_ms, now_ms)) return TokenStatus::kExpired;
  return TokenStatus::kActive;
}

// ---- rate limit: at most `limit` uses in the sliding window (now - window_ms, now].

struct RateLimit {
  int64_t limit = 0;      // uses allowed per window
  int64_t window_ms = 0;  // sliding window length
  bool operator==(const RateLimit&) const = default;
};

// The first of `uses` (sorted, oldest first) inside the window (now - window_ms,
// now]: a use exactly window_ms ago is out. The one statement of the window's
// start; CountInWindow and TrimToWindow both begin there.
inline std::vector<int64_t>::const_iterator FirstInWindow(const std::vector<int64_t>& uses,
                                                          const RateLimit& rl, int64_t now_ms) {
  return std::upper_bound(uses.begin(), uses.end(), now_ms - rl.window_ms);
}

// The uses of a sorted list of use times that fall in the window ending at `now_ms`.
struct WindowCount {
  int64_t uses = 0;    // uses in (now - window_ms, now]
  int64_t oldest = 0;  // the oldest of them (0 when none)
};
WindowCount CountInWindow(const std::vector<int64_t>& uses, const RateLimit& rl, int64_t now_ms);

// Drops the uses (sorted, oldest first) that are out of the window ending at
// `now_ms`: a use exactly window_ms ago is out.
inline void TrimToWindow(std::vector<int64_t>& uses, const RateLimit& rl, int64_t now_ms) {
  uses.erase(uses.begin(), FirstInWindow(uses, rl, now_ms));
}

// Milliseconds from `now_ms` until the oldest use in the window leaves it
// (0 when the window holds none).
inline int64_t WindowResetMs(const WindowCount& w, const RateLimit& rl, int64_t now_ms) {
  return w.uses > 0 ? w.oldest + rl.window_ms - now_ms : 0;
}

// ---- a previous secret's grace period after a regenerate.

// Until when the replaced secret keeps working when a regenerate at `now_ms`
// grants `grace_period_s` seconds (0: it stops at once).
inline int64_t PreviousValidUntil(int64_t now_ms, int64_t grace_period_s) {
  return now_ms + grace_period_s * 1000;
}

// Whether a previous secret that works until `valid_until_ms` still works at `now_ms`.
inline bool PreviousSecretValidAt(int64_t valid_until_ms, int64_t now_ms) {
  return now_ms < valid_until_ms;
}

}  // namespace tl
