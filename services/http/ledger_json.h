#pragma once

#include <optional>
#include <string_view>

#include "events/result.h"
#include "services/core/ledger.h"

namespace tl {

// The ledger's commands with the API's JSON bodies in and its resources out:
// each parses the body into the command of services/domain/commands.h,
// runs it, and renders the result (resources.h). The routes of http_api.h
// answer with these; tests and tools that speak the API's JSON use them too.
// Errors come in the order the API documents: for create, the caller's
// ledger:write before the body's fields; for the others, the body's fields
// first (the ledger then checks the caller).

// POST /v1/tokens; `idempotency_key`: the header (empty: none).
Result<Json> CreateFromJson(Ledger& ledger, const Caller& caller, const Json& body,
                            std::string_view idempotency_key);
// PATCH /v1/tokens/{id}.
Result<Json> UpdateFromJson(Ledger& ledger, const Caller& caller, std::string_view id,
                            const Json& body, std::optional<Version> if_match);
// POST /v1/tokens/{id}/regenerate, /revoke, /credits.
Result<Json> RegenerateFromJson(Ledger& ledger, const Caller& caller, std::string_view id,
                                const Json& body);
Result<Json> RevokeFromJson(Ledger& ledger, const Caller& caller, std::string_view id,
                            const Json& body);
Result<Json> AdjustCreditsFromJson(Ledger& ledger, const Caller& caller, std::string_view id,
                                   const Json& body);
// A verification as a document, for callers that inspect it (tests, tools):
// the caller's ledger:verify first, then the body. Always a value for a
// well-formed request.
Result<Json> VerifyFromJson(Ledger& ledger, const Caller& caller, const Json& body);

// GET /v1/tokens/{id}, GET /v1/tokens, GET /v1/tokens/{id}/events, GET
// /v1/events: the ledger's queries rendered.
Result<Json> GetJson(const Ledger& ledger, const Caller& caller, std::string_view id,
                     std::optional<std::string_view> as_of);
Result<Json> ListJson(const Ledger& ledger, const Caller& caller, ListQuery query);
Result<Json> StreamEventsJson(const Ledger& ledger, const Caller& caller, std::string_view id,
                              Version after, size_t limit);
Result<Json> FeedJson(const Ledger& ledger, const Caller& caller, Position after, size_t limit,
                      std::optional<EventType> type);

}  // namespace tl
