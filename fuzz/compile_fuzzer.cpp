// libFuzzer harness over the compiler: text --parse--> AST --bind--> BoundSelect
// --plan--> Plan --SQL--> EXPLAIN text, the path of `dpqld compile` and of
// EXPLAIN, against the hospital example catalog. No database is involved.
//
// A DpqlError is the expected answer to bad input and ends the run quietly
// (its caret rendering is exercised too). Anything else is a finding: another
// exception type escapes and aborts, and the sanitizers abort on memory errors,
// leaks and undefined behaviour. See docs/SECURITY.md, "Fuzzing and
// sanitizers", and scripts/fuzz.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/executor/expected_error.h"

namespace dpql {
namespace {

// DPQL_FUZZ_CATALOG overrides the catalog the harness compiles against.
const Dataset& HospitalDataset() {
  static const Catalog catalog = [] {
    const char* path = std::getenv("DPQL_FUZZ_CATALOG");
    return LoadCatalog(path != nullptr ? path
                                       : DPQL_SOURCE_DIR "/examples/hospital/catalog.yaml");
  }();
  return *catalog.DefaultDataset();
}

// What `dpqld compile` does with one statement; the output is discarded but
// fully built, so every renderer runs.
void CompileStatement(const Dataset& dataset, const ast::Statement& statement) {
  switch (statement.kind) {
    case ast::StatementKind::kSelect:
    case ast::StatementKind::kExplain: {
      std::string text = ExplainPlan(CompileSelect(dataset, *statement.select));
      if (text.empty()) std::abort();  // a compiled plan always has a rendering
      break;
    }
    case ast::StatementKind::kDescribe:
      (void)dataset.FindTable(statement.table);
      break;
    case ast::StatementKind::kShowTables:
    case ast::StatementKind::kShowBudget:
      break;
  }
}

void CompileText(std::string_view text) {
  const Dataset& dataset = HospitalDataset();
  try {
    std::vector<ast::Statement> statements = ParseScript(text);
    for (const ast::Statement& statement : statements) {
      try {
        CompileStatement(dataset, statement);
      } catch (const DpqlError& e) {
        (void)FormatError(e, text);  // each statement is compiled, as dpqld compile would
      }
    }
  } catch (const DpqlError& e) {
    (void)FormatError(e, text);
  }
}

}  // namespace
}  // namespace dpql

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dpql::CompileText(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
