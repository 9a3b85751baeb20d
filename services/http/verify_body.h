#pragma once

#include <optional>
#include <string_view>

#include "services/domain/commands.h"

namespace tl {

// The POST /v1/verify body read straight from its text, without building a
// Json document: the hot path's shortcut past ParseJsonBody + ParseVerify.
//
// Contract: whenever this returns a command, ParseJsonBody(text) succeeds and
// ParseVerify of that document succeeds with an equal command (token,
// permissions, permissions_asked, cost, origin, ip). It returns nullopt for
// every body the general path rejects, so that path produces the error, and
// also for some valid but unusual ones it leaves to that path: a key twice
// (rejected there), a number with a fraction or exponent, -0, a
// permissions list holding anything but strings, a byte order mark, anything
// after the object but whitespace. What it accepts: one object, JSON
// whitespace anywhere between tokens, the keys token, permissions, cost,
// origin and ip in any order, each at most once, null meaning absent for all
// but token, strings with any escape and any valid UTF-8.
//
// Never reads outside `text`.
// nullopt: not handled here; parse with ParseJsonBody + ParseVerify instead.
std::optional<VerifyCommand> ReadVerifyBody(std::string_view text);

}  // namespace tl
