#include "repl/repl.h"

#include <editline/readline.h>
#include <langinfo.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "repl/api_client.h"
#include "repl/completion.h"
#include "repl/http_client.h"
#include "repl/statements.h"

namespace dpql {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kVersion = "0.1.0";
constexpr int kHistoryLines = 1000;

const char* const kMetaHelp = R"(Meta-commands:
  \d                 list the dataset's tables
  \d TABLE           describe TABLE: columns, types, bounds, public domains
  \budget            your privacy budget (total, spent, left) per dataset, and your projects
  \project [NAME|-]  show the project paying for queries and yours; NAME: pay from
                     that research project; -: back to your own budget (the default)
  \request EPSILON JUSTIFICATION...
                     ask a data guardian for more budget: on the current project,
                     else on your own budget; \requests lists yours
  \releases          published releases of your datasets; reading them is free
  \release NAME [FROM [TO]]   a release's published days (YYYY-MM-DD), free
  \explain QUERY     show QUERY's plan and what it would cost; spends nothing
  \timing [on|off]   toggle printing each request's elapsed time
  \format [table|csv|json]   show or set the output format
  \help, \?          this help
  \q                 quit (also Ctrl-D)
Statements end with ';' and may span several lines. DPQL:
  SELECT ward_code, COUNT(*) FROM admissions GROUP BY ward_code;
  SELECT AVG(age) FROM admissions WITH PRIVACY (epsilon = 0.5);
  EXPLAIN SELECT ...;   SHOW TABLES;   DESCRIBE admissions;   SHOW BUDGET;
Each noisy value is shown as value ± half-width of its confidence interval.
)";

std::string Trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

std::string ReadWhole(std::istream& in) {
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class Session {
 public:
  explicit Session(const ReplOptions& options)
      : api_(ParseUrl(options.url), options.token, options.insecure),
        format_(options.format),
        dataset_(options.dataset) {
    api_.set_project(options.project);
  }

  // Runs one statement and prints its answer (stdout) or error (stderr).
  // `source` prefixes errors with "FILE:LINE: " for -f scripts.
  bool RunStatement(const Statement& statement, const std::string& source) {
    Clock::time_point started = Clock::now();
    try {
      json answer = api_.Query(statement.text, dataset_);
      NoteBudget(Member(answer, "budget"));
      PrintAnswer(answer);
      PrintTiming(started);
      return true;
    } catch (const ApiError& error) {
      std::string prefix;
      if (!source.empty()) {
        int line = statement.line + (error.line() > 0 ? error.line() - 1 : 0);
        prefix = source + ":" + std::to_string(line) + ": ";
      }
      std::cout.flush();
      std::cerr << prefix
                << FormatErrorText(error.code(), error.message(), error.line(), error.column(),
                                   statement.text);
      PrintTiming(started);
      return false;
    } catch (const HttpTransportError& error) {
      return TransportFailure(error);
    } catch (const json::exception& error) {
      std::cerr << "ERROR: unexpected answer from dpqld: " << error.what() << "\n";
      return false;
    }
  }

  // A line starting with '\'. Returns false when it failed.
  bool RunMeta(const std::string& line) {
    std::string command = line;
    std::string argument;
    size_t space = line.find_first_of(" \t");
    if (space != std::string::npos) {
      command = line.substr(0, space);
      argument = Trim(line.substr(space + 1));
    }
    try {
      if (command == "\\q" || command == "\\quit") {
        quit_ = true;
      } else if (command == "\\?" || command == "\\help" || command == "\\h") {
        std::cout << kMetaHelp;
      } else if (command == "\\timing") {
        if (argument == "on" || argument == "off") {
          timing_ = argument == "on";
        } else if (argument.empty()) {
          timing_ = !timing_;
        } else {
          std::cerr << "ERROR: \\timing takes on, off or nothing (to toggle), not '" << argument << "'\n";
          return false;
        }
        std::cout << "Timing is " << (timing_ ? "on" : "off") << ".\n";
      } else if (command == "\\format") {
        if (argument.empty()) {
          std::cout << "Output format is " << OutputFormatName(format_) << ".\n";
        } else if (auto format = ParseOutputFormat(argument)) {
          format_ = *format;
          std::cout << "Output format is " << OutputFormatName(format_) << ".\n";
        } else {
          std::cerr << "ERROR: unknown format '" << argument
                    << "'; use \\format table, \\format csv or \\format json\n";
          return false;
        }
      } else if (command == "\\d" || command == "\\d+" || command == "\\dt") {
        const json* dataset = Dataset();
        if (!dataset) return false;
        if (argument.empty()) {
          std::cout << FormatTableList(*dataset) << "\n";
        } else {
          std::cout << FormatTableDescription(*dataset, argument) << "\n";
        }
      } else if (command == "\\budget") {
        Clock::time_point started = Clock::now();
        json answer = api_.Budget();
        NoteBudgets(answer);
        if (format_ == OutputFormat::kJson) {
          std::cout << FormatJson(answer);
        } else {
          std::cout << FormatBudgets(answer) << "\n";
        }
        PrintTiming(started);
      } else if (command == "\\project") {
        return ProjectCommand(argument);
      } else if (command == "\\request") {
        return RequestCommand(argument);
      } else if (command == "\\requests") {
        json answer = api_.BudgetRequests();
        if (format_ == OutputFormat::kJson) {
          std::cout << FormatJson(answer);
        } else {
          std::cout << FormatBudgetRequests(answer) << "\n";
        }
      } else if (command == "\\releases") {
        Clock::time_point started = Clock::now();
        json answer = api_.Releases();
        std::cout << (format_ == OutputFormat::kJson ? FormatJson(answer) : FormatReleases(answer) + "\n");
        PrintTiming(started);
      } else if (command == "\\release") {
        std::istringstream words(argument);
        std::string name, from, to, extra;
        words >> name >> from >> to >> extra;
        if (name.empty() || !extra.empty()) {
          std::cerr
              << "ERROR: \\release takes a release NAME and optionally FROM and TO days (YYYY-MM-DD), e.g. "
                 "\\release occupancy_by_ward 2026-11-20 2026-11-27; \\releases lists them\n";
          return false;
        }
        Clock::time_point started = Clock::now();
        json answer = api_.Release(name, from, to);
        std::cout << (format_ == OutputFormat::kJson ? FormatJson(answer) : FormatReleaseRuns(answer) + "\n");
        PrintTiming(started);
      } else if (command == "\\explain") {
        std::string query = argument;
        while (!query.empty() && (query.back() == ';' || query.back() == ' ')) query.pop_back();
        if (query.empty()) {
          std::cerr << "ERROR: \\explain needs a query, e.g. \\explain SELECT COUNT(*) FROM admissions\n";
          return false;
        }
        Clock::time_point started = Clock::now();
        try {
          json answer = api_.Explain(query, dataset_);
          std::cout << (format_ == OutputFormat::kJson ? FormatJson(answer) : FormatExplain(answer) + "\n");
          PrintTiming(started);
        } catch (const ApiError& error) {
          std::cout.flush();
          std::cerr << FormatErrorText(error.code(), error.message(), error.line(), error.column(), query);
          return false;
        }
      } else {
        std::cerr << "ERROR: unknown meta-command " << command << "; type \\help for the list\n";
        return false;
      }
    } catch (const ApiError& error) {
      std::cout.flush();
      std::cerr << FormatErrorText(error.code(), error.message(), error.line(), error.column(), "");
      return false;
    } catch (const HttpTransportError& error) {
      return TransportFailure(error);
    } catch (const std::invalid_argument& error) {
      std::cerr << "ERROR: " << error.what() << "\n";
      return false;
    }
    std::cout.flush();
    return true;
  }

  // Interactive start: the budget for the prompt (this also checks the URL
  // and token) and the catalog for completion and \d.
  bool Connect() {
    try {
      json budgets = api_.Budget();
      if (dataset_.empty()) {
        const json& list = Member(budgets, "budgets");
        if (list.is_array() && list.size() == 1)
          dataset_ = Member(list[0], "dataset").is_string() ? list[0]["dataset"].get<std::string>() : "";
      }
      NoteBudgets(budgets);
    } catch (const ApiError& error) {
      std::cerr << FormatErrorText(error.code(), error.message(), 0, 0, "");
      if (error.status() == 401 || error.status() == 403) {
        std::cerr << "dpql: check --token or DPQL_TOKEN (the token printed by `dpqld admin add-analyst`)\n";
      }
      return false;
    } catch (const HttpTransportError& error) {
      std::cerr << "ERROR: " << error.what() << "\n";
      return false;
    }
    if (const json* dataset = Dataset(/*quiet=*/true)) completer_.LoadDataset(*dataset);
    return true;
  }

  std::string Prompt(bool continuation) const {
    std::string name = dataset_.empty() ? "dpql" : dataset_;
    if (!rho_left_.empty()) {
      name += " (\xCF\x81 " + rho_left_ + " left)";  // zCDP accounting: the budget is rho
    } else if (!epsilon_left_.empty()) {
      name += " (\xCE\xB5 " + epsilon_left_ + " left)";
    }
    return name + (continuation ? "-> " : "=> ");
  }

  std::string Banner() const {
    std::string text = "dpql " + std::string(kVersion) + " connected to " + api_url_text();
    if (!dataset_.empty()) text += ", dataset " + dataset_;
    if (!rho_left_.empty()) {
      text += " (\xCF\x81 " + rho_left_ + " of " + rho_total_ + " left, \xE2\x89\x88 \xCE\xB5 " +
              epsilon_left_ + ")";
    } else if (!epsilon_left_.empty()) {
      text += " (\xCE\xB5 " + epsilon_left_ + " of " + epsilon_total_ + " left)";
    }
    return text + ".\nType \\help for help, \\q to quit. Statements end with ';'.\n";
  }

  const Completer& completer() const { return completer_; }
  bool quit() const { return quit_; }
  bool transport_failed() const { return transport_failed_; }

 private:
  static const json& Member(const json& object, const char* key) {
    static const json kNull;
    return object.is_object() && object.contains(key) ? object[key] : kNull;
  }

  std::string api_url_text() const {
    const Url& url = api_.url();
    return url.scheme + "://" + url.host + ":" + url.port + url.path;
  }

  void PrintAnswer(const json& answer) {
    switch (format_) {
      case OutputFormat::kTable: {
        std::cout << FormatTable(answer);
        std::string footer = FormatFooter(answer);
        if (!footer.empty()) std::cout << footer << "\n";
        std::cout << "\n";
        break;
      }
      case OutputFormat::kCsv: std::cout << FormatCsv(answer); break;
      case OutputFormat::kJson: std::cout << FormatJson(answer); break;
    }
    std::cout.flush();
  }

  void PrintTiming(Clock::time_point started) {
    if (!timing_) return;
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    char text[64];
    std::snprintf(text, sizeof text, "Time: %.3f ms\n", ms);
    // Keep CSV/JSON on stdout clean for programs.
    (format_ == OutputFormat::kTable ? std::cout : std::cerr) << text << std::flush;
  }

  bool TransportFailure(const HttpTransportError& error) {
    std::cout.flush();
    std::cerr << "ERROR: " << error.what() << "\n";
    transport_failed_ = true;
    return false;
  }

  // \project: show the paying account and the analyst's projects; NAME
  // chooses a project; "-" goes back to the default account.
  bool ProjectCommand(const std::string& argument) {
    if (argument == "-") {
      api_.set_project("");
      std::cout << "Queries are paid from your own budget (or your only project on the dataset).\n";
      return true;
    }
    if (!argument.empty()) {
      json answer = api_.Budget();
      const json& projects = Member(answer, "projects");
      bool member = false;
      if (projects.is_array()) {
        for (const json& project : projects) member |= Member(project, "project") == argument;
      }
      if (!member) {
        std::cerr << "ERROR: you are not a member of a project named '" << argument
                  << "'; \\project lists yours\n";
        return false;
      }
      api_.set_project(argument);
      std::cout << "Queries are now paid from project '" << argument << "'.\n";
      return true;
    }
    std::cout << (api_.project().empty() ? std::string("Queries are paid from your default account "
                                                       "(your own budget, else your only project).")
                                         : "Queries are paid from project '" + api_.project() + "'.")
              << "\n";
    json answer = api_.Budget();
    std::cout << FormatBudgets(answer) << "\n";
    return true;
  }

  // \request EPSILON JUSTIFICATION...: files a budget request.
  bool RequestCommand(const std::string& argument) {
    const size_t space = argument.find_first_of(" \t");
    const std::string amount = argument.substr(0, space);
    const std::string justification = space == std::string::npos ? "" : Trim(argument.substr(space + 1));
    if (amount.empty() || justification.empty() ||
        amount.find_first_not_of("0123456789.eE-+") != std::string::npos) {
      std::cerr << "ERROR: \\request needs an amount and a justification, e.g. "
                   "\\request 2 a second cohort for the sepsis study\n";
      return false;
    }
    json body = {{"epsilon", amount}, {"justification", justification}};
    if (!api_.project().empty()) {
      body["project"] = api_.project();
    } else if (!dataset_.empty()) {
      body["dataset"] = dataset_;
    }
    json answer = api_.FileBudgetRequest(body);
    const json& request = Member(answer, "request");
    std::cout << "Filed budget request " << Member(request, "id").dump() << " for epsilon " << amount << " on "
              << (api_.project().empty() ? "your own budget" : "project '" + api_.project() + "'")
              << "; a data guardian will approve or decline it (\\requests shows its status).\n";
    return true;
  }

  // The budget object of a query answer, for the prompt.
  void NoteBudget(const json& budget) {
    if (!budget.is_object() || !budget.contains("epsilon_remaining")) return;
    const json& dataset = Member(budget, "dataset");
    if (dataset.is_string() && !dataset_.empty() && dataset.get<std::string>() != dataset_) return;
    epsilon_left_ = FormatAmount(budget["epsilon_remaining"]);
    if (budget.contains("epsilon_total")) epsilon_total_ = FormatAmount(budget["epsilon_total"]);
    const json& rho_left = Member(budget, "rho_remaining");
    rho_left_ = rho_left.is_null() ? "" : FormatAmount(rho_left);
    const json& rho_total = Member(budget, "rho_total");
    rho_total_ = rho_total.is_null() ? "" : FormatAmount(rho_total);
  }

  void NoteBudgets(const json& answer) {
    const json& list = Member(answer, "budgets");
    if (!list.is_array()) return;
    for (const json& budget : list) {
      const json& dataset = Member(budget, "dataset");
      if (dataset_.empty() || (dataset.is_string() && dataset.get<std::string>() == dataset_)) {
        NoteBudget(budget);
        return;
      }
    }
  }

  // The catalog entry of the current dataset, fetched once.
  const json* Dataset(bool quiet = false) {
    if (!catalog_) {
      try {
        catalog_ = api_.Catalog();
      } catch (const ApiError& error) {
        if (!quiet)
          std::cerr << FormatErrorText(error.code(), "cannot read the catalog: " + error.message(), 0, 0, "");
        return nullptr;
      } catch (const HttpTransportError& error) {
        if (!quiet) TransportFailure(error);
        return nullptr;
      }
    }
    const json* dataset = FindDataset(*catalog_, dataset_);
    if (!dataset && !quiet) {
      std::cerr << "ERROR: the catalog has no dataset \"" << dataset_
                << "\"; pass --dataset with one of its datasets\n";
    }
    return dataset;
  }

  ApiClient api_;
  OutputFormat format_;
  std::string dataset_;
  std::optional<json> catalog_;
  Completer completer_;
  std::string epsilon_left_;
  std::string epsilon_total_;
  std::string rho_left_, rho_total_;  // zCDP datasets only
  bool timing_ = false;
  bool quit_ = false;
  bool transport_failed_ = false;
};

// Batch mode: every statement of `text`, one request each.
int RunScript(Session& session, const std::string& text, const std::string& source) {
  int status = kDpqlExitOk;
  std::string trimmed = Trim(text);
  if (!trimmed.empty() && trimmed.front() == '\\') {
    // -c '\budget': meta-commands, one per line.
    std::istringstream lines(trimmed);
    std::string line;
    while (std::getline(lines, line) && !session.quit()) {
      if (!Trim(line).empty() && !session.RunMeta(Trim(line))) status = kDpqlExitStatementFailed;
      if (session.transport_failed()) return kDpqlExitUsage;
    }
    return status;
  }
  std::vector<Statement> statements = SplitStatements(text);
  if (statements.empty()) {
    std::cerr << "dpql: no statement to run" << (source.empty() ? "" : " in " + source) << "\n";
    return kDpqlExitStatementFailed;
  }
  for (const Statement& statement : statements) {
    if (!session.RunStatement(statement, source)) status = kDpqlExitStatementFailed;
    if (session.transport_failed()) return kDpqlExitUsage;
  }
  return status;
}

// ---- interactive -----------------------------------------------------------

Session* g_session = nullptr;
std::string g_pending;  // earlier lines of the statement being typed

std::string g_before;  // the text before the word being completed

char* CompletionCandidate(const char* text, int state) {
  static std::vector<std::string> matches;
  static size_t next = 0;
  if (state == 0) {
    matches = g_session->completer().Complete(text, g_before);
    next = 0;
  }
  if (next >= matches.size()) return nullptr;
  return strdup(matches[next++].c_str());
}

char** AttemptCompletion(const char* text, int start, int end) {
  rl_attempted_completion_over = 1;  // never fall back to file names
  std::string line = rl_line_buffer ? rl_line_buffer : "";
  g_before = g_pending + line.substr(0, std::min<size_t>(start < 0 ? 0 : start, line.size()));
  return rl_completion_matches(text, CompletionCandidate);
}

// libedit draws the prompt with the locale's multibyte conversion; the
// prompt holds "ε", so make sure that is UTF-8.
void UseUtf8Locale() {
  std::setlocale(LC_ALL, "");
  const char* codeset = nl_langinfo(CODESET);
  if (codeset && (std::strcmp(codeset, "UTF-8") == 0 || std::strcmp(codeset, "utf8") == 0)) return;
  if (!std::setlocale(LC_CTYPE, "C.UTF-8")) std::setlocale(LC_CTYPE, "C.utf8");
}

volatile sig_atomic_t g_interrupted = 0;

void OnInterrupt(int) { g_interrupted = 1; }

std::string HistoryPath() {
  const char* home = std::getenv("HOME");
  return home && *home ? std::string(home) + "/.dpql_history" : "";
}

int RunInteractive(Session& session) {
  UseUtf8Locale();
  if (!session.Connect()) return kDpqlExitUsage;
  std::cout << session.Banner() << std::flush;

  g_session = &session;
  struct sigaction interrupt = {};
  interrupt.sa_handler = OnInterrupt;
  sigemptyset(&interrupt.sa_mask);
  sigaction(SIGINT, &interrupt, nullptr);  // no SA_RESTART: the read at the prompt returns
  rl_readline_name = "dpql";
  rl_attempted_completion_function = AttemptCompletion;
  rl_basic_word_break_characters = " \t\n\"'`@$><=;|&{(,";
  using_history();
  stifle_history(kHistoryLines);
  std::string history = HistoryPath();
  if (!history.empty()) read_history(history.c_str());

  // Like psql, a failed statement does not change the exit status of an
  // interactive session: the user saw the error.
  std::string buffer;
  while (!session.quit()) {
    g_pending = buffer;
    std::string prompt = session.Prompt(!buffer.empty());
    g_interrupted = 0;
    char* raw = readline(prompt.c_str());
    if (g_interrupted) {
      // Ctrl-C, as in psql: abandon the statement being typed, keep the session.
      std::free(raw);
      std::cout << "\n";
      buffer.clear();
      continue;
    }
    if (!raw) {  // Ctrl-D
      std::cout << "\n";
      break;
    }
    std::string line = raw;
    std::free(raw);
    std::string trimmed = Trim(line);
    if (buffer.empty()) {
      if (trimmed.empty()) continue;
      if (trimmed.front() == '\\' || trimmed == "quit" || trimmed == "exit") {
        add_history(trimmed.c_str());
        if (trimmed == "quit" || trimmed == "exit") break;
        session.RunMeta(trimmed);
        continue;
      }
    }
    buffer += line + "\n";
    StatementScan scan = ScanStatements(buffer);
    if (scan.complete.empty()) continue;
    std::string entry = Trim(buffer);
    add_history(entry.c_str());
    if (!history.empty()) write_history(history.c_str());
    for (const Statement& statement : scan.complete) {
      session.RunStatement(statement, "");
    }
    buffer = scan.rest_has_content ? scan.rest.text + "\n" : "";
  }
  if (!history.empty()) write_history(history.c_str());
  return kDpqlExitOk;
}

}  // namespace

int RunRepl(const ReplOptions& options) {
  if (options.help) {
    std::cout << kDpqlUsage;
    return kDpqlExitOk;
  }
  if (options.version) {
    std::cout << "dpql " << kVersion << "\n";
    return kDpqlExitOk;
  }
  if (options.token.empty()) {
    std::cerr << "dpql: no token; pass --token TOKEN or set DPQL_TOKEN (an admin creates one with "
                 "`dpqld admin add-analyst NAME --dataset D --epsilon E`)\n";
    return kDpqlExitUsage;
  }
  Session session(options);
  if (options.command) return RunScript(session, *options.command, "");
  if (options.file) {
    if (*options.file == "-") return RunScript(session, ReadWhole(std::cin), "");
    std::ifstream file(*options.file, std::ios::binary);
    if (!file) {
      std::cerr << "dpql: cannot read " << *options.file << ": " << std::strerror(errno) << "\n";
      return kDpqlExitUsage;
    }
    return RunScript(session, ReadWhole(file), *options.file);
  }
  if (isatty(STDIN_FILENO)) return RunInteractive(session);
  return RunScript(session, ReadWhole(std::cin), "");
}

}  // namespace dpql
