#include "services/cli/cli_output.h"

#include <algorithm>
#include <iomanip>

namespace tl {

void PrintKeyValues(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& kv) {
  size_t width = 0;
  for (const auto& [key, value] : kv) width = std::max(width, key.size() + 1);
  const std::string indent(width + 2, ' ');
  for (const auto& [key, value] : kv) {
    out << std::left << std::setw(static_cast<int>(width + 2)) << key + ":";
    for (size_t start = 0;;) {
      const size_t nl = value.find('\n', start);
      out << value.substr(start, nl - start) << "\n";
      if (nl == std::string::npos) break;
      out << indent;
      start = nl + 1;
    }
  }
}

void PrintTable(std::ostream& out, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  constexpr size_t kMaxCell = 48;
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], std::min(r[i].size(), kMaxCell));
  }
  auto line = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) {
      std::string cell = r[i].size() > kMaxCell ? r[i].substr(0, kMaxCell - 3) + "..." : r[i];
      out << std::left << std::setw(static_cast<int>(width[i]) + 2) << cell;
    }
    out << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

}  // namespace tl
