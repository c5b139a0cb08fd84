// Which account pays for a query (engine.h, Engine::PayingProject): the
// analyst's own budget or a research project (runtime/ledger/projects.h).

#include "compiler/common/error.h"
#include "runtime/engine.h"
#include "runtime/pg/retry.h"

namespace dpql {

BudgetView ProjectBudgetView(const Project& project, const Dataset* dataset) {
  BudgetView view = ToBudgetView(Budget{project.dataset, project.total, project.spent}, dataset);
  view.project = project.name;
  view.ends_on = project.LastDay();
  view.renews_on = project.RenewsOn();
  return view;
}

std::optional<Project> Engine::PayingProject(const Caller& caller, const Dataset& dataset) {
  // Reads (and at most a renewal, which happens once): safe to repeat on a
  // fresh connection when an idle one broke.
  return WithConnection(pool_, 2, [&](pqxx::connection& connection) -> std::optional<Project> {
    const TimePoint now = clock_->Now();
    ProjectLedger projects(connection);
    if (!caller.project.empty()) return projects.CheckUse(caller.analyst_id, caller.project, dataset.name, now);
    // An own budget pays, unless nothing was ever granted on it (an analyst
    // created for project work only).
    const std::optional<Budget> own = Ledger(connection).GetBudget(caller.analyst_id, dataset.name);
    if (own && !(own->total == BudgetCost{})) return std::nullopt;

    std::vector<Project> candidates;
    for (Project& project : projects.ForAnalyst(caller.analyst_id, now)) {
      if (project.dataset == dataset.name && !project.closed_at) candidates.push_back(std::move(project));
    }
    if (candidates.empty()) {
      if (own) return std::nullopt;  // refused as the own budget's debit refuses it
      ThrowNoBudget(dataset);
    }
    // One project: it pays, or its own refusal says why not (e.g. ended on ...).
    if (candidates.size() == 1) {
      return projects.CheckUse(caller.analyst_id, candidates[0].name, dataset.name, now);
    }
    std::vector<const Project*> open;
    for (const Project& project : candidates) {
      if (project.OpenAt(now)) open.push_back(&project);
    }
    if (open.size() == 1) return projects.CheckUse(caller.analyst_id, open[0]->name, dataset.name, now);
    std::string names;
    for (const Project& project : candidates) {
      names += (names.empty() ? "" : ", ") + project.name + " (last day " + project.LastDay() + ")";
    }
    throw DpqlError(ErrorCode::kProjectRequired,
                    "you belong to several projects on dataset " + dataset.name + ": " + names +
                        "; name the one that pays: the DPQL-Project header, `\\project NAME` in the REPL "
                        "or `dpql --project NAME`. Nothing was spent.");
  });
}

}  // namespace dpql
