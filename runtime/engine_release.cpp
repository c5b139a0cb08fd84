// Releases: paid once from the dataset's release account, stored, served
// free (engine.h; docs/PRIVACY.md, "Releases").

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <thread>

#include "compiler/common/error.h"
#include "compiler/common/text.h"
#include "compiler/compile.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/engine.h"
#include "runtime/executor/executor.h"
#include "runtime/pg/database_errors.h"
#include "runtime/pg/retry.h"
#include "runtime/release/hierarchy.h"
#include "runtime/release/postprocess.h"
#include "runtime/release/release.h"

namespace dpql {

namespace {

// Where a hierarchy level's key and count are among its outputs.
struct LevelShape {
  int key = -1;    // the key output, or -1 for an ungrouped level ("all")
  int count = -1;  // the COUNT output
};

LevelShape ShapeOf(const Plan& plan) {
  LevelShape shape;
  for (size_t i = 0; i < plan.outputs.size(); ++i) {
    const OutputKind kind = plan.outputs[i].kind;
    if (kind == OutputKind::kKey && shape.key < 0) {
      shape.key = static_cast<int>(i);
    } else if (kind == OutputKind::kCount && shape.count < 0) {
      shape.count = static_cast<int>(i);
    } else {
      return {-2, -2};
    }
  }
  return shape;
}

// A hierarchy's levels must fit together before anything is paid: each
// releases one key (the top level may have none) and one COUNT, over a public
// domain (every key is released, none suppressed by partition selection), and
// each level with a key above the lowest names the public table mapping the
// level below's key to its own.
void CheckHierarchy(const std::vector<ReleaseQuery>& queries, const std::vector<CompiledStatement>& compiled) {
  for (size_t i = 0; i < compiled.size(); ++i) {
    const Plan& plan = *compiled[i].plan;
    const std::string level = "hierarchy level '" + queries[i].level + "'";
    const LevelShape shape = ShapeOf(plan);
    if (shape.count < 0) {
      throw DpqlError(ErrorCode::kInvalidParameter,
                      level + " must select one key and one COUNT (e.g. SELECT ward_code, COUNT(DISTINCT "
                              "patient_id) ... GROUP BY ward_code), so that its figures can be made to add up");
    }
    if (shape.key < 0 && i + 1 < compiled.size()) {
      throw DpqlError(ErrorCode::kInvalidParameter,
                      level + " has no key, so it must be the last (top) level; list the levels lowest first");
    }
    if (shape.key >= 0 && plan.partition_selection) {
      throw DpqlError(ErrorCode::kInvalidParameter,
                      level + " groups by a key without a public domain, so some of its groups could be "
                              "suppressed; declare the key's domain in the catalog (public_domain)");
    }
    if (i > 0 && shape.key >= 0 && queries[i].table.empty()) {
      throw DpqlError(ErrorCode::kInvalidParameter,
                      level + " has a key: declare `from: {table, child, parent}`, the public table mapping "
                              "the level below's key to this level's");
    }
  }
}

// A key's released value as text, to match it with a public table's column.
std::string KeyText(const Value& value) {
  if (const auto* text = std::get_if<std::string>(&value)) return *text;
  if (const auto* number = std::get_if<int64_t>(&value)) return std::to_string(*number);
  if (const auto* flag = std::get_if<bool>(&value)) return *flag ? "true" : "false";
  return std::string();
}

// The public table's map from the level below's key to this level's key.
using ParentOf = std::map<std::string, std::string>;

// Makes a hierarchy's released counts consistent (runtime/release/hierarchy.h):
// every parent equals the sum of its children, every count a non-negative
// integer. Works on the noisy figures alone (`noisy`: each level's released
// rows' noisy measures before clamping) and public structure (`parents`), so
// it is post-processing and costs nothing. Each count's interval keeps the
// half-width of its level's own noise, centred on the published figure.
void MakeLevelsConsistent(const std::vector<ReleaseQuery>& queries, const std::vector<CompiledStatement>& compiled,
                          const std::vector<ParentOf>& parents, const std::vector<std::vector<std::vector<BigInt>>>& noisy,
                          std::vector<QueryResult>& answers) {
  const size_t top = compiled.size() - 1;
  std::vector<HierarchyNode> nodes;
  std::vector<std::vector<int>> row_node(compiled.size());
  std::vector<std::map<std::string, int>> node_of(compiled.size());
  auto measured = [&](size_t level, size_t row, const std::string& key, int parent) {
    const Plan& plan = *compiled[level].plan;
    const int measure = plan.outputs[ShapeOf(plan).count].measure;
    HierarchyNode node;
    node.key = key;
    node.parent = parent;
    node.noisy = noisy[level][row][measure].convert_to<double>();
    node.variance = MeasureNoiseVariance(plan, static_cast<size_t>(measure));
    nodes.push_back(node);
    row_node[level].push_back(static_cast<int>(nodes.size()) - 1);
    node_of[level][key] = static_cast<int>(nodes.size()) - 1;
  };
  // The top level: one ungrouped figure is the root; a grouped top level
  // hangs under an unmeasured root, the sum of its groups.
  int root = 0;
  if (ShapeOf(*compiled[top].plan).key < 0) {
    if (answers[top].rows.size() != 1) {
      throw DpqlError(ErrorCode::kInternal, "hierarchy level '" + queries[top].level + "' released " +
                                                std::to_string(answers[top].rows.size()) + " rows, not one");
    }
    measured(top, 0, queries[top].level, -1);
  } else {
    nodes.push_back({"all", -1, std::nullopt, 0});
    for (size_t r = 0; r < answers[top].rows.size(); ++r) {
      measured(top, r, KeyText(answers[top].rows[r][ShapeOf(*compiled[top].plan).key]), root);
    }
  }
  for (size_t level = top; level-- > 0;) {
    const int key_output = ShapeOf(*compiled[level].plan).key;
    const bool above_grouped = ShapeOf(*compiled[level + 1].plan).key >= 0;
    for (size_t r = 0; r < answers[level].rows.size(); ++r) {
      const std::string key = KeyText(answers[level].rows[r][key_output]);
      int parent = root;
      if (above_grouped) {
        auto mapped = parents[level + 1].find(key);
        if (mapped == parents[level + 1].end()) {
          throw DpqlError(ErrorCode::kInvalidParameter,
                          "hierarchy level '" + queries[level + 1].level + "': public table " +
                              queries[level + 1].table + " maps no " + queries[level + 1].child + " '" + key +
                              "' to a " + queries[level + 1].parent + "; add the row, or the domains disagree");
        }
        auto found = node_of[level + 1].find(mapped->second);
        if (found == node_of[level + 1].end()) {
          throw DpqlError(ErrorCode::kInvalidParameter,
                          "hierarchy level '" + queries[level + 1].level + "' released no group '" +
                              mapped->second + "', the " + queries[level + 1].parent + " of '" + key +
                              "'; its key's public domain must hold every parent");
        }
        parent = found->second;
      }
      measured(level, r, key, parent);
    }
  }
  const ConsistentFigures figures = MakeConsistent(nodes);
  for (size_t level = 0; level < compiled.size(); ++level) {
    const int count = ShapeOf(*compiled[level].plan).count;
    QueryResult& answer = answers[level];
    for (size_t r = 0; r < answer.rows.size(); ++r) {
      const int64_t published = figures.published[row_node[level][r]];
      const int64_t before = std::get<int64_t>(answer.rows[r][count]);
      std::optional<Interval>& interval = answer.intervals[r][count];
      const double half_width = interval ? interval->upper - static_cast<double>(before) : 0;
      answer.rows[r][count] = published;
      if (interval) {
        interval = Interval{std::max(0.0, static_cast<double>(published) - half_width),
                            static_cast<double>(published) + half_width};
      }
    }
    answer.notes.push_back(
        "made consistent with the release's other levels after the noise (weighted least squares, then "
        "non-negative integers that add up): post-processing, no extra privacy cost; each \u00b1 is this "
        "level's own noise, centred on the published figure");
  }
}

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
  if (queries.size() > 1) CheckHierarchy(queries, out);
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

  // 0. A hierarchy's public mappings, read before anything is paid.
  std::vector<ParentOf> parents(compiled.size());
  for (size_t i = 1; i < compiled.size(); ++i) {
    const ReleaseQuery& query = request.queries[i];
    if (query.table.empty()) continue;
    const CatalogTable* table = dataset.FindTable(query.table);
    if (table == nullptr) {
      throw DpqlError(ErrorCode::kInvalidParameter, "hierarchy level '" + query.level + "': dataset " +
                                                        dataset.name + " has no table " + query.table);
    }
    int child = -1, parent = -1;
    for (size_t c = 0; c < table->columns.size(); ++c) {
      if (LowerAscii(table->columns[c].name) == LowerAscii(query.child)) child = static_cast<int>(c);
      if (LowerAscii(table->columns[c].name) == LowerAscii(query.parent)) parent = static_cast<int>(c);
    }
    if (child < 0 || parent < 0) {
      throw DpqlError(ErrorCode::kInvalidParameter, "hierarchy level '" + query.level + "': table " +
                                                        query.table + " lacks column " +
                                                        (child < 0 ? query.child : query.parent));
    }
    constexpr size_t kMaxMappingRows = 100000;
    PublicRows rows = ReadPublicTable(dataset, *table, kMaxMappingRows);
    if (rows.truncated) {
      throw DpqlError(ErrorCode::kInvalidParameter, "hierarchy level '" + query.level + "': table " +
                                                        query.table + " has more than " +
                                                        std::to_string(kMaxMappingRows) + " rows");
    }
    for (const auto& row : rows.rows) parents[i][KeyText(row[child])] = KeyText(row[parent]);
  }

  // 1. Can the data be read? Where the queries will run (the read replica,
  //    if there is one, which must have replayed the primary's data version:
  //    a run is published once and never again). Refused here, nothing paid.
  {
    const int64_t primary_version = has_replica() ? PrimaryDataVersion(dataset) : 0;
    ConnectionPool::Lease data = data_pool_.Acquire();
    DiscardIfUnavailable(data, [&] {
      readiness_.Probe(*data, dataset);
      RequireReplicaAt(*data, dataset, primary_version);
    });
  }
  // 2. Pay once (or find the run paid or published already), on the primary.
  const ReleasePayment payment = [&] {
    ConnectionPool::Lease lease = pool_.Acquire();
    return DiscardIfUnavailable(lease, [&] {
      return ReleaseStore(*lease).Pay(request.release, request.parameters, request.day, dataset.name, cost,
                                      DatasetCap(dataset, clock().Now()), query_text,
                                      FormatTimestamp(clock().Now()));
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

  // 3. The exact aggregates (on the data connections), the noise, the
  //    release of every level; stored on the primary.
  //    A hierarchy's levels are released before their HAVING / ORDER BY /
  //    LIMIT, made consistent from their noisy figures, then post-processed.
  const bool hierarchy = compiled.size() > 1;
  std::vector<QueryResult> answers;
  std::vector<std::vector<std::vector<BigInt>>> noisy(compiled.size());
  for (size_t i = 0; i < compiled.size(); ++i) {
    const Plan& plan = *compiled[i].plan;
    Executor executor(data_pool_, statement_timeout_ms_);
    ExactAggregates exact = executor.RunExact(plan, data_pool_.Acquire());
    answers.push_back(hierarchy ? ReleaseAggregates(plan, exact, *noise_, &noisy[i])
                                : Release(plan, exact, *noise_));
  }
  if (hierarchy) {
    MakeLevelsConsistent(request.queries, compiled, parents, noisy, answers);
    for (size_t i = 0; i < compiled.size(); ++i) PostProcess(compiled[i].plan->select, answers[i]);
  }
  std::vector<ReleaseLevelAnswer> levels;
  for (size_t i = 0; i < compiled.size(); ++i) {
    const Plan& plan = *compiled[i].plan;
    QueryResult& answer = answers[i];
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
