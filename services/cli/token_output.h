#pragma once

#include <ostream>
#include <string>

#include "events/event.h"

namespace tl {

// A JSON value for people: a string as is, null as "-", anything else as JSON.
std::string JsonText(const Json& j);

// The server's answer to `token <verb>` for people: a table for list, events
// and usage, the code line for verify, the token's fields (aligned) for the
// others.
void PrintAnswer(std::ostream& out, const std::string& verb, const Json& body);

}  // namespace tl
