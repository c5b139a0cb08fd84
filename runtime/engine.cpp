#include "runtime/engine.h"

#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

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

// The queries the engine runs on threads of their own, counted so that its
// destructor waits for them: one whose debit was refused is cancelled and
// ends soon, but nobody waits for its result.
struct BackgroundQueries {
  std::mutex mutex;
  std::condition_variable idle;
  int running = 0;

  void WaitUntilIdle() {
    std::unique_lock<std::mutex> lock(mutex);
    idle.wait(lock, [&] { return running == 0; });
  }
};

namespace {

// A plan's exact aggregates, computed on a thread of its own while the
// caller debits the budget on another connection (Engine::RunSelect). The
// caller either waits for them — only once its debit has committed — or
// abandons them: the statement is cancelled and its result, whatever it is,
// discarded, without waiting.
class RunningQuery {
 public:
  RunningQuery(const std::shared_ptr<BackgroundQueries>& background, ConnectionPool& pool,
               int statement_timeout_ms, std::shared_ptr<const Plan> plan, ConnectionPool::Lease lease)
      : state_(std::make_shared<State>(std::move(plan))) {
    {
      std::lock_guard<std::mutex> lock(background->mutex);
      ++background->running;
    }
    try {
      std::thread([state = state_, background, &pool, statement_timeout_ms, lease = std::move(lease)]() mutable {
        std::optional<ExactAggregates> result;
        std::exception_ptr error;
        try {
          result = Executor(pool, statement_timeout_ms).RunExact(*state->plan, std::move(lease), &state->cancel);
        } catch (...) {
          error = std::current_exception();
        }
        {
          std::lock_guard<std::mutex> lock(state->mutex);
          state->result = std::move(result);
          state->error = error;
          state->done = true;
        }
        state->finished.notify_all();
        std::lock_guard<std::mutex> lock(background->mutex);
        --background->running;
        background->idle.notify_all();
      }).detach();
    } catch (...) {
      std::lock_guard<std::mutex> lock(background->mutex);
      --background->running;
      throw;
    }
  }
  RunningQuery(const RunningQuery&) = delete;
  RunningQuery& operator=(const RunningQuery&) = delete;
  ~RunningQuery() {
    if (!settled_) Abandon();
  }

  // The exact aggregates, or the query's failure rethrown.
  ExactAggregates Wait() {
    settled_ = true;
    std::unique_lock<std::mutex> lock(state_->mutex);
    state_->finished.wait(lock, [&] { return state_->done; });
    if (state_->error) std::rethrow_exception(state_->error);
    return std::move(*state_->result);
  }

  // Cancels the statement and returns at once.
  void Abandon() {
    settled_ = true;
    state_->cancel.Cancel();
  }

 private:
  struct State {
    explicit State(std::shared_ptr<const Plan> p) : plan(std::move(p)) {}
    const std::shared_ptr<const Plan> plan;  // shared: an abandoned query may outlive its caller
    QueryCancel cancel;
    std::mutex mutex;
    std::condition_variable finished;
    bool done = false;
    std::optional<ExactAggregates> result;
    std::exception_ptr error;
  };
  std::shared_ptr<State> state_;
  bool settled_ = false;
};

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
               int statement_timeout_ms, ConnectionPool* ledger_pool, ConnectionPool* data_pool)
    : catalog_(catalog),
      pool_(pool),
      data_pool_(data_pool != nullptr ? *data_pool : pool),
      own_ledger_pool_(ledger_pool != nullptr
                           ? nullptr
                           : std::make_unique<ConnectionPool>(pool.connection_string(), pool.size())),
      ledger_pool_(ledger_pool != nullptr ? ledger_pool : own_ledger_pool_.get()),
      background_(std::make_shared<BackgroundQueries>()),
      noise_(std::make_unique<NoisePools>(std::move(rng), NoiseOptions())),
      readiness_(catalog),
      memo_(std::make_unique<EngineMemo>()),
      statement_timeout_ms_(statement_timeout_ms) {}

Engine::~Engine() { background_->WaitUntilIdle(); }

NoisePools::Options Engine::NoiseOptions() {
  NoisePools::Options options;
  // A distribution first met by a query (a new epsilon, say) gets a small
  // first fill, requested when the query starts (NoisePools::Expect): it is
  // drawn, with its decoy and pad, while PostgreSQL runs the query, instead
  // of a full pool's fill after it. Refills are as usual.
  options.first_fill = 64;
  return options;
}

ReadinessReport Engine::CheckReadiness() {
  // Where the data is read: a replica that cannot read a table refuses its
  // dataset's queries, whatever the primary can read.
  return WithConnection(data_pool_, 1,
                        [&](pqxx::connection& connection) { return readiness_.Check(connection); });
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
    case CompiledKind::kSelect:
      return RunSelect(caller, dataset, std::make_shared<Plan>(std::move(*compiled.plan)), statement.text);
    case CompiledKind::kExplain: {
      QueryResult result = ExplainPlanFor(caller, dataset, *compiled.plan);
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

std::optional<std::string> Engine::ChooseAffordableMechanism(const Caller& caller, const Dataset& dataset,
                                                             Plan& plan, const std::optional<Project>& project) {
  // Only a basic (epsilon, delta) budget can run out of delta alone; under
  // zCDP both mechanisms are charged rho.
  if (dataset.accounting == Accounting::kZcdp || !plan.select.privacy.mechanism_auto ||
      plan.select.privacy.mechanism != Mechanism::kGaussian || plan.alternative_measures.empty()) {
    return std::nullopt;
  }
  const BudgetCost needed = BudgetCost::FromCost(plan.cost.epsilon, plan.cost.delta);
  std::optional<BudgetCost> left;
  if (project) {
    left = project->Remaining();
  } else {
    ConnectionPool::Lease ledger = ledger_pool_->Acquire();
    const std::optional<Budget> budget =
        DiscardIfUnavailable(ledger, [&] { return Ledger(*ledger).GetBudget(caller.analyst_id, dataset.name); });
    if (budget) left = budget->Remaining();
  }
  // No budget at all is refused by the debit, with its own message.
  if (!left || left->delta_pico >= needed.delta_pico) return std::nullopt;
  if (!FallBackToDeltaFreeMechanism(plan)) return std::nullopt;
  return "mechanism: auto used discrete Laplace (delta 0): the Gaussian, which has less noise here, costs delta " +
         needed.DeltaString() + " and " + (project ? "project '" + project->name + "'" : std::string("your budget")) +
         " has delta " + left->DeltaString() + " left; a guardian's grant of delta (dpqld admin grant) makes it available";
}

QueryResult Engine::ExplainFor(const Caller& caller, const Dataset& dataset, const ast::Statement& statement,
                               bool* cached) {
  CompiledStatement compiled = Compile(dataset, statement);
  if (!compiled.HasPlan()) {
    if (cached) *cached = false;
    return Explain(dataset, statement);
  }
  QueryResult result = ExplainPlanFor(caller, dataset, *compiled.plan);
  if (cached) *cached = compiled.kind == CompiledKind::kSelect && AnswerCached(dataset, *compiled.plan);
  return result;
}

QueryResult Engine::ExplainPlanFor(const Caller& caller, const Dataset& dataset, Plan& plan) {
  // The plan the query would run with: a payer without delta left gets
  // Laplace under `mechanism: auto`. A payer that cannot pay at all is
  // refused when the query runs; the plan shown is then the catalog's.
  std::optional<std::string> fallback;
  try {
    fallback = ChooseAffordableMechanism(caller, dataset, plan, PayingProject(caller, dataset));
  } catch (const DpqlError&) {
  }
  QueryResult result = ExplainResult(plan);
  if (fallback) result.notes.push_back(*fallback);
  return result;
}

QueryResult Engine::RunPublicKeys(const Plan& plan) {
  // The SQL reads the catalog's domains and public tables only
  // (GenerateSql), so no budget is needed and no noise drawn.
  const ExactAggregates keys = Executor(data_pool_, statement_timeout_ms_).RunExact(plan);
  QueryResult result = Release(plan, keys, *noise_);
  result.cost = {Rational(0), Rational(0)};
  result.notes.push_back("keys only, from public domains: the domain itself, free (no private row was read)");
  return result;
}

QueryResult Engine::RunSelect(const Caller& caller, const Dataset& dataset, std::shared_ptr<Plan> shared_plan,
                              const std::string& text) {
  Plan& plan = *shared_plan;
  if (plan.measures.empty()) return RunPublicKeys(plan);
  // Who pays: the caller's own budget, or a research project.
  const std::optional<Project> project = PayingProject(caller, dataset);
  const std::optional<std::string> fallback = ChooseAffordableMechanism(caller, dataset, plan, project);
  // Asked before? The answer released for the same canonical plan, privacy
  // parameters and data version is served again — to anyone with a budget on
  // the dataset — at no cost (runtime/cache/answer_cache.h).
  CanonicalizePredicates(plan);
  const std::string plan_hash = CanonicalPlanHash(plan);
  int64_t data_version = 0;
  if (answer_cache_) {
    std::optional<QueryResult> cached = LookUpAnswer(caller, dataset, plan, plan_hash, data_version, project);
    if (cached) {
      if (fallback) cached->notes.push_back(*fallback);
      return std::move(*cached);
    }
  }

  // 4. Can the server read the dataset's tables? A probe that reads no row
  //    (runtime/pg/readiness.h): a table dropped, reloaded without its
  //    grant or not yet populated refuses the query here, before anything is
  //    spent, rather than failing it after the debit.
  // 5. Pay first. The debit is committed before any of the query's result
  //    is read or any noise is drawn; it is never refunded, not even if the
  //    query then fails (its running time already depends on the data).
  //    A zCDP dataset is charged the query's rho, a basic one its (epsilon, delta).
  const BudgetCost cost = dataset.accounting == Accounting::kZcdp
                              ? BudgetCost::FromCost(0, 0, plan.cost.rho)
                              : BudgetCost::FromCost(plan.cost.epsilon, plan.cost.delta);
  // The probe and the query share one connection: one the probe found alive
  // and able to read the tables is the one the SQL is sent on — a data
  // connection (the read replica's, when there is one), while the answer
  // cache above and the debit below are the primary's. A replica that is
  // down refuses the query here (database_unavailable), before the debit.
  // A replica that has not yet replayed the data version the cache was
  // asked under is refused too (not_ready): its answer would be stored
  // under a version whose data it has not seen.
  ConnectionPool::Lease lease = data_pool_.Acquire();
  const TimePoint now = clock_->Now();
  DiscardIfUnavailable(lease, [&] {
    readiness_.Probe(*lease, dataset);
    if (answer_cache_) RequireReplicaAt(*lease, dataset, data_version);
  });

  // 6. The query starts now, on its own thread and connection, while the
  //    debit is decided and committed on another: the commit's wait and
  //    the query's run overlap. Nothing of the query is read — no noise
  //    drawn, nothing released — until the debit has committed; a refused
  //    or failed debit cancels it and is answered at once, without waiting
  //    for it, so the refusal and its moment are the debit's alone.
  std::vector<NoiseSpec> noise;
  for (const Measure& measure : plan.measures) noise.push_back(MeasureNoise(measure));
  noise_->Expect(noise);  // drawn ahead, beside the query
  const auto sent_at = std::chrono::steady_clock::now();
  RunningQuery query(background_, data_pool_, statement_timeout_ms_, shared_plan, std::move(lease));

  std::optional<Project> paid_by;
  DebitResult debit;
  try {
    ConnectionPool::Lease ledger = ledger_pool_->Acquire();
    debit = DiscardIfUnavailable(ledger, [&] {
      if (!project) {
        return Ledger(*ledger).Debit(caller.analyst_id, dataset.name, cost, text, DatasetCap(dataset, now));
      }
      ProjectDebit paid =
          ProjectLedger(*ledger).Debit(caller.analyst_id, project->name, dataset.name, cost, text,
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
  } catch (...) {
    query.Abandon();  // the debit failed or is in doubt: nothing is released
    throw;
  }
  if (!debit.ok()) query.Abandon();
  switch (debit.outcome) {
    case DebitResult::Outcome::kDebited: break;
    case DebitResult::Outcome::kNoBudget: ThrowNoBudget(dataset);
    case DebitResult::Outcome::kCapRefused: ThrowBudgetExhausted(debit, dataset, cost);
    case DebitResult::Outcome::kInsufficient:
      if (paid_by) ThrowProjectExhausted(*paid_by, dataset, cost);
      ThrowBudgetExhausted(debit, dataset, cost);
  }

  // 7. Committed: the exact, contribution-bounded aggregates. 8. Noise
  //    (drawn ahead of need), intervals, release. The released answer is
  //    cached before HAVING, ORDER BY and LIMIT, which are the asker's own
  //    post-processing and are applied to a cached answer the same way.
  QueryResult result = RunDebited(plan, [&] { return query.Wait(); }, sent_at, debit, cost);
  if (answer_cache_) StoreAnswer(dataset, plan_hash, data_version, result, debit.ledger_id, text);
  PostProcess(plan.select, result);
  if (fallback) result.notes.push_back(*fallback);
  result.budget = paid_by ? ProjectBudgetView(*paid_by, &dataset) : ToBudgetView(debit.budget, &dataset);
  result.ledger_id = debit.ledger_id;
  return result;
}

QueryResult Engine::RunDebited(const Plan& plan, const std::function<ExactAggregates()>& run_exact,
                               std::chrono::steady_clock::time_point sent_at, const DebitResult& debit,
                               const BudgetCost& cost) {
  // Paid for now: whatever fails from here on but a lost session is
  // "query_failed", one code and message for every cause, answered after
  // the statement timeout (docs/PRIVACY.md, "Failures and timeouts").
  Executor executor(data_pool_, statement_timeout_ms_);
  auto failed = [&](const std::string& detail) {
    DatabaseFailure failure(ErrorCode::kQueryFailed, QueryFailedMessage(statement_timeout_ms_), detail);
    failure.respond_at = executor.RespondAt(sent_at);
    failure.ledger_id = debit.ledger_id;
    failure.charged = cost;
    return failure;
  };
  try {
    ExactAggregates exact = run_exact();
    return ReleaseAggregates(plan, exact, *noise_);
  } catch (DatabaseFailure& failure) {
    failure.ledger_id = debit.ledger_id;
    failure.charged = cost;
    throw;
  } catch (const DpqlError& error) {
    // A shard or site that stopped answering mid-query: named, charged, and
    // answered when any failure of a debited query is, since the coordinator
    // reads the servers in turn and the moment a lost one shows depends on
    // how long the others ran.
    if (error.code() == ErrorCode::kSiteUnavailable) {
      DatabaseFailure failure(ErrorCode::kSiteUnavailable, error.message(), error.message());
      failure.respond_at = executor.RespondAt(sent_at);
      failure.ledger_id = debit.ledger_id;
      failure.charged = cost;
      throw failure;
    }
    if (IsUnavailable(error)) throw;
    throw failed("the release failed: " + std::string(Name(error.code())) + ": " + error.what());
  } catch (const std::exception& error) {
    throw failed(std::string("the release failed: ") + error.what());
  }
}

}  // namespace dpql
