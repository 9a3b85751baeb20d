#include "events/json_log.h"

#include <chrono>
#include <cstdio>
#include <string>

#include "events/time_format.h"

namespace tl {

void WriteJsonLogLine(std::string_view level, Json fields) {
  fields["level"] = std::string(level);
  fields["time"] = FormatRfc3339Ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
  std::string line = fields.dump(-1, ' ', false, Json::error_handler_t::replace);
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace tl
