#pragma once

#include <iosfwd>
#include <stdexcept>
#include <string>

#include "compiler/common/error_codes.h"
#include "compiler/common/source_location.h"

namespace dpql {

// A user-facing error: a code from the table in error_codes.h (its name,
// e.g. "unknown_column", is what clients see), a message that says what is
// wrong and what to write instead, and where.
class DpqlError : public std::runtime_error {
 public:
  DpqlError(ErrorCode code, const std::string& message, SourceLocation loc = {})
      : std::runtime_error(message), code_(code), loc_(loc) {}

  ErrorCode code() const { return code_; }
  ErrorKind kind() const { return Info(code_).kind; }
  const SourceLocation& location() const { return loc_; }
  std::string message() const { return what(); }

 private:
  ErrorCode code_;
  SourceLocation loc_;
};

// The JSON "code" family of an error kind: syntax_error, semantic_error, ...
const char* ErrorKindName(ErrorKind kind);

// Writes the code's name ("unknown_column"): for logs and test messages.
std::ostream& operator<<(std::ostream& out, ErrorCode code);

// "3:14: error [unknown_column]: <message>\n<line>\n<caret>", or
// "error [code]: <message>" when the location is unknown. The code in
// brackets is the stable name clients match on; the REPL prints it the same
// way ("ERROR [unknown_column]: ...").
std::string FormatError(const DpqlError& error, std::string_view source);

}  // namespace dpql
