#pragma once

// What every `dpqld admin` command shares about budgets in its output and its
// audit rows (server/admin_command.cpp, server/admin_release.cpp).

#include <ostream>
#include <string>

#include "runtime/budget/budget_units.h"
#include "runtime/ledger/ledger.h"

namespace dpql {

// "epsilon E, delta D" (and ", rho R" when set), for messages and audit rows.
std::string DescribeBudget(const BudgetCost& amount);

// Appends the audit row of an administrator's change (source "admin",
// outcome "ok"; a grant's amount goes in `detail`, never in the cost
// columns). The change is made already: a failure to write the row is a
// warning on `err`, not an error.
void AuditAdminAction(Ledger& ledger, const std::string& analyst, const std::string& dataset,
                      const std::string& action, const std::string& detail, std::ostream& err);

}  // namespace dpql
