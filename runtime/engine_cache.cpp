// The answer cache as the engine uses it: a repeat served from
// dpql.answer_cache (RunSelect's lookup, ServeCached's one round trip), the
// in-process memo in front of it, and the store after a release.

#include <iostream>

#include "compiler/common/error.h"
#include "compiler/compile.h"
#include "compiler/parser/parser.h"
#include "runtime/cache/answer_cache.h"
#include "runtime/cache/canonical_plan.h"
#include "runtime/cache/memo.h"
#include "runtime/engine.h"
#include "runtime/ledger/cached_exchange.h"
#include "runtime/pg/retry.h"
#include "runtime/release/postprocess.h"

namespace dpql {

// A stored answer as this asker's answer: their column names, no cost, their
// budget, their own HAVING / ORDER BY / LIMIT.
QueryResult Engine::ServeCachedAnswer(QueryResult answer, const Plan& plan, const Budget& budget,
                                      const Dataset& dataset) {
  for (size_t c = 0; c < answer.columns.size(); ++c) answer.columns[c].name = plan.outputs[c].name;
  answer.confidence = plan.select.privacy.confidence;
  answer.cost = {Rational(0), Rational(0)};
  answer.cached = true;
  // From the asker's plan, as a fresh release would have them (an answer
  // stored before the notes existed has none of its own).
  answer.bias = BiasNotes(plan);
  answer.budget = ToBudgetView(budget, &dataset);
  PostProcess(plan.select, answer);
  return answer;
}

std::optional<QueryResult> Engine::LookUpAnswer(const Caller& caller, const Dataset& dataset,
                                                const Plan& plan, const std::string& plan_hash,
                                                int64_t& data_version, const std::optional<Project>& project) {
  // On the primary (pool_), never a read replica (data_pool_): the cache and
  // the data version that every instance shares, up to date with the last
  // answer stored, so that no repeat is missed for lag and charged again for
  // a fresh draw of noise.
  auto connection = pool_.Acquire();
  CacheLookup lookup = AnswerCache(*connection).Find(dataset.name, plan_hash);
  data_version = lookup.data_version;
  if (!lookup.answer || lookup.answer->columns.size() != plan.outputs.size()) return std::nullopt;
  // Free for whoever may query the dataset: a grant holder, or a member of
  // a project that may pay now (PayingProject checked it).
  std::optional<Budget> budget;
  if (project) {
    budget = Budget{dataset.name, project->total, project->spent};
  } else {
    budget = Ledger(*connection).GetBudget(caller.analyst_id, dataset.name);
  }
  if (!budget) ThrowNoBudget(dataset);
  RememberAnswer(dataset.name, plan_hash, data_version, *lookup.answer);
  QueryResult answer = ServeCachedAnswer(std::move(*lookup.answer), plan, *budget, dataset);
  if (project) answer.budget = ProjectBudgetView(*project, &dataset);
  return answer;
}

bool Engine::AnswerCached(const Dataset& dataset, const ast::Statement& statement) {
  if (!answer_cache_ || statement.kind != ast::StatementKind::kSelect) return false;
  CompiledStatement compiled = Compile(dataset, statement);
  if (compiled.kind != CompiledKind::kSelect || !compiled.HasPlan()) return false;
  return AnswerCached(dataset, *compiled.plan);
}

bool Engine::AnswerCached(const Dataset& dataset, Plan& plan) {
  if (!answer_cache_) return false;
  CanonicalizePredicates(plan);  // as RunSelect does: the same key
  const std::string plan_hash = CanonicalPlanHash(plan);
  try {
    return WithConnection(pool_, 1, [&](pqxx::connection& connection) {
      CacheLookup lookup = AnswerCache(connection).Find(dataset.name, plan_hash);
      return lookup.answer && lookup.answer->columns.size() == plan.outputs.size();
    });
  } catch (const DpqlError& error) {
    std::cerr << "dpql: the answer cache could not be asked for an explain: " << error.what() << std::endl;
    return false;
  }
}

void Engine::StoreAnswer(const Dataset& dataset, const std::string& plan_hash, int64_t data_version,
                         const QueryResult& result, int64_t ledger_id, const std::string& text) {
  try {
    auto connection = pool_.Acquire();
    const bool stored =
        AnswerCache(*connection).Store(dataset.name, data_version, plan_hash, result, ledger_id, text);
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

std::shared_ptr<const PreparedSelect> Engine::Prepare(const Dataset& dataset, std::string_view text) {
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

void Engine::RememberAnswer(const std::string& dataset, const std::string& plan_hash, int64_t data_version,
                            QueryResult answer) {
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
  exchange.token_hash = std::string(request.token_hash);
  exchange.dataset = dataset.name;
  exchange.plan_hash = prepared->plan_hash;
  exchange.held_version = held ? held->data_version : 0;
  exchange.audit_source = request.audit_source;
  exchange.audit_query = request.audit_query;
  CachedExchangeResult found;
  try {
    found = WithConnection(
        pool_, 1, [&](pqxx::connection& connection) { return RunCachedExchange(connection, exchange); });
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
    throw DpqlError(ErrorCode::kCacheCorrupt, "a cached answer does not match its query's columns");
  }
  reply.result = ServeCachedAnswer(std::move(answer), prepared->plan, *found.budget, dataset);
  return reply;
}

}  // namespace dpql
