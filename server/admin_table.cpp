#include "server/admin_table.h"

#include <algorithm>

namespace dpql::admin {

void PrintTable(std::ostream& out, const std::vector<std::string>& header, const std::vector<bool>& right,
                const std::vector<std::vector<std::string>>& rows) {
  auto width_of = [](const std::string& s) {
    // Count UTF-8 code points, not bytes, so ε and friends align.
    return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
  };
  std::vector<size_t> widths(header.size());
  for (size_t c = 0; c < header.size(); ++c) widths[c] = width_of(header[c]);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], width_of(row[c]));
  }
  auto print_row = [&](const std::vector<std::string>& row, bool is_header) {
    for (size_t c = 0; c < row.size(); ++c) {
      size_t pad = widths[c] - width_of(row[c]);
      out << (c == 0 ? " " : " | ");
      bool align_right = !is_header && right[c];
      size_t left_pad = is_header ? pad / 2 : (align_right ? pad : 0);
      out << std::string(left_pad, ' ') << row[c];
      if (c + 1 < row.size()) out << std::string(pad - left_pad, ' ');
    }
    out << "\n";
  };
  print_row(header, true);
  for (size_t c = 0; c < header.size(); ++c) {
    out << (c == 0 ? "-" : "-+-") << std::string(widths[c], '-');
  }
  out << "-\n";
  for (const auto& row : rows) print_row(row, false);
  out << "(" << rows.size() << (rows.size() == 1 ? " row)\n" : " rows)\n");
}

std::string Abbreviate(const std::string& text, size_t width) {
  std::string flat;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !flat.empty();
      continue;
    }
    if (space) flat.push_back(' ');
    space = false;
    flat.push_back(c);
  }
  size_t points = 0;
  for (size_t i = 0; i < flat.size(); ++i) {
    if ((flat[i] & 0xC0) != 0x80 && ++points > width) return flat.substr(0, i) + "...";
  }
  return flat;
}

}  // namespace dpql::admin
