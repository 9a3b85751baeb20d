// Each time rule at its boundaries, with the time passed in.
#include "projections/token_rules.h"

#include <gtest/gtest.h>

#include "projections/test_events.h"

namespace tl {
namespace {

using testing::T;

constexpr int64_t kDay = 86'400'000;

// ---- credits

TEST(CreditRulesTest, PeriodStartIsTheUtcDayOrMonth) {
  struct Case {
    RefillInterval interval;
    const char* at;
    const char* start;
  };
  const Case cases[] = {
      {RefillInterval::kDay, "2026-03-15T23:59:59.999Z", "2026-03-15T00:00:00Z"},
      {RefillInterval::kDay, "2026-03-16T00:00:00Z", "2026-03-16T00:00:00Z"},
      {RefillInterval::kMonth, "2026-03-15T12:00:00Z", "2026-03-01T00:00:00Z"},
      {RefillInterval::kMonth, "2024-02-29T23:00:00Z", "2024-02-01T00:00:00Z"},
      {RefillInterval::kMonth, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"},
      {RefillInterval::kMonth, "2026-12-31T23:59:59.999Z", "2026-12-01T00:00:00Z"},
  };
  for (const Case& c : cases) EXPECT_EQ(PeriodStart(c.interval, T(c.at)), T(c.start)) << c.at;
  EXPECT_EQ(PeriodStart(RefillInterval::kDay, -1), -kDay);  // floors before 1970
  EXPECT_EQ(PeriodStart(RefillInterval::kMonth, -1), T("1969-12-01T00:00:00Z"));
}

TEST(CreditRulesTest, StartCreditsBelongToThePeriodOfTheirStart) {
  const int64_t at = T("2026-05-10T13:00:00Z");
  EXPECT_EQ(StartCredits(7, std::nullopt, at), (Credits{7, std::nullopt, 0}));
  const Refill monthly{50, RefillInterval::kMonth};
  EXPECT_EQ(StartCredits(3, monthly, at), (Credits{3, monthly, T("2026-05-01T00:00:00Z")}));
  EXPECT_EQ(FullBalance(monthly), 50);
}

TEST(CreditRulesTest, RollRefillsOnlyInALaterPeriod) {
  const Credits c{3, Refill{10, RefillInterval::kDay}, T("2026-05-10T00:00:00Z")};
  Credits rolled = c;
  RollCredits(rolled, T("2026-05-10T23:59:59.999Z"));  // last instant of the period
  EXPECT_EQ(rolled, c);
  RollCredits(rolled, T("2026-05-11T00:00:00Z"));  // first instant of the next
  EXPECT_EQ(rolled, (Credits{10, c.refill, T("2026-05-11T00:00:00Z")}));
  // A time before the balance's period (a clock that went back) changes nothing.
  Credits back = c;
  RollCredits(back, T("2026-05-09T12:00:00Z"));
  EXPECT_EQ(back, c);
  Credits no_refill{3, std::nullopt, 0};
  RollCredits(no_refill, T("2030-01-01T00:00:00Z"));
  EXPECT_EQ(no_refill.remaining, 3);
}

TEST(CreditRulesTest, BalanceAtRollsACopy) {
  const Credits c{0, Refill{7, RefillInterval::kMonth}, T("2026-01-01T00:00:00Z")};
  EXPECT_EQ(BalanceAt(c, T("2026-01-31T23:59:59.999Z")), 0);
  EXPECT_EQ(BalanceAt(c, T("2026-02-01T00:00:00Z")), 7);
  EXPECT_EQ(c.remaining, 0);
}

TEST(CreditRulesTest, SetRefillKeepsTheBalanceOrStartsAFullPeriod) {
  const int64_t at = T("2026-05-10T13:00:00Z");
  const Refill daily{20, RefillInterval::kDay};
  std::optional<Credits> unlimited;
  SetRefill(unlimited, std::nullopt, at);
  EXPECT_FALSE(unlimited);
  SetRefill(unlimited, daily, at);
  EXPECT_EQ(unlimited, (Credits{20, daily, T("2026-05-10T00:00:00Z")}));

  std::optional<Credits> limited = Credits{4, std::nullopt, 0};
  SetRefill(limited, daily, at);
  EXPECT_EQ(limited, (Credits{4, daily, T("2026-05-10T00:00:00Z")}));
  SetRefill(limited, std::nullopt, at);
  EXPECT_EQ(limited, (Credits{4, std::nullopt, 0}));
}

TEST(CreditRulesTest, DebitStopsAtZeroAndIgnoresNonPositiveCosts) {
  Credits c{5, std::nullopt, 0};
  Debit(c, 0);
  EXPECT_EQ(c.remaining, 5);
  Debit(c, -3);
  EXPECT_EQ(c.remaining, 5);
  Debit(c, 2);
  EXPECT_EQ(c.remaining, 3);
  Debit(c, 10);
  EXPECT_EQ(c.remaining, 0);
}

// ---- expiry

TEST(ExpiryRulesTest, ExpiredFromTheInstantOn) {
  EXPECT_FALSE(ExpiredAt(std::nullopt, INT64_MAX));
  EXPECT_FALSE(ExpiredAt(1000, 999));
  EXPECT_TRUE(ExpiredAt(1000, 1000));
  EXPECT_TRUE(ExpiredAt(1000, 1001));
}

TEST(ExpiryRulesTest, RevocationWinsOverExpiry) {
  EXPECT_EQ(StatusOf(false, std::nullopt, 5), TokenStatus::kActive);
  EXPECT_EQ(StatusOf(false, 10, 9), TokenStatus::kActive);
  EXPECT_EQ(StatusOf(false, 10, 10), TokenStatus::kExpired);
  EXPECT_EQ(StatusOf(true, 10, 9), TokenStatus::kRevoked);
  EXPECT_EQ(StatusOf(true, 10, 10), TokenStatus::kRevoked);
  EXPECT_EQ(TokenStatusName(TokenStatus::kActive), "active");
  EXPECT_EQ(TokenStatusName(TokenStatus::kExpired), "expired");
  EXPECT_EQ(TokenStatusName(TokenStatus::kRevoked), "revoked");
}

// ---- rate window

TEST(RateWindowRulesTest, WindowIsOpenAtItsStartAndClosedAtNow) {
  const RateLimit rl{3, 1000};
  const std::vector<int64_t> uses = {100, 500, 900, 1100};
  // At 1100 the window is (100, 1100]: the use exactly 1000 ms ago is out.
  WindowCount w = CountInWindow(uses, rl, 1100);
  EXPECT_EQ(w.uses, 3);
  EXPECT_EQ(w.oldest, 500);
  EXPECT_EQ(WindowResetMs(w, rl, 1100), 400);  // 500 leaves at 1500
  // At 1099 the use at 100 is still in, the one at 1100 not yet.
  w = CountInWindow(uses, rl, 1099);
  EXPECT_EQ(w.uses, 3);
  EXPECT_EQ(w.oldest, 100);
  w = CountInWindow(uses, rl, 5000);
  EXPECT_EQ(w.uses, 0);
  EXPECT_EQ(WindowResetMs(w, rl, 5000), 0);
}

TEST(RateWindowRulesTest, TrimDropsWhatCountLeavesOut) {
  const RateLimit rl{10, 1000};
  std::vector<int64_t> uses = {100, 500, 900, 1100};
  TrimToWindow(uses, rl, 1100);
  EXPECT_EQ(uses, (std::vector<int64_t>{500, 900, 1100}));
  TrimToWindow(uses, rl, 1900);
  EXPECT_EQ(uses, (std::vector<int64_t>{1100}));
  TrimToWindow(uses, rl, 2100);
  EXPECT_TRUE(uses.empty());
}

// ---- a previous secret's grace

TEST(GraceRulesTest, PreviousSecretWorksUntilTheEndOfItsGrace) {
  const int64_t now = T("2026-05-10T13:00:00Z");
  const int64_t until = PreviousValidUntil(now, 60);
  EXPECT_EQ(until, now + 60'000);
  EXPECT_TRUE(PreviousSecretValidAt(until, until - 1));
  EXPECT_FALSE(PreviousSecretValidAt(until, until));
  // No grace: the previous secret stops at the regenerate itself.
  EXPECT_FALSE(PreviousSecretValidAt(PreviousValidUntil(now, 0), now));
}

}  // namespace
}  // namespace tl
