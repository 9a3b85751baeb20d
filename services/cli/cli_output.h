#pragma once

#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace tl {

// "key:  value" lines with every value in one column, just past the longest
// key. A value with newlines keeps its further lines under the column.
void PrintKeyValues(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& kv);

// A table: a header row and rows, columns as wide as their widest cell (cells
// over 48 characters are cut with "...").
void PrintTable(std::ostream& out, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

}  // namespace tl
