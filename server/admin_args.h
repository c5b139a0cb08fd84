#pragma once

// The command line of `dpqld admin`: the subcommands' flags, checked before
// anything runs (server/admin_command.cpp carries them out).

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "compiler/common/rational.h"

namespace dpql::admin {

// The command line is wrong: exit status 2, with the usage when the
// subcommand is unknown.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ParsedArgs {
  std::string command;
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // --flag VALUE
  std::vector<std::string> switches;          // --flag
  bool help = false;
};

// Flags taking a value, and boolean switches, per subcommand.
struct CommandSpec {
  std::vector<std::string> value_flags;
  std::vector<std::string> switch_flags;
  size_t positional;  // number of required positional arguments (NAME)
  const char* synopsis;
  size_t optional_positional = 0;  // how many more it may take (release run NAME)
};

// The subcommands by name.
const std::map<std::string, CommandSpec>& Commands();

bool Contains(const std::vector<std::string>& list, const std::string& item);

// Throws UsageError naming the fix.
ParsedArgs Parse(const std::vector<std::string>& args);

std::optional<std::string> Value(const ParsedArgs& parsed, const std::string& flag);
// The flag's value; UsageError when the command line lacks it.
std::string Required(const ParsedArgs& parsed, const std::string& flag);
// A decimal amount of --epsilon, --delta or --rho; UsageError otherwise.
Rational ParseAmount(const std::string& flag, const std::string& text);

}  // namespace dpql::admin
