#include "server/request.h"

#include <nlohmann/json.hpp>

#include <charconv>

#include "compiler/common/error.h"
#include "compiler/common/text.h"
#include "compiler/parser/parser.h"

namespace dpql {

namespace {

using json = nlohmann::ordered_json;

std::string PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size()) {
      int value = 0;
      auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
      if (ec == std::errc() && end == text.data() + i + 3) {
        out += static_cast<char>(value);
        i += 2;
      } else {
        out += text[i];
      }
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

std::string AuditText(std::string_view text, size_t limit) {
  std::string out;
  bool cut = text.size() > limit;
  if (cut) {
    size_t end = limit;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    text = text.substr(0, end);
  }
  out.reserve(text.size());
  for (char c : text) {
    if (c != '\0') out += c;
  }
  if (cut) out += " [truncated]";
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    size_t eq = part.find('=');
    out.emplace_back(PercentDecode(part.substr(0, eq)),
                     eq == std::string_view::npos ? "" : PercentDecode(part.substr(eq + 1)));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

std::optional<std::string_view> BearerToken(std::string_view header) {
  constexpr std::string_view kScheme = "bearer ";
  bool bearer = header.size() > kScheme.size();
  for (size_t i = 0; bearer && i < kScheme.size(); ++i) {
    bearer = LowerAscii(header[i]) == kScheme[i];
  }
  if (!bearer) return std::nullopt;
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty() || token.size() > 256) return std::nullopt;
  for (char c : token) {
    if (c <= ' ' || c > '~') return std::nullopt;
  }
  return token;
}

std::optional<PlainQuery> ParsePlainQuery(const std::string& body) {
  json parsed = json::parse(body, nullptr, false);
  if (!parsed.is_object()) return std::nullopt;  // also a parse failure (discarded)
  PlainQuery out;
  bool has_query = false;
  for (const auto& [key, value] : parsed.items()) {
    if (key == "query" && value.is_string()) {
      out.query = value.get<std::string>();
      has_query = true;
    } else if (key == "dataset" && value.is_string()) {
      out.dataset = value.get<std::string>();
    } else if (!(key == "dataset" && value.is_null())) {
      return std::nullopt;
    }
  }
  if (!has_query) return std::nullopt;
  return out;
}

[[noreturn]] void Fail(ErrorCode code, std::string message,
                       std::vector<std::pair<std::string, std::string>> headers) {
  HttpError error;
  error.status = Info(code).http_status;
  error.code = code;
  error.message = std::move(message);
  throw Refuse{std::move(error), std::move(headers)};
}

QueryBody ReadQueryBody(const std::string& request_body, size_t max_query_bytes, AuditRecord& audit) {
  json body;
  try {
    body = json::parse(request_body);
  } catch (const json::exception& error) {  // parse_error, or out_of_range for 1e999999
    std::string what = error.what();
    if (size_t bracket = what.find("] "); bracket != std::string::npos) what = what.substr(bracket + 2);
    Fail(ErrorCode::kInvalidJson, "the request body is not valid JSON (" + what +
                                      "); send {\"query\": \"SELECT ...\", \"dataset\": \"...\"}");
  }
  if (!body.is_object()) {
    Fail(ErrorCode::kInvalidJson,
         "the request body must be a JSON object: {\"query\": \"SELECT ...\", \"dataset\": \"...\"}");
  }
  std::string query, dataset_name;
  for (const auto& [key, value] : body.items()) {
    if (key == "query") {
      if (!value.is_string()) Fail(ErrorCode::kInvalidRequest, "\"query\" must be a string of DPQL text");
      query = value.get<std::string>();
    } else if (key == "dataset") {
      if (value.is_null()) continue;
      if (!value.is_string())
        Fail(ErrorCode::kInvalidRequest, "\"dataset\" must be a string naming a dataset");
      dataset_name = value.get<std::string>();
    } else {
      Fail(ErrorCode::kInvalidRequest,
           "unknown field \"" + AuditText(key, 100) +
               "\" in the request body; the fields are \"query\" and \"dataset\"");
    }
  }
  audit.query = AuditText(query, kMaxAuditQueryBytes);
  audit.dataset = AuditText(dataset_name, 200);
  if (!body.contains("query")) {
    Fail(ErrorCode::kInvalidRequest, "the request body has no \"query\"; send {\"query\": \"SELECT ...\"}");
  }
  if (query.size() > max_query_bytes) {
    Fail(ErrorCode::kQueryTooLong, "the query is " + std::to_string(query.size()) +
                                       " bytes; this server accepts at most " +
                                       std::to_string(max_query_bytes) + " bytes per query");
  }

  RefuseNulCharacter(query);
  return {std::move(query), std::move(dataset_name)};
}

ast::Statement OnlyStatement(const std::string& query) {
  std::vector<ast::Statement> statements = ParseScript(query);
  if (statements.empty()) {
    Fail(ErrorCode::kEmptyQuery, "the query has no statement; send e.g. {\"query\": \"SHOW TABLES\"}");
  }
  if (statements.size() > 1) {
    HttpError error;
    error.status = 400;
    error.code = ErrorCode::kMultipleStatements;
    error.message = "a request may hold one statement, but this one holds " +
                    std::to_string(statements.size()) +
                    "; nothing was run. Send each statement in its own request";
    error.location = statements[1].loc;
    throw Refuse{error, {}};
  }
  return std::move(statements[0]);
}

}  // namespace dpql
