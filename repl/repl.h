#pragma once

// dpql's two modes: batch (-c QUERY, -f FILE, or a non-terminal stdin) and the
// interactive libedit session with meta-commands, completion and history.

#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "repl/format.h"

namespace dpql {

constexpr int kDpqlExitOk = 0;
constexpr int kDpqlExitStatementFailed = 1;  // a statement or meta-command failed
constexpr int kDpqlExitUsage = 2;            // bad arguments, or cannot reach/authenticate to dpqld

struct ReplOptions {
  std::string url = "http://127.0.0.1:8765";
  std::string token;
  std::string dataset;                 // "" = the server's default
  std::string project;                 // --project: the research project that pays ("" = default)
  std::optional<std::string> command;  // -c
  std::optional<std::string> file;     // -f ("-" = stdin)
  OutputFormat format = OutputFormat::kTable;
  bool insecure = false;  // https: skip certificate verification
  bool help = false;
  bool version = false;
};

class ReplUsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses the arguments after the program name; DPQL_URL and DPQL_TOKEN from
// `env` (a getenv-like function) fill in what the flags leave unset. Throws
// ReplUsageError with a message that names the fix.
ReplOptions ParseReplOptions(const std::vector<std::string>& args, const char* (*env)(const char*));

extern const char* const kDpqlUsage;

// Runs dpql; returns the exit status.
int RunRepl(const ReplOptions& options);

}  // namespace dpql
