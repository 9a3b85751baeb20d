#include "services/http/ledger_json.h"

#include "events/crypto.h"
#include "services/http/resources.h"

namespace tl {
namespace {

template <typename T, typename View>
Result<Json> Render(Result<T> r, View view) {
  if (!r.ok()) return r.error();
  return view(*r);
}

}  // namespace

Result<Json> CreateFromJson(Ledger& ledger, const Caller& caller, const Json& body,
                            std::string_view idempotency_key) {
  if (Status s = Authorize(caller, kLedgerWrite); !s.ok()) return s.error();
  Result<CreateTokenCommand> cmd = ParseCreateToken(body, ledger.Now());
  if (!cmd.ok()) return cmd.error();
  IdempotencyKey key;
  if (!idempotency_key.empty()) {
    key.key = std::string(idempotency_key);
    key.request_digest = Sha256Hex(body.dump());
  }
  return Render(ledger.Create(caller, *cmd, key), IssuedTokenJson);
}

Result<Json> UpdateFromJson(Ledger& ledger, const Caller& caller, std::string_view id,
                            const Json& body, std::optional<Version> if_match) {
  auto cmd = ParseUpdateToken(body, ledger.Now());
  if (!cmd.ok()) return cmd.error();
  return Render(ledger.Update(caller, id, *cmd, if_match), TokenJson);
}

Result<Json> RegenerateFromJson(Ledger& ledger, const Caller& caller, std::string_view id,
                                const Json& body) {
  auto cmd = ParseRegenerate(body);
  if (!cmd.ok()) return cmd.error();
  return Render(ledger.Regenerate(caller, id, *cmd), IssuedTokenJson);
}

Result<Json> RevokeFromJson(Ledger& ledger, const Caller& caller, std::string_view id,
                            const Json& body) {
  auto cmd = ParseRevoke(body);
  if (!cmd.ok()) return cmd.error();
  return Render(ledger.Revoke(caller, id, *cmd), TokenJson);
}

Result<Json> AdjustCreditsFromJson(Ledger& ledger, const Caller& caller, std::string_view id,
                                   const Json& body) {
  auto cmd = ParseAdjustCredits(body);
  if (!cmd.ok()) return cmd.error();
  return Render(ledger.AdjustCredits(caller, id, *cmd), TokenJson);
}

Result<Json> VerifyFromJson(Ledger& ledger, const Caller& caller, const Json& body) {
  if (Status s = Authorize(caller, kLedgerVerify); !s.ok()) return s.error();
  auto cmd = ParseVerify(body);
  if (!cmd.ok()) return cmd.error();
  return Render(ledger.Verify(caller, *cmd),
                [](const Ledger::VerifyReply& r) { return Json::parse(r.body); });
}

Result<Json> GetJson(const Ledger& ledger, const Caller& caller, std::string_view id,
                     std::optional<std::string_view> as_of) {
  return Render(ledger.Get(caller, id, as_of), TokenJson);
}

Result<Json> ListJson(const Ledger& ledger, const Caller& caller, ListQuery query) {
  return Render(ledger.List(caller, std::move(query)), TokenPageJson);
}

Result<Json> StreamEventsJson(const Ledger& ledger, const Caller& caller, std::string_view id,
                              Version after, size_t limit) {
  return Render(ledger.StreamEvents(caller, id, after, limit),
                [](const std::vector<Event>& events) { return TokenEventsJson(events); });
}

Result<Json> FeedJson(const Ledger& ledger, const Caller& caller, Position after, size_t limit,
                      std::optional<EventType> type) {
  return Render(ledger.Feed(caller, after, limit, type), FeedPageJson);
}

}  // namespace tl
