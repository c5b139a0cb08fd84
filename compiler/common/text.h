#pragma once

// Text helpers shared by the compiler, the runtime and the REPL. ASCII only:
// identifiers, keywords and HTTP header names are ASCII, and a byte of a
// UTF-8 sequence (>= 0x80) is never changed, whatever the process's locale.
// Built as its own library (dpql_text, no dependencies) so the REPL can use
// it without the compiler.

#include <cstddef>
#include <string>
#include <string_view>

namespace dpql {

// 'A'..'Z' to 'a'..'z' (and back); every other byte unchanged. The one-byte
// form is inline: the lexer calls it on every keyword-sized word.
constexpr char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
std::string LowerAscii(std::string_view text);
std::string UpperAscii(std::string_view text);

// `identifier` as a PostgreSQL quoted identifier ("a""b" for a"b); the
// generated SQL and the readiness probe name catalog tables and columns so.
std::string QuoteIdentifier(std::string_view identifier);

// How a swap of two adjacent characters counts in EditDistance.
enum class Transposition {
  kTwoEdits,  // Levenshtein: insertions, deletions, substitutions
  kOneEdit,   // restricted Damerau-Levenshtein (optimal string alignment)
};

// The fewest single-character edits that turn `a` into `b`. Case-sensitive:
// callers that match names ignoring case pass lower-cased text.
size_t EditDistance(std::string_view a, std::string_view b,
                    Transposition transposition = Transposition::kTwoEdits);

}  // namespace dpql
