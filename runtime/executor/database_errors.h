// Classifying PostgreSQL failures the same way in every component that talks
// to the database (executor, ledger, answer cache).
#pragma once

#include <string>
#include <string_view>

namespace dpql {

// PostgreSQL ended the session rather than refusing the statement: a shutdown
// or restart (class 57P: admin_shutdown, crash_shutdown, cannot_connect_now)
// or a lost connection (class 08). The client should retry later (503); this
// is not a bug (500).
inline bool SessionEnded(std::string_view sqlstate) {
  return sqlstate.substr(0, 3) == "57P" || sqlstate.substr(0, 2) == "08";
}

// libpq's messages span lines ("...failed: ...\n\tIs the server running...");
// error messages and log lines are one line each.
inline std::string OnOneLine(std::string detail) {
  for (char& c : detail) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return detail;
}

}  // namespace dpql
