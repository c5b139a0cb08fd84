// Hostile nesting at the size limit: the compiler refuses it from the token
// stream, before any recursive descent (ANTLR's included) starts, so no input
// can overflow the stack. The deepest accepted input compiles through every
// stage. The sanitizer build (scripts/test) runs these with ASan's larger
// stack frames.

#include <gtest/gtest.h>

#include <string>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"

namespace dpql {
namespace {

constexpr const char* kPrefix = "SELECT COUNT(*) FROM admissions WHERE ";  // 38 characters
constexpr uint32_t kFirstColumn = 39;  // of the first character after kPrefix

std::string Repeat(std::string_view unit, size_t times) {
  std::string out;
  out.reserve(unit.size() * times);
  for (size_t i = 0; i < times; ++i) out += unit;
  return out;
}

DpqlError ErrorOf(const std::string& text) {
  try {
    ParseScript(text);
  } catch (const DpqlError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a DpqlError for a text of " << text.size() << " bytes";
  return DpqlError(ErrorCode::kInternal, "none");
}

// The error a human gets: code, line:column, and a hint on what to do.
void ExpectTooDeep(const std::string& text, uint32_t column) {
  ASSERT_LE(text.size(), kMaxQueryBytes) << "the case must pass the size check";
  DpqlError e = ErrorOf(text);
  EXPECT_EQ(e.kind(), ErrorKind::kSyntax);
  EXPECT_EQ(std::string(Name(e.code())), "syntax_error");
  EXPECT_EQ(e.location().line, 1u);
  EXPECT_EQ(e.location().column, column) << e.what();
  EXPECT_NE(e.message().find("nested too deeply"), std::string::npos) << e.what();
  EXPECT_NE(e.message().find("simplify it"), std::string::npos) << e.what();
}

const Dataset& Hospital() {
  static const Catalog catalog = LoadCatalog(DPQL_SOURCE_DIR_DEFAULT "/examples/hospital/catalog.yaml");
  return *catalog.DefaultDataset();
}

Plan Compile(const std::string& text) {
  ast::Statement statement = ParseStatement(text);
  return CompileSelect(Hospital(), *statement.select);
}

TEST(NestingLimit, HundredThousandOpenParentheses) {
  // 100,000 '(' fill the size limit; the 129th is refused where it stands.
  ExpectTooDeep(kPrefix + std::string(100000, '('), kFirstColumn + kMaxNestingDepth);
}

TEST(NestingLimit, HundredThousandBalancedParenthesesHitTheSizeLimitFirst) {
  std::string text = kPrefix + std::string(100000, '(') + "age > 1" + std::string(100000, ')');
  DpqlError e = ErrorOf(text);
  EXPECT_EQ(e.kind(), ErrorKind::kLimit);
  EXPECT_EQ(std::string(Name(e.code())), "query_too_long");
}

TEST(NestingLimit, HundredThousandUnaryMinus) {
  // "-+-+..." (two '-' in a row would start a comment): 100,000 prefix operators.
  ExpectTooDeep(kPrefix + std::string("age > ") + Repeat("-+", 50000) + "1",
                kFirstColumn + 6 + kMaxNestingDepth);
  ExpectTooDeep(kPrefix + std::string("age > ") + Repeat("- ", 49000) + "1",
                kFirstColumn + 6 + 2 * kMaxNestingDepth);
}

TEST(NestingLimit, ChainedNot) {
  // 25,000 NOT fill the size limit (100,000 would be refused as too long).
  ExpectTooDeep(kPrefix + Repeat("NOT ", 25000) + "age > 1", kFirstColumn + 4 * kMaxNestingDepth);
  ExpectTooDeep(kPrefix + Repeat("NOT(", 25000) + "age > 1", kFirstColumn + 4 * (kMaxNestingDepth / 2));
  DpqlError e = ErrorOf(kPrefix + Repeat("NOT ", 100000) + "age > 1");
  EXPECT_EQ(std::string(Name(e.code())), "query_too_long");
}

TEST(NestingLimit, DeepestAcceptedNestingCompilesThroughEveryStage) {
  // kMaxNestingDepth - 1 levels of parentheses, and prefix operators up to
  // the limit: parse, bind, plan and SQL generation all recurse over them.
  const int depth = kMaxNestingDepth - 1;
  Plan parens = Compile(kPrefix + std::string(depth, '(') + "age > 1" + std::string(depth, ')'));
  EXPECT_NE(parens.sql.find("age"), std::string::npos);
  Plan minus = Compile(kPrefix + std::string("age > ") + Repeat("- ", kMaxNestingDepth) + "1");
  EXPECT_FALSE(minus.sql.empty());
  Plan nots = Compile(kPrefix + Repeat("NOT ", kMaxNestingDepth) + "age > 1");
  EXPECT_FALSE(nots.sql.empty());
}

TEST(NestingLimit, LongestAcceptedChainCompilesThroughEveryStage) {
  // An OR chain as deep as the expression tree may be: a left-deep tree that
  // the binder and the SQL generator walk recursively.
  std::string text = std::string(kPrefix) + "age = 0";
  for (int i = 1; i < kMaxExpressionDepth - 1; ++i) text += " OR age = " + std::to_string(i % 100);
  Plan plan = Compile(text);
  EXPECT_NE(plan.sql.find(" OR "), std::string::npos);
  for (int i = 0; i < 10; ++i) text += " OR age = 1";
  EXPECT_EQ(Name(ErrorOf(text).code()), "syntax_error");
}

}  // namespace
}  // namespace dpql
