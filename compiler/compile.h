#pragma once

// The compiler's front door: one parsed statement of a dataset in, what it
// compiles to out. Every caller that runs, explains or checks statements
// (runtime/engine.h, `dpqld compile`, the SQL file tests, the fuzzer) goes
// through Compile, so a statement kind is handled in one place.

#include <optional>

#include "compiler/ast/ast.h"
#include "compiler/catalog/catalog.h"
#include "compiler/planner/plan.h"

namespace dpql {

enum class CompiledKind {
  kSelect,      // plan: run it (it is charged)
  kExplain,     // plan: show it; nothing runs, nothing is charged
  kShowTables,  // the dataset's tables: the catalog answers
  kDescribe,    // table: its columns: the catalog answers
  kShowBudget,  // the asker's budget: the ledger answers, so the runtime does
};

// What a statement compiles to. A metadata statement has no plan and costs nothing.
struct CompiledStatement {
  CompiledKind kind = CompiledKind::kSelect;
  std::optional<Plan> plan;             // kSelect and kExplain: bound, planned, SQL generated
  const CatalogTable* table = nullptr;  // kDescribe: the table named, in the dataset

  bool HasPlan() const { return plan.has_value(); }
};

// Binds, plans and generates SQL for a SELECT or EXPLAIN (CompileSelect);
// finds the table of a DESCRIBE. Pure; no database. Throws DpqlError for every
// refusal: the binder's and planner's, and kSemantic "unknown_table" (at the
// table name) for a DESCRIBE of a table the dataset does not have.
CompiledStatement Compile(const Dataset& dataset, const ast::Statement& statement);

}  // namespace dpql
