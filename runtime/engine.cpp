#include "runtime/engine.h"

#include <chrono>

#include "compiler/common/error.h"
#include "compiler/compile.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/cache/canonical_plan.h"
#include "runtime/cache/memo.h"
#include "runtime/executor/executor.h"
#include "runtime/ledger/ledger.h"
#include "runtime/pg/database_errors.h"
#include "runtime/pg/retry.h"
#include "runtime/release/expected_error.h"
#include "runtime/release/postprocess.h"
#include "runtime/release/release.h"

namespace dpql {

namespace {

// A plan as EXPLAIN shows it: its rendering, its expected errors and what
// running it would cost.
QueryResult ExplainResult(const Plan& plan) {
  QueryResult result;
  result.explain = ExplainPlan(plan);
  result.expected_errors = ExpectedErrors(plan);
  result.bias = BiasNotes(plan);
  result.cost = plan.cost;
  return result;
}

// A refused debit as the analyst's error: the dataset-wide cap, or too little
// budget left (no budget at all is Engine::ThrowNoBudget). Nothing was spent.
[[noreturn]] void ThrowBudgetExhausted(const DebitResult& debit, const Dataset& dataset,
                                       const BudgetCost& cost) {
  const bool zcdp = dataset.accounting == Accounting::kZcdp;
  if (debit.outcome == DebitResult::Outcome::kCapRefused) {
    throw DpqlError(ErrorCode::kDatasetBudgetExhausted,
                    "dataset " + dataset.name +
                        " has reached its cap on the privacy budget all analysts together may "
                        "spend (" +
                        (zcdp ? "limits.dataset_rho or dataset_epsilon in the catalog; by "
                                "default the rho of epsilon 50"
                              : "limits.dataset_epsilon and dataset_delta in the catalog; by "
                                "default epsilon 50 and delta 0.0001") +
                        "); this query would exceed it. Your own budget is "
                        "untouched; a smaller epsilon may still fit, or ask a data guardian. "
                        "Nothing was spent.");
  }
  const Budget& b = debit.budget;
  if (zcdp) {
    throw DpqlError(ErrorCode::kBudgetExhausted,
                    "this query costs rho " + cost.RhoString() + " but your budget on " + dataset.name +
                        " has rho " + b.Remaining().RhoString() +
                        " left (this dataset uses zCDP accounting; budgets are granted in rho); "
                        "lower it with WITH PRIVACY (epsilon = ...) or ask a data guardian for "
                        "more budget. Nothing was spent.");
  }
  throw DpqlError(ErrorCode::kBudgetExhausted,
                  "this query costs epsilon " + cost.EpsilonString() +
                      (cost.delta_pico > 0 ? " and delta " + cost.DeltaString() : "") +
                      " but your budget on " + dataset.name + " has epsilon " +
                      b.Remaining().EpsilonString() + " and delta " + b.Remaining().DeltaString() +
                      " left; lower it with WITH PRIVACY (epsilon = ...) or ask a data "
                      "guardian for more budget. Nothing was spent.");
}

// A research project's budget is spent for this period (or for good).
[[noreturn]] void ThrowProjectExhausted(const Project& project, const Dataset& dataset, const BudgetCost& cost) {
  const bool zcdp = dataset.accounting == Accounting::kZcdp;
  const BudgetCost left = project.Remaining();
  const std::string renews = project.RenewsOn();
  throw DpqlError(ErrorCode::kProjectBudgetExhausted,
                  "this query costs " +
                      (zcdp ? "rho " + cost.RhoString()
                            : "epsilon " + cost.EpsilonString() +
                                  (cost.delta_pico > 0 ? " and delta " + cost.DeltaString() : "")) +
                      " but project '" + project.name + "' has " +
                      (zcdp ? "rho " + left.RhoString()
                            : "epsilon " + left.EpsilonString() + " and delta " + left.DeltaString()) +
                      " left" + (project.renew == BudgetPeriod::kNone ? "" : " this " + PeriodName(project.renew)) +
                      (renews.empty() ? "" : "; its budget is granted anew on " + renews) +
                      ". Lower the cost with WITH PRIVACY (epsilon = ...), or file a budget request "
                      "(\\request in the REPL, POST /v1/budget-requests). Nothing was spent.");
}

}  // namespace

void Engine::ThrowNoBudget(const Dataset& dataset) {
  throw DpqlError(ErrorCode::kNoBudget, "you have no privacy budget on dataset " + dataset.name +
                                            "; ask a data guardian to grant one (dpqld admin grant)");
}

Engine::Engine(const Catalog& catalog, ConnectionPool& pool, std::unique_ptr<RandomSource> rng,
               int statement_timeout_ms)
    : catalog_(catalog),
      pool_(pool),
      noise_(std::make_unique<NoisePools>(std::move(rng))),
      readiness_(catalog),
      memo_(std::make_unique<EngineMemo>()),
      statement_timeout_ms_(statement_timeout_ms) {}

Engine::~Engine() = default;

ReadinessReport Engine::CheckReadiness() {
  return WithConnection(pool_, 1, [&](pqxx::connection& connection) { return readiness_.Check(connection); });
}

const Dataset& Engine::ResolveDataset(std::string_view name) const {
  const Dataset* dataset = name.empty() ? catalog_.DefaultDataset() : catalog_.FindDataset(name);
  if (dataset == nullptr) {
    std::string names;
    for (const auto& d : catalog_.datasets) names += (names.empty() ? "" : ", ") + d.name;
    throw DpqlError(ErrorCode::kUnknownDataset, name.empty() ? "name a dataset; this server has: " + names
                                                             : "unknown dataset \"" + std::string(name) +
                                                                   "\"; this server has: " + names);
  }
  return *dataset;
}

QueryResult Engine::Run(const Caller& caller, std::string_view dataset_name, std::string_view text) {
  return Run(caller, dataset_name, ParseStatement(text));
}

QueryResult Engine::Run(const Caller& caller, std::string_view dataset_name,
                        const ast::Statement& statement) {
  const Dataset& dataset = ResolveDataset(dataset_name);
  // 1-3. Bind, plan, generate SQL: refusals here cost nothing.
  CompiledStatement compiled = Compile(dataset, statement);
  switch (compiled.kind) {
    case CompiledKind::kSelect: return RunSelect(caller, dataset, *compiled.plan, statement.text);
    case CompiledKind::kExplain: {
      QueryResult result = ExplainResult(*compiled.plan);
      result.cost = {Rational(0), Rational(0)};  // EXPLAIN itself spends nothing
      return result;
    }
    case CompiledKind::kShowTables: return ShowTables(dataset);
    case CompiledKind::kDescribe: return Describe(dataset, *compiled.table);
    case CompiledKind::kShowBudget: return ShowBudget(caller, dataset);
  }
  throw DpqlError(ErrorCode::kInternal, "unknown statement kind");
}

QueryResult Engine::Explain(const Dataset& dataset, const ast::Statement& statement) {
  CompiledStatement compiled = Compile(dataset, statement);
  if (compiled.HasPlan()) return ExplainResult(*compiled.plan);
  QueryResult result;
  result.cost = {Rational(0), Rational(0)};
  result.explain = "metadata statement; no privacy cost\n";
  return result;
}

QueryResult Engine::RunSelect(const Caller& caller, const Dataset& dataset, Plan& plan,
                              const std::string& text) {
  // Asked before? The answer released for the same canonical plan, privacy
  // parameters and data version is served again — to anyone with a budget on
  // the dataset — at no cost (runtime/cache/answer_cache.h).
  CanonicalizePredicates(plan);
  const std::string plan_hash = CanonicalPlanHash(plan);
  int64_t data_version = 0;
  // Who pays: the caller's own budget, or a research project.
  const std::optional<Project> project = PayingProject(caller, dataset);
  if (answer_cache_) {
    std::optional<QueryResult> cached = LookUpAnswer(caller, dataset, plan, plan_hash, data_version, project);
    if (cached) return std::move(*cached);
  }

  // 4. Can the server read the dataset's tables? A probe that reads no row
  //    (runtime/pg/readiness.h): a table dropped, reloaded without its
  //    grant or not yet populated refuses the query here, before anything is
  //    spent, rather than failing it after the debit.
  // 5. Pay first. The debit is committed before the data is read or any noise
  //    is drawn; it is never refunded, not even if the query then fails (its
  //    running time already depends on the data).
  //    A zCDP dataset is charged the query's rho, a basic one its (epsilon, delta).
  const BudgetCost cost = dataset.accounting == Accounting::kZcdp
                              ? BudgetCost::FromCost(0, 0, plan.cost.rho)
                              : BudgetCost::FromCost(plan.cost.epsilon, plan.cost.delta);
  // The probe, the debit and the query share one connection: one the probe
  // found alive and able to read the tables is the one the SQL is sent on.
  ConnectionPool::Lease lease = pool_.Acquire();
  const TimePoint now = clock_->Now();
  std::optional<Project> paid_by;
  const DebitResult debit = DiscardIfUnavailable(lease, [&] {
    readiness_.Probe(*lease, dataset);
    if (!project) {
      return Ledger(*lease).Debit(caller.analyst_id, dataset.name, cost, text, DatasetCap(dataset, now));
    }
    ProjectDebit paid =
        ProjectLedger(*lease).Debit(caller.analyst_id, project->name, dataset.name, cost, text,
                                    DatasetCap(dataset, now), now);
    paid_by = paid.project;
    DebitResult result;
    result.budget = Budget{dataset.name, paid.project.total, paid.project.spent};
    result.ledger_id = paid.ledger_id;
    result.outcome = paid.ok() ? DebitResult::Outcome::kDebited
                     : paid.outcome == ProjectDebit::Outcome::kCapRefused
                         ? DebitResult::Outcome::kCapRefused
                         : DebitResult::Outcome::kInsufficient;
    return result;
  });
  switch (debit.outcome) {
    case DebitResult::Outcome::kDebited: break;
    case DebitResult::Outcome::kNoBudget: ThrowNoBudget(dataset);
    case DebitResult::Outcome::kCapRefused: ThrowBudgetExhausted(debit, dataset, cost);
    case DebitResult::Outcome::kInsufficient:
      if (paid_by) ThrowProjectExhausted(*paid_by, dataset, cost);
      ThrowBudgetExhausted(debit, dataset, cost);
  }

  // 6. The exact, contribution-bounded aggregates. 7. Noise (drawn ahead of
  //    need), intervals, release. The released answer is cached before
  //    HAVING, ORDER BY and LIMIT, which are the asker's own post-processing
  //    and are applied to a cached answer the same way.
  QueryResult result = RunDebited(plan, std::move(lease), debit, cost);
  if (answer_cache_) StoreAnswer(dataset, plan_hash, data_version, result, debit.ledger_id, text);
  PostProcess(plan.select, result);
  result.budget = paid_by ? ProjectBudgetView(*paid_by, &dataset) : ToBudgetView(debit.budget, &dataset);
  result.ledger_id = debit.ledger_id;
  return result;
}

QueryResult Engine::RunDebited(const Plan& plan, ConnectionPool::Lease lease, const DebitResult& debit,
                               const BudgetCost& cost) {
  // Paid for now: whatever fails from here on but a lost session is
  // "query_failed", one code and message for every cause, answered after
  // the statement timeout (docs/PRIVACY.md, "Failures and timeouts").
  Executor executor(pool_, statement_timeout_ms_);
  const auto sent_at = std::chrono::steady_clock::now();
  auto failed = [&](const std::string& detail) {
    DatabaseFailure failure(ErrorCode::kQueryFailed, QueryFailedMessage(statement_timeout_ms_), detail);
    failure.respond_at = executor.RespondAt(sent_at);
    failure.ledger_id = debit.ledger_id;
    failure.charged = cost;
    return failure;
  };
  try {
    ExactAggregates exact = executor.RunExact(plan, std::move(lease));
    return ReleaseAggregates(plan, exact, *noise_);
  } catch (DatabaseFailure& failure) {
    failure.ledger_id = debit.ledger_id;
    failure.charged = cost;
    throw;
  } catch (const DpqlError& error) {
    if (IsUnavailable(error)) throw;
    throw failed("the release failed: " + std::string(Name(error.code())) + ": " + error.what());
  } catch (const std::exception& error) {
    throw failed(std::string("the release failed: ") + error.what());
  }
}

}  // namespace dpql
