#pragma once

// How `dpqld admin list` and `audit` print: psql-style aligned tables.

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

namespace dpql::admin {

// psql-style aligned table. `right` marks right-aligned (numeric) columns.
void PrintTable(std::ostream& out, const std::vector<std::string>& header, const std::vector<bool>& right,
                const std::vector<std::vector<std::string>>& rows);

// One line, at most `width` code points.
std::string Abbreviate(const std::string& text, size_t width);

}  // namespace dpql::admin
