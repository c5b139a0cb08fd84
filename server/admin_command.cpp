// `dpqld admin ...`: the data guardian's commands for analysts, budgets and
// the audit log. Everything goes through runtime/ledger.
//
// Exit status: 0 success; 1 the command could not be carried out (database
// unreachable or not initialised, unknown analyst, duplicate name, unreadable
// config); 2 the command line is wrong (unknown subcommand or flag, missing or
// malformed value).

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/common/date.h"
#include "compiler/common/error.h"
#include "compiler/common/rational.h"
#include "compiler/common/zcdp.h"
#include "runtime/cache/answer_cache.h"
#include "runtime/ledger/ledger.h"
#include "runtime/ledger/projects.h"
#include "runtime/ledger/role_grants.h"
#include "runtime/pg/declarations.h"
#include "runtime/pg/fan_out.h"
#include "server/admin_args.h"
#include "server/admin_audit.h"
#include "server/admin_release.h"
#include "server/admin_table.h"
#include "server/commands.h"
#include "server/config.h"

namespace dpql {
namespace {

using admin::Abbreviate;
using admin::Commands;
using admin::Contains;
using admin::Parse;
using admin::ParseAmount;
using admin::ParsedArgs;
using admin::PrintTable;
using admin::Required;
using admin::UsageError;
using admin::Value;  // hides dpql::Value (a result cell) in this file

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kMaxAuditLimit = 100000;
constexpr size_t kAuditTextWidth = 60;

constexpr const char* kUsage =
    R"(usage: dpqld admin [--database URL | --config FILE] [--catalog FILE] COMMAND [ARGS]

commands:
  init                          create or upgrade the dpql schema and tables (safe to rerun)
  add-analyst NAME --dataset D (--epsilon E [--delta D] | --rho R) [--admin]
                                create an analyst with a budget; prints the token once
  grant NAME --dataset D (--epsilon E [--delta D] | --rho R)
                                add to an analyst's budget on a dataset
  revoke NAME                   revoke the analyst's token (budgets and ledger stay)
  new-token NAME                replace an analyst's token (the old one stops working;
                                budgets and ledger stay); prints the new token once.
                                Analysts created before schema version 5 need one to
                                log in over the PostgreSQL wire protocol (SCRAM)
  list                          analysts with total, spent and remaining budget
  audit [--limit N] [--analyst NAME] [--dataset D]
                                newest audit entries first (default 50)
  grant-role ROLE --catalog FILE [--dataset D] [--guardian-console] [--print]
                                give the PostgreSQL role dpqld connects as exactly
                                what it needs: SELECT on the catalog's tables, the
                                dpql schema's ledger writes, nothing else (revokes
                                the rest in those schemas; safe to rerun). Run as a
                                superuser or the tables' owner; --print shows the SQL;
                                --guardian-console also lets dpqld make the console's
                                guardian-page changes (projects, budget requests)
  check --catalog FILE [--dataset D]
                                verify the catalog's declarations against the data:
                                unique keys (the bounds derived from them rest on
                                them; exit status 1 when one is false), bounds and
                                value lists (values outside them are clamped or in
                                no group)
  add-server NAME --host H --port P --dbname D [--user U] [--for-role ROLE]
                                declare a shard or a federated site NAME (a foreign
                                server of this database; the password, if any, from
                                DPQL_SERVER_PASSWORD; the user mapping and grants for
                                ROLE, dpqld's role, default the current one) and
                                install dpql.fan_out
  distribute --catalog FILE [--dataset D]
                                copy a sharded dataset's tables to its shards: rows
                                of private tables by a hash of the privacy unit,
                                public tables whole, views and indexes re-created
  data-version DATASET          bump the dataset's data version after its data
                                changed: cached answers of older versions are
                                no longer served
  release grant --dataset D (--epsilon E [--delta D] | --rho R)
                                add to the dataset's release account, which pays
                                for releases (docs/OPERATIONS.md, "Releases")
  release run NAME (--day D | --from D1 --to D2) --config FILE
                                run a release for a day or each day of a range:
                                paid once per day, then served free; a day run
                                before is not paid again
  release list --config FILE    the releases file's releases, their cost and
                                latest run, and each release account

research projects (docs/OPERATIONS.md, "Research projects"):
  project create NAME --dataset D (--epsilon E [--delta D] | --rho R)
          --start YYYY-MM-DD --end YYYY-MM-DD [--renew day|week|month|year]
                                a project paying its members' queries from --start
                                through the --end day; with --renew the budget is
                                granted anew each calendar period (UTC)
  project add-member PROJECT ANALYST
  project remove-member PROJECT ANALYST
  project extend PROJECT [--end YYYY-MM-DD] [--epsilon E [--delta D] | --rho R]
                                a later last day and/or more budget (per period)
  project close PROJECT         it pays for no more queries
  project list                  projects, budgets, spent this period, members
  request list [--pending]      analysts' budget requests, newest first
  request approve ID            adds exactly the amount asked, in the same transaction
  request decline ID --reason TEXT
                                changes no budget

database: --database URL, else --config FILE (YAML key `database`), else
$DPQL_DATABASE, else the libpq environment (PGHOST, PGPORT, PGUSER, ...).
epsilon is counted in multiples of 0.000001, delta and rho in multiples of 1e-12.
zCDP datasets (catalog `accounting: zcdp`, read from --catalog or the config's
`catalog`) keep budgets in rho: --rho R grants R; --epsilon E [--delta D]
grants the largest rho that implies (E, D)-DP (D defaults to the dataset's
defaults.delta).
exit status: 0 ok, 1 the command failed, 2 the command line is wrong.
)";

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
      throw DpqlError(
          ErrorCode::kConfigError,
          "config " + *config + " has no `database` key; add e.g. `database: postgresql:///hospital`");
    }
    return root["database"].as<std::string>();
  }
  if (const char* env = std::getenv("DPQL_DATABASE"); env != nullptr && *env != '\0') return env;
  return "";
}

// A grant is not a cost: the cost columns stay zero, the amount goes in detail.
void AuditAdminChange(Ledger& ledger, const std::string& analyst, const std::string& dataset,
                      const std::string& action, const BudgetCost& amount, std::ostream& err) {
  const bool granted = amount.epsilon_micro != 0 || amount.delta_pico != 0 || amount.rho_pico != 0;
  AuditAdminAction(ledger, analyst, dataset, action, granted ? "granted " + DescribeBudget(amount) : "", err);
}

// `grant-role ROLE --catalog FILE [--dataset D] [--print]`: the tables of the
// dataset (or of every dataset) are all the role may read.
int GrantRole(const ParsedArgs& parsed, std::ostream& out) {
  const std::string& role = parsed.positional[0];
  if (role.empty()) throw UsageError("`grant-role` needs a non-empty ROLE name");
  if (!Value(parsed, "--catalog")) {
    throw UsageError(
        "`grant-role` needs --catalog FILE: its tables are the only ones the role may read; usage: "
        "dpqld admin " +
        std::string(Commands().at("grant-role").synopsis));
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
  const bool guardian_console = Contains(parsed.switches, "--guardian-console");
  std::vector<std::string> statements = RoleGrantStatements(database, role, tables, guardian_console);
  if (Contains(parsed.switches, "--print")) {
    out << "BEGIN;\n";
    for (const std::string& statement : statements) out << statement << ";\n";
    out << "COMMIT;\n";
    return 0;
  }
  ApplyRoleGrants(database, statements);
  out << "Role '" << role << "' may now read " << tables.size() << (tables.size() == 1 ? " table" : " tables")
      << " of the catalog and write the dpql ledger, audit, answer cache and release runs; its other "
         "privileges in those schemas were revoked.\n"
      << (guardian_console ? "It may also make the guardian page's changes: create projects, add and remove "
                             "members, decide budget requests.\n"
                           : "");
  return 0;
}

// One subcommand's command line, checked before the database is touched.
struct Invocation {
  const ParsedArgs& parsed;
  std::optional<BudgetCost> grant;  // add-analyst and grant: the amount
  int limit = 50;                   // audit: how many entries
  std::ostream& out;
  std::ostream& err;
};

// Validates every value before touching the database.
Invocation Check(const ParsedArgs& parsed, std::ostream& out, std::ostream& err) {
  Invocation invocation{parsed, std::nullopt, 50, out, err};
  const std::string& command = parsed.command;
  if (command == "project create") {
    std::string dataset = Required(parsed, "--dataset");
    std::optional<Catalog> catalog = ResolveCatalog(parsed);
    const Dataset* entry = catalog ? catalog->FindDataset(dataset) : nullptr;
    if (catalog && entry == nullptr)
      throw UsageError("--dataset: the catalog has no dataset '" + dataset + "'");
    invocation.grant = ParseGrant(parsed, entry);
  }
  if (command == "project extend" &&
      (Value(parsed, "--epsilon") || Value(parsed, "--rho") || Value(parsed, "--delta"))) {
    if (!Value(parsed, "--epsilon") && !Value(parsed, "--rho")) {
      throw UsageError("--delta adds to a project's budget only with --epsilon; usage: dpqld admin " +
                       std::string(Commands().at(command).synopsis));
    }
    invocation.grant = ParseGrant(parsed, nullptr);
  }
  if (command == "add-analyst" || command == "grant" ||
      (command == "release" && !parsed.positional.empty() && parsed.positional[0] == "grant")) {
    std::string dataset = Required(parsed, "--dataset");
    std::optional<Catalog> catalog = ResolveCatalog(parsed);
    const Dataset* entry = catalog ? catalog->FindDataset(dataset) : nullptr;
    if (catalog && entry == nullptr) {
      throw UsageError("--dataset: the catalog has no dataset '" + dataset + "'");
    }
    invocation.grant = ParseGrant(parsed, entry);
  }
  if (auto text = Value(parsed, "--limit")) {
    auto value = ParseDecimal(*text);
    if (!value || boost::multiprecision::denominator(*value) != 1 || *value < 1 || *value > kMaxAuditLimit) {
      throw UsageError("--limit expects a whole number from 1 to " + std::to_string(kMaxAuditLimit) +
                       ", got '" + *text + "'");
    }
    invocation.limit = static_cast<int>(boost::multiprecision::numerator(*value));
  }
  return invocation;
}

int Init(const Invocation& run, Ledger& ledger) {
  ledger.Init();
  run.out << "The dpql schema is ready (analysts, budgets, ledger, audit, dataset spend, answer cache).\n";
  return 0;
}

int AddAnalyst(const Invocation& run, Ledger& ledger) {
  const std::string& name = run.parsed.positional[0];
  std::string dataset = Required(run.parsed, "--dataset");
  bool is_admin = Contains(run.parsed.switches, "--admin");
  std::string token = ledger.AddAnalyst(name, dataset, *run.grant, is_admin);
  AuditAdminChange(ledger, name, dataset, "add-analyst" + std::string(is_admin ? " --admin" : ""), *run.grant,
                   run.err);
  run.out << "Created " << (is_admin ? "admin analyst '" : "analyst '") << name << "' with "
          << DescribeBudget(*run.grant) << " on dataset '" << dataset << "'.\n"
          << "Bearer token (it will not be shown again; only its hash is stored):\n"
          << token << "\n";
  return 0;
}

int Grant(const Invocation& run, Ledger& ledger) {
  const std::string& name = run.parsed.positional[0];
  std::string dataset = Required(run.parsed, "--dataset");
  Budget budget = ledger.Grant(name, dataset, *run.grant);
  AuditAdminChange(ledger, name, dataset, "grant", *run.grant, run.err);
  run.out << "Granted " << DescribeBudget(*run.grant) << " to '" << name << "' on dataset '" << dataset
          << "'.\n"
          << "Budget now: epsilon " << budget.total.EpsilonString() << " total, "
          << budget.spent.EpsilonString() << " spent, " << budget.Remaining().EpsilonString()
          << " remaining; delta " << budget.total.DeltaString() << " total, " << budget.spent.DeltaString()
          << " spent, " << budget.Remaining().DeltaString() << " remaining"
          << (budget.total.rho_pico != 0
                  ? "; rho " + budget.total.RhoString() + " total, " + budget.spent.RhoString() + " spent, " +
                        budget.Remaining().RhoString() + " remaining"
                  : std::string())
          << ".\n";
  return 0;
}

int Revoke(const Invocation& run, Ledger& ledger) {
  const std::string& name = run.parsed.positional[0];
  if (!ledger.Revoke(name)) {
    run.out << "Analyst '" << name << "' was already revoked.\n";
    return 0;
  }
  AuditAdminChange(ledger, name, "", "revoke", {}, run.err);
  run.out << "Revoked analyst '" << name
          << "': the token no longer works; budgets and ledger entries are kept.\n";
  return 0;
}

int ReplaceToken(const Invocation& run, Ledger& ledger) {
  const std::string& name = run.parsed.positional[0];
  std::string token = ledger.NewToken(name);
  AuditAdminChange(ledger, name, "", "new-token", {}, run.err);
  run.out << "Replaced the token of analyst '" << name << "': the old token no longer works.\n"
          << "Bearer token (it will not be shown again; only its hash is stored):\n"
          << token << "\n";
  return 0;
}

int DataVersion(const Invocation& run, Ledger& ledger) {
  const std::string& dataset = run.parsed.positional[0];
  if (dataset.empty()) throw UsageError("`data-version` needs a non-empty DATASET name");
  bool known = false;
  for (const auto& entry : ledger.List()) {
    for (const auto& budget : entry.budgets) known |= budget.dataset == dataset;
  }
  if (!known) {
    run.err << "dpqld admin: warning: no analyst has a budget on dataset '" << dataset
            << "'; check the name (bumped anyway)\n";
  }
  int64_t version = AnswerCache(ResolveDatabase(run.parsed)).BumpDataVersion(dataset);
  AuditAdminChange(ledger, "", dataset, "data-version " + std::to_string(version), {}, run.err);
  run.out << "Dataset '" << dataset << "' is now at data version " << version
          << ": cached answers of earlier versions will no longer be served.\n";
  return 0;
}

int List(const Invocation& run, Ledger& ledger) {
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
                             remaining.EpsilonString(), budget.total.DeltaString(),
                             budget.spent.DeltaString(), remaining.DeltaString(), budget.total.RhoString(),
                             budget.spent.RhoString(), remaining.RhoString()});
      rows.push_back(row);
    }
  }
  PrintTable(run.out,
             {"analyst", "role", "status", "dataset", "epsilon total", "epsilon spent", "epsilon remaining",
              "delta total", "delta spent", "delta remaining", "rho total", "rho spent", "rho remaining"},
             {false, false, false, false, true, true, true, true, true, true, true, true, true}, rows);
  return 0;
}

int Audit(const Invocation& run, Ledger& ledger) {
  AuditFilter filter;
  filter.limit = run.limit;
  filter.analyst_name = Value(run.parsed, "--analyst");
  filter.dataset = Value(run.parsed, "--dataset");
  std::vector<std::vector<std::string>> rows;
  for (const auto& record : ledger.Audit(filter)) {
    rows.push_back({std::to_string(record.id), record.at, record.analyst_name, record.source, record.dataset,
                    record.status == 0 ? "" : std::to_string(record.status), record.outcome,
                    record.cost.EpsilonString(), record.cost.DeltaString(),
                    Abbreviate(record.query, kAuditTextWidth), Abbreviate(record.detail, kAuditTextWidth)});
  }
  PrintTable(run.out,
             {"id", "at", "analyst", "source", "dataset", "status", "outcome", "epsilon", "delta", "query",
              "detail"},
             {true, false, false, false, false, true, false, true, true, false, false}, rows);
  return 0;
}

// A --start or --end day: YYYY-MM-DD (UTC).
int64_t ParseDay(const ParsedArgs& parsed, const std::string& flag) {
  const std::string text = Required(parsed, flag);
  std::optional<int64_t> day = ParseDate(text);
  if (!day) throw UsageError(flag + " expects a date YYYY-MM-DD, got '" + text + "'");
  return *day;
}

std::string DescribeProject(const Project& project) {
  std::string text = DescribeBudget(project.total);
  if (project.renew != BudgetPeriod::kNone) text += " per " + PeriodName(project.renew);
  return text + " on dataset '" + project.dataset + "', from " + FormatDate(DayOf(project.starts_at)) +
         " through " + project.LastDay();
}

int ProjectCreate(const Invocation& run, ProjectLedger& projects) {
  ProjectSpec spec;
  spec.name = run.parsed.positional[0];
  spec.dataset = Required(run.parsed, "--dataset");
  spec.budget = *run.grant;
  spec.starts_at = StartOfDay(ParseDay(run.parsed, "--start"));
  // --end names the last day the project pays for: it ends at the next midnight.
  spec.ends_at = StartOfDay(ParseDay(run.parsed, "--end") + 1);
  if (auto renew = Value(run.parsed, "--renew")) {
    std::optional<BudgetPeriod> period = ParsePeriod(*renew);
    if (!period) throw UsageError("--renew expects day, week, month or year, got '" + *renew + "'");
    spec.renew = *period;
  }
  Project project = projects.Create(spec, SystemClock().Now());
  run.out << "Created project '" << project.name << "': " << DescribeProject(project) << ".\n"
          << "Add its members with `dpqld admin project add-member " << project.name << " ANALYST`.\n";
  return 0;
}

int ProjectAddMember(const Invocation& run, ProjectLedger& projects) {
  const std::string& project = run.parsed.positional[0];
  const std::string& analyst = run.parsed.positional[1];
  if (projects.AddMember(project, analyst)) {
    run.out << "Analyst '" << analyst << "' is now a member of project '" << project << "'.\n";
  } else {
    run.out << "Analyst '" << analyst << "' was already a member of project '" << project << "'.\n";
  }
  return 0;
}

int ProjectRemoveMember(const Invocation& run, ProjectLedger& projects) {
  const std::string& project = run.parsed.positional[0];
  const std::string& analyst = run.parsed.positional[1];
  if (projects.RemoveMember(project, analyst)) {
    run.out << "Analyst '" << analyst << "' is no longer a member of project '" << project
            << "'; their past queries stay in the ledger.\n";
  } else {
    run.out << "Analyst '" << analyst << "' was not a member of project '" << project << "'.\n";
  }
  return 0;
}

int ProjectExtend(const Invocation& run, ProjectLedger& projects) {
  const std::string& name = run.parsed.positional[0];
  std::optional<TimePoint> ends_at;
  if (Value(run.parsed, "--end")) ends_at = StartOfDay(ParseDay(run.parsed, "--end") + 1);
  if (!ends_at && !run.grant) {
    throw UsageError("`project extend` needs --end and/or --epsilon/--rho; usage: dpqld admin " +
                     std::string(Commands().at("project extend").synopsis));
  }
  Project project = projects.Extend(name, ends_at, run.grant.value_or(BudgetCost{}), SystemClock().Now());
  run.out << "Project '" << project.name << "' now: " << DescribeProject(project) << ".\n";
  return 0;
}

int ProjectClose(const Invocation& run, ProjectLedger& projects) {
  const std::string& name = run.parsed.positional[0];
  if (!projects.Close(name, SystemClock().Now())) {
    run.out << "Project '" << name << "' was already closed.\n";
    return 0;
  }
  run.out << "Closed project '" << name << "': it pays for no more queries; its ledger rows stay.\n";
  return 0;
}

int ProjectList(const Invocation& run, ProjectLedger& projects) {
  const TimePoint now = SystemClock().Now();
  std::vector<std::vector<std::string>> rows;
  for (const Project& p : projects.List(now)) {
    std::string members;
    for (const std::string& member : p.members) members += (members.empty() ? "" : ", ") + member;
    const BudgetCost left = p.Remaining();
    rows.push_back({p.name, p.dataset,
                    p.closed_at         ? "closed"
                    : now < p.starts_at ? "not started"
                    : now >= p.ends_at  ? "ended"
                                        : "open",
                    FormatDate(DayOf(p.starts_at)), p.LastDay(),
                    p.renew == BudgetPeriod::kNone ? "-" : PeriodName(p.renew),
                    p.RenewsOn().empty() ? "-" : p.RenewsOn(), p.total.EpsilonString(),
                    p.spent.EpsilonString(), left.EpsilonString(), p.total.DeltaString(),
                    p.spent.DeltaString(), p.total.RhoString(), p.spent.RhoString(),
                    Abbreviate(members, kAuditTextWidth)});
  }
  PrintTable(
      run.out,
      {"project", "dataset", "status", "starts", "last day", "renew", "renews on", "epsilon total",
       "epsilon spent", "epsilon remaining", "delta total", "delta spent", "rho total", "rho spent",
       "members"},
      {false, false, false, false, false, false, false, true, true, true, true, true, true, true, false},
      rows);
  return 0;
}

int64_t ParseRequestId(const std::string& text) {
  auto value = ParseDecimal(text);
  if (!value || boost::multiprecision::denominator(*value) != 1 || *value < 1 || *value > INT64_MAX) {
    throw UsageError("a request ID is a whole number (see `dpqld admin request list`), got '" + text + "'");
  }
  return static_cast<int64_t>(boost::multiprecision::numerator(*value));
}

int RequestList(const Invocation& run, ProjectLedger& projects) {
  std::vector<std::vector<std::string>> rows;
  for (const BudgetRequest& r : projects.Requests(std::nullopt, Contains(run.parsed.switches, "--pending"))) {
    rows.push_back({std::to_string(r.id), r.filed_at, r.analyst, r.project.empty() ? "-" : r.project,
                    r.dataset, r.amount.EpsilonString(), r.amount.DeltaString(), r.amount.RhoString(),
                    r.status, Abbreviate(r.justification, kAuditTextWidth),
                    Abbreviate(r.decided_by.empty() ? "" : r.decided_by + ": " + r.reason, kAuditTextWidth)});
  }
  PrintTable(run.out,
             {"id", "filed", "analyst", "project", "dataset", "epsilon", "delta", "rho", "status",
              "justification", "decision"},
             {true, false, false, false, false, true, true, true, false, false, false}, rows);
  return 0;
}

// Who decided: the operating-system user running `dpqld admin`.
std::string Decider() {
  const char* user = std::getenv("USER");
  return user != nullptr && *user != '\0' ? std::string(user) : "admin";
}

int RequestApprove(const Invocation& run, ProjectLedger& projects) {
  BudgetRequest r =
      projects.Approve(ParseRequestId(run.parsed.positional[0]), Decider(), SystemClock().Now());
  run.out << "Approved request " << r.id << ": added " << DescribeBudget(r.amount) << " to "
          << (r.project.empty() ? "analyst '" + r.analyst + "''s budget on dataset '" + r.dataset + "'"
                                : "project '" + r.project + "'")
          << ".\n";
  return 0;
}

int RequestDecline(const Invocation& run, ProjectLedger& projects) {
  const std::string reason = Required(run.parsed, "--reason");
  BudgetRequest r =
      projects.Decline(ParseRequestId(run.parsed.positional[0]), Decider(), reason, SystemClock().Now());
  run.out << "Declined request " << r.id << " of analyst '" << r.analyst << "'; no budget changed.\n";
  return 0;
}

using ProjectCommand = int (*)(const Invocation&, ProjectLedger&);
const std::map<std::string, ProjectCommand>& ProjectCommands() {
  static const std::map<std::string, ProjectCommand> commands = {
      {"project create", ProjectCreate},
      {"project add-member", ProjectAddMember},
      {"project remove-member", ProjectRemoveMember},
      {"project extend", ProjectExtend},
      {"project close", ProjectClose},
      {"project list", ProjectList},
      {"request list", RequestList},
      {"request approve", RequestApprove},
      {"request decline", RequestDecline},
  };
  return commands;
}

// The subcommands that work on the ledger (grant-role works on the catalog's
// tables instead), by name; Parse() has checked the name is one of Commands().
using LedgerCommand = int (*)(const Invocation&, Ledger&);
const std::map<std::string, LedgerCommand>& LedgerCommands() {
  static const std::map<std::string, LedgerCommand> commands = {
      {"init", Init},     {"add-analyst", AddAnalyst},   {"grant", Grant},
      {"revoke", Revoke}, {"new-token", ReplaceToken},   {"list", List},
      {"audit", Audit},   {"data-version", DataVersion},
  };
  return commands;
}

// `check`: each declaration of the catalog against the data, as a table.
int CheckCatalog(const ParsedArgs& parsed, std::ostream& out) {
  std::optional<Catalog> catalog = ResolveCatalog(parsed);
  if (!catalog) {
    throw UsageError("`check` needs --catalog FILE (or --config FILE naming one); usage: dpqld admin " +
                     std::string(Commands().at("check").synopsis));
  }
  std::vector<const Dataset*> datasets;
  if (auto name = Value(parsed, "--dataset")) {
    const Dataset* entry = catalog->FindDataset(*name);
    if (entry == nullptr) throw UsageError("--dataset: the catalog has no dataset '" + *name + "'");
    datasets.push_back(entry);
  } else {
    for (const Dataset& entry : catalog->datasets) datasets.push_back(&entry);
  }
  const std::string database = ResolveDatabase(parsed);
  std::vector<std::vector<std::string>> rows;
  int false_keys = 0;
  for (const Dataset* dataset : datasets) {
    for (const DeclarationFinding& finding : CheckDeclarations(database, *dataset)) {
      std::string result = "holds";
      if (finding.count > 0) {
        const std::string n = std::to_string(finding.count);
        switch (finding.kind) {
          case DeclarationFinding::Kind::kUnique:
            result = "FALSE: " + n + " combinations of values in more than one row";
            break;
          case DeclarationFinding::Kind::kBounds: result = n + " values outside (clamped)"; break;
          case DeclarationFinding::Kind::kDomain: result = n + " values not in it (in no group)"; break;
        }
      }
      if (finding.violates_guarantee()) ++false_keys;
      rows.push_back({dataset->name + "." + finding.table, finding.declaration, result});
    }
  }
  PrintTable(out, {"table", "declaration", "result"}, {false, false, false}, rows);
  if (false_keys > 0) {
    out << false_keys << (false_keys == 1 ? " unique key is" : " unique keys are")
        << " false: the bounds DPQL derives from them would not hold. Remove the key from the catalog "
           "(or correct the data) and restart dpqld before analysts query these tables.\n";
    return kExitFailed;
  }
  out << "Every unique key holds.\n";
  return 0;
}

// `add-server`: a shard or federated site, as a foreign server of the database.
int AddServerCommand(const ParsedArgs& parsed, std::ostream& out) {
  ServerOptions options;
  options.name = parsed.positional.at(0);
  auto required = [&](const char* flag) {
    auto value = Value(parsed, flag);
    if (!value || value->empty()) {
      throw UsageError(std::string("`add-server` needs ") + flag + "; usage: dpqld admin " +
                       Commands().at("add-server").synopsis);
    }
    return *value;
  };
  options.host = required("--host");
  options.port = required("--port");
  options.dbname = required("--dbname");
  options.user = Value(parsed, "--user").value_or("");
  options.for_role = Value(parsed, "--for-role").value_or("");
  if (const char* password = std::getenv("DPQL_SERVER_PASSWORD")) options.password = password;
  for (const std::string& step : AddServer(ResolveDatabase(parsed), options)) out << step << "\n";
  return 0;
}

// `distribute`: a sharded dataset's tables, from this database to its shards.
int DistributeCommand(const ParsedArgs& parsed, std::ostream& out) {
  std::optional<Catalog> catalog = ResolveCatalog(parsed);
  if (!catalog) {
    throw UsageError("`distribute` needs --catalog FILE (or --config FILE naming one); usage: dpqld admin " +
                     std::string(Commands().at("distribute").synopsis));
  }
  const std::string database = ResolveDatabase(parsed);
  int distributed = 0;
  for (const Dataset& dataset : catalog->datasets) {
    if (auto name = Value(parsed, "--dataset"); name && *name != dataset.name) continue;
    if (dataset.placement.kind != Placement::kSharded && !Value(parsed, "--dataset")) continue;
    for (const std::string& step : Distribute(database, dataset)) out << dataset.name << ": " << step << "\n";
    ++distributed;
  }
  if (distributed == 0) {
    throw UsageError("no dataset to distribute: declare its shards in the catalog ('shards: [shard_1, ...]') "
                     "or name one with --dataset");
  }
  return 0;
}

int Execute(const ParsedArgs& parsed, std::ostream& out, std::ostream& err) {
  Invocation invocation = Check(parsed, out, err);
  if (parsed.command == "add-server") return AddServerCommand(parsed, out);
  if (parsed.command == "distribute") return DistributeCommand(parsed, out);
  if (parsed.command == "grant-role") return GrantRole(parsed, out);
  if (parsed.command == "check") return CheckCatalog(parsed, out);
  if (auto project_command = ProjectCommands().find(parsed.command);
      project_command != ProjectCommands().end()) {
    ProjectLedger projects(ResolveDatabase(parsed));
    return project_command->second(invocation, projects);
  }
  if (parsed.command == "release")
    return RunReleaseAdmin(parsed, ResolveDatabase(parsed), invocation.grant, out, err);
  auto command = LedgerCommands().find(parsed.command);
  if (command == LedgerCommands().end()) {
    throw UsageError("unknown command '" + parsed.command + "'");  // unreachable: Parse() checked it
  }
  Ledger ledger(ResolveDatabase(parsed));
  return command->second(invocation, ledger);
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
