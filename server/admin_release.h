#pragma once

// `dpqld admin release grant|run|list` (server/admin_command.cpp parses the
// command line; docs/OPERATIONS.md, "Releases").

#include <optional>
#include <ostream>
#include <string>

#include "runtime/budget/budget_units.h"
#include "server/admin_args.h"

namespace dpql {

// `database` is the resolved connection string; `grant` is set for `release
// grant`. Returns the exit status; throws UsageError or DpqlError.
int RunReleaseAdmin(const admin::ParsedArgs& parsed, const std::string& database,
                    const std::optional<BudgetCost>& grant, std::ostream& out, std::ostream& err);

}  // namespace dpql
