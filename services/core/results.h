#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "events/event.h"
#include "events/strong_types.h"
#include "projections/token_state.h"

namespace tl {

// What the ledger's commands and queries answer: typed, without any wire
// format. The HTTP front end renders them (services/http/resources.h).

// A token as a command left it or a query found it, with the time its
// status (expiry) and credit balance (refills) are to be judged at.
struct TokenAt {
  TokenState state;
  int64_t at_ms = 0;
};

// A token with a secret just minted for it (create, regenerate). The secret
// is shown once and never stored.
struct IssuedToken {
  TokenAt token;
  std::string secret;
};

// One page of a token listing, newest first.
struct TokenPage {
  std::vector<TokenState> tokens;
  int64_t at_ms = 0;
  std::string next_cursor;  // empty when there is no further page
};

// One page of the event feed. Events are as the log holds them: a feed view
// must leave out data.secret_digest (see Ledger::Feed).
struct FeedPage {
  std::vector<Event> events;
  Position last_position;  // where the next page starts after
};

}  // namespace tl
