#pragma once

// The least privileges of the role dpqld connects as: read the catalog's
// tables, write the dpql schema's append-only ledger and the answer cache,
// nothing else. Used by `dpqld admin grant-role`.

#include <string>
#include <vector>

namespace dpql {

// The statements that make `role`'s privileges exactly the server's needs, on
// the database of `connection_string` (which must belong to a superuser or the
// owner of the tables). `tables` are the catalog's table names as the server
// writes them in SQL (resolved through the connection's search_path). Reads
// the database only to find the tables' schemas and the sequences; throws
// DpqlError when the role does not exist, is a superuser, or a table is missing.
// With `guardian_console`, also what the web console's guardian page writes
// through the server (POST /v1/admin/projects and /v1/admin/budget-requests):
// creating projects, adding and removing members, deciding budget requests.
std::vector<std::string> RoleGrantStatements(const std::string& connection_string, const std::string& role,
                                             const std::vector<std::string>& tables,
                                             bool guardian_console = false);

// Runs the statements in one transaction.
void ApplyRoleGrants(const std::string& connection_string, const std::vector<std::string>& statements);

}  // namespace dpql
