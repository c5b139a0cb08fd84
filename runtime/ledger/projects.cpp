#include "runtime/ledger/projects.h"

#include <map>
#include <mutex>
#include <pqxx/pqxx>

#include "compiler/common/date.h"
#include "compiler/common/error.h"
#include "runtime/crypto/sha256.h"
#include "runtime/ledger/dataset_spend.h"
#include "runtime/ledger/ledger_sql.h"
#include "runtime/ledger/project_schema.h"
#include "runtime/pg/database_errors.h"
#include "runtime/pg/transaction.h"

namespace dpql {
namespace {

constexpr size_t kMaxNameLength = 200;
constexpr size_t kMaxReasonLength = 2000;

// A project row as ProjectFromRow reads it; times as microseconds since 1970.
constexpr const char* kProjectColumns =
    "id, name, dataset, epsilon_total, epsilon_spent, delta_total, delta_spent, rho_total, rho_spent, "
    "floor(extract(epoch FROM starts_at) * 1000000)::bigint, "
    "floor(extract(epoch FROM ends_at) * 1000000)::bigint, coalesce(renew_period, ''), "
    "floor(extract(epoch FROM period_start) * 1000000)::bigint, "
    "floor(extract(epoch FROM closed_at) * 1000000)::bigint";

constexpr const char* kRequestSelect =
    "SELECT r.id, a.name, coalesce(p.name, ''), r.dataset, r.epsilon, r.delta, r.rho, r.justification, "
    "r.status, r.filed_at::text, coalesce(r.decided_by, ''), coalesce(r.decided_at::text, ''), "
    "coalesce(r.reason, ''), r.project_id, r.analyst_id "
    "FROM dpql.budget_requests r JOIN dpql.analysts a ON a.id = r.analyst_id "
    "LEFT JOIN dpql.projects p ON p.id = r.project_id ";

TimePoint FromMicros(int64_t micros) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::microseconds(micros)));
}

std::string DayText(TimePoint at) { return FormatDate(DayOf(at)); }

Project ProjectFromRow(const pqxx::row& row) {
  Project p;
  p.id = row[0].as<int64_t>();
  p.name = row[1].as<std::string>();
  p.dataset = row[2].as<std::string>();
  p.total = {row[3].as<int64_t>(), row[5].as<int64_t>(), row[7].as<int64_t>()};
  p.spent = {row[4].as<int64_t>(), row[6].as<int64_t>(), row[8].as<int64_t>()};
  p.starts_at = FromMicros(row[9].as<int64_t>());
  p.ends_at = FromMicros(row[10].as<int64_t>());
  p.renew = ParsePeriod(row[11].as<std::string>()).value_or(BudgetPeriod::kNone);
  p.period_start = FromMicros(row[12].as<int64_t>());
  if (!row[13].is_null()) p.closed_at = FromMicros(row[13].as<int64_t>());
  return p;
}

BudgetRequest RequestFromRow(const pqxx::row& row) {
  BudgetRequest r;
  r.id = row[0].as<int64_t>();
  r.analyst = row[1].as<std::string>();
  r.project = row[2].as<std::string>();
  r.dataset = row[3].as<std::string>();
  r.amount = {row[4].as<int64_t>(), row[5].as<int64_t>(), row[6].as<int64_t>()};
  r.justification = row[7].as<std::string>();
  r.status = row[8].as<std::string>();
  r.filed_at = row[9].as<std::string>();
  r.decided_by = row[10].as<std::string>();
  r.decided_at = row[11].as<std::string>();
  r.reason = row[12].as<std::string>();
  return r;
}

std::string Describe(const BudgetCost& amount) {
  std::string text = "epsilon " + amount.EpsilonString();
  if (amount.delta_pico != 0) text += ", delta " + amount.DeltaString();
  if (amount.rho_pico != 0) text += ", rho " + amount.RhoString();
  return text;
}

void CheckName(const std::string& what, const std::string& value) {
  if (value.empty()) throw DpqlError(ErrorCode::kInvalidName, what + " must not be empty");
  if (value.size() > kMaxNameLength) {
    throw DpqlError(ErrorCode::kInvalidName,
                    what + " is too long (at most " + std::to_string(kMaxNameLength) + " bytes)");
  }
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) {
      throw DpqlError(ErrorCode::kInvalidName,
                      what + " contains a control character; use letters, digits, '_', '-' or '.'");
    }
  }
}

void CheckAmount(const BudgetCost& amount, const std::string& what) {
  if (amount.epsilon_micro < 0 || amount.delta_pico < 0 || amount.rho_pico < 0) {
    ThrowInvalidBudget(what + " must not be negative; budgets are never reduced");
  }
  if (amount.epsilon_micro > kMaxEpsilonMicro || amount.delta_pico > kMaxDeltaPico ||
      amount.rho_pico > kMaxRhoPico) {
    ThrowInvalidBudget(what + " is too large (at most epsilon 1000000, delta 1, rho 1000000)");
  }
}

// Free text a person typed (a justification, a reason): printable, bounded.
void CheckText(const std::string& what, const std::string& text, size_t most, ErrorCode too_long) {
  if (text.empty()) {
    throw DpqlError(ErrorCode::kInvalidParameter, what + " must not be empty; say why in a sentence or two");
  }
  if (text.size() > most) {
    throw DpqlError(too_long, what + " is " + std::to_string(text.size()) + " bytes; at most " +
                                  std::to_string(most) + " are kept, so shorten it");
  }
  for (unsigned char c : text) {
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
      throw DpqlError(ErrorCode::kInvalidParameter,
                      what + " contains a control character; only printable text, tabs and newlines");
    }
  }
}

// An audit row in the transaction of the change it records. Never holds
// result values: who, what, which amounts.
void Audit(pqxx::work& txn, std::optional<int64_t> analyst_id, const std::string& analyst_name,
           const std::string& source, const std::string& dataset, const std::string& what,
           const std::string& outcome, const std::string& detail, const BudgetCost& cost = {}) {
  std::string id_text = analyst_id ? std::to_string(*analyst_id) : std::string();
  const char* id_param = analyst_id ? id_text.c_str() : nullptr;
  txn.exec_params(kAuditInsertSql, id_param, analyst_name, source, dataset, what, cost.epsilon_micro,
                  cost.delta_pico, outcome, 0, detail, cost.rho_pico);
}

DpqlError Unreachable(const std::string& text) {
  return DatabaseUnavailable("cannot reach the budget database: " + OnOneLine(text) +
                             " (check --database, the config's `database` key, DPQL_DATABASE or the PG* "
                             "environment)");
}

const TransactionErrors kProjectErrors = {
    .unreachable = &Unreachable,
    .in_doubt = "the connection was lost while committing: ",
    .not_initialised = "the budget ledger is not initialised in this database; run `dpqld admin init`",
    .database_error = "budget database error: ",
};

std::optional<Project> FindProject(pqxx::work& txn, const std::string& name, bool lock) {
  pqxx::result rows = txn.exec_params(std::string("SELECT ") + kProjectColumns +
                                          " FROM dpql.projects WHERE name = $1" + (lock ? " FOR UPDATE" : ""),
                                      name);
  if (rows.empty()) return std::nullopt;
  return ProjectFromRow(rows[0]);
}

Project RequireProject(pqxx::work& txn, const std::string& name, bool lock) {
  std::optional<Project> found = FindProject(txn, name, lock);
  if (!found) {
    throw DpqlError(ErrorCode::kUnknownProject,
                    "there is no project '" + name + "'; `dpqld admin project list` shows the projects");
  }
  return *found;
}

int64_t RequireAnalyst(pqxx::work& txn, const std::string& name) {
  pqxx::result found =
      txn.exec_params("SELECT id, revoked_at IS NOT NULL FROM dpql.analysts WHERE name = $1", name);
  if (found.empty()) {
    throw DpqlError(ErrorCode::kUnknownAnalyst,
                    "unknown analyst '" + name + "'; `dpqld admin list` shows the analysts");
  }
  if (found[0][1].as<bool>()) {
    throw DpqlError(ErrorCode::kAnalystRevoked, "analyst '" + name + "' has been revoked");
  }
  return found[0][0].as<int64_t>();
}

// Grants the project's budget anew when the period holding `now` is later
// than the one it counts. The conditional UPDATE makes this happen once per
// period however many transactions try at the same moment: the others wait
// for the row lock, then find period_start already moved and change nothing.
void RenewIfDue(pqxx::work& txn, Project& project, TimePoint now) {
  if (project.renew == BudgetPeriod::kNone || project.closed_at || now >= project.ends_at) return;
  const TimePoint current = PeriodStart(project.renew, now);
  if (current <= project.period_start) return;
  const BudgetCost before = project.spent;
  pqxx::result rows = txn.exec_params(
      std::string("UPDATE dpql.projects SET epsilon_spent = 0, delta_spent = 0, rho_spent = 0, "
                  "period_start = $2::timestamptz WHERE id = $1 AND period_start < $2::timestamptz "
                  "RETURNING ") +
          kProjectColumns,
      project.id, FormatTimestamp(current));
  if (rows.empty()) {
    project = RequireProject(txn, project.name, false);
    return;
  }
  project = ProjectFromRow(rows[0]);
  Audit(txn, std::nullopt, "", "ledger", project.dataset, "project " + project.name, "project_renewed",
        "the " + PeriodName(project.renew) + " from " + DayText(current) + " grants " +
            Describe(project.total) + " anew; the previous period spent " + Describe(before));
}

// Whether `analyst_id` (unrevoked) is a member of the project.
bool IsMember(pqxx::work& txn, int64_t project_id, int64_t analyst_id) {
  return !txn.exec_params(
                 "SELECT 1 FROM dpql.project_members m JOIN dpql.analysts a ON a.id = m.analyst_id "
                 "WHERE m.project_id = $1 AND m.analyst_id = $2 AND a.revoked_at IS NULL",
                 project_id, analyst_id)
              .empty();
}

// The project as the analyst may use it on `dataset` at `now`, or the refusal.
Project CheckUseIn(pqxx::work& txn, int64_t analyst_id, const std::string& name, const std::string& dataset,
                   TimePoint now, bool lock) {
  std::optional<Project> found = FindProject(txn, name, lock);
  if (!found || (!dataset.empty() && found->dataset != dataset)) {
    throw DpqlError(ErrorCode::kUnknownProject,
                    "there is no project '" + name + "'" + (dataset.empty() ? "" : " on dataset " + dataset) +
                        "; `\\project` in the REPL or GET /v1/budget lists your projects");
  }
  Project project = *found;
  if (!IsMember(txn, project.id, analyst_id)) {
    throw DpqlError(ErrorCode::kNotProjectMember,
                    "you are not a member of project '" + name +
                        "'; ask a data guardian to add you (dpqld admin project add-member " + name +
                        " YOUR_NAME), or name another project. Nothing was spent.");
  }
  if (project.closed_at) {
    throw DpqlError(ErrorCode::kProjectClosed,
                    "project '" + name + "' was closed on " + DayText(*project.closed_at) +
                        " and pays for no more queries; use another project or your own budget. Nothing "
                        "was spent.");
  }
  if (now < project.starts_at) {
    throw DpqlError(ErrorCode::kProjectNotStarted,
                    "project '" + name + "' starts on " + DayText(project.starts_at) +
                        "; its budget cannot be used before then. Nothing was spent.");
  }
  if (now >= project.ends_at) {
    throw DpqlError(ErrorCode::kProjectEnded,
                    "project '" + name + "' ended on " + project.LastDay() +
                        "; its budget pays for no queries after that day. Ask a data guardian to extend "
                        "it (dpqld admin project extend " +
                        name + " --end DATE) or use another project. Nothing was spent.");
  }
  return project;
}

void AttachMembers(pqxx::work& txn, std::vector<Project>& projects) {
  if (projects.empty()) return;
  std::map<int64_t, Project*> by_id;
  for (Project& p : projects) by_id[p.id] = &p;
  pqxx::result rows = txn.exec(
      "SELECT m.project_id, a.name FROM dpql.project_members m JOIN dpql.analysts a ON a.id = m.analyst_id "
      "ORDER BY a.name");
  for (const auto& row : rows) {
    auto it = by_id.find(row[0].as<int64_t>());
    if (it != by_id.end()) it->second->members.push_back(row[1].as<std::string>());
  }
}

}  // namespace

std::string Project::LastDay() const { return FormatDate(DayOf(ends_at - std::chrono::microseconds(1))); }

std::string Project::RenewsOn() const {
  if (renew == BudgetPeriod::kNone) return "";
  const TimePoint next = NextPeriodStart(renew, period_start);
  if (next >= ends_at) return "";
  return DayText(next);
}

bool Project::OpenAt(TimePoint now) const { return !closed_at && now >= starts_at && now < ends_at; }

// The store's connection and its transactions (runtime/pg/transaction.h).
struct ProjectLedger::Impl : TransactionRunner {
  using TransactionRunner::TransactionRunner;
};

ProjectLedger::ProjectLedger(const std::string& connection_string)
    : impl_(std::make_unique<Impl>(connection_string, kProjectErrors)) {}

ProjectLedger::ProjectLedger(pqxx::connection& connection)
    : impl_(std::make_unique<Impl>(connection, kProjectErrors)) {}

ProjectLedger::~ProjectLedger() = default;

Project ProjectLedger::Create(const ProjectSpec& spec, TimePoint now) {
  CheckName("project name", spec.name);
  CheckName("dataset name", spec.dataset);
  CheckAmount(spec.budget, "a project's budget");
  if (spec.budget == BudgetCost{}) ThrowInvalidBudget("a project needs a budget: give --epsilon or --rho");
  if (spec.ends_at <= spec.starts_at) {
    throw DpqlError(ErrorCode::kInvalidParameter, "the project's end (" + DayText(spec.ends_at) +
                                                      ") must come after its start (" +
                                                      DayText(spec.starts_at) + ")");
  }
  const TimePoint period_start =
      spec.renew == BudgetPeriod::kNone ? spec.starts_at : PeriodStart(spec.renew, spec.starts_at);
  (void)now;
  return impl_->Run([&](pqxx::work& txn) {
    pqxx::result rows = txn.exec_params(
        std::string("INSERT INTO dpql.projects (name, dataset, epsilon_total, delta_total, rho_total, "
                    "starts_at, ends_at, renew_period, period_start) "
                    "VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7::timestamptz, $8, $9::timestamptz) "
                    "ON CONFLICT (name) DO NOTHING RETURNING ") +
            kProjectColumns,
        spec.name, spec.dataset, spec.budget.epsilon_micro, spec.budget.delta_pico, spec.budget.rho_pico,
        FormatTimestamp(spec.starts_at), FormatTimestamp(spec.ends_at),
        spec.renew == BudgetPeriod::kNone ? nullptr : PeriodName(spec.renew).c_str(),
        FormatTimestamp(period_start));
    if (rows.empty()) {
      throw DpqlError(ErrorCode::kDuplicateProject,
                      "a project named '" + spec.name +
                          "' already exists; choose another name, or `dpqld admin project extend " +
                          spec.name + "` to give it more time or budget");
    }
    Project project = ProjectFromRow(rows[0]);
    Audit(txn, std::nullopt, "", "admin", project.dataset, "project create " + project.name, "ok",
          "approved " + Describe(project.total) +
              (project.renew == BudgetPeriod::kNone ? "" : " per " + PeriodName(project.renew)) + " from " +
              DayText(project.starts_at) + " to " + project.LastDay());
    return project;
  });
}

bool ProjectLedger::AddMember(const std::string& project, const std::string& analyst) {
  return impl_->Run([&](pqxx::work& txn) {
    Project p = RequireProject(txn, project, true);
    int64_t analyst_id = RequireAnalyst(txn, analyst);
    pqxx::result rows = txn.exec_params(
        "INSERT INTO dpql.project_members (project_id, analyst_id) VALUES ($1, $2) ON CONFLICT DO NOTHING "
        "RETURNING 1",
        p.id, analyst_id);
    if (rows.empty()) return false;
    Audit(txn, analyst_id, analyst, "admin", p.dataset, "project add-member " + p.name + " " + analyst, "ok",
          "");
    return true;
  });
}

bool ProjectLedger::RemoveMember(const std::string& project, const std::string& analyst) {
  return impl_->Run([&](pqxx::work& txn) {
    Project p = RequireProject(txn, project, true);
    pqxx::result found = txn.exec_params("SELECT id FROM dpql.analysts WHERE name = $1", analyst);
    if (found.empty()) {
      throw DpqlError(ErrorCode::kUnknownAnalyst,
                      "unknown analyst '" + analyst + "'; `dpqld admin list` shows the analysts");
    }
    int64_t analyst_id = found[0][0].as<int64_t>();
    pqxx::result rows = txn.exec_params(
        "DELETE FROM dpql.project_members WHERE project_id = $1 AND analyst_id = $2 RETURNING 1", p.id,
        analyst_id);
    if (rows.empty()) return false;
    Audit(txn, analyst_id, analyst, "admin", p.dataset, "project remove-member " + p.name + " " + analyst,
          "ok", "");
    return true;
  });
}

Project ProjectLedger::Extend(const std::string& project, std::optional<TimePoint> ends_at,
                              const BudgetCost& more, TimePoint now) {
  CheckAmount(more, "added budget");
  return impl_->Run([&](pqxx::work& txn) {
    Project p = RequireProject(txn, project, true);
    if (p.closed_at) {
      throw DpqlError(ErrorCode::kProjectClosed, "project '" + project + "' was closed on " +
                                                     DayText(*p.closed_at) +
                                                     "; a closed project stays closed (create a new one)");
    }
    if (ends_at && *ends_at < p.ends_at) {
      throw DpqlError(ErrorCode::kInvalidParameter,
                      "--end " + FormatDate(DayOf(*ends_at - std::chrono::microseconds(1))) +
                          " is before the project's current last day " + p.LastDay() +
                          "; a project is extended, never shortened (close it to stop it now)");
    }
    RenewIfDue(txn, p, now);
    const TimePoint new_end = ends_at.value_or(p.ends_at);
    pqxx::row row = txn.exec_params1(
        std::string("UPDATE dpql.projects SET ends_at = $2::timestamptz, epsilon_total = epsilon_total + $3, "
                    "delta_total = delta_total + $4, rho_total = rho_total + $5 WHERE id = $1 RETURNING ") +
            kProjectColumns,
        p.id, FormatTimestamp(new_end), more.epsilon_micro, more.delta_pico, more.rho_pico);
    Project after = ProjectFromRow(row);
    std::string detail = "last day " + after.LastDay();
    if (!(more == BudgetCost{}))
      detail += "; added " + Describe(more) + ", budget now " + Describe(after.total);
    Audit(txn, std::nullopt, "", "admin", after.dataset, "project extend " + after.name, "ok", detail);
    return after;
  });
}

bool ProjectLedger::Close(const std::string& project, TimePoint now) {
  return impl_->Run([&](pqxx::work& txn) {
    Project p = RequireProject(txn, project, true);
    if (p.closed_at) return false;
    txn.exec_params("UPDATE dpql.projects SET closed_at = $2::timestamptz WHERE id = $1", p.id,
                    FormatTimestamp(now));
    Audit(txn, std::nullopt, "", "admin", p.dataset, "project close " + p.name, "ok",
          "spent " + Describe(p.spent) + " of " + Describe(p.total) + " in its last period");
    return true;
  });
}

std::vector<Project> ProjectLedger::List(TimePoint now) {
  return impl_->Run([&](pqxx::work& txn) {
    std::vector<Project> out;
    for (const auto& row :
         txn.exec(std::string("SELECT ") + kProjectColumns + " FROM dpql.projects ORDER BY name")) {
      out.push_back(ProjectFromRow(row));
    }
    for (Project& p : out) RenewIfDue(txn, p, now);
    AttachMembers(txn, out);
    return out;
  });
}

std::vector<Project> ProjectLedger::ForAnalyst(int64_t analyst_id, TimePoint now) {
  return impl_->Run([&](pqxx::work& txn) {
    std::vector<Project> out;
    pqxx::result rows = txn.exec_params(
        std::string("SELECT ") + kProjectColumns +
            " FROM dpql.projects WHERE id IN (SELECT project_id FROM dpql.project_members WHERE analyst_id = "
            "$1) ORDER BY name",
        analyst_id);
    for (const auto& row : rows) out.push_back(ProjectFromRow(row));
    for (Project& p : out) RenewIfDue(txn, p, now);
    AttachMembers(txn, out);
    return out;
  });
}

Project ProjectLedger::CheckUse(int64_t analyst_id, const std::string& project, const std::string& dataset,
                                TimePoint now) {
  return impl_->Run([&](pqxx::work& txn) {
    Project p = CheckUseIn(txn, analyst_id, project, dataset, now, false);
    RenewIfDue(txn, p, now);
    return p;
  });
}

ProjectDebit ProjectLedger::Debit(int64_t analyst_id, const std::string& project, const std::string& dataset,
                                  const BudgetCost& cost, std::string_view query_text, const BudgetCap& cap,
                                  TimePoint now) {
  if (cost.epsilon_micro < 0 || cost.delta_pico < 0 || cost.rho_pico < 0 ||
      cost.epsilon_micro > kMaxEpsilonMicro || cost.delta_pico > kMaxDeltaPico ||
      cost.rho_pico > kMaxRhoPico) {
    throw DpqlError(ErrorCode::kInvalidCost, "debit cost out of range");
  }
  const std::string query(query_text);
  const std::string query_hash = Sha256Hex(query_text);
  return impl_->Run([&](pqxx::work& txn) {
    ProjectDebit result;
    // 1. The dataset's row first (fixed lock order: dataset, then the account).
    const BudgetCost dataset_spent = LockDatasetSpend(txn, dataset, cap);
    // 2. The project's row, locked; who may use it and when, then its period.
    result.project = CheckUseIn(txn, analyst_id, project, dataset, now, true);
    RenewIfDue(txn, result.project, now);
    // 3. The cap, under the dataset lock: a refusal writes nothing (a renewal stays).
    if (!cap.Allows(dataset_spent, cost)) {
      result.outcome = ProjectDebit::Outcome::kCapRefused;
      return result;
    }
    // 4. The project's budget: a conditional UPDATE that cannot overspend.
    pqxx::result rows = txn.exec_params(
        std::string(
            "UPDATE dpql.projects SET epsilon_spent = epsilon_spent + $2, delta_spent = delta_spent + "
            "$3, rho_spent = rho_spent + $4 WHERE id = $1 AND epsilon_spent + $2 <= epsilon_total "
            "AND delta_spent + $3 <= delta_total AND rho_spent + $4 <= rho_total RETURNING ") +
            kProjectColumns,
        result.project.id, cost.epsilon_micro, cost.delta_pico, cost.rho_pico);
    if (rows.empty()) {
      result.outcome = ProjectDebit::Outcome::kInsufficient;
      return result;
    }
    result.project = ProjectFromRow(rows[0]);
    // 5. The ledger row naming the project, 6. the dataset's spend.
    pqxx::row written = txn.exec_params1(
        "INSERT INTO dpql.ledger (analyst_id, dataset, epsilon, delta, rho, query_hash, query_text, "
        "project_id) "
        "VALUES ($1, $2, $3, $4, $5, decode($6, 'hex'), $7, $8) RETURNING id",
        analyst_id, dataset, cost.epsilon_micro, cost.delta_pico, cost.rho_pico, query_hash, query,
        result.project.id);
    result.ledger_id = written[0].as<int64_t>();
    AddDatasetSpend(txn, dataset, cost);
    result.outcome = ProjectDebit::Outcome::kDebited;
    return result;
  });
}

BudgetRequest ProjectLedger::File(int64_t analyst_id, const std::string& project, const std::string& dataset,
                                  const BudgetCost& amount, const std::string& justification, TimePoint now) {
  CheckText("the justification", justification, static_cast<size_t>(kMaxJustificationLength),
            ErrorCode::kJustificationTooLong);
  CheckAmount(amount, "the amount requested");
  if (amount == BudgetCost{}) {
    ThrowInvalidBudget("a request needs an amount greater than zero (epsilon, or rho on a zCDP dataset)");
  }
  return impl_->Run([&](pqxx::work& txn) {
    std::optional<int64_t> project_id;
    std::string on_dataset = dataset;
    if (!project.empty()) {
      std::optional<Project> found = FindProject(txn, project, false);
      if (!found || (!dataset.empty() && found->dataset != dataset)) {
        throw DpqlError(ErrorCode::kUnknownProject, "there is no project '" + project + "'" +
                                                        (dataset.empty() ? "" : " on dataset " + dataset) +
                                                        "; GET /v1/budget lists your projects");
      }
      if (!IsMember(txn, found->id, analyst_id)) {
        throw DpqlError(ErrorCode::kNotProjectMember,
                        "you are not a member of project '" + project +
                            "'; only its members may ask for more of its budget");
      }
      if (found->closed_at) {
        throw DpqlError(ErrorCode::kProjectClosed,
                        "project '" + project + "' is closed; ask for budget on another project or dataset");
      }
      project_id = found->id;
      on_dataset = found->dataset;
    }
    CheckName("dataset name", on_dataset);
    pqxx::row row = txn.exec_params1(
        "INSERT INTO dpql.budget_requests (analyst_id, project_id, dataset, epsilon, delta, rho, "
        "justification, "
        "filed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz) RETURNING id",
        analyst_id, project_id, on_dataset, amount.epsilon_micro, amount.delta_pico, amount.rho_pico,
        justification, FormatTimestamp(now));
    const int64_t id = row[0].as<int64_t>();
    pqxx::row name = txn.exec_params1("SELECT name FROM dpql.analysts WHERE id = $1", analyst_id);
    Audit(txn, analyst_id, name[0].as<std::string>(), "budget request", on_dataset,
          "request " + std::to_string(id) + (project.empty() ? "" : " on project " + project),
          "request_filed", "asked for " + Describe(amount));
    return RequestFromRow(txn.exec_params1(std::string(kRequestSelect) + "WHERE r.id = $1", id));
  });
}

std::vector<BudgetRequest> ProjectLedger::Requests(std::optional<int64_t> analyst_id, bool pending_only) {
  return impl_->Run([&](pqxx::work& txn) {
    std::vector<BudgetRequest> out;
    pqxx::result rows =
        txn.exec_params(std::string(kRequestSelect) +
                            "WHERE ($1::bigint IS NULL OR r.analyst_id = $1) "
                            "AND (NOT $2 OR r.status = 'pending') ORDER BY r.id DESC LIMIT 1000",
                        analyst_id, pending_only);
    for (const auto& row : rows) out.push_back(RequestFromRow(row));
    return out;
  });
}

namespace {

// The request, locked, and still pending.
pqxx::row PendingRequest(pqxx::work& txn, int64_t id) {
  pqxx::result rows = txn.exec_params("SELECT status FROM dpql.budget_requests WHERE id = $1 FOR UPDATE", id);
  if (rows.empty()) {
    throw DpqlError(ErrorCode::kUnknownBudgetRequest, "there is no budget request " + std::to_string(id) +
                                                          "; `dpqld admin request list` shows them");
  }
  if (rows[0][0].as<std::string>() != "pending") {
    throw DpqlError(ErrorCode::kRequestDecided, "budget request " + std::to_string(id) + " was already " +
                                                    rows[0][0].as<std::string>() +
                                                    "; a decision is final (the analyst may file a new one)");
  }
  return txn.exec_params1(std::string(kRequestSelect) + "WHERE r.id = $1", id);
}

}  // namespace

BudgetRequest ProjectLedger::Approve(int64_t id, const std::string& decided_by, TimePoint now) {
  return impl_->Run([&](pqxx::work& txn) {
    pqxx::row row = PendingRequest(txn, id);
    BudgetRequest request = RequestFromRow(row);
    const BudgetCost& a = request.amount;
    if (!row[13].is_null()) {
      txn.exec_params(
          "UPDATE dpql.projects SET epsilon_total = epsilon_total + $2, delta_total = delta_total + "
          "$3, rho_total = rho_total + $4 WHERE id = $1",
          row[13].as<int64_t>(), a.epsilon_micro, a.delta_pico, a.rho_pico);
    } else {
      txn.exec_params(
          "INSERT INTO dpql.budgets AS b (analyst_id, dataset, epsilon_total, delta_total, rho_total) "
          "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (analyst_id, dataset) DO UPDATE "
          "SET epsilon_total = b.epsilon_total + EXCLUDED.epsilon_total, "
          "delta_total = b.delta_total + EXCLUDED.delta_total, rho_total = b.rho_total + EXCLUDED.rho_total",
          row[14].as<int64_t>(), request.dataset, a.epsilon_micro, a.delta_pico, a.rho_pico);
    }
    txn.exec_params(
        "UPDATE dpql.budget_requests SET status = 'approved', decided_by = $2, "
        "decided_at = $3::timestamptz WHERE id = $1",
        id, decided_by, FormatTimestamp(now));
    Audit(txn, row[14].as<int64_t>(), request.analyst, "admin", request.dataset,
          "request approve " + std::to_string(id), "request_approved",
          "granted " + Describe(a) +
              (request.project.empty() ? " to the analyst's own budget" : " to project " + request.project) +
              (decided_by.empty() ? "" : "; decided by " + decided_by));
    return RequestFromRow(txn.exec_params1(std::string(kRequestSelect) + "WHERE r.id = $1", id));
  });
}

BudgetRequest ProjectLedger::Decline(int64_t id, const std::string& decided_by, const std::string& reason,
                                     TimePoint now) {
  CheckText("the reason", reason, kMaxReasonLength, ErrorCode::kInvalidParameter);
  return impl_->Run([&](pqxx::work& txn) {
    pqxx::row row = PendingRequest(txn, id);
    BudgetRequest request = RequestFromRow(row);
    txn.exec_params(
        "UPDATE dpql.budget_requests SET status = 'declined', decided_by = $2, "
        "decided_at = $3::timestamptz, reason = $4 WHERE id = $1",
        id, decided_by, FormatTimestamp(now), reason);
    Audit(txn, row[14].as<int64_t>(), request.analyst, "admin", request.dataset,
          "request decline " + std::to_string(id), "request_declined", "reason: " + reason);
    return RequestFromRow(txn.exec_params1(std::string(kRequestSelect) + "WHERE r.id = $1", id));
  });
}

}  // namespace dpql
