#pragma once

// The pieces repl/format.h's renderings share: the symbols shown to people,
// padding by display width, number texts, and tolerant reads of a JSON answer
// (a missing or mistyped member reads as null). Private to repl/format*.cpp.

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace dpql::format_cells {

inline const std::string kSeparator = "  \xC2\xB7  ";  // "  ·  "
inline const std::string kPlusMinus = " \xC2\xB1 ";    // " ± "
inline const std::string kEpsilon = "\xCE\xB5";        // "ε"
inline const std::string kDelta = "\xCE\xB4";          // "δ"
inline const std::string kRho = "\xCF\x81";            // "ρ"

// `text` padded with spaces to `width` display columns (never cut).
std::string PadRight(const std::string& text, size_t width);
std::string PadLeft(const std::string& text, size_t width);
// Without trailing spaces, CRs and LFs.
std::string RightTrim(std::string text);

// Shortest text that reads back as the same double ("0.1", "12", "1e-06").
std::string ShortestDouble(double value);
// `decimals` fixed decimals, never "-0.00".
std::string FixedDecimals(double value, int decimals);

// A plain (non-noisy) cell.
std::string CellText(const nlohmann::json& value);

// "value" and "half-width" of a noisy cell, separately so a column can align
// its ± signs.
std::pair<std::string, std::string> NoisyParts(double value, double lo, double hi, bool integral);

// The member `key` of an object; null otherwise.
const nlohmann::json& Member(const nlohmann::json& object, const char* key);

// "(1 row)", "(12 rows)".
std::string Plural(size_t count, const char* one, const char* many);

}  // namespace dpql::format_cells
