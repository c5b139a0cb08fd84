#include <gtest/gtest.h>
#include "compiler/parser/parser.h"
TEST(ParserSmoke, Parses) { auto s = dpql::ParseScript("SELECT COUNT(*) FROM admissions"); EXPECT_EQ(s.size(), 1u); }
