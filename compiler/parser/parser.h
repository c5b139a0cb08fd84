#pragma once

// DPQL text -> AST. The only public interface of compiler/parser: no ANTLR
// type appears here (see compiler/parser/README.md).
//
// Conventions of the produced AST:
//  - unquoted identifiers are folded to lower case (as PostgreSQL does);
//    "double quoted" ones keep their exact spelling;
//  - function names and EXTRACT fields are upper case, word operators are
//    upper case, `!=` becomes `<>`;
//  - WITH PRIVACY option names and identifier values are lower case;
//  - every node's SourceLocation points at its own text (1-based line and
//    column counted in characters; byte offset and length for carets);
//    a TableRef's location is that of the table name.

#include <string_view>
#include <vector>

#include "compiler/ast/ast.h"

namespace dpql {

// Longest accepted query text, in bytes; longer input is refused with
// ErrorCode::kQueryTooLong.
inline constexpr size_t kMaxQueryBytes = 100 * 1024;

// Deepest accepted nesting of parentheses and prefix operators (NOT, unary -),
// and deepest accepted expression tree (long AND/OR chains count too). Deeper
// input gives a syntax error "expression is nested too deeply", never a stack
// overflow.
inline constexpr int kMaxNestingDepth = 128;
inline constexpr int kMaxExpressionDepth = 256;

// Parses one or more ';'-separated statements (empty statements and a trailing
// ';' are fine). Throws DpqlError: kSyntax with code "syntax_error" for text
// that does not parse, kLimit "query_too_long", and kSemantic "subquery" (a
// SELECT in FROM) or "unsupported_join" (RIGHT, FULL, CROSS) for SQL forms
// that DPQL recognises only to refuse them clearly.
std::vector<ast::Statement> ParseScript(std::string_view text);

// Throws DpqlError kSyntax "syntax_error" at the first NUL character of
// `text` (ParseScript checks this too; the server checks it first).
void RefuseNulCharacter(std::string_view text);

// Exactly one statement (a trailing ';' is fine); several give DpqlError
// kSyntax, code "multiple_statements", located at the second statement.
ast::Statement ParseStatement(std::string_view text);

}  // namespace dpql
