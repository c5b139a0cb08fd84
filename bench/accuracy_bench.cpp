// The accuracy benchmark, run by scripts/bench --accuracy against a loaded
// hospital database. For each workload query (bench/workload.h) at epsilon 1
// (delta 1e-6 where the query uses it) it
//   1. compiles the DPQL query through the compiler against the catalog,
//   2. runs the generated SQL once: the exact, contribution-bounded aggregates,
//   3. runs the plain SQL once: the exact unbounded answer (the truth),
//   4. releases the exact aggregates --repetitions times (default 500) with a
//      seeded test RNG through Release() (runtime/release/release.h),
// and reports the released values' RMSE and 95th-percentile absolute error
// against the truth (so the bias of bounding counts), the bias apart, and the
// analytic errors of the peers' mechanisms for the same bounds and for the
// catalog's default bounds (bench/accuracy.h). Prints a markdown table and
// writes --json. The figures are a simulation of the release step on real
// exact aggregates: nothing is charged to any ledger.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "bench/accuracy.h"
#include "bench/workload.h"
#include "compiler/binder/binder.h"
#include "compiler/catalog/catalog.h"
#include "compiler/compile.h"
#include "compiler/parser/parser.h"
#include "runtime/executor/executor.h"
#include "runtime/pg/connection_pool.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

using json = nlohmann::ordered_json;

struct Options {
  std::string database;
  std::string catalog;
  std::string dataset = "hospital";
  int repetitions = 500;
  uint64_t seed = 21;
  int64_t rows = 0;  // as loaded, for the report
  std::string only;
  std::string json_out;
  // Appended to every query's WITH PRIVACY, e.g. ", mechanism = gaussian,
  // delta = 1e-6": to compare a mechanism or bound over the whole workload.
  std::string privacy;
};

std::string Text(const BenchQuery& q, const std::string& extra) {
  return q.dpql + " WITH PRIVACY (epsilon = 1" + q.privacy + extra + ")";
}

// A WITH PRIVACY option given twice (a query's own delta and --privacy's) is
// an error; --privacy's takes the place of the query's.
BenchQuery WithOptions(BenchQuery q, const std::string& privacy) {
  if (privacy.empty()) return q;
  if (privacy.find("delta") != std::string::npos) q.privacy.clear();
  q.privacy += privacy;
  return q;
}

Plan CompilePlan(const Dataset& dataset, const std::string& text) {
  ast::Statement statement = ParseStatement(text);
  CompiledStatement compiled = Compile(dataset, statement);
  if (!compiled.plan) throw std::runtime_error("not a SELECT: " + text);
  return std::move(*compiled.plan);
}

// The plan a system without declared structure runs: the query bound as
// usual, then its bounds set to the catalog's defaults (max_groups,
// max_rows), not exact, whatever the declarations and the query prove. Set
// after binding, so that no derivation of the binder's can tighten them.
Plan DefaultBoundsPlan(const Dataset& dataset, const std::string& text) {
  ast::Statement statement = ParseStatement(text);
  if (!statement.select) throw std::runtime_error("not a SELECT: " + text);
  BoundSelect bound = Binder(dataset).BindSelect(*statement.select);
  PrivacyParams& privacy = bound.privacy;
  privacy.max_groups = dataset.defaults.max_groups;
  privacy.max_rows = dataset.defaults.max_rows;
  privacy.max_groups_source = privacy.max_rows_source = BoundSource::kDefault;
  privacy.groups_exact = privacy.rows_exact = false;
  privacy.groups_reason.clear();
  privacy.rows_reason.clear();
  Plan plan = PlanSelect(std::move(bound));
  GenerateSql(plan);
  return plan;
}

int NoisyOutput(const Plan& plan) {
  for (size_t o = 0; o < plan.outputs.size(); ++o) {
    if (plan.outputs[o].kind != OutputKind::kKey) return static_cast<int>(o);
  }
  throw std::runtime_error("the plan has no noisy output");
}

// The plain SQL's answer: every column but the last is a key, the last the value.
Truth RunTruth(pqxx::connection& sql, const std::string& text) {
  pqxx::nontransaction tx(sql);
  Truth truth;
  for (const auto& row : tx.exec(text)) {
    if (row[row.size() - 1].is_null()) continue;  // e.g. a median of no values
    std::vector<std::string> keys;
    for (pqxx::row::size_type c = 0; c + 1 < row.size(); ++c) {
      keys.push_back(KeyText(row[c].is_null() ? Value{} : Value{std::string(row[c].c_str())}));
    }
    truth[keys] = std::stod(row[row.size() - 1].c_str());
  }
  return truth;
}

// Each exact group's bounded row count and true mean (for the peers' mean formulas).
std::vector<GroupShape> Shapes(const Plan& plan, int output, const ExactAggregates& exact,
                               const Truth& truth) {
  std::vector<GroupShape> shapes;
  const PlanOutput& out = plan.outputs[static_cast<size_t>(output)];
  if (out.kind != OutputKind::kAvg) return shapes;
  for (size_t r = 0; r < exact.keys.size(); ++r) {
    std::vector<std::string> keys;
    for (const PlanOutput& o : plan.outputs) {
      if (o.kind != OutputKind::kKey) continue;
      const auto& k = exact.keys[r].at(static_cast<size_t>(o.key));
      keys.push_back(KeyText(k ? Value{*k} : Value{}));
    }
    auto t = truth.find(keys);
    if (t == truth.end()) continue;
    shapes.push_back(
        {ToDouble(Rational(exact.measures[r].at(static_cast<size_t>(out.count_measure)))), t->second});
  }
  return shapes;
}

json ErrorJson(const AnalyticError& e) {
  return {{"rmse", std::isnan(e.rmse) ? json(nullptr) : json(e.rmse)},
          {"p95", std::isnan(e.p95) ? json(nullptr) : json(e.p95)}};
}

std::string Cell(double v, int digits = 2) {
  if (std::isnan(v)) return "—";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

json Number(double v) { return std::isnan(v) ? json(nullptr) : json(v); }

// A peer's total error: DPQL's measured error with its noise variance
// replaced by the peer's. At the same bounds a peer drops the same
// contributions and, with the same clamping at 0 and the same partition
// selection, keeps the error those add; only the noise differs.
double PeerTotal(const AccuracyFigures& f, const AnalyticError& dpql_noise, const AnalyticError& peer_noise) {
  if (std::isnan(peer_noise.rmse) || std::isnan(dpql_noise.rmse)) return NAN;  // no closed form
  // `rest` may be negative: clamping a small count at 0 takes away error, for a peer's too.
  const double rest = f.rmse * f.rmse - dpql_noise.rmse * dpql_noise.rmse;
  return std::sqrt(std::max(0.0, rest + peer_noise.rmse * peer_noise.rmse));
}

// DPQL's RMSE against a peer's: better or worse beyond 2 standard errors.
std::string Verdict(double dpql, double peer, double se) {
  if (std::isnan(peer) || std::isnan(se)) return "no peer figure";
  if (dpql < peer - 2 * se) return "better";
  if (dpql > peer + 2 * se) return "worse";
  return "tie";
}

const char* MechanismName(const Plan& plan, int output) {
  const Measure& m = plan.measures[static_cast<size_t>(plan.outputs[static_cast<size_t>(output)].measure)];
  return m.mechanism == Mechanism::kGaussian ? "Gaussian" : "Laplace";
}

json MeasureQuery(const Options& options, const Dataset& dataset, ConnectionPool& pool, pqxx::connection& sql,
                  const BenchQuery& q, uint64_t seed) {
  const Plan plan = CompilePlan(dataset, Text(q, ""));
  const int output = NoisyOutput(plan);
  Executor executor(pool, 1800000);
  const ExactAggregates exact = executor.RunExact(plan);
  const Truth truth = RunTruth(sql, q.naive);
  const double delta = plan.select.privacy.delta > 0 ? ToDouble(plan.select.privacy.delta) : 1e-6;

  SeededRandom rng(seed);
  const AccuracyFigures f = MeasureAccuracy(plan, exact, truth, output, options.repetitions, rng);
  const PeerErrors peers = PeerAnalyticErrors(plan, output, delta, Shapes(plan, output, exact, truth));
  const AnalyticError best = peers.Best();
  const double best_total = PeerTotal(f, peers.dpql_analytic, best);

  // Without declared structure: the catalog's default bounds.
  json no_structure = nullptr;
  double default_total = NAN, default_se = NAN;
  std::string default_bounds = "—";
  try {
    const Plan plain = DefaultBoundsPlan(dataset, Text(q, ""));
    const int plain_output = NoisyOutput(plain);
    // The same bounds and mechanism: the same figures (not a second sample of them).
    const bool same_plan = plain.groups_bound == plan.groups_bound &&
                           plain.select.privacy.max_rows == plan.select.privacy.max_rows &&
                           std::string(MechanismName(plain, plain_output)) == MechanismName(plan, output);
    AccuracyFigures pf = f;
    PeerErrors pp = peers;
    if (!same_plan) {
      const ExactAggregates plain_exact = executor.RunExact(plain);
      SeededRandom plain_rng(seed + 1000);
      pf = MeasureAccuracy(plain, plain_exact, truth, plain_output, options.repetitions, plain_rng);
      pp = PeerAnalyticErrors(plain, plain_output, delta, Shapes(plain, plain_output, plain_exact, truth));
    }
    default_total = PeerTotal(pf, pp.dpql_analytic, pp.Best());
    default_se = same_plan ? 0 : pf.rmse_se;
    default_bounds = std::to_string(plain.groups_bound) + "×" + std::to_string(plain.select.privacy.max_rows);
    no_structure = {{"max_groups", plain.groups_bound},
                    {"max_rows", plain.select.privacy.max_rows},
                    {"dpql_rmse", pf.rmse},
                    {"dpql_rmse_se", pf.rmse_se},
                    {"bias_rms", pf.bias_rms},
                    {"dpql_analytic_noise", ErrorJson(pp.dpql_analytic)},
                    {"best_peer_noise", ErrorJson(pp.Best())},
                    {"best_peer_total_rmse", Number(default_total)}};
  } catch (const std::exception& e) {
    no_structure = {{"error", e.what()}};
  }

  const std::string same = Verdict(f.rmse, best_total, f.rmse_se);
  const std::string plain_verdict =
      Verdict(f.rmse, default_total, std::sqrt(f.rmse_se * f.rmse_se + default_se * default_se));
  std::printf(
      "| %s | %lld×%lld %s | %lld | %s ± %s | %s [%s, %s] | %s / %s | %s | %s / %s | %s | %s %s | %s |\n",
      q.name.c_str(), static_cast<long long>(plan.groups_bound),
      static_cast<long long>(plan.select.privacy.max_rows), MechanismName(plan, output),
      static_cast<long long>(f.groups), Cell(f.rmse).c_str(), Cell(f.rmse_se).c_str(), Cell(f.p95).c_str(),
      Cell(f.p95_low).c_str(), Cell(f.p95_high).c_str(), Cell(f.bias_rms).c_str(), Cell(f.mean_error).c_str(),
      Cell(peers.dpql_analytic.rmse).c_str(), Cell(best.rmse).c_str(), Cell(best_total).c_str(), same.c_str(),
      default_bounds.c_str(), Cell(default_total).c_str(), plain_verdict.c_str());
  std::fflush(stdout);
  return {{"name", q.name},
          {"dpql", Text(q, "")},
          {"mechanism", MechanismName(plan, output)},
          {"max_groups", plan.groups_bound},
          {"max_rows", plan.select.privacy.max_rows},
          {"max_groups_reason", plan.select.privacy.groups_reason},
          {"max_rows_reason", plan.select.privacy.rows_reason},
          {"groups", f.groups},
          {"repetitions", f.repetitions},
          {"rmse", f.rmse},
          {"rmse_se", f.rmse_se},
          {"p95", f.p95},
          {"p95_ci", {f.p95_low, f.p95_high}},
          {"bias_rms", f.bias_rms},
          {"mean_error", f.mean_error},
          {"missing", f.missing},
          {"dpql_analytic_noise", ErrorJson(peers.dpql_analytic)},
          {"google_laplace", ErrorJson(peers.google_laplace)},
          {"google_gaussian", ErrorJson(peers.google_gaussian)},
          {"smartnoise_sql", ErrorJson(peers.smartnoise)},
          {"best_peer_noise", ErrorJson(best)},
          {"best_peer_total_rmse", Number(best_total)},
          {"verdict", same},
          {"without_declared_structure", no_structure},
          {"verdict_without_declared_structure", plain_verdict}};
}

int Main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--database")
      options.database = value();
    else if (arg == "--catalog")
      options.catalog = value();
    else if (arg == "--dataset")
      options.dataset = value();
    else if (arg == "--repetitions")
      options.repetitions = std::stoi(value());
    else if (arg == "--seed")
      options.seed = std::stoull(value());
    else if (arg == "--rows")
      options.rows = std::stoll(value());
    else if (arg == "--only")
      options.only = value();
    else if (arg == "--json")
      options.json_out = value();
    else if (arg == "--privacy")
      options.privacy = ", " + value();
    else
      throw std::invalid_argument("unknown option " + arg + " (see scripts/bench --help)");
  }
  if (options.database.empty() || options.catalog.empty()) {
    throw std::invalid_argument("--database and --catalog are required");
  }
  if (options.repetitions < 200) throw std::invalid_argument("--repetitions must be at least 200");
  const Catalog catalog = LoadCatalog(options.catalog);
  const Dataset* dataset = catalog.FindDataset(options.dataset);
  if (dataset == nullptr) throw std::invalid_argument("the catalog has no dataset " + options.dataset);
  ConnectionPool pool(options.database, 1);
  pqxx::connection sql(options.database);

  std::printf(
      "Accuracy at epsilon 1 (delta 1e-6 where used): %d releases per query, seed %llu, %lld admissions.\n",
      options.repetitions, static_cast<unsigned long long>(options.seed),
      static_cast<long long>(options.rows));
  std::printf(
      "Errors against the exact unbounded answer (plain SQL), pooled over groups. A peer's total: DPQL's "
      "measured\nerror with its noise replaced by the peer's; default bounds: the catalog's, as without "
      "declared structure.\n\n");
  std::printf(
      "| query | bounds (groups×rows), mechanism | groups | DPQL RMSE ± SE | DPQL p95 [95%% CI] | "
      "bias RMS / mean | DPQL noise RMSE | best peer, same bounds: noise / total RMSE | DPQL vs it | "
      "best peer, default bounds: bounds, total RMSE | DPQL vs it |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  json queries = json::array();
  uint64_t seed = options.seed;
  for (const BenchQuery& q : Queries()) {
    ++seed;
    if (q.name.find(options.only) == std::string::npos) continue;
    try {
      queries.push_back(
          MeasureQuery(options, *dataset, pool, sql, WithOptions(q, options.privacy), seed * 7919));
    } catch (const std::exception& e) {
      std::printf("| %s | refused or failed: %s |\n", q.name.c_str(), e.what());
      queries.push_back({{"name", q.name}, {"error", e.what()}});
    }
  }
  if (!options.json_out.empty()) {
    json report = {{"rows", options.rows},
                   {"epsilon", 1},
                   {"repetitions", options.repetitions},
                   {"seed", options.seed},
                   {"privacy", options.privacy},
                   {"queries", queries}};
    std::ofstream(options.json_out) << report.dump(2) << "\n";
    std::printf("\nwrote %s\n", options.json_out.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace dpql

int main(int argc, char** argv) {
  try {
    return dpql::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dpql_accuracy_bench: %s\n", e.what());
    return 1;
  }
}
