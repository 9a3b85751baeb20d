#include "events/json_text.h"

#include <charconv>

#include "events/event.h"

namespace tl {
namespace {

template <typename Int>
void AppendDecimal(std::string& out, Int v) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
      out += Json(std::string(s)).dump();
      return;
    }
  }
  out += '"';
  out += s;
  out += '"';
}

void AppendJsonInt(std::string& out, int64_t v) { AppendDecimal(out, v); }

void AppendJsonUint(std::string& out, uint64_t v) { AppendDecimal(out, v); }

}  // namespace tl
