#pragma once

// dpqld's HTTP API as the REPL uses it: each call returns the parsed JSON
// answer or throws ApiError (an error answer) / HttpTransportError (no answer).

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "repl/http_client.h"

namespace dpql {

// An error answer: {"error": {"code", "message", "line", "column"}} and its
// HTTP status. line/column are 1-based, 0 when the server gave none.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string code, const std::string& message, int line = 0, int column = 0)
      : std::runtime_error(message), status_(status), code_(std::move(code)), line_(line), column_(column) {}

  int status() const { return status_; }
  const std::string& code() const { return code_; }
  std::string message() const { return what(); }
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  int status_;
  std::string code_;
  int line_;
  int column_;
};

// Converts an HTTP answer into JSON, or throws ApiError for a non-2xx status
// or a body that is not JSON.
nlohmann::json ParseApiResponse(const HttpClientResponse& response);

class ApiClient {
 public:
  ApiClient(Url url, std::string token, bool insecure = false);

  // POST /v1/query and /v1/explain; `dataset` "" lets the server choose.
  nlohmann::json Query(const std::string& text, const std::string& dataset);
  nlohmann::json Explain(const std::string& text, const std::string& dataset);
  // GET /v1/budget and /v1/catalog.
  nlohmann::json Budget();
  nlohmann::json Catalog();
  // POST /v1/budget-requests (`body` as the API takes it) and GET, the caller's own.
  nlohmann::json FileBudgetRequest(const nlohmann::json& body);
  nlohmann::json BudgetRequests();

  // The research project that pays for queries (sent as DPQL-Project); "" = the default account.
  void set_project(std::string project) { project_ = std::move(project); }
  const std::string& project() const { return project_; }
  // GET /v1/releases, and GET /v1/releases/NAME?from=&to= ("" = open).
  // Throws std::invalid_argument for a name or day that cannot be one.
  nlohmann::json Releases();
  nlohmann::json Release(const std::string& name, const std::string& from, const std::string& to);

  const Url& url() const { return http_.url(); }

 private:
  nlohmann::json Call(const std::string& method, const std::string& target, const std::string& body);
  static std::string QueryBody(const std::string& text, const std::string& dataset);

  HttpClient http_;
  std::string token_;
  std::string project_;
};

}  // namespace dpql
