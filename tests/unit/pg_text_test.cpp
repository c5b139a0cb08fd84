// server/pg_text: the session's own statements, bound parameters as DPQL
// literals, values in PostgreSQL's text and binary formats, and error
// positions as characters.

#include "server/pg_text.h"

#include <gtest/gtest.h>

namespace dpql::pgwire {
namespace {

using Kind = SessionCommand::Kind;

TEST(PgTextTest, SessionStatementsAreRecognisedAndDpqlOnesAreNot) {
  EXPECT_EQ(ClassifyCommand("  ; -- nothing\n").kind, Kind::kEmpty);
  EXPECT_EQ(ClassifyCommand("BEGIN").kind, Kind::kBegin);
  EXPECT_EQ(ClassifyCommand("start transaction;").kind, Kind::kBegin);
  EXPECT_EQ(ClassifyCommand("commit").tag, "COMMIT");
  EXPECT_EQ(ClassifyCommand("ROLLBACK;").kind, Kind::kRollback);
  SessionCommand set = ClassifyCommand("SET dpql.intervals = on;");
  EXPECT_EQ(set.kind, Kind::kSet);
  EXPECT_EQ(set.name, "dpql.intervals");
  EXPECT_EQ(set.value, "on");
  SessionCommand quoted = ClassifyCommand("set application_name to 'it''s me'");
  EXPECT_EQ(quoted.name, "application_name");
  EXPECT_EQ(quoted.value, "it's me");
  EXPECT_EQ(ClassifyCommand("SET TIME ZONE 'UTC'").name, "timezone");
  EXPECT_EQ(ClassifyCommand("SHOW dpql.dataset").name, "dpql.dataset");
  EXPECT_EQ(ClassifyCommand("SHOW TRANSACTION ISOLATION LEVEL").name, "transaction_isolation");
  // DPQL's own SHOW statements, and queries, go to the engine.
  EXPECT_EQ(ClassifyCommand("SHOW TABLES;").kind, Kind::kNone);
  EXPECT_EQ(ClassifyCommand("show budget").kind, Kind::kNone);
  EXPECT_EQ(ClassifyCommand("SELECT COUNT(*) FROM admissions").kind, Kind::kNone);
  EXPECT_EQ(ClassifyCommand("settle").kind, Kind::kNone);
}

TEST(PgTextTest, MalformedSessionStatementsAreRefusedWithTheirSqlState) {
  auto state_of = [](std::string_view sql) {
    try {
      ClassifyCommand(sql);
    } catch (const SqlStateError& error) {
      return error.sqlstate();
    }
    return std::string("none");
  };
  EXPECT_EQ(state_of("SET dpql.intervals"), "42601");
  EXPECT_EQ(state_of("SET LOCAL dpql.intervals = on"), "0A000");
  EXPECT_EQ(state_of("SHOW"), "42601");
  EXPECT_EQ(state_of("SET a = 'unterminated"), "42601");
  EXPECT_EQ(state_of("BEGIN; SELECT 1"), "42601");
  EXPECT_EQ(state_of("DISCARD PLANS"), "0A000");
}

TEST(PgTextTest, ParametersBecomeLiteralsOfTheirType) {
  std::vector<BoundParameter> parameters = {
      {kTextOid, 0, std::string("W'01")},
      {kInt4Oid, 0, std::string("42")},
      {kDateOid, 0, std::string("2026-11-27")},
      {0, 0, std::string("7")},
      {0, 0, std::nullopt},
  };
  EXPECT_EQ(BindParameters("SELECT COUNT(*) FROM t WHERE a = $1 AND b > $2 AND d = $3 AND e = $4 AND f = $5",
                           parameters),
            "SELECT COUNT(*) FROM t WHERE a = 'W''01' AND b > 42 AND d = DATE '2026-11-27' AND e = 7 AND f = NULL");
  // Not inside literals, quoted identifiers or comments.
  EXPECT_EQ(BindParameters("SELECT '$1', \"$1\" -- $1\n, $1", {{kInt8Oid, 0, std::string("5")}}),
            "SELECT '$1', \"$1\" -- $1\n, 5");
  EXPECT_EQ(CountParameters("a = $2 AND b = '$9' AND c = $1"), 2);
}

TEST(PgTextTest, BinaryParametersAreDecoded) {
  EXPECT_EQ(BindParameters("$1", {{kInt4Oid, 1, std::string("\xff\xff\xff\xfe", 4)}}), "-2");
  EXPECT_EQ(BindParameters("$1", {{kInt8Oid, 1, std::string("\0\0\0\0\0\0\x01\x00", 8)}}), "256");
  // 2026-11-27 is day 9827 after 2000-01-01.
  EXPECT_EQ(BindParameters("$1", {{kDateOid, 1, std::string("\0\0\x26\x63", 4)}}), "DATE '2026-11-27'");
  EXPECT_EQ(BindParameters("$1", {{kBoolOid, 1, std::string("\1", 1)}}), "TRUE");
}

TEST(PgTextTest, ParametersThatAreNotOfTheirTypeAreRefused) {
  auto state_of = [](std::string_view sql, std::vector<BoundParameter> parameters) {
    try {
      BindParameters(sql, parameters);
    } catch (const SqlStateError& error) {
      return error.sqlstate();
    }
    return std::string("none");
  };
  EXPECT_EQ(state_of("a = $1", {{kInt4Oid, 0, std::string("1; DROP TABLE x")}}), "22P02");
  EXPECT_EQ(state_of("a = $1", {{kFloat8Oid, 0, std::string("1e")}}), "22P02");
  EXPECT_EQ(state_of("a = $1", {{kDateOid, 0, std::string("27/11/2026")}}), "22P02");
  EXPECT_EQ(state_of("a = $1", {{kInt4Oid, 1, std::string("\0\0", 2)}}), "22P02");
  EXPECT_EQ(state_of("a = $1", {{kTextOid, 0, std::string("a\0b", 3)}}), "22021");
  EXPECT_EQ(state_of("a = $2", {{kTextOid, 0, std::string("x")}}), "08P01");
  EXPECT_EQ(state_of("a = $1", {{1186, 1, std::string("12345678")}}), "0A000");  // interval, binary
  EXPECT_EQ(state_of("a = $1", {{kTextOid, 0, std::string("x")}}), "none");      // the control
}

TEST(PgTextTest, ValuesInTextAndBinaryFormats) {
  EXPECT_EQ(TypeOid("int"), kInt8Oid);
  EXPECT_EQ(TypeOid("real"), kFloat8Oid);
  EXPECT_EQ(TypeOid("date"), kDateOid);
  EXPECT_EQ(TypeOid("text"), kTextOid);
  EXPECT_EQ(TextValue(nlohmann::json(37), kInt8Oid), "37");
  EXPECT_EQ(TextValue(nlohmann::json(0.1), kFloat8Oid), "0.1");
  EXPECT_EQ(TextValue(nlohmann::json(true), kBoolOid), "t");
  EXPECT_EQ(TextValue(nlohmann::json(nullptr), kTextOid), std::nullopt);
  EXPECT_EQ(BinaryValue(nlohmann::json(256), kInt8Oid), std::string("\0\0\0\0\0\0\x01\x00", 8));
  EXPECT_EQ(BinaryValue(nlohmann::json("2026-11-27"), kDateOid), std::string("\0\0\x26\x63", 4));
}

TEST(PgTextTest, SessionPrivacyDefaultsFillOnlyWhatTheQueryLeavesOut) {
  const std::vector<std::pair<std::string, std::string>> defaults = {{"epsilon", "0.5"}, {"confidence", "0.9"}};
  EXPECT_EQ(WithSessionPrivacy("SELECT COUNT(*) FROM admissions;", defaults),
            "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.5, confidence = 0.9);");
  EXPECT_EQ(WithSessionPrivacy("SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 2) -- mine", defaults),
            "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 2, confidence = 0.9) -- mine");
  EXPECT_EQ(WithSessionPrivacy("EXPLAIN SELECT COUNT(*) FROM admissions", {{"epsilon", "0.5"}}),
            "EXPLAIN SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.5)");
  // Given in full, another statement, or text that does not parse: unchanged.
  const std::string full = "SELECT COUNT(*) FROM admissions WITH PRIVACY (confidence = 0.99, epsilon = 1)";
  EXPECT_EQ(WithSessionPrivacy(full, defaults), full);
  EXPECT_EQ(WithSessionPrivacy("SHOW TABLES", defaults), "SHOW TABLES");
  EXPECT_EQ(WithSessionPrivacy("SELECT COUNT(* FROM admissions", defaults), "SELECT COUNT(* FROM admissions");
  EXPECT_EQ(WithSessionPrivacy("SELECT COUNT(*) FROM admissions", {}), "SELECT COUNT(*) FROM admissions");
  EXPECT_TRUE(IsPlainNumber("0.5"));
  EXPECT_FALSE(IsPlainNumber("-1"));
  EXPECT_FALSE(IsPlainNumber("0.5) , max_groups = (1"));
}

TEST(PgTextTest, ErrorPositionsCountCharactersNotBytes) {
  EXPECT_EQ(CharacterPosition("SELECT x", 1, 8), 8);
  EXPECT_EQ(CharacterPosition("SELECT\n  x", 2, 3), 10);
  EXPECT_EQ(CharacterPosition("SELECT 'é', x", 1, 13), 13);  // é is two bytes, one character
  EXPECT_EQ(CharacterPosition("SELECT x", 3, 1), std::nullopt);
}

}  // namespace
}  // namespace dpql::pgwire
