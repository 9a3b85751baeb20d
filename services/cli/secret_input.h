#pragma once

#include <string>

#include "events/result.h"

namespace tl {

// A secret read from a file so that it never appears in argv (and so in the
// process list or a shell history): `path`, or standard input when `path` is
// "-". One trailing newline ("\n" or "\r\n") is dropped. An unreadable or
// empty source is kInvalidArgument naming `flag` and the path, never the
// contents.
Result<std::string> ReadSecretFile(const std::string& path, const std::string& flag);

}  // namespace tl
