#include "runtime/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "compiler/common/error.h"
#include "compiler/common/zcdp.h"
#include "compiler/compile.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/executor/expected_error.h"
#include "runtime/cache/answer_cache.h"
#include "runtime/cache/cached_exchange.h"
#include "runtime/cache/canonical_plan.h"
#include "runtime/cache/memo.h"
#include "runtime/executor/database_errors.h"
#include "runtime/executor/executor.h"
#include "runtime/executor/postprocess.h"
#include "runtime/executor/release.h"
#include "runtime/ledger/ledger.h"

namespace dpql {

namespace {

[[noreturn]] void ThrowNoBudget(const Dataset& dataset) {
  throw DpqlError(ErrorCode::kNoBudget,
                  "you have no privacy budget on dataset " + dataset.name +
                      "; ask a data guardian to grant one (dpqld admin grant)");
}

// A plan as EXPLAIN shows it: its rendering, its expected errors and what
// running it would cost.
QueryResult ExplainResult(const Plan& plan) {
  QueryResult result;
  result.explain = ExplainPlan(plan);
  result.expected_errors = ExpectedErrors(plan);
  result.cost = plan.cost;
  return result;
}

// A stored answer as this asker's answer: their column names, no cost, their
// budget, their own HAVING / ORDER BY / LIMIT.
QueryResult ServeCachedAnswer(QueryResult answer, const Plan& plan, const Budget& budget,
                              const Dataset& dataset) {
  for (size_t c = 0; c < answer.columns.size(); ++c) answer.columns[c].name = plan.outputs[c].name;
  answer.confidence = plan.select.privacy.confidence;
  answer.cost = {Rational(0), Rational(0)};
  answer.cached = true;
  answer.budget = ToBudgetView(budget, &dataset);
  PostProcess(plan.select, answer);
  return answer;
}


std::string BoundsText(const CatalogColumn& column) {
  if (!column.HasBounds()) return "";
  return column.lower_text + " .. " + column.upper_text;
}

std::string DomainText(const CatalogColumn& column) {
  if (!column.domain_from_table.empty()) {
    return "from " + column.domain_from_table + "." + column.domain_from_column;
  }
  std::string out;
  for (const auto& value : column.domain) out += (out.empty() ? "" : ", ") + value;
  return out;
}

// An epsilon equivalent as a decimal with six places, rounded up (spent) or
// down (total, remaining) so the display never flatters the analyst's position.
std::string EquivalentEpsilon(double epsilon, bool round_up) {
  const double micro = round_up ? std::ceil(epsilon * 1e6) : std::floor(epsilon * 1e6);
  return FormatFixedPoint(static_cast<int64_t>(micro), 6);
}

// A ledger amount rounded down to whole units (caps are never raised by rounding).
int64_t UnitsDown(const Rational& value, int64_t scale) {
  return Floor(value * scale).convert_to<int64_t>();
}

}  // namespace

BudgetView ToBudgetView(const Budget& budget, const Dataset* dataset) {
  BudgetView view;
  view.dataset = budget.dataset;
  view.epsilon_total = budget.total.EpsilonString();
  view.epsilon_spent = budget.spent.EpsilonString();
  view.epsilon_remaining = budget.Remaining().EpsilonString();
  view.delta_total = budget.total.DeltaString();
  view.delta_spent = budget.spent.DeltaString();
  view.delta_remaining = budget.Remaining().DeltaString();
  if (dataset != nullptr && dataset->accounting == Accounting::kZcdp) {
    const Rational& delta = dataset->defaults.delta;  // > 0: the catalog checks it
    const BudgetCost remaining = budget.Remaining();
    view.accounting = "zcdp";
    view.rho_total = budget.total.RhoString();
    view.rho_spent = budget.spent.RhoString();
    view.rho_remaining = remaining.RhoString();
    view.epsilon_total = EquivalentEpsilon(EpsilonForRho(budget.total.Rho(), delta), false);
    view.epsilon_spent = EquivalentEpsilon(EpsilonForRho(budget.spent.Rho(), delta), true);
    view.epsilon_remaining = EquivalentEpsilon(EpsilonForRho(remaining.Rho(), delta), false);
    const std::string delta_text = BudgetCost{0, UnitsDown(delta, kPicoPerDelta), 0}.DeltaString();
    view.delta_total = delta_text;
    view.delta_spent = budget.spent.rho_pico > 0 ? delta_text : "0";
    view.delta_remaining = delta_text;
  }
  return view;
}

BudgetCap DatasetCap(const Dataset& dataset) {
  const PrivacyLimits& limits = dataset.limits;
  BudgetCap cap;
  if (dataset.accounting == Accounting::kZcdp) {
    if (limits.dataset_rho) {
      cap.rho_pico = UnitsDown(*limits.dataset_rho, kPicoPerRho);
    } else if (limits.dataset_epsilon) {
      const Rational delta = limits.dataset_delta.value_or(dataset.defaults.delta);
      cap.rho_pico = UnitsDown(RhoForEpsilonDelta(*limits.dataset_epsilon, delta), kPicoPerRho);
    }
    return cap;
  }
  if (limits.dataset_epsilon) cap.epsilon_micro = UnitsDown(*limits.dataset_epsilon, kMicroPerEpsilon);
  if (limits.dataset_delta) cap.delta_pico = UnitsDown(*limits.dataset_delta, kPicoPerDelta);
  return cap;
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

std::vector<NoiseSpec> Engine::PrefillNoise() {
  // Typical first queries at the defaults: what a release most often needs.
  std::vector<std::string> texts;
  for (const Dataset& dataset : catalog_.datasets) {
    for (const CatalogTable& table : dataset.tables) {
      if (!table.is_private) continue;
      std::vector<std::string> aggregates = {"COUNT(*)"};
      const CatalogColumn* key = nullptr;
      for (const CatalogColumn& column : table.columns) {
        if (column.name == dataset.privacy_unit) {
          aggregates.push_back("COUNT(DISTINCT " + column.name + ")");
        } else if ((column.type == ColumnType::kInt || column.type == ColumnType::kReal) &&
                   column.HasBounds()) {
          aggregates.push_back("SUM(" + column.name + ")");
          aggregates.push_back("AVG(" + column.name + ")");
        }
        if (key == nullptr && column.HasDomain() && column.name != dataset.privacy_unit) {
          key = &column;
        }
      }
      for (const std::string& aggregate : aggregates) {
        texts.push_back(dataset.name + '\0' + "SELECT " + aggregate + " FROM " + table.name);
        if (key != nullptr) {
          texts.push_back(dataset.name + '\0' + "SELECT " + key->name + ", " + aggregate +
                          " FROM " + table.name + " GROUP BY " + key->name);
        }
      }
    }
  }
  std::vector<NoiseSpec> specs;
  const size_t limit = NoisePools::Options{}.max_pools / 2;
  for (const std::string& entry : texts) {
    const size_t nul = entry.find('\0');
    try {
      const Dataset& dataset = ResolveDataset(entry.substr(0, nul));
      ast::Statement statement = ParseStatement(entry.substr(nul + 1));
      Plan plan = CompileSelect(dataset, *statement.select);
      for (const Measure& measure : plan.measures) {
        NoiseSpec spec = MeasureNoise(measure);
        if (std::find(specs.begin(), specs.end(), spec) == specs.end() && specs.size() < limit) {
          specs.push_back(spec);
        }
      }
    } catch (const DpqlError&) {
      // A query this catalog refuses (e.g. a key without a public domain) has no noise.
    }
  }
  noise_->Prefill(specs);
  return specs;
}

ReadinessReport Engine::CheckReadiness() {
  auto lease = pool_.Acquire();
  try {
    return readiness_.Check(*lease);
  } catch (const DpqlError& error) {
    if (error.code() == ErrorCode::kDatabaseUnavailable) lease.Discard();
    throw;
  }
}

const Dataset& Engine::ResolveDataset(std::string_view name) const {
  const Dataset* dataset = name.empty() ? catalog_.DefaultDataset() : catalog_.FindDataset(name);
  if (dataset == nullptr) {
    std::string names;
    for (const auto& d : catalog_.datasets) names += (names.empty() ? "" : ", ") + d.name;
    throw DpqlError(ErrorCode::kUnknownDataset,
                    name.empty() ? "name a dataset; this server has: " + names
                                 : "unknown dataset \"" + std::string(name) +
                                       "\"; this server has: " + names);
  }
  return *dataset;
}

QueryResult Engine::Run(const Caller& caller, std::string_view dataset_name,
                        std::string_view text) {
  return Run(caller, dataset_name, ParseStatement(text));
}

QueryResult Engine::Run(const Caller& caller, std::string_view dataset_name,
                        const ast::Statement& statement) {
  const Dataset& dataset = ResolveDataset(dataset_name);
  // 1-3. Bind, plan, generate SQL: refusals here cost nothing.
  CompiledStatement compiled = Compile(dataset, statement);
  switch (compiled.kind) {
    case CompiledKind::kSelect:
      return RunSelect(caller, dataset, *compiled.plan, statement.text);
    case CompiledKind::kExplain: {
      QueryResult result = ExplainResult(*compiled.plan);
      result.cost = {Rational(0), Rational(0)};  // EXPLAIN itself spends nothing
      return result;
    }
    case CompiledKind::kShowTables:
      return ShowTables(dataset);
    case CompiledKind::kDescribe:
      return Describe(dataset, *compiled.table);
    case CompiledKind::kShowBudget:
      return ShowBudget(caller, dataset);
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
  if (answer_cache_) {
    auto connection = pool_.Acquire();
    CacheLookup lookup = AnswerCache(*connection).Find(dataset.name, plan_hash);
    data_version = lookup.data_version;
    if (lookup.answer && lookup.answer->columns.size() == plan.outputs.size()) {
      std::optional<Budget> budget = Ledger(*connection).GetBudget(caller.analyst_id, dataset.name);
      if (!budget) ThrowNoBudget(dataset);
      RememberAnswer(dataset.name, plan_hash, data_version, *lookup.answer);
      return ServeCachedAnswer(std::move(*lookup.answer), plan, *budget, dataset);
    }
  }

  // 4. Can the server read the dataset's tables? A probe that reads no row
  //    (runtime/executor/readiness.h): a table dropped, reloaded without its
  //    grant or not yet populated refuses the query here, before anything is
  //    spent, rather than failing it after the debit.
  // 5. Pay first. The debit is committed before the data is read or any noise
  //    is drawn; it is never refunded, not even if the query then fails (its
  //    running time already depends on the data).
  //    A zCDP dataset is charged the query's rho, a basic one its (epsilon, delta).
  const bool zcdp = dataset.accounting == Accounting::kZcdp;
  BudgetCost cost = zcdp ? BudgetCost::FromCost(0, 0, plan.cost.rho)
                         : BudgetCost::FromCost(plan.cost.epsilon, plan.cost.delta);
  DebitResult debit;
  // The probe, the debit and the query share one connection: one the probe
  // found alive and able to read the tables is the one the SQL is sent on.
  ConnectionPool::Lease lease = pool_.Acquire();
  try {
    readiness_.Probe(*lease, dataset);
    Ledger ledger(*lease);
    debit = ledger.Debit(caller.analyst_id, dataset.name, cost, text, DatasetCap(dataset));
  } catch (const DpqlError& error) {
    if (error.code() == ErrorCode::kDatabaseUnavailable) lease.Discard();
    throw;
  }
  if (!debit.ok) {
    if (!debit.has_budget) ThrowNoBudget(dataset);
    if (debit.cap_refused) {
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
    Budget& b = debit.budget;
    if (zcdp) {
      throw DpqlError(ErrorCode::kBudgetExhausted,
                      "this query costs rho " + cost.RhoString() + " but your budget on " +
                          dataset.name + " has rho " + b.Remaining().RhoString() +
                          " left (this dataset uses zCDP accounting; budgets are granted in rho); "
                          "lower it with WITH PRIVACY (epsilon = ...) or ask a data guardian for "
                          "more budget. Nothing was spent.");
    }
    throw DpqlError(ErrorCode::kBudgetExhausted,
                    "this query costs epsilon " + cost.EpsilonString() +
                        (cost.delta_pico > 0 ? " and delta " + cost.DeltaString() : "") +
                        " but your budget on " + dataset.name + " has epsilon " +
                        b.Remaining().EpsilonString() + " and delta " +
                        b.Remaining().DeltaString() +
                        " left; lower it with WITH PRIVACY (epsilon = ...) or ask a data "
                        "guardian for more budget. Nothing was spent.");
  }

  // 6. The exact, contribution-bounded aggregates. 7. Noise (drawn ahead of
  //    need), intervals, release. The released answer is cached before
  //    HAVING, ORDER BY and LIMIT, which are the asker's own post-processing
  //    and are applied to a cached answer the same way.
  //    Paid for now: whatever fails from here on but a lost session is
  //    "query_failed", one code and message for every cause, answered after
  //    the statement timeout (docs/PRIVACY.md, "Failures and timeouts").
  Executor executor(pool_, statement_timeout_ms_);
  const auto sent_at = std::chrono::steady_clock::now();
  PostProcessing post = TakePostProcessing(plan.select);
  QueryResult result;
  try {
    ExactAggregates exact = executor.RunExact(plan, std::move(lease));
    result = Release(plan, exact, *noise_);
  } catch (DatabaseFailure& failure) {
    failure.ledger_id = debit.ledger_id;
    failure.charged = cost;
    throw;
  } catch (const DpqlError& error) {
    if (error.code() == ErrorCode::kDatabaseUnavailable) throw;
    DatabaseFailure failure(ErrorCode::kQueryFailed, QueryFailedMessage(statement_timeout_ms_),
                            "the release failed: " + std::string(Name(error.code())) + ": " + error.what());
    failure.respond_at = executor.RespondAt(sent_at);
    failure.ledger_id = debit.ledger_id;
    failure.charged = cost;
    throw failure;
  } catch (const std::exception& error) {
    DatabaseFailure failure(ErrorCode::kQueryFailed, QueryFailedMessage(statement_timeout_ms_),
                            std::string("the release failed: ") + error.what());
    failure.respond_at = executor.RespondAt(sent_at);
    failure.ledger_id = debit.ledger_id;
    failure.charged = cost;
    throw failure;
  }
  if (answer_cache_) {
    try {
      auto connection = pool_.Acquire();
      const bool stored = AnswerCache(*connection)
          .Store(dataset.name, data_version, plan_hash, result, debit.ledger_id, text);
      // Only the answer the table holds may be served again from memory: a
      // concurrent identical query that stored first keeps its answer.
      if (stored) {
        if (std::optional<std::string> encoded = EncodeAnswer(result)) {
          RememberAnswer(dataset.name, plan_hash, data_version, DecodeAnswer(*encoded));
        }
      }
    } catch (const std::exception& error) {
      // The answer is paid for and stands; only its repeats will be charged.
      std::cerr << "dpql: the answer could not be cached: " << error.what() << std::endl;
    }
  }
  RestorePostProcessing(plan.select, std::move(post));
  PostProcess(plan.select, result);
  result.budget = ToBudgetView(debit.budget, &dataset);
  result.ledger_id = debit.ledger_id;
  return result;
}

std::shared_ptr<const PreparedSelect> Engine::Prepare(const Dataset& dataset,
                                                      std::string_view text) {
  if (text.size() > EngineMemo::kMaxPlanTextBytes) return nullptr;
  std::string key = dataset.name;
  key += '\0';
  key += text;
  if (std::shared_ptr<const PreparedSelect> known = memo_->plans.Find(key)) return known;
  auto prepared = std::make_shared<PreparedSelect>();
  try {
    std::vector<ast::Statement> statements = ParseScript(text);
    if (statements.size() != 1 || statements[0].kind != ast::StatementKind::kSelect) return nullptr;
    prepared->plan = CompileSelect(dataset, *statements[0].select);
  } catch (const DpqlError&) {
    return nullptr;  // the general path reports it
  }
  CanonicalizePredicates(prepared->plan);
  prepared->plan_hash = CanonicalPlanHash(prepared->plan);
  memo_->plans.Put(key, prepared, EstimateBytes(*prepared, text.size()));
  return prepared;
}

void Engine::RememberAnswer(const std::string& dataset, const std::string& plan_hash,
                            int64_t data_version, QueryResult answer) {
  auto memo = std::make_shared<MemoAnswer>();
  memo->data_version = data_version;
  memo->answer = std::move(answer);
  const size_t bytes = EstimateBytes(memo->answer);
  memo_->answers.Put(dataset + '\0' + plan_hash, std::move(memo), bytes);
}

CachedReply Engine::ServeCached(const Dataset& dataset, const CachedRequest& request) {
  CachedReply reply;
  if (!answer_cache_) return reply;
  std::shared_ptr<const PreparedSelect> prepared = Prepare(dataset, request.text);
  if (!prepared) return reply;
  const std::string answer_key = dataset.name + '\0' + prepared->plan_hash;
  std::shared_ptr<const MemoAnswer> held = memo_->answers.Find(answer_key);

  CachedExchangeRequest exchange;
  exchange.token = std::string(request.token);
  exchange.dataset = dataset.name;
  exchange.plan_hash = prepared->plan_hash;
  exchange.held_version = held ? held->data_version : 0;
  exchange.audit_source = request.audit_source;
  exchange.audit_query = request.audit_query;
  CachedExchangeResult found;
  try {
    auto connection = pool_.Acquire();
    try {
      found = RunCachedExchange(*connection, exchange);
    } catch (const DpqlError& error) {
      if (error.code() == ErrorCode::kDatabaseUnavailable) connection.Discard();
      throw;
    }
  } catch (const DpqlError&) {
    return reply;  // the general path meets the same failure and reports it
  }
  reply.analyst = std::move(found.analyst);
  if (!found.served) return reply;

  // From here on the audit row is written: the answer must be served.
  QueryResult answer;
  if (found.answer_text) {
    answer = DecodeAnswer(*found.answer_text);
    RememberAnswer(dataset.name, prepared->plan_hash, found.data_version, answer);
  } else if (held) {
    answer = held->answer;  // held at found.data_version (not sent back for that reason)
  } else {
    throw DpqlError(ErrorCode::kCacheCorrupt, "a cached answer was not sent back");
  }
  if (answer.columns.size() != prepared->plan.outputs.size()) {
    throw DpqlError(ErrorCode::kCacheCorrupt,
                    "a cached answer does not match its query's columns");
  }
  reply.result = ServeCachedAnswer(std::move(answer), prepared->plan, *found.budget, dataset);
  return reply;
}

QueryResult Engine::ShowTables(const Dataset& dataset) const {
  QueryResult result;
  result.columns = {{"table", ValueType::kText, false},
                    {"kind", ValueType::kText, false},
                    {"columns", ValueType::kInt, false}};
  for (const auto& table : dataset.tables) {
    result.rows.push_back({table.name, std::string(table.is_private ? "private" : "public"),
                           static_cast<int64_t>(table.columns.size())});
    result.intervals.emplace_back(3);
  }
  return result;
}

QueryResult Engine::Describe(const Dataset& dataset, const CatalogTable& table) const {
  QueryResult result;
  result.columns = {{"column", ValueType::kText, false},
                    {"type", ValueType::kText, false},
                    {"bounds", ValueType::kText, false},
                    {"domain", ValueType::kText, false},
                    {"note", ValueType::kText, false}};
  for (const auto& column : table.columns) {
    std::string note;
    if (column.name == dataset.privacy_unit) {
      note = "privacy unit: use COUNT(DISTINCT " + column.name + ")";
    } else if (table.is_private && !column.HasDomain() && !column.HasBounds() &&
               column.type != ColumnType::kBool) {
      note = "no public domain: grouped only with partition selection (delta > 0)";
    }
    result.rows.push_back({column.name, std::string(ColumnTypeName(column.type)),
                           BoundsText(column), DomainText(column), note});
    result.intervals.emplace_back(5);
  }
  return result;
}

QueryResult Engine::ShowBudget(const Caller& caller, const Dataset& dataset) {
  auto connection = pool_.Acquire();
  Ledger ledger(*connection);
  std::optional<Budget> budget = ledger.GetBudget(caller.analyst_id, dataset.name);
  QueryResult result;
  result.columns = {{"dataset", ValueType::kText, false},
                    {"epsilon_total", ValueType::kText, false},
                    {"epsilon_spent", ValueType::kText, false},
                    {"epsilon_remaining", ValueType::kText, false},
                    {"delta_total", ValueType::kText, false},
                    {"delta_spent", ValueType::kText, false},
                    {"delta_remaining", ValueType::kText, false}};
  const bool zcdp = dataset.accounting == Accounting::kZcdp;
  if (zcdp) {
    // rho is the budget itself; epsilon and delta above are its equivalents.
    result.columns.push_back({"rho_total", ValueType::kText, false});
    result.columns.push_back({"rho_spent", ValueType::kText, false});
    result.columns.push_back({"rho_remaining", ValueType::kText, false});
  }
  if (budget) {
    BudgetView view = ToBudgetView(*budget, &dataset);
    result.budget = view;
    std::vector<Value> row = {view.dataset,     view.epsilon_total, view.epsilon_spent,
                              view.epsilon_remaining, view.delta_total, view.delta_spent,
                              view.delta_remaining};
    if (zcdp) {
      row.insert(row.end(), {view.rho_total, view.rho_spent, view.rho_remaining});
    }
    result.intervals.emplace_back(row.size());
    result.rows.push_back(std::move(row));
  }
  return result;
}

}  // namespace dpql
