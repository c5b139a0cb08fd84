#include "server/admin_args.h"

#include <algorithm>

#include "compiler/common/error.h"
#include "compiler/common/flags.h"

namespace dpql::admin {

const std::map<std::string, CommandSpec>& Commands() {
  static const std::map<std::string, CommandSpec> commands = {
      {"init", {{}, {}, 0, "init"}},
      {"add-analyst",
       {{"--dataset", "--epsilon", "--delta", "--rho"},
        {"--admin"},
        1,
        "add-analyst NAME --dataset D (--epsilon E [--delta D] | --rho R) [--admin]"}},
      {"grant",
       {{"--dataset", "--epsilon", "--delta", "--rho"},
        {},
        1,
        "grant NAME --dataset D (--epsilon E [--delta D] | --rho R)"}},
      {"revoke", {{}, {}, 1, "revoke NAME"}},
      {"new-token", {{}, {}, 1, "new-token NAME"}},
      {"list", {{}, {}, 0, "list"}},
      {"audit",
       {{"--limit", "--analyst", "--dataset"}, {}, 0, "audit [--limit N] [--analyst NAME] [--dataset D]"}},
      {"data-version", {{}, {}, 1, "data-version DATASET"}},
      {"check", {{"--dataset"}, {}, 0, "check --catalog FILE [--dataset D]"}},
      {"add-server",
       {{"--host", "--port", "--dbname", "--user", "--for-role"},
        {},
        1,
        "add-server NAME --host H --port P --dbname D [--user U] [--for-role ROLE]  (password: "
        "DPQL_SERVER_PASSWORD)"}},
      {"distribute", {{"--dataset"}, {}, 0, "distribute --catalog FILE [--dataset D]"}},
      {"grant-role",
       {{"--dataset"},
        {"--print", "--guardian-console"},
        1,
        "grant-role ROLE --catalog FILE [--dataset D] [--guardian-console] [--print]"}},
      // Research projects and budget requests: two words, `project create`.
      {"project create",
       {{"--dataset", "--epsilon", "--delta", "--rho", "--start", "--end", "--renew"},
        {},
        1,
        "project create NAME --dataset D (--epsilon E [--delta D] | --rho R) --start YYYY-MM-DD "
        "--end YYYY-MM-DD [--renew day|week|month|year]"}},
      {"project add-member", {{}, {}, 2, "project add-member PROJECT ANALYST"}},
      {"project remove-member", {{}, {}, 2, "project remove-member PROJECT ANALYST"}},
      {"project extend",
       {{"--end", "--epsilon", "--delta", "--rho"},
        {},
        1,
        "project extend PROJECT [--end YYYY-MM-DD] [--epsilon E [--delta D] | --rho R]"}},
      {"project close", {{}, {}, 1, "project close PROJECT"}},
      {"project list", {{}, {}, 0, "project list"}},
      {"request list", {{}, {"--pending"}, 0, "request list [--pending]"}},
      {"request approve", {{}, {}, 1, "request approve ID"}},
      {"request decline", {{"--reason"}, {}, 1, "request decline ID --reason TEXT"}},
      {"release",
       {{"--dataset", "--epsilon", "--delta", "--rho", "--day", "--from", "--to"},
        {},
        1,
        "release grant --dataset D (--epsilon E [--delta D] | --rho R) | release run NAME (--day D | "
        "--from D1 --to D2) | release list",
        1}},
  };
  return commands;
}

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

ParsedArgs Parse(const std::vector<std::string>& args) {
  ParsedArgs parsed;
  const std::vector<std::string> global_flags = {"--database", "--config", "--catalog"};
  // First pass: find the subcommand, so flags can be checked against it.
  FlagReader first(args);
  while (first.Next()) {
    const std::string& arg = first.arg();
    if (arg == "--help" || arg == "-h" || arg == "help") {
      parsed.help = true;
      continue;
    }
    if (arg.rfind("--", 0) == 0) {
      const std::string& flag = first.flag();
      bool takes_value = Contains(global_flags, flag);
      if (!takes_value) {
        for (const auto& [name, spec] : Commands()) takes_value |= Contains(spec.value_flags, flag);
      }
      if (takes_value) first.Value();  // skip its value
      continue;
    }
    if (first.IsOption()) continue;  // reported below
    if (parsed.command.empty()) {
      parsed.command = arg;
      if (arg != "project" && arg != "request") break;
      continue;
    }
    parsed.command += " " + arg;  // project VERB, request VERB
    break;
  }
  if (parsed.help && parsed.command.empty()) return parsed;
  if (parsed.command.empty()) throw UsageError("no command given");
  auto found = Commands().find(parsed.command);
  if (found == Commands().end()) {
    if (parsed.command == "project" || parsed.command.rfind("project ", 0) == 0) {
      throw UsageError("unknown or missing project command in '" + parsed.command +
                       "'; use project create, add-member, remove-member, extend, close or list");
    }
    if (parsed.command == "request" || parsed.command.rfind("request ", 0) == 0) {
      throw UsageError("unknown or missing request command in '" + parsed.command +
                       "'; use request list, approve or decline");
    }
    throw UsageError(
        "unknown command '" + parsed.command +
        "'; the commands are init, add-analyst, grant, revoke, new-token, list, audit, data-version, "
        "check, grant-role, project, request and release");
  }
  const CommandSpec& spec = found->second;

  // The command's words (one, or two for project and request), each skipped once.
  std::vector<std::string> command_words;
  {
    const size_t space = parsed.command.find(' ');
    command_words.push_back(parsed.command.substr(0, space));
    if (space != std::string::npos) command_words.push_back(parsed.command.substr(space + 1));
  }
  size_t seen_words = 0;
  FlagReader flags(args, InlineValues::kAnyDash);
  while (flags.Next()) {
    const std::string& arg = flags.arg();
    if (arg == "--help" || arg == "-h" || arg == "help") continue;
    if (flags.IsOption()) {
      const std::string& flag = flags.flag();
      bool takes_value = Contains(global_flags, flag) || Contains(spec.value_flags, flag);
      if (Contains(spec.switch_flags, flag)) {
        if (flags.inline_value()) throw UsageError(flag + " takes no value");
        parsed.switches.push_back(flag);
        continue;
      }
      if (!takes_value) {
        throw UsageError("unknown option '" + flag + "' for `" + parsed.command + "`; usage: dpqld admin " +
                         spec.synopsis);
      }
      // A value is never taken from a following --flag.
      std::optional<std::string> value = flags.Value("--");
      if (!value) throw UsageError(flag + " needs a value; usage: dpqld admin " + std::string(spec.synopsis));
      if (value->empty()) throw UsageError(flag + " needs a non-empty value");
      if (parsed.values.count(flag)) throw UsageError(flag + " is given more than once");
      parsed.values[flag] = *value;
      continue;
    }
    if (seen_words < command_words.size() && arg == command_words[seen_words]) {
      ++seen_words;
      continue;
    }
    parsed.positional.push_back(arg);
  }
  if (parsed.help) return parsed;
  if (parsed.positional.size() < spec.positional) {
    throw UsageError("`" + parsed.command + "` needs " +
                     (parsed.command == "data-version"           ? "a DATASET name"
                      : parsed.command == "grant-role"           ? "a PostgreSQL ROLE name"
                      : parsed.command == "release"              ? "an action: grant, run or list"
                      : parsed.command.rfind("project ", 0) == 0 ? "its arguments"
                      : parsed.command.rfind("request ", 0) == 0 ? "a request ID"
                                                                 : "an analyst NAME") +
                     "; usage: dpqld admin " + spec.synopsis);
  }
  if (parsed.positional.size() > spec.positional + spec.optional_positional) {
    throw UsageError("unexpected argument '" + parsed.positional[spec.positional + spec.optional_positional] +
                     "' for `" + parsed.command + "`; usage: dpqld admin " + spec.synopsis);
  }
  return parsed;
}

std::optional<std::string> Value(const ParsedArgs& parsed, const std::string& flag) {
  auto it = parsed.values.find(flag);
  if (it == parsed.values.end()) return std::nullopt;
  return it->second;
}

std::string Required(const ParsedArgs& parsed, const std::string& flag) {
  auto value = Value(parsed, flag);
  if (!value) {
    throw UsageError("`" + parsed.command + "` needs " + flag + "; usage: dpqld admin " +
                     Commands().at(parsed.command).synopsis);
  }
  return *value;
}

Rational ParseAmount(const std::string& flag, const std::string& text) {
  auto value = ParseDecimal(text);
  if (!value) {
    throw UsageError(flag + " expects a decimal number such as 1.5, 0.25 or 1e-6, got '" + text + "'");
  }
  return *value;
}

}  // namespace dpql::admin
