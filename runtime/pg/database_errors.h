#pragma once

// Classifying PostgreSQL failures the same way in every component that talks
// to the database (executor, ledger, answer cache), and the refusals whose
// cause is for the administrator only.

#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "runtime/budget/budget_units.h"

namespace dpql {

// PostgreSQL ended the session rather than refusing the statement: a shutdown
// or restart (class 57P: admin_shutdown, crash_shutdown, cannot_connect_now)
// or a lost connection (class 08). The client should retry later (503); this
// is not a bug (500).
inline bool SessionEnded(std::string_view sqlstate) {
  return sqlstate.substr(0, 3) == "57P" || sqlstate.substr(0, 2) == "08";
}

// The database cannot be reached, or the session ended: the client should
// retry later (503). The one place that makes this error; `message` says what
// was lost and may hold libpq's text (never data).
DpqlError DatabaseUnavailable(std::string message);

// Whether `error` is DatabaseUnavailable's: the one test for it, so that the
// connection it came from is discarded and the work retried or reported.
[[nodiscard]] bool IsUnavailable(const DpqlError& error);

// A shard or federated site that dpql.fan_out could not reach, or whose
// connection broke (runtime/pg/fan_out.h): its name, from the error's
// message; nullopt for any other error.
std::optional<std::string> UnavailableSite(const std::string& what);
// DpqlError "site_unavailable" naming the site of `dataset` (503): the
// reported name when it is one of the dataset's servers, none otherwise.
DpqlError SiteUnavailable(const Dataset& dataset, const std::string& reported, bool before_charge);

// libpq's messages span lines ("...failed: ...\n\tIs the server running...");
// error messages and log lines are one line each.
inline std::string OnOneLine(std::string detail) {
  for (char& c : detail) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  return detail;
}

// The SQLSTATE of a libpqxx exception, "" when it names none. libpqxx 6.4
// leaves it out of some exceptions it maps from a SQLSTATE: insufficient_privilege
// (42501) has an empty sqlstate(), and the transaction_rollback family (40xxx)
// does not even derive from sql_error; their type says which SQLSTATE it was.
std::string SqlStateOf(const std::exception& error);

// "SQLSTATE 42501: permission denied for table admissions" on one line: for
// the server log only. PostgreSQL's message can quote values from the data
// (a failed cast names the value), so it never goes to a client.
std::string DescribeForLog(const std::exception& error);

// A refusal whose cause is for the administrator only. The client gets the
// code and the fixed message (DpqlError's); `admin_detail` — PostgreSQL's
// SQLSTATE and message — goes to the server log with the audit row's id.
//
// "query_failed": a SELECT whose SQL was sent failed after its debit (a
// PostgreSQL error, a statement timeout, or a failure computing the release).
// Every such failure gets the same code, status and message, not before
// `respond_at` (the statement timeout after the SQL was sent), so that
// neither the answer nor its time tells one failure from another
// (docs/PRIVACY.md, "Failures and timeouts").
//
// "not_ready": the readiness probe found a catalog table the server's role
// cannot read; refused before the debit, nothing spent.
class DatabaseFailure : public DpqlError {
 public:
  DatabaseFailure(ErrorCode code, const std::string& message, std::string admin_detail)
      : DpqlError(code, message), admin_detail_(std::move(admin_detail)) {}

  const std::string& admin_detail() const { return admin_detail_; }

  // Not answered before this moment (unset: at once).
  std::optional<std::chrono::steady_clock::time_point> respond_at;
  // The debit that paid for the failed query, and what it charged.
  std::optional<int64_t> ledger_id;
  std::optional<BudgetCost> charged;

 private:
  std::string admin_detail_;
};

// The message every failed query (ErrorCode::kQueryFailed) gets
// (`timeout_ms` is the server's statement timeout, public configuration).
std::string QueryFailedMessage(int timeout_ms);

}  // namespace dpql
