#include "services/http/resources.h"

#include <optional>
#include <utility>

#include "events/time_format.h"

namespace tl {
namespace {

Json TimeOrNull(const std::optional<int64_t>& ms) {
  return ms ? Json(FormatRfc3339Ms(*ms)) : Json(nullptr);
}

// Never a secret or a digest.
Json TokenStateJson(const TokenState& t, int64_t now_ms) {
  Json credits = nullptr;
  if (t.credits) {
    Credits c = *t.credits;
    RollCredits(c, now_ms);
    Json refill = nullptr;
    if (c.refill) {
      refill = Json{{"amount", c.refill->amount},
                    {"interval", c.refill->interval == RefillInterval::kMonth ? "month" : "day"}};
    }
    credits = Json{{"remaining", c.remaining}, {"refill", std::move(refill)}};
  }
  Json rate_limit = nullptr;
  if (t.rate_limit) {
    rate_limit = Json{{"limit", t.rate_limit->limit}, {"window_ms", t.rate_limit->window_ms}};
  }
  return Json{{"id", t.id},
              {"owner", t.owner},
              {"name", t.name},
              {"description", t.description},
              {"permissions", t.permissions},
              {"status", TokenStatusName(StatusAt(t, now_ms))},
              {"created_at", FormatRfc3339Ms(t.created_at_ms)},
              {"updated_at", FormatRfc3339Ms(t.updated_at_ms)},
              {"last_used_at", TimeOrNull(t.last_used_at_ms)},
              {"expires_at", TimeOrNull(t.expires_at_ms)},
              {"credits", std::move(credits)},
              {"rate_limit", std::move(rate_limit)},
              {"allowed_origins", t.allowed_origins},
              {"allowed_ips", t.allowed_ips},
              {"hint", t.hint},
              {"meta", Meta(t)},
              {"version", t.version.value()}};
}

}  // namespace

Json TokenJson(const TokenAt& token) { return TokenStateJson(token.state, token.at_ms); }

Json IssuedTokenJson(const IssuedToken& issued) {
  Json j = TokenJson(issued.token);
  j["token"] = issued.secret;
  return j;
}

Json TokenPageJson(const TokenPage& page) {
  Json tokens = Json::array();
  for (const TokenState& t : page.tokens) tokens.push_back(TokenStateJson(t, page.at_ms));
  return Json{{"tokens", std::move(tokens)},
              {"next_cursor", page.next_cursor.empty() ? Json(nullptr) : Json(page.next_cursor)}};
}

Json FeedEventJson(const Event& e) {
  Json j = EventToJson(e);
  if (auto data = j.find("data"); data != j.end() && data->is_object()) {
    data->erase("secret_digest");
  }
  return j;
}

Json TokenEventsJson(const std::vector<Event>& events) {
  Json out = Json::array();
  for (const Event& e : events) out.push_back(FeedEventJson(e));
  return Json{{"events", std::move(out)}};
}

Json FeedPageJson(const FeedPage& page) {
  Json out = Json::array();
  for (const Event& e : page.events) out.push_back(FeedEventJson(e));
  return Json{{"events", std::move(out)}, {"last_position", page.last_position.value()}};
}

}  // namespace tl
