#include "server/commands.h"

#include <fstream>
#include <optional>
#include <sstream>

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

constexpr const char* kCompileUsage =
    "usage: dpqld compile --catalog FILE [--dataset D] (-e QUERY | FILE)\n";

bool ReadFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  out = buffer.str();
  return true;
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
  std::string catalog_path, dataset_name, query, file;
  bool have_query = false;
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
      catalog_path = *v;
    } else if (arg == "--dataset") {
      auto v = value("--dataset");
      if (!v) return 2;
      dataset_name = *v;
    } else if (arg == "-e") {
      auto v = value("-e");
      if (!v) return 2;
      query = *v;
      have_query = true;
    } else if (arg == "--help" || arg == "-h") {
      out << kCompileUsage;
      return 0;
    } else if (!arg.empty() && arg[0] == '-') {
      err << "dpqld compile: unknown option '" << arg << "'\n" << kCompileUsage;
      return 2;
    } else if (file.empty()) {
      file = arg;
    } else {
      err << "dpqld compile: give one query file (got '" << file << "' and '" << arg << "')\n";
      return 2;
    }
  }
  if (catalog_path.empty()) {
    err << "dpqld compile: --catalog FILE is required\n" << kCompileUsage;
    return 2;
  }
  if (have_query == !file.empty()) {
    err << "dpqld compile: give either -e QUERY or a query FILE\n" << kCompileUsage;
    return 2;
  }
  std::string source_name = have_query ? "query" : file;
  if (!have_query && !ReadFile(file, query)) {
    err << "dpqld compile: cannot read " << file << "\n";
    return 2;
  }

  Catalog catalog;
  try {
    catalog = LoadCatalog(catalog_path);
  } catch (const DpqlError& e) {
    err << e.what() << "\n";
    return 1;
  }
  const Dataset* dataset =
      dataset_name.empty() ? catalog.DefaultDataset() : catalog.FindDataset(dataset_name);
  if (dataset == nullptr) {
    err << "dpqld compile: "
        << (dataset_name.empty() ? "the catalog has several datasets; choose one with --dataset"
                                 : "unknown dataset '" + dataset_name + "'")
        << "\n";
    return 2;
  }

  try {
    std::vector<ast::Statement> statements = ParseScript(query);
    for (size_t i = 0; i < statements.size(); ++i) {
      const ast::Statement& statement = statements[i];
      if (statements.size() > 1) {
        out << "-- statement " << (i + 1) << " (line " << statement.loc.line << ")\n";
      }
      out << Engine::Explain(*dataset, statement).explain;
      if (i + 1 < statements.size()) out << "\n";
    }
  } catch (const DpqlError& e) {
    err << source_name << (e.location().Known() ? ":" : ": ") << FormatError(e, query) << "\n";
    return 1;
  }
  return 0;
}

}  // namespace dpql
