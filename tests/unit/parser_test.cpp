// The parser: AST shape for each language form, locations, scripts, comments,
// case-insensitivity, errors for humans and the nesting guards.

#include "compiler/parser/parser.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "compiler/common/error.h"
#include "compiler/common/text.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

using ast::ExprKind;
using ast::LiteralKind;
using ast::StatementKind;

std::unique_ptr<ast::SelectStmt> Select(const std::string& text) {
  ast::Statement statement = ParseStatement(text);
  EXPECT_EQ(statement.kind, StatementKind::kSelect);
  return std::move(statement.select);
}

// The WHERE expression of "SELECT COUNT(*) FROM admissions WHERE <predicate>".
ast::ExprPtr Where(const std::string& predicate) {
  return std::move(Select("SELECT COUNT(*) FROM admissions WHERE " + predicate)->where);
}

// Parses `text`, expecting a DpqlError; returns it.
DpqlError ErrorOf(const std::string& text) {
  try {
    ParseScript(text);
  } catch (const DpqlError& e) {
    return e;
  }
  ADD_FAILURE() << "expected an error for: " << text;
  return DpqlError(ErrorCode::kInternal, "none");
}

void ExpectSyntaxError(const std::string& text, uint32_t line, uint32_t column,
                       const std::string& message_part) {
  DpqlError e = ErrorOf(text);
  EXPECT_EQ(e.kind(), ErrorKind::kSyntax) << text;
  EXPECT_EQ(std::string(Name(e.code())), "syntax_error") << text;
  EXPECT_EQ(e.location().line, line) << text << "\n" << e.what();
  EXPECT_EQ(e.location().column, column) << text << "\n" << e.what();
  EXPECT_NE(e.message().find(message_part), std::string::npos)
      << "message: " << e.what() << "\nexpected to contain: " << message_part;
  EXPECT_EQ(e.message().find("mismatched input"), std::string::npos) << e.what();
  EXPECT_EQ(e.message().find("expecting {"), std::string::npos) << e.what();
}

// A refusal with its own code (SQL DPQL does not support, a reserved word,
// a missing FROM), located at the offending token.
void ExpectRefusal(const std::string& text, uint32_t line, uint32_t column, const std::string& code,
                   const std::string& message_part) {
  DpqlError e = ErrorOf(text);
  EXPECT_EQ(std::string(Name(e.code())), code) << text << "\n" << e.what();
  EXPECT_EQ(e.location().line, line) << text << "\n" << e.what();
  EXPECT_EQ(e.location().column, column) << text << "\n" << e.what();
  EXPECT_NE(e.message().find(message_part), std::string::npos)
      << "message: " << e.what() << "\nexpected to contain: " << message_part;
  EXPECT_EQ(e.message().find("expected"), std::string::npos)
      << "says where the grammar stopped: " << e.what();
}

// ------------------------------------------------------------------ statements

TEST(ParserLimits, NulCharacterIsRefusedWhereItStands) {
  // A NUL would cut names at C-string boundaries and cannot be stored in
  // PostgreSQL text: refused on every path, with its line and column.
  const std::string text = std::string("SELECT COUNT(*)\nFROM admi") + '\0' + "ssions";
  try {
    ParseScript(text);
    FAIL() << "a NUL character was accepted";
  } catch (const DpqlError& e) {
    EXPECT_EQ(std::string(Name(e.code())), "syntax_error");
    EXPECT_EQ(e.location().line, 2u);
    EXPECT_EQ(e.location().column, 10u);
    EXPECT_NE(e.message().find("NUL"), std::string::npos) << e.message();
  }
  EXPECT_NO_THROW(ParseScript("SELECT COUNT(*) FROM admissions"));
}

TEST(ParserStatements, ShowDescribeExplain) {
  auto statements =
      ParseScript("SHOW TABLES; show budget; DESCRIBE Admissions; EXPLAIN SELECT COUNT(*) FROM admissions");
  ASSERT_EQ(statements.size(), 4u);
  EXPECT_EQ(statements[0].kind, StatementKind::kShowTables);
  EXPECT_EQ(statements[1].kind, StatementKind::kShowBudget);
  EXPECT_EQ(statements[2].kind, StatementKind::kDescribe);
  EXPECT_EQ(statements[2].table, "admissions");
  EXPECT_EQ(statements[2].table_loc.column, 36u);
  EXPECT_EQ(statements[3].kind, StatementKind::kExplain);
  ASSERT_NE(statements[3].select, nullptr);
  EXPECT_EQ(statements[3].select->from.name, "admissions");
  EXPECT_EQ(statements[3].select->loc.column, 56u);  // the SELECT inside EXPLAIN
  EXPECT_EQ(statements[3].loc.column, 48u);
}

TEST(ParserStatements, ScriptTextAndLocations) {
  std::string text = "SHOW TABLES;\n  -- the budget\n  SHOW BUDGET ;\nDESCRIBE wards;";
  auto statements = ParseScript(text);
  ASSERT_EQ(statements.size(), 3u);
  EXPECT_EQ(statements[0].text, "SHOW TABLES");
  EXPECT_EQ(statements[1].text, "SHOW BUDGET");
  EXPECT_EQ(statements[1].loc.line, 3u);
  EXPECT_EQ(statements[1].loc.column, 3u);
  EXPECT_EQ(text.substr(statements[1].loc.offset, statements[1].loc.length), "SHOW BUDGET");
  EXPECT_EQ(statements[2].text, "DESCRIBE wards");
  EXPECT_EQ(statements[2].loc.line, 4u);
}

TEST(ParserStatements, SemicolonsAreOptionalAtTheEndAndEmptyStatementsAreSkipped) {
  EXPECT_EQ(ParseScript("SHOW TABLES").size(), 1u);
  EXPECT_EQ(ParseScript("SHOW TABLES;").size(), 1u);
  EXPECT_EQ(ParseScript(";SHOW TABLES;;SHOW BUDGET;;").size(), 2u);
}

TEST(ParserStatements, ParseStatementRefusesSeveral) {
  EXPECT_EQ(ParseStatement("SHOW TABLES;").kind, StatementKind::kShowTables);
  try {
    ParseStatement("SHOW TABLES;\nSHOW BUDGET;");
    FAIL() << "expected multiple_statements";
  } catch (const DpqlError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kSyntax);
    EXPECT_EQ(std::string(Name(e.code())), "multiple_statements");
    EXPECT_EQ(e.location().line, 2u);
    EXPECT_EQ(e.location().column, 1u);
  }
}

TEST(ParserStatements, EmptyQueryIsAnError) {
  ExpectSyntaxError("", 1, 1, "the query is empty");
  ExpectSyntaxError("  -- nothing\n ; ", 1, 1, "the query is empty");
}

TEST(ParserStatements, TooLongQueryIsRefused) {
  std::string text = "SELECT COUNT(*) FROM admissions WHERE age > 1" + std::string(kMaxQueryBytes, ' ');
  DpqlError e = ErrorOf(text);
  EXPECT_EQ(e.kind(), ErrorKind::kLimit);
  EXPECT_EQ(std::string(Name(e.code())), "query_too_long");
}

// ---------------------------------------------------------------------- SELECT

TEST(ParserSelect, AllClauses) {
  auto select = Select(
      "SELECT ward_code, COUNT(*) AS n, AVG(age) mean_age\n"
      "FROM admissions a\n"
      "JOIN wards AS w ON a.ward_code = w.ward_code\n"
      "LEFT OUTER JOIN wards w2 ON a.ward_code = w2.ward_code\n"
      "INNER JOIN wards w3 ON a.ward_code = w3.ward_code\n"
      "WHERE age >= 18\n"
      "GROUP BY ward_code, sex\n"
      "HAVING n > 10\n"
      "ORDER BY n DESC, ward_code ASC, mean_age\n"
      "LIMIT 20\n"
      "WITH PRIVACY (epsilon = 0.5, Delta = 1e-6, mechanism = Gaussian, max_groups = 2)");
  ASSERT_EQ(select->items.size(), 3u);
  EXPECT_EQ(select->items[0].expr->kind, ExprKind::kColumn);
  EXPECT_EQ(select->items[0].alias, "");
  EXPECT_EQ(select->items[1].alias, "n");
  EXPECT_EQ(select->items[1].alias_loc.column, 31u);
  EXPECT_EQ(select->items[2].alias, "mean_age");
  EXPECT_FALSE(select->select_star);

  EXPECT_EQ(select->from.name, "admissions");
  EXPECT_EQ(select->from.alias, "a");
  EXPECT_EQ(select->from.loc.line, 2u);
  EXPECT_EQ(select->from.loc.column, 6u);

  ASSERT_EQ(select->joins.size(), 3u);
  EXPECT_EQ(select->joins[0].kind, ast::JoinKind::kInner);
  EXPECT_EQ(select->joins[0].table.name, "wards");
  EXPECT_EQ(select->joins[0].table.alias, "w");
  EXPECT_EQ(select->joins[0].loc.line, 3u);
  ASSERT_NE(select->joins[0].condition, nullptr);
  EXPECT_EQ(OperatorText(select->joins[0].condition->op), "=");
  EXPECT_EQ(select->joins[0].condition->args[0]->qualifier, "a");
  EXPECT_EQ(select->joins[0].condition->args[1]->qualifier, "w");
  EXPECT_EQ(select->joins[1].kind, ast::JoinKind::kLeft);
  EXPECT_EQ(select->joins[1].table.alias, "w2");
  EXPECT_EQ(select->joins[2].kind, ast::JoinKind::kInner);

  ASSERT_NE(select->where, nullptr);
  EXPECT_EQ(OperatorText(select->where->op), ">=");
  EXPECT_EQ(select->where->loc.line, 6u);
  EXPECT_EQ(select->where->loc.column, 7u);
  ASSERT_EQ(select->group_by.size(), 2u);
  EXPECT_EQ(select->group_by[1]->name, "sex");
  ASSERT_NE(select->having, nullptr);
  EXPECT_EQ(OperatorText(select->having->op), ">");

  ASSERT_EQ(select->order_by.size(), 3u);
  EXPECT_TRUE(select->order_by[0].descending);
  EXPECT_FALSE(select->order_by[1].descending);
  EXPECT_FALSE(select->order_by[2].descending);
  EXPECT_EQ(select->order_by[2].expr->name, "mean_age");

  ASSERT_TRUE(select->limit.has_value());
  EXPECT_EQ(*select->limit, 20);
  EXPECT_EQ(select->limit_loc.line, 10u);
  EXPECT_EQ(select->limit_loc.column, 7u);

  ASSERT_EQ(select->privacy.size(), 4u);
  EXPECT_EQ(select->privacy[0].name, "epsilon");
  EXPECT_EQ(select->privacy[0].value, "0.5");
  EXPECT_TRUE(select->privacy[0].is_number);
  EXPECT_EQ(select->privacy[1].name, "delta");
  EXPECT_EQ(select->privacy[1].value, "1e-6");
  EXPECT_EQ(select->privacy[2].value, "gaussian");
  EXPECT_FALSE(select->privacy[2].is_number);
  EXPECT_EQ(select->privacy[3].value, "2");
  EXPECT_EQ(select->privacy_loc.line, 11u);
  EXPECT_EQ(select->privacy_loc.column, 1u);
  EXPECT_EQ(select->privacy[0].loc.column, 15u);
  EXPECT_EQ(select->privacy[0].value_loc.column, 25u);
}

TEST(ParserSelect, MinimalSelectHasNoOptionalClauses) {
  auto select = Select("SELECT COUNT(*) FROM admissions");
  EXPECT_EQ(select->items.size(), 1u);
  EXPECT_TRUE(select->joins.empty());
  EXPECT_EQ(select->where, nullptr);
  EXPECT_TRUE(select->group_by.empty());
  EXPECT_EQ(select->having, nullptr);
  EXPECT_TRUE(select->order_by.empty());
  EXPECT_FALSE(select->limit.has_value());
  EXPECT_TRUE(select->privacy.empty());
  EXPECT_FALSE(select->privacy_loc.Known());
}

TEST(ParserSelect, SelectStarIsRecordedForTheBinder) {
  auto select = Select("SELECT * FROM admissions");
  EXPECT_TRUE(select->select_star);
  EXPECT_EQ(select->star_loc.column, 8u);
  EXPECT_TRUE(select->items.empty());
}

TEST(ParserSelect, NegativePrivacyValueKeepsItsSign) {
  auto select = Select("SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = -1)");
  ASSERT_EQ(select->privacy.size(), 1u);
  EXPECT_EQ(select->privacy[0].value, "-1");
  EXPECT_TRUE(select->privacy[0].is_number);
}

TEST(ParserSelect, SubqueryInFromIsRefusedClearly) {
  try {
    ParseScript("SELECT COUNT(*) FROM (SELECT patient_id FROM admissions) s");
    FAIL();
  } catch (const DpqlError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kSemantic);
    EXPECT_EQ(std::string(Name(e.code())), "subquery");
    EXPECT_EQ(e.location().column, 22u);
    EXPECT_NE(e.message().find("subqueries are not supported"), std::string::npos);
  }
}

TEST(ParserSelect, UnsupportedJoinKindsAreRefusedClearly) {
  for (std::string kind : {"RIGHT", "FULL OUTER", "CROSS"}) {
    try {
      ParseScript("SELECT COUNT(*) FROM admissions a " + kind + " JOIN wards w ON a.x = w.x");
      FAIL() << kind;
    } catch (const DpqlError& e) {
      EXPECT_EQ(std::string(Name(e.code())), "unsupported_join") << kind;
      EXPECT_EQ(e.location().column, 35u);
      EXPECT_NE(e.message().find("LEFT JOIN"), std::string::npos);
    }
  }
}

TEST(ParserSelect, LimitTooLarge) {
  ExpectSyntaxError("SELECT COUNT(*) FROM admissions LIMIT 99999999999999999999", 1, 39, "is too large");
}

// ----------------------------------------------------------------- expressions

TEST(ParserExpressions, Literals) {
  auto select = Select(
      "SELECT COUNT(*) FROM t WHERE a IN (42, 1.5, 1e-6, .25, 'it''s', DATE '2024-02-29', TRUE, "
      "false, NULL)");
  const auto& args = select->where->args;
  ASSERT_EQ(args.size(), 10u);
  EXPECT_EQ(args[1]->literal.kind, LiteralKind::kInteger);
  EXPECT_EQ(args[1]->literal.text, "42");
  EXPECT_EQ(args[2]->literal.kind, LiteralKind::kDecimal);
  EXPECT_EQ(args[2]->literal.text, "1.5");
  EXPECT_EQ(args[3]->literal.text, "1e-6");
  EXPECT_EQ(args[3]->literal.kind, LiteralKind::kDecimal);
  EXPECT_EQ(args[4]->literal.text, ".25");
  EXPECT_EQ(args[5]->literal.kind, LiteralKind::kString);
  EXPECT_EQ(args[5]->literal.text, "it's");
  EXPECT_EQ(args[6]->literal.kind, LiteralKind::kDate);
  EXPECT_EQ(args[6]->literal.text, "2024-02-29");
  EXPECT_EQ(args[7]->literal.kind, LiteralKind::kBoolean);
  EXPECT_TRUE(args[7]->literal.boolean);
  EXPECT_EQ(args[8]->literal.kind, LiteralKind::kBoolean);
  EXPECT_FALSE(args[8]->literal.boolean);
  EXPECT_EQ(args[9]->literal.kind, LiteralKind::kNull);
  for (size_t i = 1; i < args.size(); ++i) EXPECT_EQ(args[i]->kind, ExprKind::kLiteral);
}

TEST(ParserExpressions, InvalidDateLiteral) {
  ExpectSyntaxError("SELECT COUNT(*) FROM t WHERE d = DATE '2026-13-01'", 1, 34,
                    "invalid date literal '2026-13-01'; expected DATE 'yyyy-mm-dd'");
  ExpectSyntaxError("SELECT COUNT(*) FROM t WHERE d = DATE '2025-02-29'", 1, 34,
                    "invalid date literal '2025-02-29'");
  ExpectSyntaxError("SELECT COUNT(*) FROM t WHERE d = DATE '1/2/2025'", 1, 34, "invalid date literal");
}

TEST(ParserExpressions, FunctionCalls) {
  auto select = Select(
      "SELECT count(*), Count(DISTINCT patient_id), percentile(age, 0.5), BUCKET(age, 10), "
      "date_trunc('month', admitted_on), sum(length_of_stay) FROM admissions");
  ASSERT_EQ(select->items.size(), 6u);
  const ast::Expr& count = *select->items[0].expr;
  EXPECT_EQ(count.kind, ExprKind::kFunction);
  EXPECT_EQ(count.name, "COUNT");
  ASSERT_EQ(count.args.size(), 1u);
  EXPECT_EQ(count.args[0]->kind, ExprKind::kStar);
  EXPECT_EQ(count.args[0]->loc.column, 14u);
  const ast::Expr& distinct = *select->items[1].expr;
  EXPECT_EQ(distinct.name, "COUNT");
  EXPECT_TRUE(distinct.distinct);
  EXPECT_EQ(distinct.args[0]->name, "patient_id");
  const ast::Expr& percentile = *select->items[2].expr;
  EXPECT_EQ(percentile.name, "PERCENTILE");
  ASSERT_EQ(percentile.args.size(), 2u);
  EXPECT_EQ(percentile.args[1]->literal.text, "0.5");
  EXPECT_EQ(select->items[3].expr->name, "BUCKET");
  const ast::Expr& trunc = *select->items[4].expr;
  EXPECT_EQ(trunc.name, "DATE_TRUNC");
  EXPECT_EQ(trunc.args[0]->literal.text, "month");
  EXPECT_EQ(trunc.args[1]->name, "admitted_on");
  EXPECT_FALSE(select->items[5].expr->distinct);
}

TEST(ParserExpressions, Extract) {
  auto select = Select("SELECT extract(year FROM admitted_on) AS y, EXTRACT(Dow FROM a.day) FROM t");
  const ast::Expr& year = *select->items[0].expr;
  EXPECT_EQ(year.kind, ExprKind::kExtract);
  EXPECT_EQ(year.name, "YEAR");
  ASSERT_EQ(year.args.size(), 1u);
  EXPECT_EQ(year.args[0]->name, "admitted_on");
  EXPECT_EQ(select->items[1].expr->name, "DOW");
  EXPECT_EQ(select->items[1].expr->args[0]->qualifier, "a");
  EXPECT_EQ(select->items[1].expr->args[0]->name, "day");
}

TEST(ParserExpressions, Predicates) {
  auto e = Where("age BETWEEN 18 AND 65");
  EXPECT_EQ(e->kind, ExprKind::kBetween);
  EXPECT_FALSE(e->negated);
  ASSERT_EQ(e->args.size(), 3u);
  EXPECT_EQ(e->args[2]->literal.text, "65");

  e = Where("age NOT BETWEEN 18 AND 65");
  EXPECT_EQ(e->kind, ExprKind::kBetween);
  EXPECT_TRUE(e->negated);

  e = Where("sex IN ('F', 'M')");
  EXPECT_EQ(e->kind, ExprKind::kIn);
  EXPECT_FALSE(e->negated);
  ASSERT_EQ(e->args.size(), 3u);
  EXPECT_EQ(e->args[0]->name, "sex");

  e = Where("sex NOT IN ('X')");
  EXPECT_TRUE(e->negated);
  EXPECT_EQ(e->args.size(), 2u);

  e = Where("discharged_on IS NULL");
  EXPECT_EQ(e->kind, ExprKind::kIsNull);
  EXPECT_FALSE(e->negated);
  e = Where("discharged_on IS NOT NULL");
  EXPECT_TRUE(e->negated);
  EXPECT_EQ(e->args.size(), 1u);

  e = Where("postcode_district LIKE 'LS%'");
  EXPECT_EQ(e->kind, ExprKind::kLike);
  EXPECT_EQ(e->args[1]->literal.text, "LS%");
  e = Where("postcode_district NOT LIKE 'LS%'");
  EXPECT_TRUE(e->negated);
}

TEST(ParserExpressions, ComparisonOperatorsAreNormalised) {
  for (auto [text, op] : std::vector<std::pair<std::string, std::string>>{
           {"=", "="}, {"<>", "<>"}, {"!=", "<>"}, {"<", "<"}, {"<=", "<="}, {">", ">"}, {">=", ">="}}) {
    auto e = Where("age " + text + " 3");
    EXPECT_EQ(e->kind, ExprKind::kBinary);
    EXPECT_EQ(OperatorText(e->op), op) << text;
  }
}

TEST(ParserExpressions, PrecedenceAndAssociativity) {
  // a OR b AND NOT c  ==  a OR (b AND (NOT c))
  auto e = Where("a = 1 OR b = 2 AND NOT c = 3");
  EXPECT_EQ(OperatorText(e->op), "OR");
  EXPECT_EQ(OperatorText(e->args[1]->op), "AND");
  EXPECT_EQ(e->args[1]->args[1]->kind, ExprKind::kUnary);
  EXPECT_EQ(OperatorText(e->args[1]->args[1]->op), "NOT");
  EXPECT_EQ(OperatorText(e->args[1]->args[1]->args[0]->op), "=");

  // 1 - 2 - 3 * -x / 4  ==  (1 - 2) - ((3 * (-x)) / 4)
  e = Where("1 - 2 - 3 * -x / 4 > 0");
  const ast::Expr& sum = *e->args[0];
  EXPECT_EQ(OperatorText(sum.op), "-");
  EXPECT_EQ(OperatorText(sum.args[0]->op), "-");
  EXPECT_EQ(sum.args[0]->args[0]->literal.text, "1");
  EXPECT_EQ(OperatorText(sum.args[1]->op), "/");
  EXPECT_EQ(OperatorText(sum.args[1]->args[0]->op), "*");
  EXPECT_EQ(sum.args[1]->args[0]->args[1]->kind, ExprKind::kUnary);
  EXPECT_EQ(OperatorText(sum.args[1]->args[0]->args[1]->op), "-");

  // Parentheses group and leave no node.
  e = Where("(a = 1 OR b = 2) AND c = 3");
  EXPECT_EQ(OperatorText(e->op), "AND");
  EXPECT_EQ(OperatorText(e->args[0]->op), "OR");
}

TEST(ParserExpressions, Locations) {
  auto select = Select("SELECT COUNT(*)\nFROM admissions\nWHERE age >= 18 AND\n      sex = 'F'");
  const ast::Expr& where = *select->where;
  EXPECT_EQ(OperatorText(where.op), "AND");
  EXPECT_EQ(where.loc.line, 3u);
  EXPECT_EQ(where.loc.column, 7u);
  const ast::Expr& sex = *where.args[1]->args[0];
  EXPECT_EQ(sex.loc.line, 4u);
  EXPECT_EQ(sex.loc.column, 7u);
  EXPECT_EQ(sex.loc.length, 3u);
  const ast::Expr& f = *where.args[1]->args[1];
  EXPECT_EQ(f.loc.column, 13u);
  EXPECT_EQ(f.loc.length, 3u);  // 'F' with its quotes
  EXPECT_EQ(select->items[0].loc.column, 8u);
  EXPECT_EQ(select->items[0].loc.length, 8u);
}

TEST(ParserExpressions, ColumnsCountCharactersNotBytes) {
  std::string text = "SELECT COUNT(*) FROM t WHERE name = 'Zoë' AND age > 1";
  auto select = Select(text);
  const ast::Expr& age = *select->where->args[1]->args[0];
  EXPECT_EQ(age.loc.column, 47u);                    // characters
  EXPECT_EQ(text.substr(age.loc.offset, 3), "age");  // bytes
}

TEST(ParserExpressions, SubqueriesAreRefusedWithOneReasonWhereverTheyStand) {
  const std::string reason = "subqueries are not supported: DPQL answers one aggregate query";
  ExpectRefusal("SELECT COUNT(*) FROM admissions WHERE patient_id IN (SELECT patient_id FROM bed_days)", 1,
                53, "subquery", reason);
  ExpectRefusal("SELECT COUNT(*) FROM admissions WHERE age > (SELECT COUNT(*) FROM admissions)", 1, 45,
                "subquery", reason);
  ExpectRefusal("SELECT COUNT(*) FROM admissions WHERE NOT EXISTS (SELECT 1 FROM bed_days)", 1, 43,
                "subquery", reason);
  ExpectRefusal("SELECT (SELECT COUNT(*) FROM bed_days), COUNT(*) FROM admissions", 1, 8, "subquery", reason);
  ExpectRefusal("SELECT COUNT(*) FROM admissions a JOIN (SELECT * FROM wards) w ON a.x = w.x", 1, 40,
                "subquery", reason);
  // Whatever is wrong inside it, the subquery is what is refused, at its
  // outermost opening.
  ExpectRefusal("SELECT COUNT(*) FROM (SELECT DISTINCT patient_id FROM (SELECT * FROM x) t", 1, 22,
                "subquery", reason);
  ExpectRefusal("SELECT COUNT(*) FROM admissions WHERE EXISTS (SELECT", 1, 39, "subquery", reason);
}

// Forms the whole language allows, even where a later stage refuses them
// (this keeps them parsing while the binder grows).
TEST(ParserForms, EveryLanguageFormParses) {
  for (const char* text : {
           "select ward_code, count(*) as n from admissions group by ward_code order by n desc, "
           "ward_code asc limit 10",
           "SELECT w.trust, COUNT(DISTINCT a.patient_id) AS patients FROM admissions AS a "
           "JOIN wards w ON a.ward_code = w.ward_code LEFT JOIN wards v ON a.ward_code = "
           "v.ward_code INNER JOIN wards u ON a.ward_code = u.ward_code GROUP BY w.trust "
           "HAVING patients > 10 WITH PRIVACY (epsilon = 0.5, delta = 1e-6, mechanism = gaussian)",
           "SELECT PERCENTILE(waiting_days, 0.5), MEDIAN(age), AVG(length_of_stay), VARIANCE(age), "
           "STDDEV(age), SUM(length_of_stay), MIN(age), MAX(age) FROM admissions",
           "SELECT BUCKET(age, 10) AS age_band, DATE_TRUNC('month', admitted_on) month, "
           "EXTRACT(DOW FROM admitted_on), COUNT(*) FROM admissions GROUP BY 1, 2, 3",
           "SELECT * FROM admissions",
           "EXPLAIN SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 1)",
       }) {
    EXPECT_NO_THROW(ParseScript(text)) << text;
  }
}

// --------------------------------------------------------------- lexical forms

TEST(ParserLexical, KeywordsAreCaseInsensitive) {
  auto a = Select("select count(*) from Admissions where AGE between 1 and 2 group by Sex");
  auto b = Select("SeLeCt COUNT(*) FrOm admissions WhErE age BETWEEN 1 AND 2 GROUP BY sex");
  EXPECT_EQ(a->from.name, "admissions");
  EXPECT_EQ(a->where->kind, ExprKind::kBetween);
  EXPECT_EQ(a->where->args[0]->name, "age");
  EXPECT_EQ(a->group_by[0]->name, "sex");
  EXPECT_EQ(b->group_by[0]->name, "sex");
}

TEST(ParserLexical, QuotedIdentifiersKeepTheirSpelling) {
  auto select = Select("SELECT COUNT(*) AS \"Total \"\"n\"\"\" FROM \"Admissions\" WHERE \"group\" = 1");
  EXPECT_EQ(select->items[0].alias, "Total \"n\"");
  EXPECT_EQ(select->from.name, "Admissions");
  EXPECT_EQ(select->where->args[0]->name, "group");
}

TEST(ParserLexical, NonReservedKeywordsAreNames) {
  auto select = Select("SELECT COUNT(*) AS budget FROM tables WHERE date = DATE '2025-01-01'");
  EXPECT_EQ(select->items[0].alias, "budget");
  EXPECT_EQ(select->from.name, "tables");
  EXPECT_EQ(select->where->args[0]->kind, ExprKind::kColumn);
  EXPECT_EQ(select->where->args[0]->name, "date");
  EXPECT_EQ(select->where->args[1]->literal.kind, LiteralKind::kDate);
}

TEST(ParserLexical, Comments) {
  auto statements = ParseScript(
      "-- leading comment\n"
      "SELECT /* inline */ COUNT(*) -- trailing\n"
      "FROM admissions /* multi\n line ; comment */ WHERE age > 1;\n"
      "/* between */ SHOW TABLES -- last");
  ASSERT_EQ(statements.size(), 2u);
  EXPECT_EQ(statements[0].loc.line, 2u);
  EXPECT_NE(statements[0].select->where, nullptr);
  EXPECT_EQ(statements[0].select->where->loc.line, 4u);
  EXPECT_EQ(statements[1].kind, StatementKind::kShowTables);
  EXPECT_EQ(statements[1].text, "SHOW TABLES");
}

// ---------------------------------------------------------------------- errors

TEST(ParserErrors, MessagesAreForHumans) {
  ExpectSyntaxError("SELECT FROM admissions;", 1, 8, "expected an expression or '*' after SELECT");
  ExpectSyntaxError("SELEC COUNT(*) FROM admissions", 1, 1, "unknown keyword 'SELEC' — did you mean SELECT?");
  ExpectSyntaxError("SELECT COUNT(*) FORM admissions", 1, 17, "unknown keyword 'FORM' — did you mean FROM?");
  ExpectRefusal("SELECT COUNT(*) admissions", 1, 27, "missing_from", "missing FROM after the select list");
  ExpectSyntaxError("SELECT COUNT(*) FROM admissions WHERE", 1, 38, "expected an expression after WHERE");
  ExpectSyntaxError("SELECT COUNT(*) FROM admissions WHERE sex = 'F", 1, 45, "unterminated string literal");
  ExpectSyntaxError("SELECT COUNT(*) FROM admissions)", 1, 32, "unexpected ')'");
  ExpectSyntaxError("SELECT COUNT(*) FROM admissions\nSELECT COUNT(*) FROM wards", 2, 1,
                    "missing ';' between statements");
  ExpectSyntaxError("SELECT COUNT(*) FROM admissions GROUP sex", 1, 39, "expected BY after GROUP");
  ExpectSyntaxError("SELECT COUNT(*) FROM admissions LIMIT 5 WHERE age > 1", 1, 41,
                    "WHERE is not allowed here");
}

// SQL that DPQL does not support: one code per cause, what to write
// instead, never where the grammar stopped (tests/sql/syntax.test has the
// same through the whole compiler).
TEST(ParserErrors, UnsupportedSqlIsNamedWithItsOwnCode) {
  struct Case {
    const char* text;
    uint32_t column;
    const char* code;
    const char* part;
  };
  const Case cases[] = {
      {"SELECT CASE WHEN age > 65 THEN 1 ELSE 0 END, COUNT(*) FROM admissions", 8, "unsupported_case",
       "CASE is not supported"},
      {"SELECT COUNT(*) FROM admissions WHERE CASE sex WHEN 'F' THEN 1 END = 1", 39, "unsupported_case",
       "CASE is not supported"},
      {"SELECT COUNT(*) FROM admissions WHERE age > 1 THEN 2", 47, "unsupported_case",
       "THEN belongs to CASE"},
      {"SELECT COUNT(*) OVER (PARTITION BY sex) FROM admissions", 17, "unsupported_window",
       "OVER (a window function) is not supported"},
      {"SELECT COUNT(*) FROM admissions WINDOW w AS (PARTITION BY sex)", 33, "unsupported_window",
       "WINDOW (a window function)"},
      {"SELECT COUNT(*) FROM admissions UNION", 33, "unsupported_set_operation", "with OR"},
      {"SELECT COUNT(*) FROM admissions a UNION ALL SELECT COUNT(*) FROM bed_days", 35,
       "unsupported_set_operation", "UNION is not supported"},
      {"SELECT COUNT(*) FROM admissions WHERE age > 1 INTERSECT SELECT 1", 47, "unsupported_set_operation",
       "with AND"},
      {"SELECT sex, COUNT(*) FROM admissions GROUP BY sex EXCEPT SELECT 1", 51, "unsupported_set_operation",
       "with AND NOT"},
      {"SELECT COUNT(*) FROM admissions, wards", 32, "comma_join", "JOIN <table> ON"},
      {"SELECT COUNT(*) FROM admissions a JOIN wards w ON a.x = w.x, beds", 60, "comma_join", "comma"},
      {"SELECT sex || ward_code, COUNT(*) FROM admissions", 12, "unsupported_concat", "GROUP BY a, b"},
      {"SELECT COUNT(*) FROM admissions ORDER BY 1 DESC LIMIT 3 OFFSET 2", 57, "unsupported_offset",
       "OFFSET is not supported"},
      {"WITH x AS (SELECT * FROM admissions) SELECT COUNT(*) FROM x", 1, "unsupported_cte",
       "WITH PRIVACY (...) goes at the end"},
      {"EXPLAIN WITH x AS (SELECT 1) SELECT COUNT(*) FROM x", 9, "unsupported_cte",
       "common table expression"},
      {"SELECT DISTINCT sex FROM admissions", 8, "unsupported_distinct", "GROUP BY a column"},
      {"SELECT COUNT(*);", 16, "missing_from", "SHOW TABLES"},
      {"SELECT COUNT(*)", 16, "missing_from", "missing FROM"},
      {"SELECT COUNT(*) WHERE age > 1", 17, "missing_from", "missing FROM"},
      {"SELECT a.* FROM admissions a", 10, "select_star", "individual rows"},
      {"SELECT COUNT(*) FROM admissions NATURAL JOIN wards", 33, "unsupported_join", "NATURAL JOIN"},
      {"SELECT COUNT(*) FROM admissions a JOIN wards w USING (ward_code)", 48, "unsupported_join",
       "ON <column> = <column>"},
  };
  for (const Case& c : cases) ExpectRefusal(c.text, 1, c.column, c.code, c.part);
}

// Every keyword DPQL reserves, also SQL it does not support, is never a name
// or an alias unless double-quoted.
TEST(ParserErrors, ReservedWordsAreNamesOnlyInDoubleQuotes) {
  for (std::string word : {"case", "when", "then", "else", "end", "over", "partition", "window", "union",
                           "intersect", "except", "offset", "natural", "using", "exists", "order", "limit"}) {
    const std::string upper = UpperAscii(word);
    ExpectRefusal(
        "SELECT COUNT(*) AS " + word + " FROM admissions", 1, 20, "reserved_word",
        upper + " is a reserved word and cannot be an alias; write \"" + word + "\" in double quotes");
    ExpectRefusal("SELECT COUNT(*) FROM admissions a JOIN " + word + " w ON a.x = w.x", 1, 40,
                  "reserved_word", "cannot be a table name; write \"" + word + "\" in double quotes");
    EXPECT_THROW(ParseScript("SELECT COUNT(*) FROM admissions " + word), DpqlError) << word;
    EXPECT_THROW(ParseScript("SELECT " + word + " FROM admissions GROUP BY " + word), DpqlError) << word;
    auto select = Select("SELECT \"" + word + "\", COUNT(*) AS \"" + word + "\" FROM \"" + word + "\" \"" +
                         word + "\" GROUP BY \"" + word + "\"");
    EXPECT_EQ(select->from.name, word);
    EXPECT_EQ(select->from.alias, word);
    EXPECT_EQ(select->items[1].alias, word);
  }
  ExpectRefusal("SELECT end FROM admissions", 1, 8, "reserved_word", "write \"end\" in double quotes");
  ExpectRefusal("SELECT age case FROM admissions", 1, 12, "reserved_word", "write \"case\"");
  ExpectRefusal("SELECT exists FROM admissions", 1, 8, "reserved_word", "write \"exists\"");
}

// Random SQL-shaped text: every refusal is one located DpqlError of the
// syntax or semantic kind, never ANTLR's words or an internal error.
TEST(ParserErrors, RandomSqlIsRefusedCleanly) {
  const std::vector<std::string> pieces = {
      "SELECT", "FROM",    "WHERE",     "GROUP BY", "HAVING", "ORDER BY", "LIMIT",      "OFFSET",
      "UNION",  "ALL",     "CASE",      "WHEN",     "THEN",   "ELSE",     "END",        "OVER",
      "(",      ")",       "(",         ")",        ",",      ";",        "*",          ".",
      "||",     "=",       ">",         "AND",      "NOT",    "EXISTS",   "IN",         "WITH",
      "AS",     "PRIVACY", "DISTINCT",  "JOIN",     "ON",     "USING",    "NATURAL",    "PARTITION BY",
      "WINDOW", "EXCEPT",  "INTERSECT", "COUNT(*)", "age",    "sex",      "admissions", "wards",
      "1",      "'F'",     "EXPLAIN",   "SHOW",     "TABLES"};
  SeededRandom random(20261205);
  auto draw = [&random](uint64_t n) {
    uint64_t value = 0;
    random.Fill(reinterpret_cast<uint8_t*>(&value), sizeof value);
    return value % n;
  };
  for (int round = 0; round < 5000; ++round) {
    std::string text = draw(4) == 0 ? "" : "SELECT COUNT(*) FROM admissions ";
    const uint64_t count = 1 + draw(10);
    for (uint64_t k = 0; k < count; ++k) text += pieces[draw(pieces.size())] + " ";
    try {
      ParseScript(text);
    } catch (const DpqlError& e) {
      EXPECT_TRUE(e.kind() == ErrorKind::kSyntax || e.kind() == ErrorKind::kSemantic ||
                  e.kind() == ErrorKind::kPrivacy)
          << text << "\n"
          << e.what();
      EXPECT_GE(e.location().line, 1u) << text << "\n" << e.what();
      EXPECT_GE(e.location().column, 1u) << text << "\n" << e.what();
      EXPECT_EQ(e.message().find("mismatched"), std::string::npos) << e.what();
      EXPECT_EQ(e.message().find("expecting"), std::string::npos) << e.what();
      EXPECT_EQ(e.message().find("K_"), std::string::npos) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << text << "\nthrew " << e.what();
    }
    if (HasFailure()) return;
  }
}

TEST(ParserErrors, EndOfInputIsLocatedAfterTheLastToken) {
  ExpectSyntaxError("SELECT COUNT(*)\nFROM admissions\nWHERE age >\n\n", 3, 12,
                    "expected an expression after '>'");
}

TEST(ParserErrors, UnclosedParenthesisNamesIt) {
  ExpectSyntaxError("SELECT COUNT(* FROM admissions", 1, 16, "missing ')' to close the '(' at 1:13");
}

TEST(ParserErrors, ErrorsInLaterStatementsPointIntoThem) {
  ExpectSyntaxError("SHOW TABLES;\nSELECT COUNT(*)\n  FROM admissions WHERE age >> 3;", 3, 30,
                    "expected an expression after '>'");
}

TEST(ParserErrors, InvalidUtf8IsRefusedWithItsPosition) {
  ExpectSyntaxError("SELECT COUNT(*) FROM t WHERE s = '\xC3\x28'", 1, 35, "not valid UTF-8");
  ExpectSyntaxError("SELECT COUNT(*) FROM t WHERE s = '\xED\xA0\x80'", 1, 35, "not valid UTF-8");
  // Valid multi-byte text is fine, also in names.
  EXPECT_NO_THROW(ParseScript("SELECT COUNT(*) FROM t WHERE café = 'naïve ✓'"));
}

TEST(ParserThreads, ConcurrentParsesAgree) {
  const std::string good = "SELECT sex, COUNT(*) FROM admissions WHERE age BETWEEN 1 AND 9 GROUP BY sex";
  const std::string bad = "SELECT COUNT(*) FROM admissions GROUP sex";
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        try {
          if (ParseStatement(good).select->group_by.size() != 1) ++failures;
        } catch (...) {
          ++failures;
        }
        try {
          ParseStatement(bad);
          ++failures;
        } catch (const DpqlError& e) {
          if (e.location().column != 39) ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

// ------------------------------------------------------------- nesting guards

TEST(ParserNesting, DeepParenthesesGiveACleanError) {
  std::string deep =
      "SELECT COUNT(*) FROM t WHERE " + std::string(200, '(') + "a = 1" + std::string(200, ')');
  ExpectSyntaxError(deep, 1, 30 + kMaxNestingDepth, "expression is nested too deeply");
  std::string ok = "SELECT COUNT(*) FROM t WHERE " + std::string(kMaxNestingDepth - 1, '(') + "a = 1" +
                   std::string(kMaxNestingDepth - 1, ')');
  EXPECT_NO_THROW(ParseScript(ok));
}

TEST(ParserNesting, DeepPrefixOperatorsGiveACleanError) {
  std::string nots;
  for (int i = 0; i < 10000; ++i) nots += "NOT ";
  ExpectSyntaxError("SELECT COUNT(*) FROM t WHERE " + nots + "a", 1, 30 + 4 * kMaxNestingDepth,
                    "expression is nested too deeply");
  std::string minus;
  for (int i = 0; i < 50000; ++i) minus += "- ";
  ExpectSyntaxError("SELECT COUNT(*) FROM t WHERE " + minus + "a > 1", 1, 30 + 2 * kMaxNestingDepth,
                    "expression is nested too deeply");
  std::string calls;
  for (int i = 0; i < 1000; ++i) calls += "f(";
  // The first '(' is at column 9, the (kMaxNestingDepth + 1)-th is too deep.
  ExpectSyntaxError("SELECT " + calls + "x" + std::string(1000, ')') + " FROM t", 1, 9 + 2 * kMaxNestingDepth,
                    "expression is nested too deeply");
}

TEST(ParserNesting, LongOperatorChainsAreBoundedToo) {
  auto chain = [](int n) {
    std::string text = "SELECT COUNT(*) FROM t WHERE a = 0";
    for (int i = 1; i < n; ++i) text += " OR a = " + std::to_string(i);
    return text;
  };
  EXPECT_NO_THROW(ParseScript(chain(200)));
  ExpectSyntaxError(chain(2000), 1, 30, "expression is nested too deeply");
  std::string sum = "SELECT COUNT(*) FROM t WHERE 0";
  for (int i = 0; i < 20000; ++i) sum += "+1";
  ExpectSyntaxError(sum + " > 1", 1, 30, "expression is nested too deeply");
}

// ------------------------------------------------------ tests/sql/syntax.test

// A small runner for the syntax cases of tests/sql/*.test (the full pipeline
// driver lives elsewhere): `statement ok` must parse; `statement error L:C
// CODE` must fail in the parser with that code, location and message part
// when CODE is one the parser produces.
TEST(ParserSqlFiles, SyntaxFileParses) {
#ifdef DPQL_SOURCE_DIR_DEFAULT
  std::string dir = DPQL_SOURCE_DIR_DEFAULT;
#else
  std::string dir = ".";
#endif
  if (const char* env = std::getenv("DPQL_SOURCE_DIR")) dir = env;
  std::ifstream file(dir + "/tests/sql/syntax.test");
  ASSERT_TRUE(file.is_open()) << "run from the source directory or set DPQL_SOURCE_DIR";
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) lines.push_back(line);

  int ok_cases = 0;
  int error_cases = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& header = lines[i];
    if (header.rfind("statement ", 0) != 0) continue;
    size_t header_line = i + 1;
    std::string query;
    for (++i; i < lines.size() && !lines[i].empty() && lines[i] != "----"; ++i) {
      query += (query.empty() ? "" : "\n") + lines[i];
    }
    if (header == "statement ok") {
      ++ok_cases;
      try {
        ParseScript(query);
      } catch (const DpqlError& e) {
        ADD_FAILURE() << "syntax.test:" << header_line << " should parse: " << query << "\n"
                      << FormatError(e, query);
      }
      continue;
    }
    std::istringstream words(header.substr(std::string("statement error ").size()));
    std::string where;
    std::string code;
    words >> where >> code;
    ASSERT_TRUE(i + 1 < lines.size() && lines[i] == "----") << "syntax.test:" << header_line;
    std::string expected_message = lines[++i];
    uint32_t line = std::stoul(where.substr(0, where.find(':')));
    uint32_t column = std::stoul(where.substr(where.find(':') + 1));
    ++error_cases;
    try {
      ParseScript(query);
      if (code == "syntax_error") {
        ADD_FAILURE() << "syntax.test:" << header_line << " should not parse: " << query;
      }
    } catch (const DpqlError& e) {
      EXPECT_EQ(std::string(Name(e.code())), code) << "syntax.test:" << header_line << "\n"
                                                   << FormatError(e, query);
      EXPECT_EQ(e.location().line, line) << "syntax.test:" << header_line << "\n" << FormatError(e, query);
      EXPECT_EQ(e.location().column, column) << "syntax.test:" << header_line << "\n"
                                             << FormatError(e, query);
      EXPECT_NE(e.message().find(expected_message), std::string::npos)
          << "syntax.test:" << header_line << "\n"
          << FormatError(e, query) << "\nexpected to contain: " << expected_message;
    }
  }
  EXPECT_GE(error_cases, 35);
  EXPECT_GE(ok_cases, 10);
}

}  // namespace
}  // namespace dpql
