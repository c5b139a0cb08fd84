// `dpqld serve --config FILE [--listen HOST:PORT] [--database URL] [--replica URL]`.

#include <cstdlib>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/common/clock.h"
#include "compiler/common/error.h"
#include "compiler/common/flags.h"
#include "runtime/engine.h"
#include "runtime/ledger/ledger.h"
#include "runtime/pg/connection_pool.h"
#include "runtime/pg/readiness.h"
#include "runtime/random/random_source.h"
#include "server/commands.h"
#include "server/config.h"
#include "server/console.h"
#include "server/dashboards.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/release_scheduler.h"
#include "server/releases.h"
#include "server/router.h"

namespace dpql {

namespace {

constexpr const char* kServeUsage =
    "usage: dpqld serve --config FILE [--listen HOST:PORT] [--listen-pg HOST:PORT] [--database URL]\n"
    "                   [--replica URL] [--console-dir DIR] [--test-clock FILE]\n"
    "  --config FILE       the server's YAML configuration (docs/OPERATIONS.md, \"Configuration\")\n"
    "  --listen HOST:PORT  overrides `listen` (port 0 picks a free port)\n"
    "  --listen-pg HOST:PORT\n"
    "                      serves the PostgreSQL protocol there (overrides `listen_pg`; 0 picks a port)\n"
    "  --database URL      overrides `database` (a libpq URL or connection string)\n"
    "  --replica URL       overrides `replica`: a streaming read replica of `database` that the data\n"
    "                      queries run on; debits, the answer cache and the audit stay on `database`\n"
    "  --console-dir DIR   overrides `console_dir` (the web console's files, from scripts/console-build)\n"
    "  --test-clock FILE   for tests only: read the time from FILE (one line YYYY-MM-DDTHH:MM:SSZ) on\n"
    "                      every use, so a test can move the server's time (schedules, end dates, periods)\n"
    "Without `database` in either place, $DPQL_DATABASE, else the libpq environment (PGHOST, ...).\n";

// The command line of `dpqld serve`.
struct ServeArgs {
  std::string config_path;
  std::optional<std::string> listen, listen_pg, database, replica, console_dir, test_clock;
};

// Reads the command line into `parsed`; the exit status when the command ends
// here (--help, or a wrong command line, told on `err`).
std::optional<int> ReadServeArgs(const std::vector<std::string>& args, ServeArgs& parsed, std::ostream& out,
                                 std::ostream& err) {
  FlagReader flags(args);
  while (flags.Next()) {
    const std::string& arg = flags.flag();
    auto value = [&]() -> std::optional<std::string> {
      std::optional<std::string> given = flags.Value();
      if (!given) err << "dpqld serve: " << arg << " needs a value\n" << kServeUsage;
      return given;
    };
    if (arg == "--help" || arg == "-h") {
      out << kServeUsage;
      return 0;
    } else if (arg == "--config") {
      auto v = value();
      if (!v) return 2;
      parsed.config_path = *v;
    } else if (arg == "--listen") {
      if (!(parsed.listen = value())) return 2;
    } else if (arg == "--listen-pg") {
      if (!(parsed.listen_pg = value())) return 2;
    } else if (arg == "--database") {
      if (!(parsed.database = value())) return 2;
    } else if (arg == "--replica") {
      if (!(parsed.replica = value())) return 2;
    } else if (arg == "--console-dir") {
      if (!(parsed.console_dir = value())) return 2;
    } else if (arg == "--test-clock") {
      if (!(parsed.test_clock = value())) return 2;
    } else {
      err << "dpqld serve: unknown argument '" << flags.arg() << "'\n" << kServeUsage;
      return 2;
    }
  }
  if (parsed.config_path.empty()) {
    err << "dpqld serve: --config FILE is required (examples/hospital/dpqld.yaml is a model)\n"
        << kServeUsage;
    return 2;
  }
  return std::nullopt;
}

// The configuration file with the command line's overrides, and its catalog;
// the exit status when either cannot be read.
std::optional<int> LoadServeConfig(const ServeArgs& parsed, ServerConfig& config, Catalog& catalog,
                                   std::ostream& err) {
  try {
    config = LoadServerConfig(parsed.config_path);
    if (parsed.listen) SetListen(config, *parsed.listen, "--listen");
    if (parsed.listen_pg) {
      SplitHostPort(*parsed.listen_pg, "--listen-pg", config.pg_host, config.pg_port);
      config.pg_enabled = true;
    }
    if (parsed.console_dir) config.console_dir = *parsed.console_dir;
    if (parsed.replica) config.replica = *parsed.replica;
    if (parsed.database) {
      config.database = *parsed.database;
    } else if (const char* env = std::getenv("DPQL_DATABASE"); config.database.empty() && env != nullptr) {
      config.database = env;
    }
  } catch (const DpqlError& e) {
    err << "dpqld serve: " << e.what() << "\n";
    return 2;
  }
  try {
    catalog = LoadCatalog(config.catalog);
  } catch (const DpqlError& e) {
    err << "dpqld serve: the catalog is invalid; nothing was started\n" << e.what() << "\n";
    return 1;
  }
  return std::nullopt;
}

// The database must be reachable and initialised before we accept anyone;
// the exit status when it is not.
std::optional<int> CheckLedger(const ServerConfig& config, std::ostream& err) {
  try {
    Ledger ledger(config.database);
    ledger.GetBudgets(0);
  } catch (const DpqlError& e) {
    err << "dpqld serve: " << e.what() << "\n";
    if (e.code() == ErrorCode::kLedgerNotInitialised) {
      err << "dpqld serve: run `dpqld admin --database URL init` once, then start the server again\n";
    }
    return 1;
  }
  return std::nullopt;
}

// A read replica is not needed to start: while it cannot be reached, data
// queries are refused before their debit (503) and everything else — cached
// answers, budgets, releases read — is served from the primary. Says so, and
// warns when `replica` is not a standby at all (e.g. the primary's own
// address, which works but spreads nothing).
void ReportReplica(const ServerConfig& config, std::ostream& err) {
  if (config.replica.empty()) return;
  try {
    ConnectionPool probe(config.replica, 1);
    ConnectionPool::Lease lease = probe.Acquire();
    if (!IsStandby(*lease)) {
      err << "dpqld: warning: `replica` is not in recovery (pg_is_in_recovery() is false): it is not a "
             "streaming replica of `database`; the data queries run there all the same"
          << std::endl;
    }
  } catch (const DpqlError& e) {
    err << "dpqld: the read replica cannot be reached (" << e.what()
        << "); data queries are refused, nothing charged, until it can (GET /readyz)" << std::endl;
  }
}

// Serve even when a catalog table cannot be read yet (the data may be
// loading): its queries are refused with 503 not_ready, at no cost, until
// it can; GET /readyz tells the administrator.
void ReportReadiness(Engine& engine, std::ostream& err) {
  try {
    ReadinessReport report = engine.CheckReadiness();
    if (!report.ready()) {
      err << "dpqld: not ready: the server's role cannot read these catalog tables; their "
             "datasets' queries are refused (503 not_ready) until it can (GET /readyz):\n"
          << Readiness::LogLines(report) << std::endl;
    }
  } catch (const DpqlError& e) {
    err << "dpqld: the readiness check failed: " << e.what() << std::endl;
  }
}

// The console's files: from `console_dir` (an error when it holds no
// console), else from the default folder when it has one, else none.
std::optional<int> LoadConsole(const ServerConfig& config, std::optional<ConsoleFiles>& console,
                               std::ostream& err) {
  std::string dir = config.console_dir;
  if (dir.empty()) {
    std::optional<std::string> found = ConsoleFiles::DefaultDir();
    if (!found) {
      err << "dpqld: no web console (GET / answers 404): run scripts/console-build, or set console_dir"
          << std::endl;
      return std::nullopt;
    }
    dir = *found;
  }
  try {
    console = ConsoleFiles::Load(dir);
  } catch (const DpqlError& e) {
    err << "dpqld serve: " << e.what() << "\n";
    return 1;
  }
  return std::nullopt;
}

// The dashboards file, validated against the catalog and rendered once;
// the exit status when it is invalid.
std::optional<int> LoadDashboardsJson(const ServerConfig& config, const Catalog& catalog,
                                      std::string& json_text, std::ostream& err) {
  std::vector<Dashboard> dashboards;
  if (!config.dashboards.empty()) {
    try {
      dashboards = LoadDashboards(config.dashboards, catalog);
    } catch (const DpqlError& e) {
      err << "dpqld serve: the dashboards file is invalid; nothing was started\n" << e.what() << "\n";
      return 1;
    }
  }
  json_text =
      DashboardsJson(dashboards).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
      "\n";
  return std::nullopt;
}

// The releases file, validated against the catalog (every query compiled);
// the exit status when it is invalid.
std::optional<int> LoadReleasesFile(const ServerConfig& config, const Catalog& catalog,
                                    std::vector<ReleaseDefinition>& releases, std::ostream& err) {
  if (config.releases.empty()) return std::nullopt;
  try {
    releases = LoadReleases(config.releases, catalog);
  } catch (const DpqlError& e) {
    err << "dpqld serve: the releases file is invalid; nothing was started\n" << e.what() << "\n";
    return 1;
  }
  return std::nullopt;
}

// Runs the HTTP server until it is stopped; the exit status.
int Serve(const ServerConfig& config, const Catalog& catalog, const ConsoleFiles* console,
          const std::string& dashboards_json, const std::vector<ReleaseDefinition>& releases, const Clock& clock,
          std::ostream& out, std::ostream& err) {
  try {
    // The primary: everything that writes (and the router's own reads).
    ConnectionPool pool(config.database, static_cast<size_t>(config.db_pool));
    // The data queries, on the read replica when there is one.
    std::unique_ptr<ConnectionPool> replica;
    if (!config.replica.empty()) {
      replica = std::make_unique<ConnectionPool>(config.replica, static_cast<size_t>(config.db_pool));
    }
    Engine engine(catalog, pool, std::make_unique<SecureRandom>(), config.statement_timeout_ms,
                  /*ledger_pool=*/nullptr, replica.get());
    engine.set_clock(&clock);
    // Noise for the typical first queries is drawn before anyone asks.
    engine.PrefillNoise();
    ReportReplica(config, err);
    ReportReadiness(engine, err);
    Metrics metrics;
    Router router(config, catalog, pool, engine, metrics, console, dashboards_json);
    router.set_releases(&releases);
    HttpServer server(config, router);
    server.Listen();
    // The PostgreSQL line comes first: tools wait for the HTTP one.
    if (std::optional<uint16_t> pg_port = server.pg_port()) {
      out << "dpqld PostgreSQL protocol on " << config.pg_host << ":" << *pg_port << std::endl;
    }
    out << "dpqld listening on " << server.Url() << std::endl;
    ReleaseScheduler scheduler(engine, releases, config.database, config.release_check_seconds, err);
    scheduler.Start();
    server.Run();
    scheduler.Stop();
    err << "dpqld: stopped" << std::endl;
  } catch (const DpqlError& e) {
    err << "dpqld serve: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int RunServeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  ServeArgs parsed;
  if (auto status = ReadServeArgs(args, parsed, out, err)) return *status;
  ServerConfig config;
  Catalog catalog;
  if (auto status = LoadServeConfig(parsed, config, catalog, err)) return *status;
  std::string dashboards_json;
  if (auto status = LoadDashboardsJson(config, catalog, dashboards_json, err)) return *status;
  std::vector<ReleaseDefinition> releases;
  if (auto status = LoadReleasesFile(config, catalog, releases, err)) return *status;
  std::optional<ConsoleFiles> console;
  if (auto status = LoadConsole(config, console, err)) return *status;
  if (auto status = CheckLedger(config, err)) return *status;
  std::unique_ptr<Clock> clock;
  if (parsed.test_clock) {
    err << "dpqld serve: --test-clock " << *parsed.test_clock
        << ": the server's time is read from this file (for tests only)\n";
    clock = std::make_unique<FileClock>(*parsed.test_clock);
  } else {
    clock = std::make_unique<SystemClock>();
  }
  return Serve(config, catalog, console ? &*console : nullptr, dashboards_json, releases, *clock, out, err);
}

}  // namespace dpql
