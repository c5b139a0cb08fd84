#pragma once

// Research projects: a team of analysts (members) sharing an approved budget
// on one dataset, from a start to an end date, optionally granted anew each
// calendar period (UTC month, ...), and the budget requests analysts file and
// guardians decide. Kept in PostgreSQL beside the ledger (schema `dpql`,
// runtime/ledger/project_schema.h), in the ledger's exact units.
//
// A project debit has the guarantees of Ledger::Debit: one transaction that
// locks the dataset's spend row first (and checks the dataset-wide cap under
// it), then the project's row, renews the project's period if it has turned
// (once: under the row lock, recorded by one "project_renewed" audit row),
// spends with a conditional UPDATE that cannot overspend, appends the ledger
// row naming the project, and adds to the dataset's spend.
//
// Every dated decision reads the `now` the caller passes (the engine's clock),
// never the database's clock.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/common/clock.h"
#include "compiler/common/period.h"
#include "runtime/budget/budget_units.h"
#include "runtime/pg/pqxx_fwd.h"

namespace dpql {

struct Project {
  int64_t id = 0;
  std::string name;
  std::string dataset;
  BudgetCost total;  // the approved budget (per period when `renew` is set)
  BudgetCost spent;  // spent in the current period (or ever, without renewal)
  TimePoint starts_at{};
  TimePoint ends_at{};  // exclusive: the project pays for nothing from this moment
  BudgetPeriod renew = BudgetPeriod::kNone;
  TimePoint period_start{};
  std::optional<TimePoint> closed_at;
  std::vector<std::string> members;  // analyst names, sorted (List and ForAnalyst only)

  BudgetCost Remaining() const { return total - spent; }
  // The last day it pays for, "YYYY-MM-DD" (the day before ends_at's midnight).
  std::string LastDay() const;
  // The day its budget is next granted anew, "YYYY-MM-DD"; "" without renewal
  // or when the next period starts after the end.
  std::string RenewsOn() const;
  // Whether it may pay at `now`: not closed, started, not ended.
  bool OpenAt(TimePoint now) const;
};

struct ProjectSpec {
  std::string name;
  std::string dataset;
  BudgetCost budget;
  TimePoint starts_at{};
  TimePoint ends_at{};
  BudgetPeriod renew = BudgetPeriod::kNone;
};

struct ProjectDebit {
  enum class Outcome {
    kDebited,     // debited and committed
    kCapRefused,  // the dataset-wide cap refused it; nothing written
    kInsufficient // the project's remaining budget (this period) is smaller than the cost
  };
  Outcome outcome = Outcome::kInsufficient;
  Project project;  // after the debit, or as it stood when refused (renewed if due)
  int64_t ledger_id = 0;

  bool ok() const { return outcome == Outcome::kDebited; }
};

struct BudgetRequest {
  int64_t id = 0;
  std::string analyst;
  std::string project;  // "" = the analyst's own budget on `dataset`
  std::string dataset;
  BudgetCost amount;
  std::string justification;
  std::string status;  // pending, approved, declined
  std::string filed_at;
  std::string decided_by;
  std::string decided_at;
  std::string reason;
};

class ProjectLedger {
 public:
  // As Ledger's constructors: its own connection, or one borrowed.
  explicit ProjectLedger(const std::string& connection_string);
  explicit ProjectLedger(pqxx::connection& connection);
  ~ProjectLedger();
  ProjectLedger(const ProjectLedger&) = delete;
  ProjectLedger& operator=(const ProjectLedger&) = delete;

  // The guardian's commands, each audited in its own transaction (source
  // "admin"). Throw DpqlError: "duplicate_project", "unknown_project",
  // "unknown_analyst", "invalid_name", "invalid_budget", "invalid_parameter".
  Project Create(const ProjectSpec& spec, TimePoint now);
  // Returns false when the analyst was a member already (nothing changed).
  bool AddMember(const std::string& project, const std::string& analyst);
  // Returns false when the analyst was not a member.
  bool RemoveMember(const std::string& project, const std::string& analyst);
  // A later end and/or more budget (never less: budgets are never reduced).
  Project Extend(const std::string& project, std::optional<TimePoint> ends_at, const BudgetCost& more,
                 TimePoint now);
  // Closes the project: it pays for nothing from now on. False if closed already.
  bool Close(const std::string& project, TimePoint now);
  // Every project with its members, by name (renewed at `now` where due).
  std::vector<Project> List(TimePoint now);

  // The analyst's projects (all datasets, closed ones too), renewed at `now`
  // where due.
  std::vector<Project> ForAnalyst(int64_t analyst_id, TimePoint now);
  // The project as `analyst_id` may use it on `dataset` at `now`, renewed if
  // due; throws "unknown_project" (also for a project of another dataset),
  // "not_project_member", "project_closed", "project_not_started",
  // "project_ended", each naming what to do.
  Project CheckUse(int64_t analyst_id, const std::string& project, const std::string& dataset, TimePoint now);

  // Spends `cost` from the project (see the file comment); throws as CheckUse
  // does, with nothing written, when the project may not pay.
  [[nodiscard]] ProjectDebit Debit(int64_t analyst_id, const std::string& project, const std::string& dataset,
                                   const BudgetCost& cost, std::string_view query_text, const BudgetCap& cap,
                                   TimePoint now);

  // An analyst's request for `amount` more on `project` (a member's), or on
  // their own budget on `dataset` when `project` is empty. Audited. Returns it.
  // Throws "justification_too_long", "invalid_parameter", "invalid_budget", and
  // CheckUse's membership errors.
  BudgetRequest File(int64_t analyst_id, const std::string& project, const std::string& dataset,
                     const BudgetCost& amount, const std::string& justification, TimePoint now);
  // Newest first; one analyst's (analyst_id set) or everyone's.
  std::vector<BudgetRequest> Requests(std::optional<int64_t> analyst_id, bool pending_only);
  // Approving adds exactly the amount asked to the project's total (or the
  // analyst's budget on the dataset) in the transaction that marks it
  // approved; declining changes no budget. Both audited. Throw
  // "unknown_budget_request", "request_decided".
  BudgetRequest Approve(int64_t id, const std::string& decided_by, TimePoint now);
  BudgetRequest Decline(int64_t id, const std::string& decided_by, const std::string& reason, TimePoint now);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dpql
