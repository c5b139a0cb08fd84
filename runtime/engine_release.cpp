// Releases: paid once from the dataset's release account, stored, served
// free (engine.h; docs/PRIVACY.md, "Releases").

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "compiler/common/error.h"
#include "compiler/compile.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/engine.h"
#include "runtime/executor/executor.h"
#include "runtime/pg/database_errors.h"
#include "runtime/pg/retry.h"
#include "runtime/release/release.h"

namespace dpql {

namespace {

// The compiled SELECT of each query, in order.
std::vector<CompiledStatement> CompileRelease(const Dataset& dataset,
                                              const std::vector<ReleaseQuery>& queries) {
  std::vector<CompiledStatement> out;
  for (const ReleaseQuery& query : queries) {
    ast::Statement statement = ParseStatement(query.text);
    if (statement.kind != ast::StatementKind::kSelect) {
      throw DpqlError(ErrorCode::kInvalidParameter,
                      "a release's query must be one SELECT; level '" + query.level + "' is not");
    }
    out.push_back(Compile(dataset, statement));
    if (out.back().kind != CompiledKind::kSelect || !out.back().HasPlan()) {
      throw DpqlError(ErrorCode::kInvalidParameter,
                      "a release's query must be one SELECT; level '" + query.level + "' is not");
    }
  }
  return out;
}

BudgetCost CostOf(const Dataset& dataset, const Plan& plan) {
  return dataset.accounting == Accounting::kZcdp ? BudgetCost::FromCost(0, 0, plan.cost.rho)
                                                 : BudgetCost::FromCost(plan.cost.epsilon, plan.cost.delta);
}

// For tests only (docs/OPERATIONS.md, "Releases"): DPQL_TEST_RELEASE_PAUSE_MS
// holds a run between its payment and its answer, so a test can kill the
// process there.
void TestPauseAfterPayment() {
  const char* pause = std::getenv("DPQL_TEST_RELEASE_PAUSE_MS");
  if (pause == nullptr || *pause == '\0') return;
  const long ms = std::strtol(pause, nullptr, 10);
  if (ms <= 0) return;
  std::cerr << "dpqld: DPQL_TEST_RELEASE_PAUSE_MS: pausing " << ms
            << " ms after a release payment (tests only)" << std::endl;
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

std::string RunName(const ReleaseRunRequest& request) { return request.release + " " + request.parameters; }

}  // namespace

BudgetCost Engine::ReleaseCost(const Dataset& dataset, const std::vector<ReleaseQuery>& queries) {
  BudgetCost total;
  for (const CompiledStatement& compiled : CompileRelease(dataset, queries)) {
    total = total + CostOf(dataset, *compiled.plan);
  }
  return total;
}

ReleaseRunOutcome Engine::RunRelease(const ReleaseRunRequest& request) {
  const Dataset& dataset = ResolveDataset(request.dataset);
  std::vector<CompiledStatement> compiled = CompileRelease(dataset, request.queries);
  BudgetCost cost;
  std::string text;
  for (size_t i = 0; i < compiled.size(); ++i) {
    cost = cost + CostOf(dataset, *compiled[i].plan);
    text += (i == 0 ? "" : "\n") + request.queries[i].text;
  }
  const std::string query_text = "release " + RunName(request) + ": " + text;

  AuditRecord audit;
  audit.source = "release_run";
  audit.analyst_name = request.origin;
  audit.dataset = dataset.name;
  audit.query = "release " + RunName(request);
  auto write_audit = [&] {
    try {
      WithConnection(pool_, 2,
                     [&](pqxx::connection& connection) { return Ledger(connection).WriteAudit(audit); });
    } catch (const DpqlError& error) {
      std::cerr << "dpqld: AUDIT WRITE FAILED for release " << RunName(request) << ": " << error.what()
                << std::endl;
    }
  };

  // Published already? (The scheduler asks at every check: answer without
  // taking the dataset's lock.)
  std::optional<ReleaseRunRow> existing = WithConnection(pool_, 2, [&](pqxx::connection& connection) {
    return ReleaseStore(connection).Find(request.release, request.parameters);
  });
  if (existing && existing->state == "published") {
    ReleaseRunOutcome done;
    done.ledger_id = existing->ledger_id;
    return done;
  }

  // 1. Pay once (or find the run paid or published already).
  const ReleasePayment payment = [&] {
    ConnectionPool::Lease lease = pool_.Acquire();
    return DiscardIfUnavailable(lease, [&] {
      readiness_.Probe(*lease, dataset);
      return ReleaseStore(*lease).Pay(request.release, request.parameters, request.day, dataset.name, cost,
                                      DatasetCap(dataset), query_text, FormatTimestamp(clock().Now()));
    });
  }();
  ReleaseRunOutcome outcome;
  outcome.ledger_id = payment.ledger_id;
  switch (payment.outcome) {
    case ReleasePayment::Outcome::kAlreadyPublished: return outcome;
    case ReleasePayment::Outcome::kPaid:
      outcome.state = ReleaseRunOutcome::State::kPublished;
      outcome.cost = cost;
      break;
    case ReleasePayment::Outcome::kAlreadyPaid: outcome.state = ReleaseRunOutcome::State::kCompleted; break;
    case ReleasePayment::Outcome::kCapRefused:
      audit.outcome = std::string(Name(ErrorCode::kDatasetBudgetExhausted));
      audit.detail = "refused by the dataset-wide cap; nothing was spent";
      write_audit();
      throw DpqlError(ErrorCode::kDatasetBudgetExhausted,
                      "release " + RunName(request) + " costs " + cost.EpsilonString() +
                          " epsilon but dataset " + dataset.name +
                          " has reached its dataset-wide cap (limits.dataset_* in the catalog); nothing was "
                          "spent. Raise the cap or retire other spending.");
    case ReleasePayment::Outcome::kNoAccount:
    case ReleasePayment::Outcome::kAccountExhausted: {
      const BudgetCost left = payment.account ? payment.account->Remaining() : BudgetCost{};
      audit.outcome = std::string(Name(ErrorCode::kReleaseAccountExhausted));
      audit.detail = "release account too small; nothing was spent";
      write_audit();
      throw DpqlError(ErrorCode::kReleaseAccountExhausted,
                      "release " + RunName(request) + " costs epsilon " + cost.EpsilonString() +
                          (cost.delta_pico > 0 ? ", delta " + cost.DeltaString() : "") +
                          (cost.rho_pico > 0 ? ", rho " + cost.RhoString() : "") + " but dataset " +
                          dataset.name + "'s release account " +
                          (payment.account ? "has epsilon " + left.EpsilonString() + ", delta " +
                                                 left.DeltaString() + ", rho " + left.RhoString() + " left"
                                           : std::string("does not exist")) +
                          "; grant it with `dpqld admin release grant --dataset " + dataset.name +
                          " --epsilon E`. Nothing was spent.");
    }
  }
  TestPauseAfterPayment();

  // 2. The exact aggregates, the noise, the release of every level; stored.
  std::vector<ReleaseLevelAnswer> levels;
  for (size_t i = 0; i < compiled.size(); ++i) {
    const Plan& plan = *compiled[i].plan;
    Executor executor(pool_, statement_timeout_ms_);
    ExactAggregates exact = executor.RunExact(plan, pool_.Acquire());
    QueryResult answer = Release(plan, exact, *noise_);
    for (size_t c = 0; c < answer.columns.size() && c < plan.outputs.size(); ++c) {
      answer.columns[c].name = plan.outputs[c].name;
    }
    answer.confidence = plan.select.privacy.confidence;
    levels.push_back({request.queries[i].level, std::move(answer)});
  }
  std::optional<std::string> encoded = EncodeReleaseAnswer(levels);
  if (!encoded) {
    throw DpqlError(ErrorCode::kInternal, "release " + RunName(request) +
                                              ": the answer holds a non-finite number and cannot be stored; "
                                              "the run stays paid and the next attempt completes it");
  }
  const bool published = WithConnection(pool_, 2, [&](pqxx::connection& connection) {
    return ReleaseStore(connection)
        .Publish(request.release, request.parameters, *encoded, FormatTimestamp(clock().Now()));
  });
  if (!published) {
    outcome.state = ReleaseRunOutcome::State::kLostRace;
    outcome.cost = {};
    return outcome;
  }
  audit.cost = outcome.cost;
  audit.outcome = outcome.state == ReleaseRunOutcome::State::kPublished ? "published" : "completed";
  audit.detail =
      outcome.state == ReleaseRunOutcome::State::kPublished
          ? "paid from the release account (ledger " + std::to_string(payment.ledger_id) + ")"
          : "completed a run paid earlier (ledger " + std::to_string(payment.ledger_id) + "); not paid again";
  write_audit();
  return outcome;
}

std::vector<PublishedRelease> Engine::ReleaseRuns(const std::string& release, const std::string& from,
                                                  const std::string& to, int limit) {
  std::vector<ReleaseRunRow> rows = WithConnection(pool_, 2, [&](pqxx::connection& connection) {
    return ReleaseStore(connection).Published(release, from, to, limit);
  });
  std::vector<PublishedRelease> out;
  for (ReleaseRunRow& row : rows) {
    std::vector<ReleaseLevelAnswer> levels = DecodeReleaseAnswer(row.answer);
    row.answer.clear();
    out.push_back({std::move(row), std::move(levels)});
  }
  return out;
}

std::optional<ReleaseRunRow> Engine::LatestReleaseRun(const std::string& release) {
  return WithConnection(pool_, 2, [&](pqxx::connection& connection) {
    std::optional<ReleaseRunRow> row = ReleaseStore(connection).Latest(release);
    if (row) row->answer.clear();
    return row;
  });
}

}  // namespace dpql
