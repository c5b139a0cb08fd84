#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace dpql {

// `dpqld <command> ...`: serve | admin | compile | --help. Returns the exit status.
int RunDpqld(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// `dpqld compile --catalog FILE [--dataset D] (-e QUERY | FILE)`.
int RunCompileCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// `dpqld serve --config FILE [--listen HOST:PORT] [--database URL]`: runs the
// HTTP server until SIGINT/SIGTERM (server/serve_command.cpp).
int RunServeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// `dpqld admin init|add-analyst|grant|revoke|list|audit ...` (server/admin_command.cpp).
int RunAdminCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace dpql
