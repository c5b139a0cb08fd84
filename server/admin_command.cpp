// `dpqld admin ...`: the data guardian's commands for analysts, budgets and
// the audit log. Everything goes through runtime/ledger.
//
// Exit status: 0 success; 1 the command could not be carried out (database
// unreachable or not initialised, unknown analyst, duplicate name, unreadable
// config); 2 the command line is wrong (unknown subcommand or flag, missing or
// malformed value).

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/common/rational.h"
#include "compiler/common/zcdp.h"
#include "runtime/cache/answer_cache.h"
#include "runtime/ledger/ledger.h"
#include "runtime/ledger/role_grants.h"
#include "server/commands.h"
#include "server/config.h"

namespace dpql {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kMaxAuditLimit = 100000;
constexpr size_t kAuditTextWidth = 60;

constexpr const char* kUsage = R"(usage: dpqld admin [--database URL | --config FILE] [--catalog FILE] COMMAND [ARGS]

commands:
  init                          create or upgrade the dpql schema and tables (safe to rerun)
  add-analyst NAME --dataset D (--epsilon E [--delta D] | --rho R) [--admin]
                                create an analyst with a budget; prints the token once
  grant NAME --dataset D (--epsilon E [--delta D] | --rho R)
                                add to an analyst's budget on a dataset
  revoke NAME                   revoke the analyst's token (budgets and ledger stay)
  list                          analysts with total, spent and remaining budget
  audit [--limit N] [--analyst NAME] [--dataset D]
                                newest audit entries first (default 50)
  grant-role ROLE --catalog FILE [--dataset D] [--print]
                                give the PostgreSQL role dpqld connects as exactly
                                what it needs: SELECT on the catalog's tables, the
                                dpql schema's ledger writes, nothing else (revokes
                                the rest in those schemas; safe to rerun). Run as a
                                superuser or the tables' owner; --print shows the SQL
  data-version DATASET          bump the dataset's data version after its data
                                changed: cached answers of older versions are
                                no longer served

database: --database URL, else --config FILE (YAML key `database`), else
$DPQL_DATABASE, else the libpq environment (PGHOST, PGPORT, PGUSER, ...).
epsilon is counted in multiples of 0.000001, delta and rho in multiples of 1e-12.
zCDP datasets (catalog `accounting: zcdp`, read from --catalog or the config's
`catalog`) keep budgets in rho: --rho R grants R; --epsilon E [--delta D]
grants the largest rho that implies (E, D)-DP (D defaults to the dataset's
defaults.delta).
exit status: 0 ok, 1 the command failed, 2 the command line is wrong.
)";

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ParsedArgs {
  std::string command;
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // --flag VALUE
  std::vector<std::string> switches;          // --flag
  bool help = false;
};

// Flags taking a value, and boolean switches, per subcommand.
struct CommandSpec {
  std::vector<std::string> value_flags;
  std::vector<std::string> switch_flags;
  size_t positional;  // number of required positional arguments (NAME)
  const char* synopsis;
};

const std::map<std::string, CommandSpec>& Commands() {
  static const std::map<std::string, CommandSpec> commands = {
      {"init", {{}, {}, 0, "init"}},
      {"add-analyst",
       {{"--dataset", "--epsilon", "--delta", "--rho"}, {"--admin"}, 1,
        "add-analyst NAME --dataset D (--epsilon E [--delta D] | --rho R) [--admin]"}},
      {"grant",
       {{"--dataset", "--epsilon", "--delta", "--rho"}, {}, 1,
        "grant NAME --dataset D (--epsilon E [--delta D] | --rho R)"}},
      {"revoke", {{}, {}, 1, "revoke NAME"}},
      {"list", {{}, {}, 0, "list"}},
      {"audit", {{"--limit", "--analyst", "--dataset"}, {}, 0, "audit [--limit N] [--analyst NAME] [--dataset D]"}},
      {"data-version", {{}, {}, 1, "data-version DATASET"}},
      {"grant-role", {{"--dataset"}, {"--print"}, 1, "grant-role ROLE --catalog FILE [--dataset D] [--print]"}},
  };
  return commands;
}

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

ParsedArgs Parse(const std::vector<std::string>& args) {
  ParsedArgs parsed;
  const std::vector<std::string> global_flags = {"--database", "--config", "--catalog"};
  // First pass: find the subcommand, so flags can be checked against it.
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h" || arg == "help") {
      parsed.help = true;
      continue;
    }
    if (arg.rfind("--", 0) == 0) {
      std::string flag = arg.substr(0, arg.find('='));
      bool inline_value = flag.size() != arg.size();
      bool takes_value = Contains(global_flags, flag);
      if (!takes_value) {
        for (const auto& [name, spec] : Commands()) takes_value |= Contains(spec.value_flags, flag);
      }
      if (takes_value && !inline_value) ++i;  // skip its value
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-') continue;  // reported below
    parsed.command = arg;
    break;
  }
  if (parsed.help && parsed.command.empty()) return parsed;
  if (parsed.command.empty()) throw UsageError("no command given");
  auto found = Commands().find(parsed.command);
  if (found == Commands().end()) {
    throw UsageError("unknown command '" + parsed.command +
                     "'; the commands are init, add-analyst, grant, revoke, list, audit, data-version and grant-role");
  }
  const CommandSpec& spec = found->second;

  bool seen_command = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h" || arg == "help") continue;
    if (arg.size() > 1 && arg[0] == '-') {
      size_t eq = arg.find('=');
      std::string flag = arg.substr(0, eq);
      bool takes_value = Contains(global_flags, flag) || Contains(spec.value_flags, flag);
      if (Contains(spec.switch_flags, flag)) {
        if (eq != std::string::npos) throw UsageError(flag + " takes no value");
        parsed.switches.push_back(flag);
        continue;
      }
      if (!takes_value) {
        throw UsageError("unknown option '" + flag + "' for `" + parsed.command + "`; usage: dpqld admin " +
                         spec.synopsis);
      }
      std::string value;
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
      } else if (i + 1 < args.size() && !(args[i + 1].rfind("--", 0) == 0)) {
        value = args[++i];
      } else {
        throw UsageError(flag + " needs a value; usage: dpqld admin " + std::string(spec.synopsis));
      }
      if (value.empty()) throw UsageError(flag + " needs a non-empty value");
      if (parsed.values.count(flag)) throw UsageError(flag + " is given more than once");
      parsed.values[flag] = value;
      continue;
    }
    if (!seen_command && arg == parsed.command) {
      seen_command = true;
      continue;
    }
    parsed.positional.push_back(arg);
  }
  if (parsed.help) return parsed;
  if (parsed.positional.size() < spec.positional) {
    throw UsageError("`" + parsed.command + "` needs " +
                     (parsed.command == "data-version"  ? "a DATASET name"
                      : parsed.command == "grant-role" ? "a PostgreSQL ROLE name"
                                                       : "an analyst NAME") +
                     "; usage: dpqld admin " + spec.synopsis);
  }
  if (parsed.positional.size() > spec.positional) {
    throw UsageError("unexpected argument '" + parsed.positional[spec.positional] + "' for `" + parsed.command +
                     "`; usage: dpqld admin " + spec.synopsis);
  }
  return parsed;
}

std::optional<std::string> Value(const ParsedArgs& parsed, const std::string& flag) {
  auto it = parsed.values.find(flag);
  if (it == parsed.values.end()) return std::nullopt;
  return it->second;
}

std::string Required(const ParsedArgs& parsed, const std::string& flag) {
  auto value = Value(parsed, flag);
  if (!value) {
    throw UsageError("`" + parsed.command + "` needs " + flag + "; usage: dpqld admin " +
                     Commands().at(parsed.command).synopsis);
  }
  return *value;
}

Rational ParseAmount(const std::string& flag, const std::string& text) {
  auto value = ParseDecimal(text);
  if (!value) {
    throw UsageError(flag + " expects a decimal number such as 1.5, 0.25 or 1e-6, got '" + text + "'");
  }
  return *value;
}

// The catalog, when the command line names one (--catalog, or the config's
// `catalog`): it tells whether a dataset keeps its budgets in rho.
std::optional<Catalog> ResolveCatalog(const ParsedArgs& parsed) {
  if (auto path = Value(parsed, "--catalog")) return LoadCatalog(*path);
  if (auto config = Value(parsed, "--config")) {
    ServerConfig server = LoadServerConfig(*config);
    if (!server.catalog.empty()) return LoadCatalog(server.catalog);
  }
  return std::nullopt;
}

// --epsilon/--delta/--rho into exact ledger units; refusals name the flag and
// the fix. `dataset` is the catalog's entry, or null when no catalog is known.
BudgetCost ParseGrant(const ParsedArgs& parsed, const Dataset* dataset) {
  auto epsilon_text = Value(parsed, "--epsilon");
  auto delta_text = Value(parsed, "--delta");
  auto rho_text = Value(parsed, "--rho");
  const std::string synopsis = Commands().at(parsed.command).synopsis;
  if (!epsilon_text && !rho_text) {
    throw UsageError("`" + parsed.command + "` needs --epsilon or --rho; usage: dpqld admin " + synopsis);
  }
  const bool zcdp = dataset != nullptr && dataset->accounting == Accounting::kZcdp;
  if (dataset != nullptr && !zcdp && rho_text) {
    throw UsageError("--rho: dataset '" + dataset->name +
                     "' uses basic accounting, so its budgets are (epsilon, delta); grant --epsilon instead");
  }
  if (zcdp && rho_text && (epsilon_text || delta_text)) {
    throw UsageError("dataset '" + dataset->name +
                     "' keeps budgets in rho: give either --rho or --epsilon [--delta], not both");
  }
  Rational epsilon = epsilon_text ? ParseAmount("--epsilon", *epsilon_text) : Rational(0);
  Rational delta = delta_text ? ParseAmount("--delta", *delta_text) : Rational(0);
  Rational rho = rho_text ? ParseAmount("--rho", *rho_text) : Rational(0);
  if (zcdp && epsilon_text) {
    // The largest rho whose (epsilon, delta) guarantee is within the one asked for.
    if (!delta_text) delta = dataset->defaults.delta;
    if (epsilon <= 0 || delta <= 0 || delta >= 1) {
      throw UsageError("--epsilon/--delta: converting to rho needs epsilon > 0 and 0 < delta < 1");
    }
    return {0, 0, Floor(RhoForEpsilonDelta(epsilon, delta) * kPicoPerRho).convert_to<int64_t>()};
  }
  std::string flag;
  try {
    flag = "--epsilon";
    BudgetCost epsilon_only = BudgetCost::FromGrant(epsilon, 0);
    flag = "--delta";
    BudgetCost delta_only = BudgetCost::FromGrant(0, delta);
    flag = "--rho";
    BudgetCost rho_only = BudgetCost::FromGrant(0, 0, rho);
    return {epsilon_only.epsilon_micro, delta_only.delta_pico, rho_only.rho_pico};
  } catch (const DpqlError& e) {
    throw UsageError(flag + " " + *Value(parsed, flag) + ": " + e.message());
  }
}

// The database connection string: --database, --config's `database`,
// $DPQL_DATABASE, or "" (libpq environment defaults).
std::string ResolveDatabase(const ParsedArgs& parsed) {
  if (auto url = Value(parsed, "--database")) return *url;
  if (auto config = Value(parsed, "--config")) {
    YAML::Node root;
    try {
      root = YAML::LoadFile(*config);
    } catch (const YAML::Exception& e) {
      throw DpqlError(ErrorCode::kConfigError, "cannot read config " + *config + ": " + e.what());
    }
    if (!root.IsMap() || !root["database"] || !root["database"].IsScalar()) {
      throw DpqlError(ErrorCode::kConfigError,
                      "config " + *config + " has no `database` key; add e.g. `database: postgresql:///hospital`");
    }
    return root["database"].as<std::string>();
  }
  if (const char* env = std::getenv("DPQL_DATABASE"); env != nullptr && *env != '\0') return env;
  return "";
}

// psql-style aligned table. `right` marks right-aligned (numeric) columns.
void PrintTable(std::ostream& out, const std::vector<std::string>& header, const std::vector<bool>& right,
                const std::vector<std::vector<std::string>>& rows) {
  auto width_of = [](const std::string& s) {
    // Count UTF-8 code points, not bytes, so ε and friends align.
    return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
  };
  std::vector<size_t> widths(header.size());
  for (size_t c = 0; c < header.size(); ++c) widths[c] = width_of(header[c]);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], width_of(row[c]));
  }
  auto print_row = [&](const std::vector<std::string>& row, bool is_header) {
    for (size_t c = 0; c < row.size(); ++c) {
      size_t pad = widths[c] - width_of(row[c]);
      out << (c == 0 ? " " : " | ");
      bool align_right = !is_header && right[c];
      size_t left_pad = is_header ? pad / 2 : (align_right ? pad : 0);
      out << std::string(left_pad, ' ') << row[c];
      if (c + 1 < row.size()) out << std::string(pad - left_pad, ' ');
    }
    out << "\n";
  };
  print_row(header, true);
  for (size_t c = 0; c < header.size(); ++c) {
    out << (c == 0 ? "-" : "-+-") << std::string(widths[c], '-');
  }
  out << "-\n";
  for (const auto& row : rows) print_row(row, false);
  out << "(" << rows.size() << (rows.size() == 1 ? " row)\n" : " rows)\n");
}

// One line, at most `width` code points.
std::string Abbreviate(const std::string& text, size_t width) {
  std::string flat;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !flat.empty();
      continue;
    }
    if (space) flat.push_back(' ');
    space = false;
    flat.push_back(c);
  }
  size_t points = 0;
  for (size_t i = 0; i < flat.size(); ++i) {
    if ((flat[i] & 0xC0) != 0x80 && ++points > width) return flat.substr(0, i) + "...";
  }
  return flat;
}

std::string Describe(const BudgetCost& amount) {
  std::string text = "epsilon " + amount.EpsilonString() + ", delta " + amount.DeltaString();
  if (amount.rho_pico != 0) text += ", rho " + amount.RhoString();
  return text;
}

void AuditAdminAction(Ledger& ledger, const std::string& analyst, const std::string& dataset,
                      const std::string& action, const BudgetCost& amount, std::ostream& err) {
  AuditRecord record;
  record.analyst_name = analyst;
  record.source = "admin";
  record.dataset = dataset;
  record.query = action;
  // A grant is not a cost: the cost columns stay zero, the amount goes in detail.
  if (amount.epsilon_micro != 0 || amount.delta_pico != 0 || amount.rho_pico != 0) {
    record.detail = "granted " + Describe(amount);
  }
  record.outcome = "ok";
  try {
    ledger.WriteAudit(record);
  } catch (const DpqlError& e) {
    err << "dpqld admin: warning: the change was made but could not be written to the audit log: " << e.message()
        << "\n";
  }
}

// `grant-role ROLE --catalog FILE [--dataset D] [--print]`: the tables of the
// dataset (or of every dataset) are all the role may read.
int GrantRole(const ParsedArgs& parsed, std::ostream& out) {
  const std::string& role = parsed.positional[0];
  if (role.empty()) throw UsageError("`grant-role` needs a non-empty ROLE name");
  if (!Value(parsed, "--catalog")) {
    throw UsageError("`grant-role` needs --catalog FILE: its tables are the only ones the role may read; usage: "
                     "dpqld admin " + std::string(Commands().at("grant-role").synopsis));
  }
  Catalog catalog = LoadCatalog(*Value(parsed, "--catalog"));
  std::vector<const Dataset*> datasets;
  if (auto name = Value(parsed, "--dataset")) {
    const Dataset* entry = catalog.FindDataset(*name);
    if (entry == nullptr) throw UsageError("--dataset: the catalog has no dataset '" + *name + "'");
    datasets.push_back(entry);
  } else {
    for (const Dataset& entry : catalog.datasets) datasets.push_back(&entry);
  }
  std::vector<std::string> tables;
  for (const Dataset* dataset : datasets) {
    for (const CatalogTable& table : dataset->tables) {
      if (!Contains(tables, table.name)) tables.push_back(table.name);
    }
  }
  const std::string database = ResolveDatabase(parsed);
  std::vector<std::string> statements = RoleGrantStatements(database, role, tables);
  if (Contains(parsed.switches, "--print")) {
    out << "BEGIN;\n";
    for (const std::string& statement : statements) out << statement << ";\n";
    out << "COMMIT;\n";
    return 0;
  }
  ApplyRoleGrants(database, statements);
  out << "Role '" << role << "' may now read " << tables.size() << (tables.size() == 1 ? " table" : " tables")
      << " of the catalog and write the dpql ledger, audit and answer cache; its other privileges in those "
         "schemas were revoked.\n";
  return 0;
}

int Execute(const ParsedArgs& parsed, std::ostream& out, std::ostream& err) {
  const std::string& command = parsed.command;
  // Validate every value before touching the database.
  std::optional<BudgetCost> grant;
  if (command == "add-analyst" || command == "grant") {
    std::string dataset = Required(parsed, "--dataset");
    std::optional<Catalog> catalog = ResolveCatalog(parsed);
    const Dataset* entry = catalog ? catalog->FindDataset(dataset) : nullptr;
    if (catalog && entry == nullptr) {
      throw UsageError("--dataset: the catalog has no dataset '" + dataset + "'");
    }
    grant = ParseGrant(parsed, entry);
  }
  int limit = 50;
  if (auto text = Value(parsed, "--limit")) {
    auto value = ParseDecimal(*text);
    if (!value || boost::multiprecision::denominator(*value) != 1 || *value < 1 || *value > kMaxAuditLimit) {
      throw UsageError("--limit expects a whole number from 1 to " + std::to_string(kMaxAuditLimit) + ", got '" +
                       *text + "'");
    }
    limit = static_cast<int>(boost::multiprecision::numerator(*value));
  }

  if (command == "grant-role") return GrantRole(parsed, out);

  Ledger ledger(ResolveDatabase(parsed));
  if (command == "init") {
    ledger.Init();
    out << "The dpql schema is ready (analysts, budgets, ledger, audit, dataset spend, answer cache).\n";
    return 0;
  }
  if (command == "add-analyst") {
    const std::string& name = parsed.positional[0];
    std::string dataset = Required(parsed, "--dataset");
    bool is_admin = Contains(parsed.switches, "--admin");
    std::string token = ledger.AddAnalyst(name, dataset, *grant, is_admin);
    AuditAdminAction(ledger, name, dataset, "add-analyst" + std::string(is_admin ? " --admin" : ""), *grant, err);
    out << "Created " << (is_admin ? "admin analyst '" : "analyst '") << name << "' with " << Describe(*grant)
        << " on dataset '" << dataset << "'.\n"
        << "Bearer token (it will not be shown again; only its hash is stored):\n"
        << token << "\n";
    return 0;
  }
  if (command == "grant") {
    const std::string& name = parsed.positional[0];
    std::string dataset = Required(parsed, "--dataset");
    Budget budget = ledger.Grant(name, dataset, *grant);
    AuditAdminAction(ledger, name, dataset, "grant", *grant, err);
    out << "Granted " << Describe(*grant) << " to '" << name << "' on dataset '" << dataset << "'.\n"
        << "Budget now: epsilon " << budget.total.EpsilonString() << " total, " << budget.spent.EpsilonString()
        << " spent, " << budget.Remaining().EpsilonString() << " remaining; delta "
        << budget.total.DeltaString() << " total, " << budget.spent.DeltaString() << " spent, "
        << budget.Remaining().DeltaString() << " remaining"
        << (budget.total.rho_pico != 0 ? "; rho " + budget.total.RhoString() + " total, " +
                                             budget.spent.RhoString() + " spent, " +
                                             budget.Remaining().RhoString() + " remaining"
                                       : std::string())
        << ".\n";
    return 0;
  }
  if (command == "revoke") {
    const std::string& name = parsed.positional[0];
    if (!ledger.Revoke(name)) {
      out << "Analyst '" << name << "' was already revoked.\n";
      return 0;
    }
    AuditAdminAction(ledger, name, "", "revoke", {}, err);
    out << "Revoked analyst '" << name << "': the token no longer works; budgets and ledger entries are kept.\n";
    return 0;
  }
  if (command == "data-version") {
    const std::string& dataset = parsed.positional[0];
    if (dataset.empty()) throw UsageError("`data-version` needs a non-empty DATASET name");
    bool known = false;
    for (const auto& entry : ledger.List()) {
      for (const auto& budget : entry.budgets) known |= budget.dataset == dataset;
    }
    if (!known) {
      err << "dpqld admin: warning: no analyst has a budget on dataset '" << dataset
          << "'; check the name (bumped anyway)\n";
    }
    int64_t version = AnswerCache(ResolveDatabase(parsed)).BumpDataVersion(dataset);
    AuditAdminAction(ledger, "", dataset, "data-version " + std::to_string(version), {}, err);
    out << "Dataset '" << dataset << "' is now at data version " << version
        << ": cached answers of earlier versions will no longer be served.\n";
    return 0;
  }
  if (command == "list") {
    std::vector<std::vector<std::string>> rows;
    for (const auto& entry : ledger.List()) {
      std::vector<std::string> lead = {entry.analyst.name, entry.analyst.is_admin ? "admin" : "analyst",
                                       entry.analyst.revoked ? "revoked" : "active"};
      if (entry.budgets.empty()) {
        lead.insert(lead.end(), {"-", "", "", "", "", "", "", "", "", ""});
        rows.push_back(lead);
      }
      for (const auto& budget : entry.budgets) {
        std::vector<std::string> row = lead;
        BudgetCost remaining = budget.Remaining();
        row.insert(row.end(), {budget.dataset, budget.total.EpsilonString(), budget.spent.EpsilonString(),
                               remaining.EpsilonString(), budget.total.DeltaString(), budget.spent.DeltaString(),
                               remaining.DeltaString(), budget.total.RhoString(), budget.spent.RhoString(),
                               remaining.RhoString()});
        rows.push_back(row);
      }
    }
    PrintTable(out,
               {"analyst", "role", "status", "dataset", "epsilon total", "epsilon spent", "epsilon remaining",
                "delta total", "delta spent", "delta remaining", "rho total", "rho spent", "rho remaining"},
               {false, false, false, false, true, true, true, true, true, true, true, true, true}, rows);
    return 0;
  }
  if (command == "audit") {
    AuditFilter filter;
    filter.limit = limit;
    filter.analyst_name = Value(parsed, "--analyst");
    filter.dataset = Value(parsed, "--dataset");
    std::vector<std::vector<std::string>> rows;
    for (const auto& record : ledger.Audit(filter)) {
      rows.push_back({std::to_string(record.id), record.at, record.analyst_name, record.source, record.dataset,
                      record.status == 0 ? "" : std::to_string(record.status), record.outcome,
                      record.cost.EpsilonString(), record.cost.DeltaString(),
                      Abbreviate(record.query, kAuditTextWidth), Abbreviate(record.detail, kAuditTextWidth)});
    }
    PrintTable(out,
               {"id", "at", "analyst", "source", "dataset", "status", "outcome", "epsilon", "delta", "query",
                "detail"},
               {true, false, false, false, false, true, false, true, true, false, false}, rows);
    return 0;
  }
  throw UsageError("unknown command '" + command + "'");  // unreachable: Parse() checked it
}

}  // namespace

int RunAdminCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  ParsedArgs parsed;
  try {
    parsed = Parse(args);
    if (parsed.help) {
      out << kUsage;
      return 0;
    }
    return Execute(parsed, out, err);
  } catch (const UsageError& e) {
    err << "dpqld admin: " << e.what() << "\n";
    if (parsed.command.empty() || !Commands().count(parsed.command)) err << "\n" << kUsage;
    return kExitUsage;
  } catch (const DpqlError& e) {
    err << "dpqld admin: " << e.message() << "\n";
    return kExitFailed;
  } catch (const std::exception& e) {
    err << "dpqld admin: unexpected error: " << e.what() << "\n";
    return kExitFailed;
  }
}

}  // namespace dpql
