#include "server/admin_release.h"

#include <memory>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/common/date.h"
#include "compiler/common/error.h"
#include "runtime/engine.h"
#include "runtime/ledger/ledger.h"
#include "runtime/ledger/release_store.h"
#include "runtime/pg/connection_pool.h"
#include "runtime/random/random_source.h"
#include "server/admin_audit.h"
#include "server/admin_table.h"
#include "server/config.h"
#include "server/releases.h"

namespace dpql {

namespace {

using admin::ParsedArgs;
using admin::UsageError;

constexpr int kMaxDaysPerCommand = 3660;

// The releases file and its catalog, from --config.
struct ReleasesSetup {
  ServerConfig config;
  Catalog catalog;
  std::vector<ReleaseDefinition> releases;
};

std::unique_ptr<ReleasesSetup> LoadSetup(const ParsedArgs& parsed) {
  auto config_path = admin::Value(parsed, "--config");
  if (!config_path) {
    throw UsageError("`release " + parsed.positional[0] +
                     "` needs --config FILE: the server's config names the catalog and the releases file");
  }
  auto setup = std::make_unique<ReleasesSetup>();
  setup->config = LoadServerConfig(*config_path);
  setup->catalog = LoadCatalog(admin::Value(parsed, "--catalog").value_or(setup->config.catalog));
  if (setup->config.releases.empty()) {
    throw DpqlError(ErrorCode::kConfigError,
                    "config " + *config_path +
                        " has no `releases` key: it names no releases file (docs/OPERATIONS.md, "
                        "\"The releases file\")");
  }
  setup->releases = LoadReleases(setup->config.releases, setup->catalog);
  return setup;
}

int Grant(const ParsedArgs& parsed, const std::string& database, const BudgetCost& grant, std::ostream& out,
          std::ostream& err) {
  const std::string dataset = admin::Required(parsed, "--dataset");
  ReleaseAccount account = ReleaseStore(database).Grant(dataset, grant);
  Ledger ledger(database);
  AuditAdminAction(ledger, "", dataset, "release grant",
                   "granted " + DescribeBudget(grant) + " to the release account", err);
  out << "Granted " << DescribeBudget(grant) << " to the release account of dataset '" << dataset << "'.\n"
      << "Release account now: " << DescribeBudget(account.total) << " total; "
      << DescribeBudget(account.spent) << " spent; " << DescribeBudget(account.Remaining())
      << " remaining.\n";
  return 0;
}

// The days of --day, or --from..--to.
std::vector<std::string> Days(const ParsedArgs& parsed) {
  auto day = admin::Value(parsed, "--day");
  auto from = admin::Value(parsed, "--from");
  auto to = admin::Value(parsed, "--to");
  auto parse = [](const std::string& flag, const std::string& text) {
    std::optional<int64_t> days = text.size() == 10 ? ParseDate(text) : std::nullopt;
    if (!days) throw UsageError(flag + " expects a day YYYY-MM-DD, got '" + text + "'");
    return *days;
  };
  if (day && !from && !to) return {FormatDate(parse("--day", *day))};
  if (!day && from && to) {
    const int64_t first = parse("--from", *from), last = parse("--to", *to);
    if (last < first) throw UsageError("--to " + *to + " is before --from " + *from);
    if (last - first >= kMaxDaysPerCommand) {
      throw UsageError("--from/--to span more than " + std::to_string(kMaxDaysPerCommand) +
                       " days; split it");
    }
    std::vector<std::string> out;
    for (int64_t d = first; d <= last; ++d) out.push_back(FormatDate(d));
    return out;
  }
  throw UsageError("`release run NAME` needs --day D, or --from D1 --to D2 (both), not a mix");
}

int Run(const ParsedArgs& parsed, const std::string& database, std::ostream& out, std::ostream& err) {
  if (parsed.positional.size() < 2)
    throw UsageError("`release run` needs a release NAME; `release list` shows them");
  const std::string& name = parsed.positional[1];
  std::vector<std::string> days = Days(parsed);
  std::unique_ptr<ReleasesSetup> setup = LoadSetup(parsed);
  const ReleaseDefinition* release = FindRelease(setup->releases, name);
  if (release == nullptr) {
    throw DpqlError(ErrorCode::kUnknownRelease, "no release named '" + name + "' in " +
                                                    setup->config.releases + "; `dpqld admin --config " +
                                                    *admin::Value(parsed, "--config") +
                                                    " release list` shows them");
  }
  ConnectionPool pool(database, 2);
  Engine engine(setup->catalog, pool, std::make_unique<SecureRandom>(), setup->config.statement_timeout_ms);
  int failed = 0;
  for (const std::string& day : days) {
    try {
      ReleaseRunOutcome outcome = engine.RunRelease(MakeReleaseRun(*release, day, "admin"));
      out << release->name << " " << release->parameter.name << "=" << day << ": ";
      switch (outcome.state) {
        case ReleaseRunOutcome::State::kPublished:
          out << "published; paid " << DescribeBudget(outcome.cost) << " from the release account (ledger "
              << outcome.ledger_id << ")\n";
          break;
        case ReleaseRunOutcome::State::kCompleted:
          out << "published; completed a run paid earlier (ledger " << outcome.ledger_id
              << "), not paid again\n";
          break;
        case ReleaseRunOutcome::State::kAlreadyPublished:
          out << "already published (ledger " << outcome.ledger_id << "); nothing spent\n";
          break;
        case ReleaseRunOutcome::State::kLostRace:
          out << "published concurrently by another run; nothing spent\n";
          break;
      }
    } catch (const DpqlError& e) {
      ++failed;
      err << "dpqld admin: " << release->name << " " << release->parameter.name << "=" << day << ": "
          << Name(e.code()) << ": " << e.message() << "\n";
      if (e.code() == ErrorCode::kReleaseAccountExhausted || e.code() == ErrorCode::kDatasetBudgetExhausted)
        break;
    }
  }
  return failed == 0 ? 0 : 1;
}

int List(const ParsedArgs& parsed, const std::string& database, std::ostream& out) {
  std::unique_ptr<ReleasesSetup> setup = LoadSetup(parsed);
  ReleaseStore store(database);
  std::vector<std::vector<std::string>> rows;
  for (const ReleaseDefinition& release : setup->releases) {
    std::optional<ReleaseRunRow> latest = store.Latest(release.name);
    rows.push_back({release.name, release.dataset, release.cost.EpsilonString(), release.cost.DeltaString(),
                    DescribeSchedule(release.schedule), latest ? latest->day : "-",
                    latest ? latest->published_at : ""});
  }
  admin::PrintTable(out, {"release", "dataset", "epsilon", "delta", "schedule", "latest day", "published at"},
                    {false, false, true, true, false, false, false}, rows);
  out << "\n";
  rows.clear();
  for (const ReleaseAccount& account : store.Accounts()) {
    const BudgetCost left = account.Remaining();
    rows.push_back({account.dataset, account.total.EpsilonString(), account.spent.EpsilonString(),
                    left.EpsilonString(), account.total.DeltaString(), account.spent.DeltaString(),
                    left.DeltaString()});
  }
  admin::PrintTable(out,
                    {"release account", "epsilon total", "epsilon spent", "epsilon remaining", "delta total",
                     "delta spent", "delta remaining"},
                    {false, true, true, true, true, true, true}, rows);
  return 0;
}

}  // namespace

int RunReleaseAdmin(const ParsedArgs& parsed, const std::string& database,
                    const std::optional<BudgetCost>& grant, std::ostream& out, std::ostream& err) {
  const std::string& action = parsed.positional[0];
  if (action == "grant") {
    if (parsed.positional.size() > 1) throw UsageError("`release grant` takes no NAME; give --dataset D");
    return Grant(parsed, database, *grant, out, err);
  }
  if (action == "run") return Run(parsed, database, out, err);
  if (action == "list") {
    if (parsed.positional.size() > 1) throw UsageError("`release list` takes no NAME");
    return List(parsed, database, out);
  }
  throw UsageError("unknown release action '" + action + "'; use grant, run or list");
}

}  // namespace dpql
