#pragma once

// The one place where results and errors become HTTP JSON: QueryResult,
// budgets, the public catalog, audit rows, and DpqlError (with its HTTP status).

#include <nlohmann/json.hpp>
#include <string>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/planner/plan.h"
#include "runtime/ledger/ledger.h"
#include "runtime/release/result.h"

namespace dpql {

// {"columns", "column_types", "rows", "accuracy", "cost", "budget", "cached"},
// or {"explain", "cost"} for an EXPLAIN. `budget` is null when unknown.
nlohmann::ordered_json QueryResultJson(const QueryResult& result);

// A released value: null, a number, text or a boolean.
nlohmann::ordered_json ValueJson(const Value& value);

nlohmann::ordered_json CostJson(const PrivacyCost& cost);
nlohmann::ordered_json BudgetViewJson(const BudgetView& view);
// `dataset` (may be null) decides the accounting shown: zCDP budgets add rho.
nlohmann::ordered_json BudgetJson(const Budget& budget, const Dataset* dataset);

// Public metadata only: datasets, privacy unit, defaults, limits, tables and
// columns with types, bounds and domains. Never data.
nlohmann::ordered_json CatalogJson(const Catalog& catalog);

// An audit row for admins (never holds result values: the table has none).
nlohmann::ordered_json AuditJson(const AuditRecord& record);

// A refusal as the client sees it. The JSON "kind" is the code's family
// (ErrorKindName of Info(code).kind).
struct HttpError {
  int status = 500;
  ErrorCode code = ErrorCode::kInternalError;
  std::string message;  // safe to show: never PostgreSQL's text for internal errors
  SourceLocation location;
};

// Maps an engine/ledger error to its HTTP status and public message. Internal
// errors get a generic message (the original goes to the server log).
HttpError ToHttpError(const DpqlError& error);

// {"error": {"code", "kind", "message", "line"?, "column"?}}
nlohmann::ordered_json ErrorJson(const HttpError& error);

}  // namespace dpql
