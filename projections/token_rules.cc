#include "projections/token_rules.h"

#include <algorithm>
#include <chrono>

namespace tl {
namespace {

constexpr int64_t kDayMs = 86'400'000;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

int64_t PeriodStart(RefillInterval interval, int64_t ms) {
  const int64_t day = FloorDiv(ms, kDayMs);
  if (interval == RefillInterval::kDay) return day * kDayMs;
  using namespace std::chrono;
  const year_month_day ymd{sys_days{days{day}}};
  const sys_days first{ymd.year() / ymd.month() / 1};
  return static_cast<int64_t>(first.time_since_epoch().count()) * kDayMs;
}

Credits StartCredits(int64_t remaining, const std::optional<Refill>& refill, int64_t at_ms) {
  Credits c{remaining, refill, 0};
  if (refill) c.period_start_ms = PeriodStart(refill->interval, at_ms);
  return c;
}

int64_t BalanceAt(const Credits& c, int64_t now_ms) {
  Credits rolled = c;
  RollCredits(rolled, now_ms);
  return rolled.remaining;
}

void SetRefill(std::optional<Credits>& credits, const std::optional<Refill>& refill,
               int64_t at_ms) {
  if (!credits) {
    if (refill) credits = StartCredits(FullBalance(*refill), refill, at_ms);
    return;
  }
  credits->refill = refill;
  credits->period_start_ms = refill ? PeriodStart(refill->interval, at_ms) : 0;
}

std::string_view TokenStatusName(TokenStatus s) {
  switch (s) {
    case TokenStatus::kActive:
      return "active";
    case TokenStatus::kExpired:
      return "expired";
    case TokenStatus::kRevoked:
      return "revoked";
  }
  return "unknown";
}

WindowCount CountInWindow(const std::vector<int64_t>& uses, const RateLimit& rl, int64_t now_ms) {
  const auto first = FirstInWindow(uses, rl, now_ms);
  const auto last = std::upper_bound(first, uses.end(), now_ms);
  WindowCount w;
  w.uses = last - first;
  if (w.uses > 0) w.oldest = *first;
  return w;
}

}  // namespace tl
