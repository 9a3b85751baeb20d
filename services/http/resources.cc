#include "services/http/resources.h"

#include <utility>

namespace tl {

Json TokenJson(const TokenAt& token) { return TokenResource(token.state, token.at_ms); }

Json IssuedTokenJson(const IssuedToken& issued) {
  Json j = TokenJson(issued.token);
  j["token"] = issued.secret;
  return j;
}

Json TokenPageJson(const TokenPage& page) {
  Json tokens = Json::array();
  for (const TokenState& t : page.tokens) tokens.push_back(TokenResource(t, page.at_ms));
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
