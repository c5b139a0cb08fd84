// dpql driven as a user drives it, against a real dpqld and PostgreSQL:
// batch mode (-c in each format, -f with several statements, errors) and an
// interactive session through a pseudo-terminal (multi-line statement, \d,
// \budget, an error with its caret, tab completion, \q, history).

#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/dpqld_process.h"
#include "tests/support/pg.h"

namespace dpql {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kHospitalRows = 3000;
constexpr const char* kAnalystEpsilon = "50";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::vector<std::string> SplitCsvSimple(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, ',')) fields.push_back(field);
  if (!line.empty() && line.back() == ',') fields.push_back("");
  return fields;
}

struct Outcome {
  int exit_code = -1;
  std::string out;  // stdout only
  std::string err;  // stderr only
};

// One PostgreSQL database with the hospital data, one analyst and one dpqld
// for the whole suite: starting them is the slow part.
class ReplTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("dpql_repl_test_" + std::to_string(getpid())));
    fs::create_directories(*dir_);
    db_ = new TestDatabase();
    db_->LoadHospital(kHospitalRows);

    std::string dpqld = ShellQuote(BinDir() + "/dpqld");
    int code = -1;
    std::string init = RunCommand(dpqld + " admin --database " + ShellQuote(db_->url()) + " init", &code);
    ASSERT_EQ(code, 0) << init;
    std::string add = RunCommand(dpqld + " admin --database " + ShellQuote(db_->url()) +
                                     " add-analyst repl_user --dataset hospital --epsilon " +
                                     kAnalystEpsilon + " --delta 1e-4",
                                 &code);
    ASSERT_EQ(code, 0) << add;
    std::smatch match;
    static const std::regex kToken("dpql_[A-Za-z0-9_-]{43}");
    ASSERT_TRUE(std::regex_search(add, match, kToken)) << "no token in: " << add;
    token_ = new std::string(match.str());

    fs::path config = *dir_ / "dpqld.yaml";
    WriteFile(config, "listen: 127.0.0.1:0\n" +
                          DpqldConfigBase(db_->url(), SourceDir() + "/examples/hospital/catalog.yaml") +
                          "threads: 2\n"
                          "db_pool: 2\n");
    StartServer(config);
  }

  static void TearDownTestSuite() {
    if (server_ != nullptr) {
      server_->Stop(std::chrono::seconds(10));  // then SIGKILL, if still running
      delete server_;
      server_ = nullptr;
    }
    delete db_;
    db_ = nullptr;
    if (dir_) {
      std::error_code ignored;
      fs::remove_all(*dir_, ignored);
    }
    delete dir_;
    dir_ = nullptr;
    delete token_;
    token_ = nullptr;
    delete url_;
    url_ = nullptr;
  }

  // Runs `dpqld serve --config F --listen 127.0.0.1:0` with its stderr in a
  // log file, and waits for "dpqld listening on http://127.0.0.1:PORT".
  static void StartServer(const fs::path& config) {
    server_ =
        new DpqldProcess(DpqldOptions{.config = config.string(), .log_path = (*dir_ / "dpqld.log").string()});
    ASSERT_TRUE(server_->started()) << "dpqld serve did not print its URL:\n" << server_->log();
    url_ = new std::string(server_->url());
  }

  void SetUp() override { ASSERT_NE(url_, nullptr) << "dpqld is not running (see the suite set-up failure)"; }

  // Runs dpql with `args` (already shell-quoted), stdout and stderr apart.
  Outcome Dpql(const std::string& args, const std::string& token = "") {
    fs::path out = *dir_ / "out.txt";
    fs::path err = *dir_ / "err.txt";
    std::string cmdline = "DPQL_TOKEN=" + ShellQuote(token.empty() ? *token_ : token) + " " +
                          ShellQuote(BinDir() + "/dpql") + " --url " + ShellQuote(*url_) + " " + args + " >" +
                          ShellQuote(out.string()) + " 2>" + ShellQuote(err.string()) + " </dev/null";
    Outcome outcome;
    std::string shell_output = RunCommand(cmdline, &outcome.exit_code);
    outcome.out = ReadFile(out);
    outcome.err = ReadFile(err) + shell_output;
    return outcome;
  }

  static inline fs::path* dir_ = nullptr;
  static inline TestDatabase* db_ = nullptr;
  static inline std::string* token_ = nullptr;
  static inline std::string* url_ = nullptr;
  static inline DpqldProcess* server_ = nullptr;
};

constexpr const char* kBySex = "SELECT sex, COUNT(*) AS n FROM admissions GROUP BY sex";

TEST_F(ReplTest, BatchCsvIsCleanWithHeaderAndIntervals) {
  Outcome run = Dpql("--format csv -c " + ShellQuote(kBySex));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::vector<std::string> lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 4u) << "header + one row per sex in the public domain [F, M, X], nothing else:\n"
                              << run.out;
  EXPECT_EQ(lines[0], "sex,n,n_ci_lower,n_ci_upper");
  std::set<std::string> sexes;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> fields = SplitCsvSimple(lines[i]);
    ASSERT_EQ(fields.size(), 4u) << lines[i];
    sexes.insert(fields[0]);
    long n = std::stol(fields[1]);
    double lower = std::stod(fields[2]), upper = std::stod(fields[3]);
    EXPECT_GE(n, 0) << "counts are post-processed to be non-negative: " << lines[i];
    EXPECT_LE(lower, static_cast<double>(n)) << lines[i];
    EXPECT_GE(upper, static_cast<double>(n)) << lines[i];
    EXPECT_LT(lower, upper) << "a noisy count has a non-trivial interval: " << lines[i];
  }
  EXPECT_EQ(sexes, (std::set<std::string>{"F", "M", "X"}));
  EXPECT_EQ(run.out.find("rows)"), std::string::npos) << "no footer in CSV output";
}

TEST_F(ReplTest, BatchJsonParses) {
  Outcome run = Dpql("--format json -c " + ShellQuote(std::string(kBySex) + ";"));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  json answer = json::parse(run.out);  // throws (test error) if not clean JSON
  EXPECT_EQ(answer["columns"], json::parse(R"(["sex", "n"])"));
  EXPECT_EQ(answer["rows"].size(), 3u);
  ASSERT_TRUE(answer["accuracy"].is_array());
  EXPECT_FALSE(answer["accuracy"].empty());
  EXPECT_TRUE(answer["budget"].contains("epsilon_remaining"));
}

TEST_F(ReplTest, BatchTableHasPlusMinusAndFooter) {
  // Not asked by another test, so this ask is charged (a repeat would be free).
  const std::string query = "SELECT sex, COUNT(*) AS n FROM admissions WHERE age >= 0 GROUP BY sex";
  Outcome run = Dpql("-c " + ShellQuote(query));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::vector<std::string> lines = Lines(run.out);
  ASSERT_GE(lines.size(), 6u) << run.out;
  EXPECT_NE(lines[0].find("sex"), std::string::npos) << run.out;
  EXPECT_EQ(lines[1].find_first_not_of("-+"), std::string::npos) << "separator line: " << lines[1];
  for (size_t i = 2; i < 5; ++i) {
    EXPECT_NE(lines[i].find(" \xC2\xB1 "), std::string::npos)
        << "noisy count shown as value \xC2\xB1 half-width: " << lines[i];
    EXPECT_EQ(lines[i].find('|'), lines[0].find('|')) << "columns are aligned:\n" << run.out;
  }
  EXPECT_NE(run.out.find("(3 rows)  cost: \xCE\xB5 1"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("budget left: \xCE\xB5 "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("95% intervals"), std::string::npos) << run.out;
  // Asked again: the same table, served from the answer cache at no cost.
  Outcome again = Dpql("-c " + ShellQuote(query));
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("(3 rows)  cached answer: no cost"), std::string::npos) << again.out;
  EXPECT_EQ(Lines(again.out).at(2), lines[2]) << again.out;
}

// What contribution bounding may have left out is said under the table, in
// the released answer and in its cached repeat alike (issue 21).
TEST_F(ReplTest, BatchTableShowsTheBiasNote) {
  const std::string query = "SELECT COUNT(*) AS admissions FROM admissions WITH PRIVACY (epsilon = 0.3)";
  Outcome run = Dpql("-c " + ShellQuote(query));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const size_t bias = run.out.find("\nbias: at most ");
  ASSERT_NE(bias, std::string::npos) << run.out;
  EXPECT_NE(run.out.find("COUNT(*) (admissions) counts ", bias), std::string::npos) << run.out;
  EXPECT_LT(run.out.find("budget left: "), bias) << "the note follows the footer:\n" << run.out;
  Outcome again = Dpql("-c " + ShellQuote(query));
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("cached answer: no cost"), std::string::npos) << again.out;
  EXPECT_EQ(again.out.substr(again.out.find("\nbias: ")), run.out.substr(bias)) << again.out;
}

TEST_F(ReplTest, FileWithThreeStatements) {
  fs::path script = *dir_ / "three.dpql";
  WriteFile(script,
            "-- three statements; the second has a ';' inside a string literal\n"
            "SELECT COUNT(*) AS total FROM admissions;\n"
            "SELECT sex, COUNT(*) AS n FROM admissions\n"
            "  WHERE admission_method <> 'x;y'\n"
            "  GROUP BY sex;\n"
            "SELECT AVG(age) AS mean_age FROM admissions WITH PRIVACY (epsilon = 0.5);\n");
  Outcome run = Dpql("--format csv -f " + ShellQuote(script.string()));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::vector<std::string> lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 2u + 4u + 2u) << run.out;
  EXPECT_EQ(lines[0], "total,total_ci_lower,total_ci_upper");
  EXPECT_EQ(lines[2], "sex,n,n_ci_lower,n_ci_upper");
  EXPECT_EQ(lines[6], "mean_age,mean_age_ci_lower,mean_age_ci_upper");
  double mean_age = std::stod(SplitCsvSimple(lines[7])[0]);
  EXPECT_GE(mean_age, 0.0);
  EXPECT_LE(mean_age, 110.0) << "a mean of values clamped to [0, 110]";
}

TEST_F(ReplTest, ErrorExitsNonZeroWithMessageAndCaret) {
  Outcome run = Dpql("-c " + ShellQuote("SELECT agee FROM admissions"));
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_EQ(run.out, "") << "errors go to stderr";
  // The server's stable code in brackets, as `dpqld compile` prints it.
  EXPECT_NE(run.err.find("ERROR [unknown_column]: unknown column \"agee\""), std::string::npos) << run.err;
  // psql-style context: the line, then a caret under column 8 ("agee").
  EXPECT_NE(run.err.find("LINE 1: SELECT agee FROM admissions\n" + std::string(8 + 7, ' ') + "^\n"),
            std::string::npos)
      << run.err;
}

TEST_F(ReplTest, FileErrorNamesTheFileLineAndKeepsGoing) {
  fs::path script = *dir_ / "bad.dpql";
  WriteFile(script, "SELECT COUNT(*) AS total FROM admissions;\n\nSELECT COUNT(*)\nFROM admisions;\n");
  Outcome run = Dpql("--format csv -f " + ShellQuote(script.string()));
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_EQ(Lines(run.out).size(), 2u) << "the good statement still ran:\n" << run.out;
  EXPECT_NE(run.err.find(script.string() + ":4: ERROR [unknown_table]: "), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("LINE 2: FROM admisions"), std::string::npos) << run.err;
}

TEST_F(ReplTest, BadTokenIsRefused) {
  Outcome run = Dpql("-c " + ShellQuote("SELECT COUNT(*) FROM admissions"), "dpql_not_a_real_token");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("ERROR [unauthorized]: "), std::string::npos) << run.err;
  EXPECT_EQ(run.out, "");
}

TEST_F(ReplTest, MetaCommandInBatchMode) {
  Outcome run = Dpql("--format json -c " + ShellQuote("\\budget"));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  json answer = json::parse(run.out);
  ASSERT_TRUE(answer["budgets"].is_array());
  ASSERT_EQ(answer["budgets"].size(), 1u);
  EXPECT_EQ(answer["budgets"][0]["dataset"], "hospital");
}

// ---- interactive, through a pseudo-terminal -------------------------------

class Terminal {
 public:
  Terminal(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
    struct winsize size = {};
    size.ws_row = 50;
    size.ws_col = 220;
    pid_ = forkpty(&master_, nullptr, nullptr, &size);
    if (pid_ == 0) {
      for (const std::string& entry : env) putenv(const_cast<char*>(entry.c_str()));
      std::vector<char*> args;
      for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }

  ~Terminal() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (master_ >= 0) close(master_);
  }

  bool started() const { return pid_ > 0 && master_ >= 0; }

  void Type(const std::string& keys) {
    size_t done = 0;
    while (done < keys.size()) {
      ssize_t n = write(master_, keys.data() + done, keys.size() - done);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

  // Reads until `needle` appears in the output after the mark; true if it did
  // within the timeout. Moves the mark past the match.
  bool Expect(const std::string& needle, int timeout_ms = 30000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      size_t found = transcript_.find(needle, mark_);
      if (found != std::string::npos) {
        mark_ = found + needle.size();
        return true;
      }
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      if (!ReadSome(static_cast<int>(left.count()))) return false;
    }
  }

  // Everything after the mark (for failure messages and focused checks).
  std::string Recent() const { return transcript_.substr(std::min(mark_, transcript_.size())); }
  const std::string& transcript() const { return transcript_; }
  void SetMark() { mark_ = transcript_.size(); }

  // Waits for the process to exit; its exit status, or -1 on timeout.
  int Wait(int timeout_ms = 10000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      ReadSome(50);  // drain, so the child never blocks on a full pty
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
    }
    return -1;
  }

 private:
  bool ReadSome(int timeout_ms) {
    struct pollfd poll_fd = {master_, POLLIN, 0};
    int ready = poll(&poll_fd, 1, timeout_ms);
    if (ready <= 0) return ready == 0;
    char buffer[4096];
    ssize_t n = read(master_, buffer, sizeof buffer);
    if (n <= 0) return false;  // EIO: the child closed the terminal
    transcript_.append(buffer, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int master_ = -1;
  bool exited_ = false;
  std::string transcript_;
  size_t mark_ = 0;
};

TEST_F(ReplTest, InteractiveSessionThroughATerminal) {
  fs::path home = *dir_ / "home";
  fs::create_directories(home);
  Terminal terminal({BinDir() + "/dpql", "--url", *url_},
                    {"HOME=" + home.string(), "DPQL_TOKEN=" + *token_, "TERM=xterm", "LANG=C.UTF-8"});
  ASSERT_TRUE(terminal.started());

  // The banner, and the remaining budget in the prompt.
  ASSERT_TRUE(terminal.Expect("Type \\help for help")) << terminal.transcript();
  std::smatch match;
  ASSERT_TRUE(terminal.Expect("hospital (\xCE\xB5 ")) << terminal.transcript();
  ASSERT_TRUE(terminal.Expect(" left)=> ")) << terminal.transcript();

  // A multi-line statement: the first line gets the continuation prompt.
  terminal.Type("SELECT COUNT(*) AS total\r");
  ASSERT_TRUE(terminal.Expect(" left)-> ")) << "continuation prompt expected:\n" << terminal.Recent();
  terminal.Type("FROM admissions WHERE age < 200;\r");  // asked nowhere else: charged
  ASSERT_TRUE(terminal.Expect("(1 row)  cost: \xCE\xB5 1")) << terminal.Recent();
  // The prompt shows the budget left after the query (ε 1 of it spent).
  ASSERT_TRUE(terminal.Expect("budget left: \xCE\xB5 ")) << terminal.Recent();
  std::string after = terminal.Recent();
  std::regex left_in_footer("^([0-9.]+)");
  ASSERT_TRUE(std::regex_search(after, match, left_in_footer)) << after;
  std::string left = match[1].str();
  EXPECT_NE(left, kAnalystEpsilon) << "some budget was spent";
  ASSERT_TRUE(terminal.Expect("hospital (\xCE\xB5 " + left + " left)=> ")) << terminal.Recent();

  terminal.Type("\\d\r");
  ASSERT_TRUE(terminal.Expect(" admissions | private")) << terminal.Recent();
  ASSERT_TRUE(terminal.Expect("(3 tables)  privacy unit: patient_id")) << terminal.Recent();

  terminal.Type("\\d admissions\r");
  ASSERT_TRUE(terminal.Expect("Table \"admissions\" (private")) << terminal.Recent();
  // Columns in catalog order: ward_code (a public domain) comes before age (bounds).
  ASSERT_TRUE(terminal.Expect("values of wards.ward_code")) << terminal.Recent();
  ASSERT_TRUE(terminal.Expect("0 .. 110")) << terminal.Recent();
  ASSERT_TRUE(terminal.Expect("columns)")) << terminal.Recent();

  terminal.Type("\\budget\r");
  ASSERT_TRUE(terminal.Expect("\xCE\xB5 total")) << terminal.Recent();
  ASSERT_TRUE(terminal.Expect(" hospital |")) << terminal.Recent();
  ASSERT_TRUE(terminal.Expect("(1 dataset)")) << terminal.Recent();

  // An error: message, the line and a caret under "agee" (column 8).
  terminal.Type("SELECT agee FROM admissions;\r");
  ASSERT_TRUE(terminal.Expect("ERROR [unknown_column]: ")) << terminal.Recent();
  ASSERT_TRUE(terminal.Expect("LINE 1: SELECT agee FROM admissions\r\n" + std::string(8 + 7, ' ') + "^"))
      << terminal.Recent();

  // Tab completion of a table name from the catalog.
  ASSERT_TRUE(terminal.Expect("=> ")) << terminal.Recent();
  terminal.Type("SELECT COUNT(*) FROM adm\t");
  ASSERT_TRUE(terminal.Expect("issions", 10000)) << "TAB should complete 'adm' to 'admissions':\n"
                                                 << terminal.Recent();
  terminal.Type(";\r");
  ASSERT_TRUE(terminal.Expect("(1 row)")) << "the completed statement runs:\n" << terminal.Recent();

  terminal.Type("\\q\r");
  EXPECT_EQ(terminal.Wait(), 0) << terminal.Recent();

  // The history file holds what was typed.
  std::string history = ReadFile(home / ".dpql_history");
  EXPECT_NE(history.find("admissions"), std::string::npos) << history;
  EXPECT_NE(history.find("budget"), std::string::npos) << history;
}

}  // namespace
}  // namespace dpql
