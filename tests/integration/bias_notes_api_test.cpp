// Bias notes through a real dpqld and PostgreSQL with the hospital demo data
// (issue 21): a released answer, its cached repeat and EXPLAIN say what
// contribution bounding may have left out — "rows_capped" for COUNT(*) over
// admissions, "groups_dropped" only when a person's groups can exceed
// max_groups — and `dpqld compile` shows the same notes in its plan text.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/dpqld_process.h"
#include "tests/support/http_client.h"
#include "tests/support/pg.h"

namespace dpql {
namespace {

using nlohmann::json;

class BiasNotesApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("dpql_bias_notes_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    db_.LoadHospital(2000);
    int code = 0;
    std::string out = RunAdmin(db_.url(), "init", &code);
    ASSERT_EQ(code, 0) << out;
    token_ = AddAnalystToken(db_.url(), "alice --dataset hospital --epsilon 10 --delta 0.00001");
    const std::filesystem::path config = dir_ / "dpqld.yaml";
    std::ofstream(config) << DpqldConfigBase(db_.url(), Catalog());
    server_ = std::make_unique<DpqldProcess>(
        DpqldOptions{.config = config.string(), .log_path = (dir_ / "dpqld.log").string()});
    ASSERT_TRUE(server_->started()) << server_->log();
  }

  void TearDown() override {
    server_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  static std::string Catalog() { return SourceDir() + "/examples/hospital/catalog.yaml"; }

  json Ask(const std::string& query, const std::string& path = "/v1/query") {
    Reply reply = PostQuery(server_->port(), token_, query, path);
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_TRUE(reply.doc.is_object()) << reply.body;
    return reply.doc;
  }

  TestDatabase db_;
  std::filesystem::path dir_;
  std::string token_;
  std::unique_ptr<DpqldProcess> server_;
};

// The note with `code` in an answer's "bias", or null.
json FindNote(const json& answer, const std::string& code) {
  EXPECT_TRUE(answer.contains("bias") && answer["bias"].is_array()) << answer.dump();
  for (const json& note : answer.value("bias", json::array())) {
    if (note.value("code", "") == code) return note;
  }
  return nullptr;
}

TEST_F(BiasNotesApiTest, CountStarOverAdmissionsSaysRowsAreCapped) {
  const std::string query = "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.5)";
  json answer = Ask(query);
  EXPECT_EQ(answer["cached"], false);
  json capped = FindNote(answer, "rows_capped");
  ASSERT_TRUE(capped.is_object()) << answer.dump();
  const std::string message = capped["message"].get<std::string>();
  EXPECT_NE(message.find("per patient per group"), std::string::npos) << message;
  EXPECT_NE(message.find("COUNT(*) counts"), std::string::npos) << message;
  EXPECT_NE(message.find("raise max_rows"), std::string::npos) << message;
  EXPECT_EQ(capped["outputs"], json::array({"count"}));
  EXPECT_TRUE(FindNote(answer, "groups_dropped").is_null()) << answer.dump();  // no keys: one group
  EXPECT_TRUE(FindNote(answer, "values_clamped").is_null()) << answer.dump();

  // The repeat is served from the answer cache, free, with the same notes.
  json again = Ask(query);
  EXPECT_EQ(again["cached"], true);
  EXPECT_EQ(again["bias"], answer["bias"]);

  // EXPLAIN says so before anything is spent, in its JSON and its plan text.
  json explained = Ask(query, "/v1/explain");
  EXPECT_EQ(explained["bias"], answer["bias"]);
  EXPECT_NE(explained["explain"].get<std::string>().find("bias (rows_capped): " + message), std::string::npos)
      << explained["explain"];
  json via_query = Ask("EXPLAIN " + query);
  EXPECT_EQ(via_query["bias"], answer["bias"]);
}

TEST_F(BiasNotesApiTest, GroupsDroppedOnlyWhenKeysCanExceedMaxGroups) {
  // sex has 3 declared values: with max_groups 3 nobody's groups are dropped,
  // and COUNT(DISTINCT patient_id) is never capped by max_rows.
  json fits =
      Ask("SELECT sex, COUNT(DISTINCT patient_id) AS people FROM admissions GROUP BY sex "
          "WITH PRIVACY (epsilon = 0.5, max_groups = 3)");
  EXPECT_TRUE(FindNote(fits, "groups_dropped").is_null()) << fits.dump();
  EXPECT_TRUE(FindNote(fits, "rows_capped").is_null()) << fits.dump();

  // With max_groups 2 a patient's third sex would be dropped: the note says so.
  json dropped =
      Ask("SELECT sex, COUNT(DISTINCT patient_id) AS people FROM admissions GROUP BY sex "
          "WITH PRIVACY (epsilon = 0.5, max_groups = 2)");
  json note = FindNote(dropped, "groups_dropped");
  ASSERT_TRUE(note.is_object()) << dropped.dump();
  EXPECT_NE(
      note["message"].get<std::string>().find("each patient counts in at most 2 groups (max_groups = 2)"),
      std::string::npos)
      << note;
  EXPECT_EQ(note["outputs"], json::array({"people"}));

  // Values clamped to the declared bounds are named with their bounds.
  json mean = Ask("SELECT AVG(length_of_stay) AS stay FROM admissions WITH PRIVACY (epsilon = 0.5)");
  json clamped = FindNote(mean, "values_clamped");
  ASSERT_TRUE(clamped.is_object()) << mean.dump();
  EXPECT_NE(clamped["message"].get<std::string>().find("values of length_of_stay outside ["),
            std::string::npos)
      << clamped;
  EXPECT_EQ(clamped["outputs"], json::array({"stay"}));
}

TEST_F(BiasNotesApiTest, CompileShowsTheNotesInThePlan) {
  int code = -1;
  const std::string out =
      RunCommand(ShellQuote(BinDir() + "/dpqld") + " compile --catalog " + ShellQuote(Catalog()) + " -e " +
                     ShellQuote("SELECT COUNT(*) FROM admissions;"),
                 &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("  bias (rows_capped): "), std::string::npos) << out;
  // The month of days, COUNT(DISTINCT) by ward and day: planned, with its
  // notes (whichever the declarations leave), never a crash.
  const std::string series = RunCommand(
      ShellQuote(BinDir() + "/dpqld") + " compile --catalog " + ShellQuote(Catalog()) + " -e " +
          ShellQuote("SELECT ward_code, day, COUNT(DISTINCT patient_id) FROM bed_days WHERE day BETWEEN "
                     "DATE '2026-11-01' AND DATE '2026-11-30' GROUP BY ward_code, day;"),
      &code);
  ASSERT_EQ(code, 0) << series;
  EXPECT_NE(series.find("contribution bounds: "), std::string::npos) << series;
  EXPECT_EQ(series.find("bias (rows_capped)"), std::string::npos)
      << series;  // COUNT(DISTINCT) is never capped
}

}  // namespace
}  // namespace dpql
