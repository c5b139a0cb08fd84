// `dpqld admin ...`: the real binary against a fresh PostgreSQL database.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/ledger/ledger.h"
#include "tests/support/pg.h"
#include "tests/support/scram_client.h"

namespace dpql {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

class AdminCliTest : public ::testing::Test {
 protected:
  // Runs `dpqld admin --database <url> <args>`.
  CommandResult Admin(const std::string& args) {
    return Run(ShellQuote(BinDir() + "/dpqld") + " admin --database " + ShellQuote(db_.url()) + " " + args);
  }

  CommandResult Run(const std::string& cmdline) {
    CommandResult result;
    result.output = RunCommand(cmdline, &result.exit_code);
    return result;
  }

  // The cells of the `list` row for (analyst, dataset), trimmed; empty if absent.
  std::vector<std::string> ListRow(const std::string& analyst, const std::string& dataset) {
    CommandResult list = Admin("list");
    EXPECT_EQ(list.exit_code, 0) << list.output;
    std::istringstream lines(list.output);
    std::string line;
    while (std::getline(lines, line)) {
      std::vector<std::string> cells;
      std::istringstream parts(line);
      std::string cell;
      while (std::getline(parts, cell, '|')) {
        size_t begin = cell.find_first_not_of(' ');
        size_t end = cell.find_last_not_of(' ');
        cells.push_back(begin == std::string::npos ? "" : cell.substr(begin, end - begin + 1));
      }
      if (cells.size() == 13 && cells[0] == analyst && cells[3] == dataset) return cells;
    }
    return {};
  }

  static std::string TokenIn(const std::string& output) {
    std::smatch match;
    static const std::regex kToken("dpql_[A-Za-z0-9_-]{43}");
    return std::regex_search(output, match, kToken) ? match.str() : "";
  }

  static size_t Occurrences(const std::string& haystack, const std::string& needle) {
    size_t count = 0;
    for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1))
      ++count;
    return count;
  }

  TestDatabase db_;
};

TEST_F(AdminCliTest, InitAddListGrantRevoke) {
  CommandResult init = Admin("init");
  ASSERT_EQ(init.exit_code, 0) << init.output;
  CommandResult again = Admin("init");
  ASSERT_EQ(again.exit_code, 0) << again.output;

  CommandResult add = Admin("add-analyst alice --dataset hospital --epsilon 1.5 --delta 1e-6");
  ASSERT_EQ(add.exit_code, 0) << add.output;
  std::string token = TokenIn(add.output);
  ASSERT_FALSE(token.empty()) << add.output;
  EXPECT_EQ(Occurrences(add.output, token), 1u) << add.output;
  EXPECT_NE(add.output.find("will not be shown again"), std::string::npos) << add.output;

  // The token works, and only its hash is in the database.
  Ledger ledger(db_.url());
  auto alice = ledger.Authenticate(token);
  ASSERT_TRUE(alice.has_value());
  EXPECT_FALSE(alice->is_admin);
  EXPECT_EQ(db_.QueryValue("SELECT encode(token_hash, 'hex') FROM dpql.analysts WHERE name = 'alice'"),
            Sha256Hex(token));

  std::vector<std::string> row = ListRow("alice", "hospital");
  ASSERT_EQ(row.size(), 13u);
  EXPECT_EQ(row[1], "analyst");
  EXPECT_EQ(row[2], "active");
  EXPECT_EQ(row[4], "1.5");  // epsilon total as a decimal, not micro-units
  EXPECT_EQ(row[5], "0");
  EXPECT_EQ(row[6], "1.5");
  EXPECT_EQ(row[7], "0.000001");

  CommandResult grant = Admin("grant alice --dataset hospital --epsilon 0.5");
  ASSERT_EQ(grant.exit_code, 0) << grant.output;
  row = ListRow("alice", "hospital");
  ASSERT_EQ(row.size(), 13u);
  EXPECT_EQ(row[4], "2");
  EXPECT_EQ(row[7], "0.000001");

  // The token is never shown again: not by list, not by audit.
  EXPECT_EQ(Admin("list").output.find(token), std::string::npos);
  CommandResult audit = Admin("audit --analyst alice");
  ASSERT_EQ(audit.exit_code, 0) << audit.output;
  EXPECT_EQ(audit.output.find(token), std::string::npos);
  EXPECT_NE(audit.output.find("grant"), std::string::npos) << audit.output;
  EXPECT_NE(audit.output.find("add-analyst"), std::string::npos) << audit.output;

  CommandResult revoke = Admin("revoke alice");
  ASSERT_EQ(revoke.exit_code, 0) << revoke.output;
  EXPECT_FALSE(ledger.Authenticate(token).has_value());
  row = ListRow("alice", "hospital");
  ASSERT_EQ(row.size(), 13u);
  EXPECT_EQ(row[2], "revoked");
  EXPECT_EQ(row[4], "2");  // the budget stays
}

// `new-token NAME`: a new token, printed once; the old one stops working, the
// new one authenticates as a bearer token and through SCRAM; audited.
TEST_F(AdminCliTest, NewTokenReplacesTheToken) {
  ASSERT_EQ(Admin("init").exit_code, 0);
  CommandResult add = Admin("add-analyst alice --dataset hospital --epsilon 1");
  ASSERT_EQ(add.exit_code, 0) << add.output;
  const std::string old_token = TokenIn(add.output);
  ASSERT_FALSE(old_token.empty()) << add.output;

  CommandResult replaced = Admin("new-token alice");
  ASSERT_EQ(replaced.exit_code, 0) << replaced.output;
  const std::string token = TokenIn(replaced.output);
  ASSERT_FALSE(token.empty()) << replaced.output;
  EXPECT_NE(token, old_token);
  EXPECT_EQ(Occurrences(replaced.output, token), 1u) << replaced.output;
  EXPECT_EQ(replaced.output.find(old_token), std::string::npos) << replaced.output;
  EXPECT_NE(replaced.output.find("will not be shown again"), std::string::npos) << replaced.output;
  EXPECT_NE(replaced.output.find("old token no longer works"), std::string::npos) << replaced.output;

  Ledger ledger(db_.url());
  EXPECT_FALSE(ledger.Authenticate(old_token).has_value());
  ASSERT_TRUE(ledger.Authenticate(token).has_value());
  std::optional<Login> login = ledger.FindLogin("alice");
  ASSERT_TRUE(login.has_value() && login->verifier.has_value());
  EXPECT_TRUE(ScramAuthenticates(*login->verifier, token));
  EXPECT_FALSE(ScramAuthenticates(*login->verifier, old_token));

  CommandResult audit = Admin("audit --analyst alice");
  ASSERT_EQ(audit.exit_code, 0) << audit.output;
  EXPECT_NE(audit.output.find("new-token"), std::string::npos) << audit.output;
  EXPECT_EQ(audit.output.find(token), std::string::npos) << audit.output;
  std::vector<std::string> row = ListRow("alice", "hospital");
  ASSERT_EQ(row.size(), 13u);
  EXPECT_EQ(row[2], "active");
  EXPECT_EQ(row[4], "1");  // the budget stays

  CommandResult unknown = Admin("new-token bob");
  EXPECT_EQ(unknown.exit_code, kExitFailed) << unknown.output;
  EXPECT_NE(unknown.output.find("unknown analyst 'bob'"), std::string::npos) << unknown.output;
  ASSERT_EQ(Admin("revoke alice").exit_code, 0);
  CommandResult revoked = Admin("new-token alice");
  EXPECT_EQ(revoked.exit_code, kExitFailed) << revoked.output;
  EXPECT_NE(revoked.output.find("has been revoked"), std::string::npos) << revoked.output;
  EXPECT_TRUE(TokenIn(revoked.output).empty()) << revoked.output;
  EXPECT_FALSE(ledger.Authenticate(token).has_value());
  CommandResult missing = Admin("new-token");
  EXPECT_EQ(missing.exit_code, kExitUsage) << missing.output;
  EXPECT_NE(Admin("--help").output.find("new-token NAME"), std::string::npos);
}

// zCDP budgets: --rho grants rho exactly; with a catalog, --epsilon/--delta
// on a zCDP dataset grants the largest rho implying them, and flags that do
// not fit the dataset's accounting are usage errors.
TEST_F(AdminCliTest, RhoGrantsAndZcdpConversion) {
  ASSERT_EQ(Admin("init").exit_code, 0);
  CommandResult add = Admin("add-analyst rhoda --dataset research --rho 0.25");
  ASSERT_EQ(add.exit_code, 0) << add.output;
  std::vector<std::string> row = ListRow("rhoda", "research");
  ASSERT_EQ(row.size(), 13u);
  EXPECT_EQ(row[10], "0.25");  // rho total
  EXPECT_EQ(row[11], "0");
  EXPECT_EQ(row[12], "0.25");
  EXPECT_EQ(Admin("grant rhoda --dataset research --rho 1e-13").exit_code, 2);  // finer than 1e-12

  const std::string catalog =
      (std::filesystem::temp_directory_path() / ("dpql_admin_zcdp_" + std::to_string(getpid()) + ".yaml"))
          .string();
  {
    std::ofstream out(catalog);
    out << "datasets:\n"
           "  research:\n"
           "    privacy_unit: patient_id\n"
           "    accounting: zcdp\n"
           "    defaults: { delta: 1.0e-6 }\n"
           "    tables: { t: { columns: { patient_id: { type: text } } } }\n"
           "  basic:\n"
           "    privacy_unit: patient_id\n"
           "    tables: { t: { columns: { patient_id: { type: text } } } }\n";
  }
  const std::string flag = " --catalog " + ShellQuote(catalog);
  CommandResult grant = Admin("grant rhoda --dataset research --epsilon 1 --delta 1e-6" + flag);
  ASSERT_EQ(grant.exit_code, 0) << grant.output;
  row = ListRow("rhoda", "research");
  ASSERT_EQ(row.size(), 13u);
  EXPECT_EQ(row[4], "0");  // no epsilon: the grant became rho
  const double rho = std::stod(row[10]) - 0.25;
  EXPECT_GT(rho, 0.02);  // the rho implying (1, 1e-6)-DP, ~0.0244
  EXPECT_LT(rho, 0.03);

  CommandResult both = Admin("grant rhoda --dataset research --epsilon 1 --rho 1" + flag);
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.output.find("either --rho or --epsilon"), std::string::npos) << both.output;
  CommandResult basic = Admin("grant rhoda --dataset basic --rho 1" + flag);
  EXPECT_EQ(basic.exit_code, 2);
  EXPECT_NE(basic.output.find("uses basic accounting"), std::string::npos) << basic.output;
  CommandResult unknown = Admin("grant rhoda --dataset nowhere --epsilon 1" + flag);
  EXPECT_EQ(unknown.exit_code, 2);
  CommandResult none = Admin("grant rhoda --dataset research");
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.output.find("needs --epsilon or --rho"), std::string::npos) << none.output;
  std::filesystem::remove(catalog);
}

TEST_F(AdminCliTest, AdminFlagMakesAnAdmin) {
  ASSERT_EQ(Admin("init").exit_code, 0);
  CommandResult add = Admin("add-analyst guardian --dataset hospital --epsilon 0 --admin");
  ASSERT_EQ(add.exit_code, 0) << add.output;
  Ledger ledger(db_.url());
  auto guardian = ledger.Authenticate(TokenIn(add.output));
  ASSERT_TRUE(guardian.has_value());
  EXPECT_TRUE(guardian->is_admin);
  EXPECT_EQ(ListRow("guardian", "hospital").at(1), "admin");
}

TEST_F(AdminCliTest, DuplicateNameIsAnError) {
  ASSERT_EQ(Admin("init").exit_code, 0);
  ASSERT_EQ(Admin("add-analyst alice --dataset hospital --epsilon 1").exit_code, 0);
  CommandResult duplicate = Admin("add-analyst alice --dataset hospital --epsilon 1");
  EXPECT_EQ(duplicate.exit_code, kExitFailed) << duplicate.output;
  EXPECT_NE(duplicate.output.find("'alice' already exists"), std::string::npos) << duplicate.output;
  EXPECT_TRUE(TokenIn(duplicate.output).empty()) << duplicate.output;
}

TEST_F(AdminCliTest, BadNumbersSayWhatToWrite) {
  ASSERT_EQ(Admin("init").exit_code, 0);
  CommandResult too_fine = Admin("add-analyst alice --dataset hospital --epsilon 0.0000001");
  EXPECT_EQ(too_fine.exit_code, kExitUsage) << too_fine.output;
  EXPECT_NE(too_fine.output.find("epsilon must be a multiple of 0.000001"), std::string::npos)
      << too_fine.output;

  CommandResult not_a_number = Admin("add-analyst alice --dataset hospital --epsilon lots");
  EXPECT_EQ(not_a_number.exit_code, kExitUsage) << not_a_number.output;
  EXPECT_NE(not_a_number.output.find("--epsilon expects a decimal number"), std::string::npos)
      << not_a_number.output;

  CommandResult negative = Admin("grant alice --dataset hospital --epsilon 1 --delta -0.1");
  EXPECT_EQ(negative.exit_code, kExitUsage) << negative.output;
  EXPECT_NE(negative.output.find("delta must be >= 0"), std::string::npos) << negative.output;

  CommandResult bad_limit = Admin("audit --limit ten");
  EXPECT_EQ(bad_limit.exit_code, kExitUsage) << bad_limit.output;
  EXPECT_NE(bad_limit.output.find("--limit expects a whole number"), std::string::npos) << bad_limit.output;

  // Nothing was created by the refused commands.
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM dpql.analysts"), "0");
}

TEST_F(AdminCliTest, UsageErrors) {
  CommandResult unknown = Admin("frobnicate");
  EXPECT_EQ(unknown.exit_code, kExitUsage) << unknown.output;
  EXPECT_NE(unknown.output.find("unknown command 'frobnicate'"), std::string::npos) << unknown.output;
  EXPECT_NE(unknown.output.find("usage: dpqld admin"), std::string::npos) << unknown.output;

  CommandResult unknown_flag = Admin("list --verbose");
  EXPECT_EQ(unknown_flag.exit_code, kExitUsage) << unknown_flag.output;
  EXPECT_NE(unknown_flag.output.find("unknown option '--verbose'"), std::string::npos) << unknown_flag.output;

  CommandResult missing_value = Admin("add-analyst alice --dataset hospital --epsilon");
  EXPECT_EQ(missing_value.exit_code, kExitUsage) << missing_value.output;
  EXPECT_NE(missing_value.output.find("--epsilon needs a value"), std::string::npos) << missing_value.output;

  CommandResult missing_flag = Admin("add-analyst alice --epsilon 1");
  EXPECT_EQ(missing_flag.exit_code, kExitUsage) << missing_flag.output;
  EXPECT_NE(missing_flag.output.find("needs --dataset"), std::string::npos) << missing_flag.output;

  CommandResult missing_name = Admin("revoke");
  EXPECT_EQ(missing_name.exit_code, kExitUsage) << missing_name.output;
  EXPECT_NE(missing_name.output.find("needs an analyst NAME"), std::string::npos) << missing_name.output;

  CommandResult help = Admin("--help");
  EXPECT_EQ(help.exit_code, 0) << help.output;
  EXPECT_NE(help.output.find("add-analyst NAME"), std::string::npos) << help.output;
}

TEST_F(AdminCliTest, UnknownAnalystAndUninitialisedDatabase) {
  CommandResult before_init = Admin("list");
  EXPECT_EQ(before_init.exit_code, kExitFailed) << before_init.output;
  EXPECT_NE(before_init.output.find("dpqld admin init"), std::string::npos) << before_init.output;

  ASSERT_EQ(Admin("init").exit_code, 0);
  CommandResult grant = Admin("grant bob --dataset hospital --epsilon 1");
  EXPECT_EQ(grant.exit_code, kExitFailed) << grant.output;
  EXPECT_NE(grant.output.find("unknown analyst 'bob'"), std::string::npos) << grant.output;
  CommandResult revoke = Admin("revoke bob");
  EXPECT_EQ(revoke.exit_code, kExitFailed) << revoke.output;
  EXPECT_NE(revoke.output.find("unknown analyst 'bob'"), std::string::npos) << revoke.output;
}

TEST_F(AdminCliTest, UnreachableDatabaseFailsClearly) {
  CommandResult result =
      Run(ShellQuote(BinDir() + "/dpqld") +
          " admin --database 'host=127.0.0.1 port=1 dbname=nowhere connect_timeout=3' list");
  EXPECT_EQ(result.exit_code, kExitFailed) << result.output;
  EXPECT_NE(result.output.find("cannot reach the budget database"), std::string::npos) << result.output;
}

TEST_F(AdminCliTest, DatabaseFromConfigAndEnvironment) {
  std::string config = ::testing::TempDir() + "dpqld_admin_" + std::to_string(getpid()) + ".yaml";
  {
    std::ofstream file(config);
    // Single-quoted YAML scalar: the connection string holds quotes of its own.
    std::string url = db_.url();
    std::string escaped;
    for (char c : url) escaped += c == '\'' ? std::string("''") : std::string(1, c);
    file << "listen: 127.0.0.1:0\ndatabase: '" << escaped << "'\n";
  }
  std::string dpqld = ShellQuote(BinDir() + "/dpqld");
  CommandResult init = Run(dpqld + " admin --config " + ShellQuote(config) + " init");
  ASSERT_EQ(init.exit_code, 0) << init.output;
  CommandResult add = Run("DPQL_DATABASE=" + ShellQuote(db_.url()) + " " + dpqld +
                          " admin add-analyst carol --dataset hospital --epsilon 2");
  ASSERT_EQ(add.exit_code, 0) << add.output;
  EXPECT_EQ(ListRow("carol", "hospital").at(4), "2");

  CommandResult no_key = Run(dpqld + " admin --config /dev/null list");
  EXPECT_EQ(no_key.exit_code, kExitFailed) << no_key.output;
  EXPECT_NE(no_key.output.find("no `database` key"), std::string::npos) << no_key.output;
  std::remove(config.c_str());
}

}  // namespace
}  // namespace dpql
