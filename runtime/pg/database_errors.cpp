#include "runtime/pg/database_errors.h"

#include <algorithm>

#include "runtime/pg/fan_out.h"

#include <pqxx/pqxx>

namespace dpql {

DpqlError DatabaseUnavailable(std::string message) {
  return DpqlError(ErrorCode::kDatabaseUnavailable, std::move(message));
}

bool IsUnavailable(const DpqlError& error) {
  return error.code() == ErrorCode::kDatabaseUnavailable || error.code() == ErrorCode::kSiteUnavailable;
}

std::optional<std::string> UnavailableSite(const std::string& what) {
  static const std::string kPrefix = kSiteUnavailablePrefix;
  const size_t at = what.find(kPrefix);
  if (at == std::string::npos) return std::nullopt;
  size_t end = at + kPrefix.size();
  while (end < what.size() &&
         ((what[end] >= 'a' && what[end] <= 'z') || (what[end] >= '0' && what[end] <= '9') || what[end] == '_')) {
    ++end;
  }
  return what.substr(at + kPrefix.size(), end - at - kPrefix.size());
}

DpqlError SiteUnavailable(const Dataset& dataset, const std::string& reported, bool before_charge) {
  // The name comes back inside PostgreSQL's message: it is passed on only
  // when it is one of the catalog's own server names.
  const auto& servers = dataset.placement.servers;
  const std::string site =
      std::find(servers.begin(), servers.end(), reported) != servers.end() ? reported : "(one of its servers)";
  return DpqlError(ErrorCode::kSiteUnavailable,
                   "site " + site + " of dataset " + dataset.name + " cannot be reached" +
                       (before_charge ? "; the query was not run and nothing was spent"
                                      : " (it stopped answering while the query ran; the query's budget was "
                                        "spent, as for any query that fails once it has run)") +
                       ". Try again when it is back");
}

std::string SqlStateOf(const std::exception& error) {
  // Most specific first: libpqxx 6.4 throws these without their SQLSTATE.
  if (dynamic_cast<const pqxx::insufficient_privilege*>(&error) != nullptr) return "42501";
  if (dynamic_cast<const pqxx::serialization_failure*>(&error) != nullptr) return "40001";
  if (dynamic_cast<const pqxx::statement_completion_unknown*>(&error) != nullptr) return "40003";
  if (dynamic_cast<const pqxx::deadlock_detected*>(&error) != nullptr) return "40P01";
  if (dynamic_cast<const pqxx::transaction_rollback*>(&error) != nullptr) return "40000";
  if (dynamic_cast<const pqxx::too_many_connections*>(&error) != nullptr) return "53300";
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) return sql->sqlstate();
  return "";
}

std::string DescribeForLog(const std::exception& error) {
  std::string message = OnOneLine(error.what());
  while (!message.empty() && message.back() == ' ') message.pop_back();
  const std::string sqlstate = SqlStateOf(error);
  return sqlstate.empty() ? message : "SQLSTATE " + sqlstate + ": " + message;
}

std::string QueryFailedMessage(int timeout_ms) {
  const std::string timeout =
      timeout_ms % 1000 == 0 ? std::to_string(timeout_ms / 1000) + " s" : std::to_string(timeout_ms) + " ms";
  return "PostgreSQL did not complete this query: it failed, or ran longer than the server's "
         "statement timeout (" +
         timeout +
         "). Its budget was spent: the debit comes before the "
         "data is read. Every such failure gets this same answer, after the timeout, so that "
         "neither says anything about the data. Narrow the query (WHERE, fewer groups) if it "
         "reads much data; otherwise ask an administrator, whose server log has the cause";
}

}  // namespace dpql
