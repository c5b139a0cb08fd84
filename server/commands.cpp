#include "server/commands.h"

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/common/flags.h"
#include "compiler/parser/parser.h"
#include "runtime/engine.h"

namespace dpql {

namespace {

constexpr const char* kUsage =
    "usage: dpqld <command> [options]\n"
    "commands:\n"
    "  compile --catalog FILE [--dataset D] (-e QUERY | FILE)\n"
    "      print the plan, generated SQL and privacy cost of each statement (no database)\n"
    "  admin init|add-analyst|grant|revoke|list|audit ...\n"
    "      manage analysts and budgets (dpqld admin --help)\n"
    "  serve --config FILE [--listen HOST:PORT] [--database URL]\n"
    "      run the HTTP server\n";

constexpr const char* kCompileUsage = "usage: dpqld compile --catalog FILE [--dataset D] (-e QUERY | FILE)\n";

bool ReadFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  out = buffer.str();
  return true;
}

// The command line of `dpqld compile`.
struct CompileArgs {
  std::string catalog_path, dataset_name, query, file;
  bool have_query = false;
};

// Reads the command line into `parsed`; the exit status when the command ends
// here (--help, or a wrong command line, told on `err`).
std::optional<int> ReadCompileArgs(const std::vector<std::string>& args, CompileArgs& parsed,
                                   std::ostream& out, std::ostream& err) {
  // `--catalog=FILE` is not a form this command takes: no inline values.
  FlagReader flags(args, InlineValues::kNone);
  while (flags.Next()) {
    const std::string& arg = flags.arg();
    auto value = [&](const char* flag) -> std::optional<std::string> {
      std::optional<std::string> given = flags.Value();
      if (!given) err << "dpqld compile: " << flag << " needs a value\n" << kCompileUsage;
      return given;
    };
    if (arg == "--catalog") {
      auto v = value("--catalog");
      if (!v) return 2;
      parsed.catalog_path = *v;
    } else if (arg == "--dataset") {
      auto v = value("--dataset");
      if (!v) return 2;
      parsed.dataset_name = *v;
    } else if (arg == "-e") {
      auto v = value("-e");
      if (!v) return 2;
      parsed.query = *v;
      parsed.have_query = true;
    } else if (arg == "--help" || arg == "-h") {
      out << kCompileUsage;
      return 0;
    } else if (!arg.empty() && arg[0] == '-') {
      err << "dpqld compile: unknown option '" << arg << "'\n" << kCompileUsage;
      return 2;
    } else if (parsed.file.empty()) {
      parsed.file = arg;
    } else {
      err << "dpqld compile: give one query file (got '" << parsed.file << "' and '" << arg << "')\n";
      return 2;
    }
  }
  if (parsed.catalog_path.empty()) {
    err << "dpqld compile: --catalog FILE is required\n" << kCompileUsage;
    return 2;
  }
  if (parsed.have_query == !parsed.file.empty()) {
    err << "dpqld compile: give either -e QUERY or a query FILE\n" << kCompileUsage;
    return 2;
  }
  return std::nullopt;
}

// The dataset the statements are compiled against, from the catalog file
// (kept in `catalog`); the exit status when there is none.
std::optional<int> LoadCompileDataset(const CompileArgs& parsed, Catalog& catalog, const Dataset*& dataset,
                                      std::ostream& err) {
  try {
    catalog = LoadCatalog(parsed.catalog_path);
  } catch (const DpqlError& e) {
    err << "dpqld compile: error [" << Name(e.code()) << "]: " << e.what() << "\n";
    return 1;
  }
  const std::string& dataset_name = parsed.dataset_name;
  dataset = dataset_name.empty() ? catalog.DefaultDataset() : catalog.FindDataset(dataset_name);
  if (dataset == nullptr) {
    err << "dpqld compile: "
        << (dataset_name.empty() ? "the catalog has several datasets; choose one with --dataset"
                                 : "unknown dataset '" + dataset_name + "'")
        << "\n";
    return 2;
  }
  return std::nullopt;
}

// Prints each statement's plan; errors name `source_name` and the place in `query`.
int CompileStatements(const Dataset& dataset, const std::string& query, const std::string& source_name,
                      std::ostream& out, std::ostream& err) {
  try {
    std::vector<ast::Statement> statements = ParseScript(query);
    for (size_t i = 0; i < statements.size(); ++i) {
      const ast::Statement& statement = statements[i];
      if (statements.size() > 1) {
        out << "-- statement " << (i + 1) << " (line " << statement.loc.line << ")\n";
      }
      out << Engine::Explain(dataset, statement).explain;
      if (i + 1 < statements.size()) out << "\n";
    }
  } catch (const DpqlError& e) {
    err << source_name << (e.location().Known() ? ":" : ": ") << FormatError(e, query) << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int RunDpqld(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? 2 : 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "compile") return RunCompileCommand(rest, out, err);
  if (args[0] == "admin") return RunAdminCommand(rest, out, err);
  if (args[0] == "serve") return RunServeCommand(rest, out, err);
  err << "dpqld: unknown command '" << args[0] << "'\n" << kUsage;
  return 2;
}

int RunCompileCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CompileArgs parsed;
  if (auto status = ReadCompileArgs(args, parsed, out, err)) return *status;
  std::string source_name = parsed.have_query ? "query" : parsed.file;
  if (!parsed.have_query && !ReadFile(parsed.file, parsed.query)) {
    err << "dpqld compile: cannot read " << parsed.file << "\n";
    return 2;
  }
  Catalog catalog;
  const Dataset* dataset = nullptr;
  if (auto status = LoadCompileDataset(parsed, catalog, dataset, err)) return *status;
  return CompileStatements(*dataset, parsed.query, source_name, out, err);
}

}  // namespace dpql
