#include "compiler/compile.h"

#include <string>

#include "compiler/binder/binder.h"
#include "compiler/common/error.h"

namespace dpql {

CompiledStatement Compile(const Dataset& dataset, const ast::Statement& statement) {
  CompiledStatement compiled;
  switch (statement.kind) {
    case ast::StatementKind::kSelect:
      compiled.kind = CompiledKind::kSelect;
      compiled.plan = CompileSelect(dataset, *statement.select);
      return compiled;
    case ast::StatementKind::kExplain:
      compiled.kind = CompiledKind::kExplain;
      compiled.plan = CompileSelect(dataset, *statement.select);
      return compiled;
    case ast::StatementKind::kShowTables: compiled.kind = CompiledKind::kShowTables; return compiled;
    case ast::StatementKind::kDescribe:
      compiled.kind = CompiledKind::kDescribe;
      compiled.table = dataset.FindTable(statement.table);
      if (compiled.table == nullptr) {
        throw DpqlError(ErrorCode::kUnknownTable, UnknownTableMessage(dataset, statement.table),
                        statement.table_loc);
      }
      return compiled;
    case ast::StatementKind::kShowBudget: compiled.kind = CompiledKind::kShowBudget; return compiled;
  }
  throw DpqlError(ErrorCode::kInternal, "unknown statement kind");
}

}  // namespace dpql
