#pragma once

// What the router reads from a request before it means anything: the bearer
// token, the query string, the plain query body of the fast path, and the text
// an audit row may hold. No database, no engine (server/router.cpp uses them).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "compiler/ast/ast.h"
#include "runtime/ledger/ledger.h"
#include "server/json_result.h"

namespace dpql {

// The longest query text an audit row keeps.
constexpr size_t kMaxAuditQueryBytes = 10 * 1024;

// A refusal decided by the router itself (not by the engine): Router::Handle
// answers it with its status and headers.
struct Refuse {
  HttpError error;
  std::vector<std::pair<std::string, std::string>> headers;
};
// Throws Refuse with the code's status (compiler/common/error_codes.h).
[[noreturn]] void Fail(ErrorCode code, std::string message,
                       std::vector<std::pair<std::string, std::string>> headers = {});

// At most `limit` bytes, cut at a UTF-8 character boundary, without NUL bytes
// (PostgreSQL text cannot hold them).
std::string AuditText(std::string_view text, size_t limit);

// `a=1&b=x%20y` -> {{"a", "1"}, {"b", "x y"}}, percent- and plus-decoded.
std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view query);

// The token of a well-formed `Authorization: Bearer <token>` header, or nothing.
std::optional<std::string_view> BearerToken(std::string_view header);

// {"query": "...", "dataset": "..."|null} and nothing else, or nothing: the
// general path (Router::Query) explains what is wrong with any other body.
struct PlainQuery {
  std::string query;
  std::string dataset;
};
std::optional<PlainQuery> ParsePlainQuery(const std::string& body);

// The body of /v1/query and /v1/explain: {"query": "...", "dataset": "..."|null},
// refused (Refuse) with what to send instead. The audit row gets the query and
// dataset as given, before any refusal of their content.
struct QueryBody {
  std::string query;
  std::string dataset_name;
};
QueryBody ReadQueryBody(const std::string& request_body, size_t max_query_bytes, AuditRecord& audit);

// The request's one statement: a request holding none or several is refused
// before anything runs.
ast::Statement OnlyStatement(const std::string& query);

}  // namespace dpql
