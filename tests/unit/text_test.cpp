// compiler/common/text.h: the one ASCII case mapping and edit distance that
// the catalog, parser, binder and REPL share.

#include "compiler/common/text.h"

#include <gtest/gtest.h>

#include <string>

namespace dpql {
namespace {

TEST(Text, LowerAndUpperChangeAsciiLettersOnly) {
  EXPECT_EQ(LowerAscii("SELECT Max_Rows 42 @Z["), "select max_rows 42 @z[");
  EXPECT_EQ(UpperAscii("select max_rows 42 `z{"), "SELECT MAX_ROWS 42 `Z{");
  // UTF-8 bytes are never changed ("Ärzte", "ÉPSILON"), whatever the locale.
  EXPECT_EQ(LowerAscii("\xC3\x84RZTE"), "\xC3\x84rzte");
  EXPECT_EQ(UpperAscii("\xC3\xA9psilon"), "\xC3\xA9PSILON");
  for (int c = 0; c < 256; ++c) {
    char byte = static_cast<char>(c);
    char expected = c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : byte;
    EXPECT_EQ(LowerAscii(byte), expected) << c;
    EXPECT_EQ(LowerAscii(std::string(1, byte)), std::string(1, expected)) << c;
  }
}

TEST(Text, EditDistanceIsLevenshteinByDefault) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("", "age"), 3u);
  EXPECT_EQ(EditDistance("agee", "age"), 1u);  // deletion
  EXPECT_EQ(EditDistance("ag", "age"), 1u);    // insertion
  EXPECT_EQ(EditDistance("ave", "age"), 1u);   // substitution
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("wrad", "ward"), 2u);  // a swap is two edits
  EXPECT_EQ(EditDistance("Age", "age"), 1u);    // case-sensitive
  EXPECT_EQ(EditDistance("epsilon", "espilon"), 2u);
}

TEST(Text, EditDistanceCountsATranspositionOnceWhenAsked) {
  constexpr Transposition kOne = Transposition::kOneEdit;
  EXPECT_EQ(EditDistance("SELETC", "SELECT", kOne), 1u);
  EXPECT_EQ(EditDistance("wrad", "ward", kOne), 1u);
  EXPECT_EQ(EditDistance("kitten", "sitting", kOne), 3u);
  EXPECT_EQ(EditDistance("", "AND", kOne), 3u);
  // Restricted: a swapped pair is not edited again ("CA" -> "ABC" is 3, not 2).
  EXPECT_EQ(EditDistance("CA", "ABC", kOne), 3u);
  EXPECT_EQ(EditDistance("CA", "ABC"), 3u);
}

}  // namespace
}  // namespace dpql
