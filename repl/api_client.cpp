#include "repl/api_client.h"

namespace dpql {

nlohmann::json ParseApiResponse(const HttpClientResponse& response) {
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  bool ok = response.status >= 200 && response.status < 300;
  if (ok && !body.is_discarded()) return body;
  if (!body.is_discarded() && body.is_object() && body.contains("error") && body["error"].is_object()) {
    const nlohmann::json& error = body["error"];
    auto text = [&](const char* key, const std::string& fallback) {
      return error.contains(key) && error[key].is_string() ? error[key].get<std::string>() : fallback;
    };
    auto number = [&](const char* key) {
      return error.contains(key) && error[key].is_number_integer() ? error[key].get<int>() : 0;
    };
    throw ApiError(
        response.status, text("code", "http_" + std::to_string(response.status)),
        text("message", "the server refused the request (HTTP " + std::to_string(response.status) + ")"),
        number("line"), number("column"));
  }
  std::string snippet = response.body.substr(0, 200);
  while (!snippet.empty() && (snippet.back() == '\n' || snippet.back() == '\r')) snippet.pop_back();
  if (ok) {
    throw ApiError(response.status, "bad_response",
                   "the server's answer is not JSON: '" + snippet + "'; is --url pointing at dpqld?");
  }
  throw ApiError(response.status, "http_" + std::to_string(response.status),
                 "the server answered HTTP " + std::to_string(response.status) + " " + response.reason +
                     (snippet.empty() ? std::string() : ": " + snippet));
}

ApiClient::ApiClient(Url url, std::string token, bool insecure)
    : http_(std::move(url), insecure), token_(std::move(token)) {}

std::string ApiClient::QueryBody(const std::string& text, const std::string& dataset) {
  nlohmann::json body = {{"query", text}};
  if (!dataset.empty()) body["dataset"] = dataset;
  return body.dump();
}

nlohmann::json ApiClient::Query(const std::string& text, const std::string& dataset) {
  return Call("POST", "/v1/query", QueryBody(text, dataset));
}

nlohmann::json ApiClient::Explain(const std::string& text, const std::string& dataset) {
  return Call("POST", "/v1/explain", QueryBody(text, dataset));
}

nlohmann::json ApiClient::Budget() { return Call("GET", "/v1/budget", ""); }

nlohmann::json ApiClient::Catalog() { return Call("GET", "/v1/catalog", ""); }

nlohmann::json ApiClient::FileBudgetRequest(const nlohmann::json& body) {
  return Call("POST", "/v1/budget-requests", body.dump());
}

nlohmann::json ApiClient::BudgetRequests() { return Call("GET", "/v1/budget-requests", ""); }

nlohmann::json ApiClient::Call(const std::string& method, const std::string& target,
                               const std::string& body) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token_.empty()) headers.emplace_back("Authorization", "Bearer " + token_);
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  if (!project_.empty()) headers.emplace_back("DPQL-Project", project_);
  return ParseApiResponse(http_.Send(method, target, body, headers));
}

}  // namespace dpql
