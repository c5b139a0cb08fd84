#pragma once

#include <stdexcept>
#include <string>

#include "compiler/common/source_location.h"

namespace dpql {

// The stage an error comes from. Each converts, in one place, into the HTTP
// error JSON (server/) and the REPL message.
enum class ErrorKind {
  kSyntax,    // the text does not parse
  kSemantic,  // parses, but names/types/shape are wrong
  kPrivacy,   // well-formed, but would not be private (always refused)
  kCatalog,   // the guardian's catalog is invalid
  kBudget,    // the analyst cannot afford the query
  kAuth,      // unknown or insufficient credentials
  kNotFound,  // an unknown dataset, analyst, ...
  kLimit,     // a request exceeds a size or time limit
  kInternal,  // a bug or an infrastructure failure; never caused by input alone
};

// A user-facing error: a stable code (e.g. "unknown_column"), a message that
// says what is wrong and what to write instead, and where.
class DpqlError : public std::runtime_error {
 public:
  DpqlError(ErrorKind kind, std::string code, std::string message, SourceLocation loc = {})
      : std::runtime_error(message), kind_(kind), code_(std::move(code)), loc_(loc) {}

  ErrorKind kind() const { return kind_; }
  const std::string& code() const { return code_; }
  const SourceLocation& location() const { return loc_; }
  std::string message() const { return what(); }

 private:
  ErrorKind kind_;
  std::string code_;
  SourceLocation loc_;
};

// The JSON "code" family of an error kind: syntax_error, semantic_error, ...
const char* ErrorKindName(ErrorKind kind);

// "3:14: error: <message>\n<line>\n<caret>" (or just the message when the
// location is unknown).
std::string FormatError(const DpqlError& error, std::string_view source);

}  // namespace dpql
