#include "server/router.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <charconv>
#include <iostream>

#include "compiler/common/error.h"
#include "compiler/parser/parser.h"
#include "runtime/pg/database_errors.h"
#include "runtime/pg/retry.h"
#include "server/json_result.h"

namespace dpql {

namespace {

using json = nlohmann::ordered_json;

constexpr size_t kMaxAuditQueryBytes = 10 * 1024;
constexpr int kDefaultAuditLimit = 50;
constexpr int kMaxAuditLimit = 1000;

// A refusal decided by the router itself (not by the engine).
struct Refuse {
  HttpError error;
  std::vector<std::pair<std::string, std::string>> headers;
};

[[noreturn]] void Fail(int status, std::string code, std::string message,
                       std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpError error;
  error.status = status;
  error.code = std::move(code);
  error.kind = status == 401 ? "unauthorized" : status == 413 ? "limit_exceeded"
             : status >= 500 ? "internal_error" : "request_error";
  error.message = std::move(message);
  throw Refuse{std::move(error), std::move(headers)};
}

std::string Dump(const json& value) {
  // Invalid UTF-8 cannot come from a parsed JSON body, but never let dump throw.
  return value.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

HttpResponse JsonResponse(int status, const json& body) {
  HttpResponse response;
  response.status = status;
  response.body = Dump(body);
  return response;
}

// At most `limit` bytes, cut at a UTF-8 character boundary, without NUL bytes
// (PostgreSQL text cannot hold them).
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

struct Route {
  const char* path;
  const char* method;
  bool audited;  // /v1/*: every request is written to the audit table
};

constexpr Route kRoutes[] = {
    {"/healthz", "GET", false},       {"/readyz", "GET", false},
    {"/metrics", "GET", false},
    {"/v1/query", "POST", true},      {"/v1/explain", "POST", true},
    {"/v1/budget", "GET", true},      {"/v1/catalog", "GET", true},
    {"/v1/admin/audit", "GET", true},
};

const std::vector<std::pair<std::string, std::string>> kBearerChallenge = {
    {"WWW-Authenticate", "Bearer realm=\"dpql\""}};

// Runs `work` with a ledger on a pooled connection. A connection that broke
// while idle (PostgreSQL restarted) fails once and is dropped by its lease, so
// a lost connection is retried on the next one, up to one more than the pool
// holds; only then is the database reported unavailable. `work` must be safe
// to repeat (reads, and the audit insert, which a broken connection never ran).
template <class Work>
auto WithLedger(ConnectionPool& pool, int pool_size, Work&& work) {
  return WithConnection(pool, pool_size + 1, [&](pqxx::connection& connection) {
    Ledger ledger(connection);
    return work(ledger);
  });
}

// The token of a well-formed `Authorization: Bearer <token>` header, or nothing.
std::optional<std::string_view> BearerToken(std::string_view header) {
  constexpr std::string_view kScheme = "bearer ";
  bool bearer = header.size() > kScheme.size();
  for (size_t i = 0; bearer && i < kScheme.size(); ++i) {
    bearer = std::tolower(static_cast<unsigned char>(header[i])) == kScheme[i];
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

// {"query": "...", "dataset": "..."|null} and nothing else, or nothing: the
// general path (Router::Query) explains what is wrong with any other body.
struct PlainQuery {
  std::string query;
  std::string dataset;
};
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

}  // namespace

struct Router::Exchange {
  std::string route = "unknown";  // metrics label: a known path, never the raw target
  bool audited = false;           // the router still owes this request its audit row
  std::optional<Analyst> analyst;  // authenticated by the cached-answer round trip
  AuditRecord audit;
  bool may_have_spent = false;  // a SELECT that failed after it may have been charged
  // A refusal whose cause is for the administrator only: logged once the
  // audit row (and so its id) exists.
  std::optional<std::string> admin_log;
};

Router::Router(const ServerConfig& config, const Catalog& catalog, ConnectionPool& pool,
               Engine& engine, Metrics& metrics)
    : config_(config),
      catalog_(catalog),
      pool_(pool),
      engine_(engine),
      metrics_(metrics),
      catalog_json_(Dump(CatalogJson(catalog))) {}

bool Router::IsInline(const HttpRequest& request) {
  std::string_view target = request.target;
  return target.substr(0, target.find('?')) == "/metrics" && !request.body_too_large;
}

HttpResponse Router::Handle(const HttpRequest& request) noexcept {
  const auto start = std::chrono::steady_clock::now();
  Exchange exchange;
  HttpResponse response;
  try {
    try {
      response = Dispatch(request, exchange);
    } catch (const Refuse& refuse) {
      response = Refusal(refuse.error, exchange);
      for (const auto& header : refuse.headers) response.headers.push_back(header);
    } catch (const DatabaseFailure& failure) {
      response = Refusal(ToHttpError(failure), exchange);
      response.not_before = failure.respond_at;
      std::string log = failure.code() + ": " + failure.admin_detail();
      if (failure.ledger_id) {
        const std::string charged = "charged: ledger " + std::to_string(*failure.ledger_id);
        log += " (" + charged + ")";
        exchange.audit.detail = failure.message() + " (" + charged + ")";
      }
      exchange.admin_log = std::move(log);
      if (failure.charged) {
        exchange.audit.cost = *failure.charged;
        metrics_.RecordEpsilonSpent(ToDouble(failure.charged->Epsilon()));
      }
    } catch (const DpqlError& error) {
      HttpError http = ToHttpError(error);
      if (http.status >= 500) {
        std::cerr << "dpqld: " << exchange.audit.source << ": " << error.code() << ": "
                  << error.what() << std::endl;
      }
      response = Refusal(http, exchange);
    } catch (const std::exception& error) {
      std::cerr << "dpqld: " << exchange.audit.source << ": unexpected error: " << error.what()
                << std::endl;
      response = Refusal(ToHttpError(DpqlError(ErrorKind::kInternal, "internal", error.what())),
                         exchange);
    }
    std::optional<int64_t> audit_id;
    if (exchange.audited) audit_id = WriteAudit(exchange, response.status);
    if (exchange.admin_log) {
      // "dpqld: POST /v1/query: query_failed: SQLSTATE 22012: division by zero
      // (charged: ledger 12) [audit 34]": the administrator's, never a client's.
      std::cerr << "dpqld: " << exchange.audit.source << ": " << *exchange.admin_log << " [audit "
                << (audit_id ? std::to_string(*audit_id) : std::string("not written")) << "]"
                << std::endl;
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    metrics_.RecordRequest(exchange.route, response.status, seconds);
  } catch (...) {
    // Only allocation failure can get here; answer without touching anything else.
    response = HttpResponse{};
    response.status = 500;
    response.body = "{\"error\":{\"code\":\"internal_error\",\"message\":\"internal server error\"}}\n";
  }
  return response;
}

HttpResponse Router::Refusal(const HttpError& error, Exchange& exchange) {
  exchange.audit.outcome = error.code;
  exchange.audit.detail = error.message;
  if (exchange.may_have_spent && error.status >= 500 && error.code != "not_ready") {
    exchange.audit.detail += " (the query failed after its budget check; see dpql.ledger for any charge)";
  }
  metrics_.RecordRefusal(error.code);
  HttpResponse response = JsonResponse(error.status, ErrorJson(error));
  if (error.status == 401) {
    for (const auto& header : kBearerChallenge) response.headers.push_back(header);
  }
  return response;
}

std::optional<int64_t> Router::WriteAudit(const Exchange& exchange, int status) {
  AuditRecord record = exchange.audit;
  record.status = status;
  if (record.outcome.empty()) record.outcome = "ok";
  try {
    return WithLedger(pool_, config_.db_pool,
                      [&](Ledger& ledger) { return ledger.WriteAudit(record); });
  } catch (const std::exception& error) {
    // The response stands (a released answer has already been paid for); the
    // operator must see that the audit trail has a gap.
    std::cerr << "dpqld: AUDIT WRITE FAILED for " << record.source << " (analyst '"
              << record.analyst_name << "', status " << status << "): " << error.what()
              << std::endl;
    return std::nullopt;
  }
}

HttpResponse Router::Dispatch(const HttpRequest& request, Exchange& exchange) {
  std::string_view target = request.target;
  size_t question = target.find('?');
  std::string path(target.substr(0, question));
  std::string query_string(question == std::string_view::npos ? "" : target.substr(question + 1));

  const Route* route = nullptr;
  std::string allowed;
  for (const Route& candidate : kRoutes) {
    if (path != candidate.path) continue;
    allowed = candidate.method;
    if (request.method == candidate.method) route = &candidate;
  }
  const bool v1 = path.rfind("/v1/", 0) == 0;
  exchange.audited = v1;
  exchange.audit.source = request.method + " " + (allowed.empty() ? "(unknown route)" : path);
  if (allowed.empty()) {
    if (v1) exchange.audit.detail = AuditText(path, 200);
    Fail(404, "not_found",
         "no route " + request.method + " " + AuditText(path, 200) +
             "; routes: POST /v1/query, POST /v1/explain, GET /v1/budget, GET /v1/catalog, "
             "GET /v1/admin/audit, GET /healthz, GET /readyz, GET /metrics");
  }
  exchange.route = path;
  if (route == nullptr) {
    Fail(405, "method_not_allowed",
         request.method + " is not allowed on " + path + "; use " + allowed, {{"Allow", allowed}});
  }
  if (request.body_too_large) {
    Fail(413, "body_too_large",
         "the request body is larger than this server's limit of " +
             std::to_string(config_.max_body_bytes) + " bytes");
  }

  if (path == "/healthz") return Healthz();
  if (path == "/readyz") return Readyz();
  if (path == "/metrics") {
    HttpResponse response;
    response.content_type = "text/plain; version=0.0.4";
    response.body = metrics_.Render();
    return response;
  }

  if (path == "/v1/query") {
    if (std::optional<HttpResponse> served = ServeCached(request, exchange)) return std::move(*served);
  }
  Analyst analyst = Authenticate(request, exchange);
  if (path == "/v1/query") return Query(request, analyst, exchange, false);
  if (path == "/v1/explain") return Query(request, analyst, exchange, true);
  if (path == "/v1/budget") return Budgets(analyst);
  if (path == "/v1/catalog") {
    HttpResponse response;
    response.body = catalog_json_;
    return response;
  }
  if (path == "/v1/admin/audit") {
    if (!analyst.is_admin) {
      Fail(403, "forbidden",
           "GET /v1/admin/audit needs an administrator's token; analyst '" + analyst.name +
               "' is not an administrator (dpqld admin add-analyst --admin creates one)");
    }
    return AdminAudit(query_string, analyst);
  }
  throw DpqlError(ErrorKind::kInternal, "internal", "route table and dispatch disagree on " + path);
}

HttpResponse Router::Healthz() {
  try {
    // One round trip that also proves the dpql schema exists.
    WithLedger(pool_, config_.db_pool, [](Ledger& ledger) { return ledger.GetBudgets(0); });
  } catch (const DpqlError& error) {
    HttpError http = ToHttpError(error);
    std::cerr << "dpqld: /healthz: " << error.code() << ": " << error.what() << std::endl;
    json body = ErrorJson(http);
    body["status"] = "unavailable";
    return JsonResponse(503, body);
  }
  return JsonResponse(200, {{"status", "ok"}});
}

HttpResponse Router::Readyz() {
  ReadinessReport report;
  try {
    // Live first (the dpql schema, as /healthz), then every catalog table.
    WithLedger(pool_, config_.db_pool, [](Ledger& ledger) { return ledger.GetBudgets(0); });
    report = engine_.CheckReadiness();
  } catch (const DpqlError& error) {
    HttpError http = ToHttpError(error);
    std::cerr << "dpqld: /readyz: " << error.code() << ": " << error.what() << std::endl;
    json body = ErrorJson(http);
    body["status"] = "unavailable";
    return JsonResponse(503, body);
  }
  if (report.ready()) return JsonResponse(200, {{"status", "ready"}});
  std::cerr << "dpqld: /readyz: not ready:\n" << Readiness::LogLines(report) << std::endl;
  json tables = json::array();
  for (const TableProblem& problem : report.problems) {
    json entry = {{"dataset", problem.dataset}, {"table", problem.table}};
    if (!problem.columns.empty()) entry["columns"] = problem.columns;
    entry["sqlstate"] = problem.sqlstate;
    entry["problem"] = problem.problem;
    tables.push_back(std::move(entry));
  }
  HttpError http;
  http.status = 503;
  http.code = "not_ready";
  http.kind = ErrorKindName(ErrorKind::kInternal);
  http.message = "the server's PostgreSQL role cannot read " + std::to_string(tables.size()) +
                 " catalog table(s); queries on their datasets are refused (503 not_ready, "
                 "nothing spent) until it can. \"tables\" says which and why; the server log "
                 "has PostgreSQL's messages";
  json body = ErrorJson(http);
  body["status"] = "not_ready";
  body["tables"] = std::move(tables);
  return JsonResponse(503, body);
}

Analyst Router::Authenticate(const HttpRequest& request, Exchange& exchange) {
  std::string_view header = request.authorization;
  if (header.empty()) {
    Fail(401, "unauthorized",
         "missing Authorization header; send `Authorization: Bearer <token>` (a data guardian "
         "creates tokens with dpqld admin add-analyst)");
  }
  std::optional<std::string_view> token = BearerToken(header);
  if (!token) {
    Fail(401, "unauthorized",
         "malformed Authorization header; expected `Authorization: Bearer <token>` with the "
         "token dpqld admin add-analyst printed");
  }
  std::optional<Analyst> analyst = std::move(exchange.analyst);  // from ServeCached's round trip
  if (!analyst) {
    analyst = WithLedger(pool_, config_.db_pool,
                         [&](Ledger& ledger) { return ledger.Authenticate(*token); });
  }
  if (!analyst) {
    Fail(401, "unauthorized",
         "unknown or revoked token; check the token, or ask a data guardian for a new one",
         {{"WWW-Authenticate", "Bearer realm=\"dpql\", error=\"invalid_token\""}});
  }
  exchange.audit.analyst_id = analyst->id;
  exchange.audit.analyst_name = analyst->name;
  return *analyst;
}

// A repeated query in one database round trip (Engine::ServeCached). Only a
// request the general path would serve from the answer cache is answered
// here: a well-formed token and body, one SELECT that compiles, a known
// dataset. Anything else — and any miss — goes on to the general path, which
// reports errors, charges, and writes the audit row as usual.
std::optional<HttpResponse> Router::ServeCached(const HttpRequest& request, Exchange& exchange) {
  std::optional<std::string_view> token = BearerToken(request.authorization);
  if (!token) return std::nullopt;
  std::optional<PlainQuery> body = ParsePlainQuery(request.body);
  if (!body || body->query.size() > config_.max_query_bytes ||
      body->query.find('\0') != std::string::npos) {
    return std::nullopt;
  }
  const Catalog& catalog = engine_.catalog();
  const Dataset* dataset =
      body->dataset.empty() ? catalog.DefaultDataset() : catalog.FindDataset(body->dataset);
  if (dataset == nullptr) return std::nullopt;

  CachedRequest cached;
  cached.token = *token;
  cached.text = body->query;
  cached.audit_source = exchange.audit.source;
  cached.audit_query = AuditText(body->query, kMaxAuditQueryBytes);
  CachedReply reply = engine_.ServeCached(*dataset, cached);
  if (!reply.result) {
    exchange.analyst = std::move(reply.analyst);
    return std::nullopt;
  }
  exchange.audited = false;  // written in the same round trip
  exchange.audit.analyst_id = reply.analyst->id;
  exchange.audit.analyst_name = reply.analyst->name;
  exchange.audit.dataset = dataset->name;
  exchange.audit.outcome = "cached";
  return JsonResponse(200, QueryResultJson(*reply.result));
}

HttpResponse Router::Query(const HttpRequest& request, const Analyst& analyst, Exchange& exchange,
                           bool explain_only) {
  json body;
  try {
    body = json::parse(request.body);
  } catch (const json::exception& error) {  // parse_error, or out_of_range for 1e999999
    std::string what = error.what();
    if (size_t bracket = what.find("] "); bracket != std::string::npos) what = what.substr(bracket + 2);
    Fail(400, "invalid_json",
         "the request body is not valid JSON (" + what +
             "); send {\"query\": \"SELECT ...\", \"dataset\": \"...\"}");
  }
  if (!body.is_object()) {
    Fail(400, "invalid_json",
         "the request body must be a JSON object: {\"query\": \"SELECT ...\", \"dataset\": \"...\"}");
  }
  std::string query, dataset_name;
  for (const auto& [key, value] : body.items()) {
    if (key == "query") {
      if (!value.is_string()) Fail(400, "invalid_request", "\"query\" must be a string of DPQL text");
      query = value.get<std::string>();
    } else if (key == "dataset") {
      if (value.is_null()) continue;
      if (!value.is_string()) Fail(400, "invalid_request", "\"dataset\" must be a string naming a dataset");
      dataset_name = value.get<std::string>();
    } else {
      Fail(400, "invalid_request",
           "unknown field \"" + AuditText(key, 100) +
               "\" in the request body; the fields are \"query\" and \"dataset\"");
    }
  }
  exchange.audit.query = AuditText(query, kMaxAuditQueryBytes);
  exchange.audit.dataset = AuditText(dataset_name, 200);
  if (!body.contains("query")) {
    Fail(400, "invalid_request", "the request body has no \"query\"; send {\"query\": \"SELECT ...\"}");
  }
  if (query.size() > config_.max_query_bytes) {
    Fail(413, "query_too_long",
         "the query is " + std::to_string(query.size()) + " bytes; this server accepts at most " +
             std::to_string(config_.max_query_bytes) + " bytes per query");
  }

  RefuseNulCharacter(query);

  const Dataset& dataset = engine_.ResolveDataset(dataset_name);
  exchange.audit.dataset = dataset.name;

  // One statement per request, checked before anything runs.
  std::vector<ast::Statement> statements = ParseScript(query);
  if (statements.empty()) {
    Fail(400, "empty_query", "the query has no statement; send e.g. {\"query\": \"SHOW TABLES\"}");
  }
  if (statements.size() > 1) {
    HttpError error;
    error.status = 400;
    error.code = "multiple_statements";
    error.kind = ErrorKindName(ErrorKind::kSyntax);
    error.message = "a request may hold one statement, but this one holds " +
                    std::to_string(statements.size()) +
                    "; nothing was run. Send each statement in its own request";
    error.location = statements[1].loc;
    throw Refuse{error, {}};
  }
  const ast::Statement& statement = statements[0];

  if (explain_only) return JsonResponse(200, QueryResultJson(Engine::Explain(dataset, statement)));

  exchange.may_have_spent = statement.kind == ast::StatementKind::kSelect;
  QueryResult result = engine_.Run(Caller{analyst.id, analyst.name}, dataset.name, statement);
  if (result.explain.empty() && !result.budget) {
    // Metadata statements cost nothing but answer in the same shape, budget included.
    auto budget = WithLedger(pool_, config_.db_pool,
                             [&](Ledger& ledger) { return ledger.GetBudget(analyst.id, dataset.name); });
    if (budget) result.budget = ToBudgetView(*budget, &dataset);
  }
  if (result.cached) {
    exchange.audit.outcome = "cached";
  } else {
    exchange.audit.cost = dataset.accounting == Accounting::kZcdp
                              ? BudgetCost::FromCost(0, 0, result.cost.rho)
                              : BudgetCost::FromCost(result.cost.epsilon, result.cost.delta);
    metrics_.RecordEpsilonSpent(ToDouble(exchange.audit.cost.Epsilon()));
  }
  return JsonResponse(200, QueryResultJson(result));
}

HttpResponse Router::Budgets(const Analyst& analyst) {
  std::vector<Budget> budgets =
      WithLedger(pool_, config_.db_pool, [&](Ledger& ledger) { return ledger.GetBudgets(analyst.id); });
  json list = json::array();
  for (const Budget& budget : budgets) {
    list.push_back(BudgetJson(budget, engine_.catalog().FindDataset(budget.dataset)));
  }
  return JsonResponse(200, {{"budgets", std::move(list)}});
}

HttpResponse Router::AdminAudit(const std::string& query_string, const Analyst& analyst) {
  AuditFilter filter;
  filter.limit = kDefaultAuditLimit;
  for (const auto& [key, value] : ParseQueryString(query_string)) {
    if (key == "limit") {
      int limit = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size() || limit < 1 ||
          limit > kMaxAuditLimit) {
        Fail(400, "invalid_parameter",
             "limit must be a whole number from 1 to " + std::to_string(kMaxAuditLimit) + ", got '" +
                 AuditText(value, 50) + "'");
      }
      filter.limit = limit;
    } else if (key == "analyst") {
      filter.analyst_name = value;
    } else if (key == "dataset") {
      filter.dataset = value;
    } else {
      Fail(400, "invalid_parameter",
           "unknown parameter '" + AuditText(key, 50) + "'; use limit, analyst and dataset");
    }
  }
  std::vector<AuditRecord> records =
      WithLedger(pool_, config_.db_pool, [&](Ledger& ledger) { return ledger.Audit(filter); });
  json rows = json::array();
  for (const AuditRecord& record : records) rows.push_back(AuditJson(record));
  return JsonResponse(200, {{"audit", std::move(rows)}});
}

}  // namespace dpql
