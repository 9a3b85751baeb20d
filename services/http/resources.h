#pragma once

#include <vector>

#include "events/event.h"
#include "services/core/results.h"

namespace tl {

// The JSON views of the API's resources (schemas/openapi.yaml), one home
// each: what the ledger answers (services/core/results.h) as the HTTP API
// sends it. Never a digest of a secret; a secret only in IssuedTokenJson.

// The Token resource, judged at token.at_ms (status, refilled credits).
Json TokenJson(const TokenAt& token);
// The Token resource plus "token": the secret, shown once.
Json IssuedTokenJson(const IssuedToken& issued);
// {"tokens": [Token...], "next_cursor": string | null}.
Json TokenPageJson(const TokenPage& page);
// An event as the HTTP feeds serve it: as the log holds it (EventToJson),
// without data.secret_digest (token.created, token.regenerated). A digest of
// a low-entropy operator-chosen secret could be searched offline by any
// ledger:read caller; the log, its exports and Kafka keep it for restores.
Json FeedEventJson(const Event& e);
// {"events": [...]} of one token's stream.
Json TokenEventsJson(const std::vector<Event>& events);
// {"events": [...], "last_position": n}.
Json FeedPageJson(const FeedPage& page);

}  // namespace tl
