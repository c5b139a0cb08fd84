// dpql: the DPQL client (interactive REPL and -c / -f batch mode).
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "repl/repl.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    dpql::ReplOptions options =
        dpql::ParseReplOptions(args, [](const char* name) -> const char* { return std::getenv(name); });
    return dpql::RunRepl(options);
  } catch (const dpql::ReplUsageError& error) {
    std::cerr << "dpql: " << error.what() << "\n" << dpql::kDpqlUsage;
    return dpql::kDpqlExitUsage;
  }
}
