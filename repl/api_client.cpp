#include "repl/api_client.h"

#include <cctype>

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

nlohmann::json ApiClient::Releases() { return Call("GET", "/v1/releases", ""); }

nlohmann::json ApiClient::Release(const std::string& name, const std::string& from, const std::string& to) {
  // Release names are letters, digits, '_' and '-'; days YYYY-MM-DD: nothing to escape.
  auto plain = [](const std::string& text, bool day) {
    for (char c : text) {
      const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || (!day && c == '_');
      if (!ok) return false;
    }
    return !text.empty();
  };
  if (!plain(name, false)) {
    throw std::invalid_argument("a release name is letters, digits, '_' or '-'; \\releases lists them");
  }
  for (const std::string* day : {&from, &to}) {
    if (!day->empty() && !plain(*day, true)) {
      throw std::invalid_argument("a day is written YYYY-MM-DD, got '" + *day + "'");
    }
  }
  std::string target = "/v1/releases/" + name;
  std::string query;
  if (!from.empty()) query += "from=" + from;
  if (!to.empty()) query += (query.empty() ? "" : "&") + std::string("to=") + to;
  if (!query.empty()) target += "?" + query;
  return Call("GET", target, "");
}

nlohmann::json ApiClient::Call(const std::string& method, const std::string& target,
                               const std::string& body) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token_.empty()) headers.emplace_back("Authorization", "Bearer " + token_);
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  if (!project_.empty()) headers.emplace_back("DPQL-Project", project_);
  return ParseApiResponse(http_.Send(method, target, body, headers));
}

}  // namespace dpql
