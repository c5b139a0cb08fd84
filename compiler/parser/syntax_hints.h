#pragma once

// Internal to compiler/parser: the messages of syntax errors. A table of
// named hint rules (syntax_hints.cpp) reads the parse state at the error (the
// offending token, the tokens before it, the tokens the grammar expected and
// the rule being parsed); the first rule that applies gives the message.

#include <string>

#include "compiler/common/error_codes.h"
#include "compiler/parser/transformer.h"

namespace dpql::parser {

// Throws the DpqlError of a syntax error: "syntax_error" for a plain
// mistake, or the code of the SQL construct DPQL does not support.
[[noreturn]] void ThrowSyntax(std::string message, const SourceLocation& loc,
                              ErrorCode code = ErrorCode::kSyntaxError);

// Throws the one refusal of every subquery (FROM (SELECT ...), IN (SELECT
// ...), EXISTS (SELECT ...), a scalar (SELECT ...)), located at its '(' or
// EXISTS.
[[noreturn]] void ThrowSubquery(const SourceLocation& loc);

// Throws the message of the first hint rule that applies to the error at
// `token`, the last resort being "unexpected X".
[[noreturn]] void ThrowSyntaxError(antlr4::Parser* parser, const antlr4::Token* token,
                                   const antlr4::misc::IntervalSet& expected, const SourceText& source);

// True when a token of `type` ends an operand (so a following identifier is
// an alias, and a following '-' or NOT is not a prefix operator).
bool EndsOperand(size_t type);

}  // namespace dpql::parser
