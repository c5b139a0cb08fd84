#pragma once

// The whole DPQL pipeline in one place — read this first:
//
//   text --parse--> AST --bind--> BoundSelect --plan--> Plan --SQL--> text+params
//        --answered before? serve the stored answer, free-->
//        --debit budget (atomic, committed) while the SQL runs (exact, bounded
//          aggregates); nothing goes on until the debit has committed-->
//        --add exact discrete noise--> release (values + confidence intervals)
//        --store in the answer cache--> HAVING / ORDER BY / LIMIT
//
// Each arrow is a folder: compiler/parser, compiler/binder, compiler/planner,
// runtime/cache, runtime/ledger, runtime/executor, runtime/release and
// runtime/noise (connections: runtime/pg). Bind, plan
// and SQL are one call, Compile (compiler/compile.h), which every front end
// reaches through Engine::Run and Engine::Explain.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/common/clock.h"
#include "runtime/cache/release_answer.h"
#include "runtime/executor/public_rows.h"
#include "runtime/ledger/ledger.h"
#include "runtime/ledger/projects.h"
#include "runtime/ledger/release_store.h"
#include "runtime/noise/noise_pool.h"
#include "runtime/pg/connection_pool.h"
#include "runtime/pg/readiness.h"
#include "runtime/random/random_source.h"
#include "runtime/release/result.h"

namespace dpql {

namespace ast {
struct Statement;
}

struct EngineMemo;         // runtime/cache/memo.h
struct Plan;               // compiler/planner/plan.h
struct PreparedSelect;     // runtime/cache/memo.h
struct BackgroundQueries;  // engine.cpp: queries running beside their debit

// A ledger budget as exact decimal strings, as responses show it. With the
// dataset known and zCDP-accounted, the view holds rho and its (epsilon,
// delta) equivalents at the dataset's default delta.
BudgetView ToBudgetView(const Budget& budget, const Dataset* dataset = nullptr);

// The catalog's dataset-wide cap (limits.dataset_*) in ledger units, rounded
// down: epsilon and delta with basic accounting, rho with zCDP accounting.
BudgetCap DatasetCap(const Dataset& dataset);
// The same cap as it applies at `now`: with `limits.dataset_period`, to the
// spend of the period holding `now` (every debit passes this one).
BudgetCap DatasetCap(const Dataset& dataset, TimePoint now);

// A project's budget as responses show it (spent: in the current period).
BudgetView ProjectBudgetView(const Project& project, const Dataset* dataset = nullptr);

// Who is asking. The server authenticates the bearer token first.
struct Caller {
  int64_t analyst_id = 0;
  std::string name;
  // The research project that pays (HTTP header DPQL-Project); "" = the
  // default account (Engine::PayingProject).
  std::string project{};
};

// A request for Engine::ServeCached: the bearer token as sent, the query and
// how its audit row names it.
struct CachedRequest {
  std::string_view token;
  std::string_view token_hash;  // instead of the token: its SHA-256 in hex (a PostgreSQL session's)
  std::string_view text;
  std::string audit_source;  // e.g. "POST /v1/query"
  std::string audit_query;   // the text as audited (cut to size)
};

struct CachedReply {
  std::optional<Analyst> analyst;     // the token's analyst, unrevoked, when the round trip found one
  std::optional<QueryResult> result;  // served: the audit row is written, nothing was charged
};

// Releases (runtime/engine_release.cpp; docs/PRIVACY.md, "Releases"): one
// query of a release run — its hierarchy level (the release's name when it
// has none) and its DPQL text with the parameters substituted.
struct ReleaseQuery {
  std::string level;
  std::string text;
  // A higher level of a hierarchy that has a key: the public table mapping
  // the key of the level below (child) to this level's key (parent). Empty
  // for the lowest level and for an ungrouped top level ("all").
  std::string table{}, child{}, parent{};
};

// One run of a release: the durable key is (release, parameters).
struct ReleaseRunRequest {
  std::string release;
  std::string dataset;     // "" = the catalog's only dataset
  std::string parameters;  // e.g. "day=2026-11-27"
  std::string day;         // YYYY-MM-DD: the run's date parameter
  std::vector<ReleaseQuery> queries;
  std::string origin;  // who asked, for the audit row: "scheduler", "admin"
};

struct ReleaseRunOutcome {
  enum class State {
    kPublished,         // paid now, answered and stored
    kCompleted,         // paid earlier but never published: answered now, not paid again
    kAlreadyPublished,  // nothing done
    kLostRace,          // completed concurrently by another instance: this answer was discarded
  };
  State state = State::kAlreadyPublished;
  BudgetCost cost;  // what this call debited (zero unless kPublished)
  int64_t ledger_id = 0;
};

// A published run with its stored answer, one per level.
struct PublishedRelease {
  ReleaseRunRow run;
  std::vector<ReleaseLevelAnswer> levels;
};

class Engine {
 public:
  // `rng` is the noise source: SecureRandom in every production binary. Noise
  // is drawn from it ahead of need into pools (runtime/noise/noise_pool.h).
  // Three kinds of database work, on up to three pools:
  // - `pool`: the primary's work that is not a debit — the answer cache and
  //   the data versions, budgets and projects read, release runs stored —
  //   and, without `data_pool`, the data queries too;
  // - `ledger_pool`: the connections the debits run on, beside the queries
  //   (RunSelect); null: a pool of `pool`'s size, on `pool`'s database, that
  //   the engine opens itself (tests pass one to look at its connections);
  // - `data_pool`: the data queries — every read of the catalog's tables
  //   (the aggregate SQL, the readiness probe, public tables and domains) —
  //   e.g. on a streaming read replica of `pool`'s database (`replica` in
  //   dpqld.yaml; docs/SCALING.md). A replica refuses writes, and nothing
  //   sent on this pool writes. Null: `pool`.
  Engine(const Catalog& catalog, ConnectionPool& pool, std::unique_ptr<RandomSource> rng,
         int statement_timeout_ms = 60000, ConnectionPool* ledger_pool = nullptr,
         ConnectionPool* data_pool = nullptr);
  ~Engine();

  // Runs exactly one statement (SELECT, EXPLAIN, SHOW TABLES, DESCRIBE,
  // SHOW BUDGET) for `caller` on `dataset` ("" = the catalog's only dataset).
  // Throws DpqlError for every refusal; a refused statement costs nothing.
  // A SELECT is refused before its debit with DatabaseFailure "not_ready"
  // when the readiness probe finds a table of the dataset unreadable. Once
  // debited, every failure but a lost session is DatabaseFailure
  // "query_failed", charged, with one fixed message and a time to answer it
  // (runtime/pg/database_errors.h).
  QueryResult Run(const Caller& caller, std::string_view dataset, std::string_view text);
  // The same for a statement the caller has parsed already.
  QueryResult Run(const Caller& caller, std::string_view dataset, const ast::Statement& statement);

  // What running `statement` on `dataset` would do, without running it or
  // touching the database: for a SELECT or EXPLAIN, the rendered plan, its
  // expected errors and the cost running the SELECT would be charged; for a
  // metadata statement, "metadata statement; no privacy cost" and cost 0.
  // Throws DpqlError as Compile does (POST /v1/explain, `dpqld compile`).
  static QueryResult Explain(const Dataset& dataset, const ast::Statement& statement);

  // The rows of a public table (`private: false` in the catalog), catalog
  // columns only, at most `max_rows` (GET /v1/public/TABLE). A public table
  // holds no personal data by the guardian's declaration, so reading it
  // spends nothing. Throws "table_is_private" for a private table: private
  // rows never leave the server.
  PublicRows ReadPublicTable(const Dataset& dataset, const CatalogTable& table, size_t max_rows);

  // Whether the answer cache holds an answer to `statement` (a SELECT) under
  // the dataset's current data version, so that running it would cost
  // nothing (POST /v1/explain's "cached"). Reads only dpql.answer_cache and
  // dpql.data_versions — never the data — and charges nothing. False for any
  // other statement, with the answer cache off, or when the database cannot
  // be asked (a cost shown that then is not charged errs the safe way).
  bool AnswerCached(const Dataset& dataset, const ast::Statement& statement);
  // The same for a compiled SELECT's plan, whose predicates it puts in
  // canonical order (CanonicalizePredicates, as RunSelect does).
  bool AnswerCached(const Dataset& dataset, Plan& plan);

  // Explain, as `caller` would run it (POST /v1/explain): the plan with the
  // mechanism the caller's budget affords (ChooseAffordableMechanism; a note
  // says when it differs from the catalog's choice), and in `*cached`
  // whether the answer cache holds it. Reads the caller's budget and the
  // answer cache, never the data; charges nothing.
  QueryResult ExplainFor(const Caller& caller, const Dataset& dataset, const ast::Statement& statement,
                         bool* cached = nullptr);

  // A repeat of a query answered before, in one database round trip
  // (runtime/cache/cached_exchange.h): authenticates `request.token`, and
  // when the asker has a budget on `dataset` and the answer cache holds an
  // answer to this single SELECT under the data version current at that
  // moment, appends the audit row and returns the answer (cost 0, the
  // asker's names, HAVING / ORDER BY / LIMIT and budget). Anything else —
  // an unknown or revoked token, no budget, not a single SELECT that
  // compiles, nothing stored, the answer cache off, a database failure —
  // returns no result and writes nothing: the caller then takes the general
  // path (authenticate, Run), which refuses or charges as usual. Throws only
  // when a stored answer cannot be read once its audit row is written
  // ("cache_corrupt"). Compiled plans and stored answers are memoised
  // in-process (runtime/cache/memo.h).
  CachedReply ServeCached(const Dataset& dataset, const CachedRequest& request);

  // Requests noise pools, filled by the background thread, for the
  // distributions of typical queries at each dataset's default privacy
  // parameters (COUNT(*), COUNT(DISTINCT unit), and SUM and AVG of each
  // bounded column of each private table, ungrouped and grouped by the first
  // column with a public domain), at most half the pools. Returns them, in
  // the order requested. dpqld calls it at start; tests that study seeded
  // noise do not, so their values stay those of the seeded sequence.
  std::vector<NoiseSpec> PrefillNoise();

  // What one run of a release costs in ledger units: the sum of its queries'
  // costs (WITH PRIVACY or the dataset's defaults). Throws DpqlError as
  // Compile does, or "invalid_parameter" when a query is not one SELECT.
  static BudgetCost ReleaseCost(const Dataset& dataset, const std::vector<ReleaseQuery>& queries);

  // Runs a release once per (release, parameters): pays from the dataset's
  // release account within the dataset-wide cap (one transaction, with the
  // run row "paid"), then runs every query, draws noise and stores the
  // answers ("published"). A run found "paid" — the process died between
  // the two — is completed without paying again, with fresh noise (the
  // first draw was never released); a published run is never run again.
  // Audited (source "release_run"). Throws "release_account_exhausted",
  // "dataset_budget_exhausted", or as Compile and Run do.
  ReleaseRunOutcome RunRelease(const ReleaseRunRequest& request);

  // Published runs of `release` with from <= day <= to ("" = open), by day;
  // reading them spends nothing.
  std::vector<PublishedRelease> ReleaseRuns(const std::string& release, const std::string& from,
                                            const std::string& to, int limit);
  std::optional<ReleaseRunRow> LatestReleaseRun(const std::string& release);

  // Whether the server's role can read the catalog's tables (GET /readyz),
  // where the data queries run: on the read replica when there is one.
  ReadinessReport CheckReadiness();
  // Whether the data queries run on a pool of their own (a read replica).
  bool has_replica() const { return &data_pool_ != &pool_; }

  const Dataset& ResolveDataset(std::string_view name) const;
  const Catalog& catalog() const { return catalog_; }

  // The answer cache is on by default. Off, every query is charged and gets
  // fresh noise — for tests that repeat one query to study its noise.
  void set_answer_cache(bool enabled) { answer_cache_ = enabled; }

  // The time dated decisions read (project end dates and periods, release
  // schedules): the system clock unless a test sets another. `clock` must
  // outlive the engine.
  void set_clock(const Clock* clock) { clock_ = clock != nullptr ? clock : &system_clock_; }
  const Clock& clock() const { return *clock_; }

  // Which account pays for `caller`'s queries on `dataset`: the project the
  // caller named (checked: a member, open now), else — nullopt — their own
  // budget on the dataset if they have one with a grant above zero, else
  // their only project on the
  // dataset (their only open one when they have several). Throws
  // "project_required" listing the projects when that leaves a choice, and
  // "no_budget" when there is no account at all; a named or only project
  // that may not pay throws its own refusal ("project_ended", ...).
  std::optional<Project> PayingProject(const Caller& caller, const Dataset& dataset);

 private:
  // `mechanism: auto` chose the Gaussian but the payer has less delta left
  // than it costs: the plan falls back to Laplace at delta 0, and the note
  // returned says so. Reads the payer's budget only (never the data).
  std::optional<std::string> ChooseAffordableMechanism(const Caller& caller, const Dataset& dataset, Plan& plan,
                                                       const std::optional<Project>& project);
  // A keys-only SELECT whose keys all have public domains: the domain,
  // read without any private row, free and noiseless.
  QueryResult RunPublicKeys(const Plan& plan);
  // EXPLAIN's result for `plan` as `caller` would run it.
  QueryResult ExplainPlanFor(const Caller& caller, const Dataset& dataset, Plan& plan);
  // Runs a compiled SELECT; `text` is the statement as the ledger records it.
  // Shared: a query abandoned on its own thread keeps its plan.
  QueryResult RunSelect(const Caller& caller, const Dataset& dataset, std::shared_ptr<Plan> shared_plan,
                        const std::string& text);
  // After the debit has committed: the exact aggregates `exact` waits for
  // (the SQL sent at `sent_at`), then their release (before HAVING / ORDER
  // BY / LIMIT). Every failure but a lost session becomes DatabaseFailure
  // "query_failed", charged.
  QueryResult RunDebited(const Plan& plan, const std::function<ExactAggregates()>& exact,
                         std::chrono::steady_clock::time_point sent_at, const DebitResult& debit,
                         const BudgetCost& cost);
  // The answer dpql.answer_cache holds for the plan, as this caller's answer
  // (nullopt: none); `data_version` is set to the dataset's current version.
  // `project`: the paying project, whose budget the answer shows.
  std::optional<QueryResult> LookUpAnswer(const Caller& caller, const Dataset& dataset, const Plan& plan,
                                          const std::string& plan_hash, int64_t& data_version,
                                          const std::optional<Project>& project);
  // Stores a released answer (before post-processing); a failure is logged only.
  void StoreAnswer(const Dataset& dataset, const std::string& plan_hash, int64_t data_version,
                   const QueryResult& result, int64_t ledger_id, const std::string& text);
  // A stored answer as this asker's answer: their column names, no cost, their
  // budget, their own HAVING / ORDER BY / LIMIT.
  static QueryResult ServeCachedAnswer(QueryResult answer, const Plan& plan, const Budget& budget,
                                       const Dataset& dataset);
  [[noreturn]] static void ThrowNoBudget(const Dataset& dataset);
  // The memoised compiled SELECT for `text`, or nullptr when it is not a single SELECT that compiles.
  std::shared_ptr<const PreparedSelect> Prepare(const Dataset& dataset, std::string_view text);
  // Keeps an answer the answer cache holds (as stored: encoded and decoded).
  void RememberAnswer(const std::string& dataset, const std::string& plan_hash, int64_t data_version,
                      QueryResult answer);
  // The noise pools' options: small first fills, asked for as a query starts.
  static NoisePools::Options NoiseOptions();
  // With a read replica (has_replica()): refuses with DatabaseFailure
  // "not_ready", before anything is paid, when the replica on `data` has not
  // yet replayed the data version `primary_version` that the primary holds
  // for `dataset` — a load committed with its version bump — so that an
  // answer stored under a data version was computed from that version's data
  // (runtime/engine_replica.cpp). Without a replica, does nothing.
  void RequireReplicaAt(pqxx::connection& data, const Dataset& dataset, int64_t primary_version) const;
  // The primary's current data version of `dataset` (dpql.data_versions).
  int64_t PrimaryDataVersion(const Dataset& dataset);
  QueryResult ShowTables(const Dataset& dataset) const;
  QueryResult Describe(const Dataset& dataset, const CatalogTable& table) const;
  QueryResult ShowBudget(const Caller& caller, const Dataset& dataset);

  const Catalog& catalog_;
  // The primary (see the constructor): the answer cache and data versions,
  // budgets and projects read, release runs. Never the data when data_pool_
  // is another pool: the cache must be the one every instance shares, and
  // a replica, which refuses writes, could not store an answer.
  ConnectionPool& pool_;
  // The data queries: pool_, or the read replica's pool. Reads only.
  ConnectionPool& data_pool_;
  // The debits' connections: a SELECT holds one of data_pool_ (its query) and
  // one of these (its debit) at once, so that the two run side by side; taken
  // from two pools, no two requests can each hold one and wait for the other.
  std::unique_ptr<ConnectionPool> own_ledger_pool_;
  ConnectionPool* ledger_pool_;
  std::shared_ptr<BackgroundQueries> background_;
  std::unique_ptr<NoisePools> noise_;
  Readiness readiness_;
  std::unique_ptr<EngineMemo> memo_;
  int statement_timeout_ms_;
  bool answer_cache_ = true;
  SystemClock system_clock_;
  const Clock* clock_ = &system_clock_;
};

}  // namespace dpql
