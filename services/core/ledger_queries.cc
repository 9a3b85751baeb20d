// The ledger's reads: tokens (now or as of a past moment), listings, event
// feeds and usage.

#include <algorithm>
#include <cctype>

#include "events/time_format.h"
#include "projections/point_in_time.h"
#include "services/core/ledger.h"

namespace tl {
namespace {

constexpr size_t kMaxPage = 1000;

bool AllDigits(std::string_view s) {
  return !s.empty() && s.size() <= 19 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

}  // namespace

Result<TokenAt> Ledger::Get(const Caller& caller, std::string_view id,
                            std::optional<std::string_view> as_of) const {
  if (Status s = Authorize(caller, kLedgerRead); !s.ok()) return s.error();
  const int64_t now = Now();
  {
    SharedLock l(mu_);
    auto t = VisibleLocked(caller, id);
    if (!t.ok()) return t.error();
    if (!as_of) return TokenAt{**t, now};
  }
  std::optional<Position> until_position;
  std::optional<int64_t> until_time;
  if (AllDigits(*as_of)) {
    until_position = Position(std::stoull(std::string(*as_of)));
  } else if (auto ms = ParseRfc3339(*as_of)) {
    until_time = *ms;
  } else {
    return MakeError(ErrorCode::kInvalidArgument, "as_of must be a position or an RFC 3339 time",
                     "as_of");
  }
  std::vector<Event> stream = log_->ReadStream(std::string(id), Version(0), SIZE_MAX);
  std::optional<TokenState> then = FoldStreamUntil(stream, until_position, until_time);
  if (!then)
    return MakeError(ErrorCode::kNotFound, "token " + std::string(id) + " did not exist yet");
  // Judge status (expiry) as of that moment too.
  int64_t at = now;
  if (until_time) {
    at = *until_time;
  } else {
    for (const Event& e : stream) {
      if (e.position <= *until_position) at = e.time_ms;
    }
  }
  return TokenAt{std::move(*then), at};
}

Result<TokenPage> Ledger::List(const Caller& caller, ListQuery query) const {
  if (Status s = Authorize(caller, kLedgerRead); !s.ok()) return s.error();
  if (!IsAdmin(caller)) {
    if (query.owner && *query.owner != caller.owner) {
      return MakeError(ErrorCode::kForbidden, "only an admin may list another owner's tokens",
                       "owner");
    }
    query.owner = caller.owner;
  }
  const int64_t now = Now();
  SharedLock l(mu_);
  auto page = projection_.List(query, now);
  if (!page.ok()) return page.error();
  TokenPage out;
  out.at_ms = now;
  out.tokens.reserve(page->tokens.size());
  for (const TokenState* t : page->tokens) out.tokens.push_back(*t);
  out.next_cursor = std::move(page->next_cursor);
  return out;
}

Result<std::vector<Event>> Ledger::StreamEvents(const Caller& caller, std::string_view id,
                                                Version after, size_t limit) const {
  if (Status s = Authorize(caller, kLedgerRead); !s.ok()) return s.error();
  {
    SharedLock l(mu_);
    if (auto t = VisibleLocked(caller, id); !t.ok()) return t.error();
  }
  return log_->ReadStream(std::string(id), after, std::min(limit, kMaxPage));
}

Result<FeedPage> Ledger::Feed(const Caller& caller, Position after, size_t limit,
                              std::optional<EventType> type) const {
  if (Status s = Authorize(caller, kLedgerRead); !s.ok()) return s.error();
  limit = std::min(limit, kMaxPage);
  const bool admin = IsAdmin(caller);
  FeedPage page;
  Position cursor = after;
  const Position end = log_->DurablePosition();
  // Scan forward until the page is full, the log ends, or max_feed_scan events
  // were looked at (a filter that matches rarely must not make one request
  // read the whole log); filtered-out events still move the cursor, so the
  // next call continues after them from `last_position`.
  const uint64_t scan_end = std::min(end.value(), after.value() + options_.max_feed_scan);
  while (page.events.size() < limit && cursor.value() < scan_end) {
    std::vector<Event> batch = log_->Read(
        cursor.next(), std::min<uint64_t>(std::max<size_t>(limit, 256), scan_end - cursor.value()));
    if (batch.empty()) break;
    SharedLock l(mu_);
    for (Event& e : batch) {
      if (page.events.size() == limit) break;
      cursor = e.position;
      if (type && e.type != *type) continue;
      if (!admin) {
        const TokenState* t = projection_.Find(e.token_id);
        if (t == nullptr || t->owner != caller.owner) continue;
      }
      page.events.push_back(std::move(e));
    }
  }
  page.last_position = cursor;
  return page;
}

Result<Json> Ledger::Usage(const Caller& caller, UsageQuery query) const {
  if (Status s = Authorize(caller, kLedgerRead); !s.ok()) return s.error();
  SharedLock l(mu_);
  if (query.token_id) {
    if (auto t = VisibleLocked(caller, *query.token_id); !t.ok()) return t.error();
  } else if (!IsAdmin(caller)) {
    if (query.owner && *query.owner != caller.owner) {
      return MakeError(ErrorCode::kForbidden, "only an admin may read another owner's usage",
                       "owner");
    }
    query.owner = caller.owner;
  }
  return projection_.Usage(query);
}

}  // namespace tl
