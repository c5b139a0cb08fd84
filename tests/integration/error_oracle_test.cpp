// No error oracle: through a real `dpqld serve` on the hospital demo data,
// whether a query fails must not depend on the private rows. Each hostile
// query below is sent twice, once about a patient who has rows and once about
// one who has none; the two answers must have the same HTTP status and, when
// refused, the same error code and message (two 200s differ only in noise).
// A difference answers "does this person have a row on which this expression
// fails?" with certainty, whatever ε the query paid.
//
// The rows of patient P_EDGE hold the extremes of each column's PostgreSQL
// type (int4 and int8 minimum and maximum, ±infinity and the first and last
// finite dates, text ending in a backslash or holding % and _, NULLs), added
// as the test's setup with the table's CHECK and NOT NULL constraints
// relaxed. A second pair uses an ordinary demo patient (P00000001), whose
// everyday values already overflow some expressions. docs/SECURITY.md lists
// the families.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/dpqld_process.h"
#include "tests/support/http_client.h"
#include "tests/support/pg.h"

namespace dpql {
namespace {

// A patient with rows and one without, spelled with the same number of
// characters so that every position in a refusal's message is the same.
struct Pair {
  std::string present, absent;
};
const Pair kEdge{"P_EDGE", "P_NONE"};            // the adversarial rows below
const Pair kOrdinary{"P00000001", "P99999999"};  // a demo patient and nobody

// One hostile query; "{X}" stands for the patient id.
struct Case {
  std::string family;
  std::string query;
};

// COUNT(*) of one patient's rows that satisfy `predicate`.
Case Where(const std::string& family, const std::string& predicate) {
  return {family, "SELECT COUNT(*) FROM admissions WHERE patient_id = '{X}' AND (" + predicate +
                      ") WITH PRIVACY (epsilon = 0.01)"};
}

// One patient's rows grouped by `key`.
Case GroupBy(const std::string& key, const std::string& aggregate = "COUNT(*)") {
  return {"key function", "SELECT " + key + " AS k, " + aggregate +
                              " FROM admissions WHERE patient_id = '{X}' GROUP BY k "
                              "WITH PRIVACY (epsilon = 0.01)"};
}

// Aggregates over one patient's rows.
Case Aggregate(const std::string& items) {
  return {"aggregate",
          "SELECT " + items + " FROM admissions WHERE patient_id = '{X}' WITH PRIVACY (epsilon = 0.01)"};
}

std::string Substitute(std::string text, const std::string& id) {
  const size_t at = text.find("{X}");
  return at == std::string::npos ? text : text.replace(at, 3, id);
}

// A product of 33 factors 1e4000: with a column of magnitude >= 1 in front
// it exceeds numeric's 131,072 digits; on its own each literal is valid.
std::string HugeProduct(const std::string& column) {
  std::string out = column;
  for (int i = 0; i < 33; ++i) out += " * 1e4000";
  return out;
}

// Every occurrence of `id` in `text` replaced by "{X}".
std::string Unsubstitute(std::string text, const std::string& id) {
  for (size_t at = text.find(id); at != std::string::npos; at = text.find(id, at + 3)) {
    text.replace(at, id.size(), "{X}");
  }
  return text;
}

// PostgreSQL's wording of the failures provoked here; a response holding
// one passes on text that can quote a row's value.
const char* const kDatabaseText[] = {"ERROR:",
                                     "must not end with escape character",
                                     "cannot convert infinity",
                                     "cannot convert NaN",
                                     "out of range for timestamp",
                                     "value overflows numeric format",
                                     "integer out of range"};

std::vector<Case> Cases() {
  return {
      // Integer overflow by product (int4 * int4 stays int4; with a bigint
      // literal it is int8).
      Where("product", "(age + 10) * 999999999999999999 > 0"),  // issue 17's example
      Where("product", "age * age > 0"),
      Where("product", "length_of_stay * waiting_days > 0"),
      Where("product", "admission_id * 2 > 0"),
      Where("product", "admission_id * admission_id > 0"),
      Where("product", "age * 999999999999999999 > 0"),
      Where("product", "EXTRACT(YEAR FROM discharged_on) * 999999999999999999 > 0"),
      Where("product", HugeProduct("admission_id") + " > 0"),
      // By sum and difference.
      Where("sum", "age + length_of_stay > 0"),
      Where("sum", "waiting_days + waiting_days > 0"),
      Where("sum", "admission_id + 1 > 0"),
      Where("sum", "admission_id + 999999999999999999 > 0"),
      Where("sum", "waiting_days + 1 IS NULL"),
      Where("difference", "age - waiting_days > 0"),
      Where("difference", "0 - admission_id > 0"),
      Where("difference", "admission_id - 999999999999999999 < 0"),
      Where("difference", "length_of_stay - 2147483647 - 2147483647 < 0"),
      // By unary minus.
      Where("unary minus", "-age > 0"),
      Where("unary minus", "-admission_id > 0"),
      Where("unary minus", "-(-waiting_days) > 0"),
      Where("unary minus", "NOT (-age < 0)"),
      // Huge and tiny literals (numeric when over 18 digits or decimal).
      Where("literal", "age > 99999999999999999999"),
      Where("literal", "age < 1e300"),
      Where("literal", "age > 1e-400"),
      Where("literal", "age * 1e300 > 0"),
      Where("literal", "admission_id * 99999999999999999999 > 0"),
      Where("literal", "admission_id > 9223372036854775807"),
      Where("literal", "admission_id < -9223372036854775808"),
      Where("literal", "age + 1e4000 > 1e-4000"),
      // Division (numeric, NULL for zero).
      Where("division", "age / 0 > 0"),
      Where("division", "admission_id / 1e-4000 > 0"),
      Where("division", "age / (age + 1) > 0"),
      Where("division", "1 / (admission_id - admission_id) IS NULL"),
      Where("division", "(" + HugeProduct("age") + ") / 7 > 0"),
      // Date arithmetic (not in the language) and extreme date literals.
      Where("date", "admitted_on + 1 > DATE '2024-01-01'"),
      Where("date", "discharged_on - admitted_on > 0"),
      Where("date", "admitted_on > DATE '0000-01-01'"),
      Where("date", "admitted_on < DATE '9999-12-31'"),
      Where("date", "admitted_on BETWEEN DATE '0001-01-01' AND DATE '9999-12-31'"),
      Where("date", "admitted_on IN (DATE '2024-01-01', DATE '9999-12-31', DATE '0001-01-01')"),
      // BUCKET (a cast to bigint) at the edges.
      Where("bucket", "BUCKET(admission_id, 3) > 0"),
      Where("bucket", "BUCKET(admission_id, 1000000000) < 0"),
      Where("bucket", "BUCKET(age, 7) > 0"),
      Where("bucket", "BUCKET(waiting_days, 1000000000) IS NULL"),
      Where("bucket", "BUCKET(age, 1000000000) * 999999999999999999 > 0"),
      // EXTRACT and DATE_TRUNC on infinite and extreme dates.
      Where("extract", "EXTRACT(YEAR FROM admitted_on) > 2000"),
      Where("extract", "-EXTRACT(YEAR FROM discharged_on) < 0"),
      Where("extract", "EXTRACT(MONTH FROM admitted_on) = 1"),
      Where("extract", "EXTRACT(QUARTER FROM admitted_on) = 1"),
      Where("extract", "EXTRACT(WEEK FROM admitted_on) > 0"),
      Where("extract", "EXTRACT(DAY FROM discharged_on) > 0"),
      Where("extract", "EXTRACT(DOW FROM admitted_on) = 1"),
      Where("extract", "EXTRACT(ISODOW FROM admitted_on) = 1"),
      Where("extract", "EXTRACT(DOY FROM discharged_on) > 0"),
      Where("date_trunc", "DATE_TRUNC('day', admitted_on) > DATE '2024-01-01'"),
      Where("date_trunc", "DATE_TRUNC('week', admitted_on) > DATE '2024-01-01'"),
      Where("date_trunc", "DATE_TRUNC('month', admitted_on) > DATE '2024-01-01'"),
      Where("date_trunc", "DATE_TRUNC('quarter', discharged_on) IS NULL"),
      Where("date_trunc", "DATE_TRUNC('year', discharged_on) < DATE '2024-01-01'"),
      // LIKE: a column as the pattern, literal patterns ending in a backslash.
      Where("like", "patient_id LIKE postcode_district"),
      Where("like", "sex NOT LIKE diagnosis_chapter"),
      Where("like", "postcode_district LIKE 'LS%\\'"),
      Where("like", "postcode_district NOT LIKE '\\'"),
      Where("like", "postcode_district LIKE '%\\%'"),
      Where("like", "diagnosis_chapter LIKE '%'"),
      // IN and BETWEEN with extreme literals.
      Where("in/between", "age IN (2147483647, -2147483648, 9223372036854775807)"),
      Where("in/between", "admission_id NOT IN (99999999999999999999, -1e300, 1e-400)"),
      Where("in/between", "admission_id BETWEEN -99999999999999999999 AND 99999999999999999999"),
      Where("in/between", "age NOT BETWEEN 1e-400 AND 1e300"),
      Where("in/between", "age + age BETWEEN 0 AND 1"),
      Where("in/between", "waiting_days * waiting_days IN (0, 1)"),
      // Boolean structure around a failing operand.
      Where("boolean", "age * age > 0 OR age > 0"),
      Where("boolean", "NOT (admission_id + 1 > 0) AND waiting_days IS NOT NULL"),
      // Group keys at the edges.
      GroupBy("BUCKET(age, 10)"),
      GroupBy("BUCKET(waiting_days, 100)"),
      GroupBy("EXTRACT(YEAR FROM admitted_on)"),
      GroupBy("EXTRACT(MONTH FROM discharged_on)"),
      GroupBy("EXTRACT(DOW FROM admitted_on)"),
      GroupBy("DATE_TRUNC('month', admitted_on)"),
      GroupBy("DATE_TRUNC('week', discharged_on)"),
      GroupBy("DATE_TRUNC('quarter', admitted_on)"),
      GroupBy("DATE_TRUNC('year', admitted_on)"),
      GroupBy("age"),
      GroupBy("admitted_on"),
      GroupBy("postcode_district"),  // partition selection (the catalog's δ)
      GroupBy("EXTRACT(YEAR FROM discharged_on)", "SUM(length_of_stay)"),
      // Aggregates over extreme values.
      Aggregate("SUM(age), SUM(waiting_days)"),
      Aggregate("AVG(length_of_stay), STDDEV(age)"),
      Aggregate("VARIANCE(waiting_days)"),
      Aggregate("MEDIAN(age), PERCENTILE(waiting_days, 0.9)"),
      Aggregate("COUNT(waiting_days), COUNT(DISTINCT patient_id)"),
  };
}

// The adversarial rows of P_EDGE. Each column's extremes are spread over
// several rows so that every extreme meets both ordinary and extreme values
// of the other columns.
constexpr const char* kEdgeRows = R"sql(
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
           WHERE conrelid = 'admissions'::regclass AND contype = 'c' LOOP
    EXECUTE format('ALTER TABLE admissions DROP CONSTRAINT %I', c.conname);
  END LOOP;
END $$;
ALTER TABLE admissions ALTER COLUMN sex DROP NOT NULL, ALTER COLUMN age DROP NOT NULL,
  ALTER COLUMN admitted_on DROP NOT NULL, ALTER COLUMN discharged_on DROP NOT NULL,
  ALTER COLUMN length_of_stay DROP NOT NULL, ALTER COLUMN admission_method DROP NOT NULL,
  ALTER COLUMN diagnosis_chapter DROP NOT NULL, ALTER COLUMN postcode_district DROP NOT NULL;
INSERT INTO admissions (admission_id, patient_id, ward_code, sex, age, admitted_on, discharged_on,
                        length_of_stay, admission_method, diagnosis_chapter, waiting_days,
                        postcode_district) VALUES
  (9223372036854775807, 'P_EDGE', 'LTH-AMU', 'F', 2147483647, 'infinity', 'infinity',
   2147483647, 'elective', '%', 2147483647, 'LS1\'),
  (-9223372036854775808, 'P_EDGE', 'LTH-AMU', '\', -2147483648, '-infinity', '-infinity',
   -2147483648, 'emergency', '_', -2147483648, '\'),
  (9223372036854775806, 'P_EDGE', 'LTH-CAR', 'M', 2147483647, '5874897-12-31', '5874897-12-31',
   0, 'elective', 'a%b_c\d\', -2147483648, 'a%b_c\d\'),
  (-9223372036854775807, 'P_EDGE', 'LTH-CAR', 'X', -2147483648, '4713-01-01 BC', '4713-01-01 BC',
   2147483647, 'transfer', 'I', 2147483647, '%_\\'),
  (9223372036854775805, 'P_EDGE', 'LTH-RES', 'F', 40, '2025-03-01', '2025-03-04',
   3, 'elective', 'I', 12, 'LS2'),
  (9223372036854775804, 'P_EDGE', 'LTH-RES', NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL),
  (-9223372036854775806, 'P_EDGE', 'LTH-ORT', '', 0, '2024-01-01', '5874897-12-31',
   -1, '', '', 0, '');
)sql";

class ErrorOracleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() / ("dpql_error_oracle_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    db_ = new TestDatabase();
    db_->LoadHospital(1000);
    db_->Exec(kEdgeRows);
    ASSERT_EQ(db_->QueryValue("SELECT count(*) FROM admissions WHERE patient_id = 'P_EDGE'"), "7");
    ASSERT_NE(
        db_->QueryValue("SELECT count(*) FROM admissions WHERE patient_id = '" + kOrdinary.present + "'"),
        "0");
    for (const std::string& absent : {kEdge.absent, kOrdinary.absent}) {
      ASSERT_EQ(db_->QueryValue("SELECT count(*) FROM admissions WHERE patient_id = '" + absent + "'"), "0");
    }
    int code = 0;
    std::string out = Admin("init", &code);
    ASSERT_EQ(code, 0) << out;
    std::filesystem::copy_file(SourceDir() + "/examples/hospital/catalog.yaml", dir_ / "catalog.yaml",
                               std::filesystem::copy_options::overwrite_existing);
    std::ofstream config(dir_ / "dpqld.yaml");
    config << DpqldConfigBase(db_->url(), "catalog.yaml") << "threads: 2\ndb_pool: 2\n";
    config.close();
    server_ = new DpqldProcess(
        DpqldOptions{.config = (dir_ / "dpqld.yaml").string(), .log_path = (dir_ / "dpqld.log").string()});
    ASSERT_TRUE(server_->started()) << server_->log();
    out = Admin("add-analyst mallory --dataset hospital --epsilon 100 --delta 0.01", &code);
    ASSERT_EQ(code, 0) << out;
    std::smatch match;
    static const std::regex kToken("dpql_[A-Za-z0-9_-]{43}");
    ASSERT_TRUE(std::regex_search(out, match, kToken)) << out;
    token_ = match.str();
  }

  static void TearDownTestSuite() {
    ledger_.reset();
    delete server_;
    server_ = nullptr;
    delete db_;
    db_ = nullptr;
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  static std::string Admin(const std::string& args, int* code) {
    return RunCommand(
        ShellQuote(BinDir() + "/dpqld") + " admin --database " + ShellQuote(db_->url()) + " " + args, code);
  }

  // The analyst's spent budget, in the ledger's units (micro-ε, pico-δ).
  struct Spent {
    long long epsilon = 0, delta = 0;
    bool operator==(const Spent& other) const { return epsilon == other.epsilon && delta == other.delta; }
    std::string Text() const {
      return "e" + std::to_string(epsilon) + (delta ? " d" + std::to_string(delta) : "");
    }
  };
  static Spent SpentNow() {
    // One connection for the suite: a new one per reading costs more than the query.
    if (!ledger_) ledger_ = std::make_unique<pqxx::connection>(db_->url());
    pqxx::nontransaction txn(*ledger_);
    const pqxx::row row =
        txn.exec1("SELECT coalesce(sum(epsilon_spent), 0), coalesce(sum(delta_spent), 0) FROM dpql.budgets");
    return {row[0].as<long long>(), row[1].as<long long>()};
  }

  // "200", or "500 database_error": what the analyst sees apart from noise.
  static std::string Outcome(const Reply& reply) {
    std::string out = std::to_string(reply.status);
    if (reply.doc.is_object() && reply.doc.contains("error") && reply.doc["error"].is_object()) {
      out += " " + reply.doc["error"].value("code", std::string("?"));
    }
    return out;
  }

  static std::string Message(const Reply& reply) {
    if (!reply.doc.is_object() || !reply.doc.contains("error")) return "";
    return reply.doc["error"].value("message", std::string());
  }

  // Sends every case for both patients of `pair`, prints one table line per
  // case and expects the two answers indistinguishable. Returns the number
  // of cases whose answers differ.
  int CheckAll(const std::vector<Case>& cases, const Pair& pair) {
    int differ = 0;
    std::cout << "[ oracle ] " << pair.present << " vs " << pair.absent
              << ": family, status and code for each, charge (micro-ε, pico-δ), query\n";
    for (const Case& c : cases) {
      const std::string present_query = Substitute(c.query, pair.present);
      const std::string absent_query = Substitute(c.query, pair.absent);
      // What each answer charged is visible too (SHOW BUDGET).
      const Spent before = SpentNow();
      const Reply present = PostQuery(server_->port(), token_, present_query);
      const Spent between = SpentNow();
      const Reply absent = PostQuery(server_->port(), token_, absent_query);
      const Spent after = SpentNow();
      const Spent present_charge{between.epsilon - before.epsilon, between.delta - before.delta};
      const Spent absent_charge{after.epsilon - between.epsilon, after.delta - between.delta};
      // A message may quote the query; the patient's id is then the only difference allowed.
      const std::string present_message = Unsubstitute(Message(present), pair.present);
      const std::string absent_message = Unsubstitute(Message(absent), pair.absent);
      const bool same = present.status == absent.status && present_charge == absent_charge &&
                        (present.status == 200 ||
                         (Outcome(present) == Outcome(absent) && present_message == absent_message));
      if (!same) ++differ;
      std::ostringstream line;
      line << "[ oracle ] " << (same ? "  same " : "DIFFER ") << std::left << std::setw(14) << c.family
           << std::setw(38) << Outcome(present) + " / " + Outcome(absent) + " " << std::setw(18)
           << (present_charge == absent_charge ? present_charge.Text()
                                               : present_charge.Text() + "|" + absent_charge.Text())
           << " " << ShortQuery(c.query);
      std::cout << line.str() << "\n";
      EXPECT_EQ(present.status, absent.status)
          << "the status tells whether " << pair.present << " has a matching row\n  " << present_query
          << "\n  " << pair.present << ": " << present.body << "\n  " << pair.absent << ": " << absent.body;
      EXPECT_EQ(present_charge.Text(), absent_charge.Text())
          << "the charge tells whether " << pair.present << " has a matching row\n  " << present_query;
      if (present.status != 200 && present.status == absent.status) {
        EXPECT_EQ(Outcome(present), Outcome(absent)) << present_query;
        EXPECT_EQ(present_message, absent_message) << present_query;
      }
      for (const Reply* reply : {&present, &absent}) {
        // Two budget refusals would be alike for the wrong reason.
        EXPECT_EQ(Outcome(*reply).find("budget"), std::string::npos)
            << "the analyst's or the dataset's budget ran out; raise it in the fixture: " << reply->body;
        // A refusal never carries PostgreSQL's text, which can quote values.
        for (const char* marker : kDatabaseText) {
          EXPECT_EQ(reply->body.find(marker), std::string::npos)
              << present_query << " leaks database text: " << reply->body;
        }
      }
    }
    return differ;
  }

  // The query without its fixed frame, for the table.
  static std::string ShortQuery(const std::string& query) {
    std::string out = query;
    for (const std::string& frame :
         {std::string("SELECT COUNT(*) FROM admissions WHERE patient_id = '{X}' AND "),
          std::string(" WITH PRIVACY (epsilon = 0.01)")}) {
      const size_t at = out.find(frame);
      if (at != std::string::npos) out.erase(at, frame.size());
    }
    return out.size() > 110 ? out.substr(0, 107) + "..." : out;
  }

  static inline std::filesystem::path dir_;
  static inline TestDatabase* db_ = nullptr;
  static inline DpqldProcess* server_ = nullptr;
  static inline std::string token_;
  static inline std::unique_ptr<pqxx::connection> ledger_;
};

TEST_F(ErrorOracleTest, AdversarialRowsAnswerLikeNoRows) {
  ASSERT_NE(server_, nullptr);
  ASSERT_TRUE(server_->started());
  const std::vector<Case> cases = Cases();
  ASSERT_GE(cases.size(), 30u);
  const int differ = CheckAll(cases, kEdge);
  std::cout << "[ oracle ] " << kEdge.present << ": " << differ << " of " << cases.size()
            << " cases answer differently from " << kEdge.absent << "\n";
  EXPECT_TRUE(server_->Alive()) << server_->log();
}

TEST_F(ErrorOracleTest, OrdinaryPatientAnswersLikeNobody) {
  ASSERT_NE(server_, nullptr);
  ASSERT_TRUE(server_->started());
  const std::vector<Case> cases = Cases();
  const int differ = CheckAll(cases, kOrdinary);
  std::cout << "[ oracle ] " << kOrdinary.present << ": " << differ << " of " << cases.size()
            << " cases answer differently from " << kOrdinary.absent << "\n";
  EXPECT_TRUE(server_->Alive()) << server_->log();
}

// The negative space: totality must not be bought by refusing the language.
// Each operator and key function the hostile cases use still answers an
// ordinary question (docs/LANGUAGE.md), for a patient with rows and without.
TEST_F(ErrorOracleTest, OrdinaryUsesOfEachOperatorStillAnswer) {
  ASSERT_NE(server_, nullptr);
  ASSERT_TRUE(server_->started());
  const std::vector<Case> ordinary = {
      Where("comparison", "age >= 65"),
      Where("sum", "age + 10 > 50"),
      Where("difference", "age - waiting_days > 0"),
      Where("product", "length_of_stay * 2 > 10"),
      Where("unary minus", "-age < -17"),
      Where("division", "length_of_stay / 7 > 1"),
      Where("literal", "admission_id > 99999999999999999999 OR age < 1e300"),
      Where("in/between", "age BETWEEN 18 AND 65 AND sex IN ('F', 'X')"),
      Where("like", "postcode_district LIKE 'LS%'"),
      Where("is null", "waiting_days IS NOT NULL"),
      Where("bucket", "BUCKET(age, 10) = 40"),
      Where("extract", "EXTRACT(YEAR FROM admitted_on) = 2025"),
      Where("extract", "EXTRACT(DOW FROM admitted_on) IN (0, 6)"),
      Where("date_trunc", "DATE_TRUNC('month', admitted_on) = DATE '2025-03-01'"),
      Where("date", "admitted_on BETWEEN DATE '2025-01-01' AND DATE '2025-12-31'"),
      GroupBy("BUCKET(age, 10)"),
      GroupBy("EXTRACT(YEAR FROM admitted_on)"),
      GroupBy("DATE_TRUNC('month', admitted_on)"),
      GroupBy("EXTRACT(MONTH FROM discharged_on)", "AVG(length_of_stay)"),
  };
  for (const Pair& pair : {kEdge, kOrdinary}) {
    for (const std::string& id : {pair.present, pair.absent}) {
      for (const Case& c : ordinary) {
        const std::string query = Substitute(c.query, id);
        const Reply reply = PostQuery(server_->port(), token_, query);
        std::cout << "[ oracle ] " << std::left << std::setw(10) << id << std::setw(20) << Outcome(reply)
                  << " " << ShortQuery(c.query) << "\n";
        EXPECT_EQ(reply.status, 200) << query << ": " << reply.body;
      }
    }
  }
}

}  // namespace
}  // namespace dpql
