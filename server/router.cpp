#include "server/router.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "compiler/common/error.h"
#include "runtime/pg/database_errors.h"
#include "runtime/pg/retry.h"
#include "server/console.h"
#include "server/form_reader.h"
#include "server/json_result.h"
#include "server/releases.h"
#include "server/request.h"

namespace dpql {

namespace {

using json = nlohmann::ordered_json;

constexpr int kDefaultAuditLimit = 50;
constexpr int kMaxAuditLimit = 1000;

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

constexpr size_t kMaxPublicRows = 10000;

struct Route {
  const char* path;
  const char* method;
  bool audited;         // /v1/*: every request is written to the audit table
  bool prefix = false;  // `path` is a prefix: /v1/public/TABLE
};

constexpr Route kRoutes[] = {
    {"/healthz", "GET", false},           {"/readyz", "GET", false},
    {"/metrics", "GET", false},           {"/v1/query", "POST", true},
    {"/v1/explain", "POST", true},        {"/v1/budget", "GET", true},
    {"/v1/catalog", "GET", true},         {"/v1/history", "GET", true},
    {"/v1/dashboards", "GET", true},      {"/v1/public/", "GET", true, true},
    {"/v1/admin/audit", "GET", true},     {"/v1/admin/analysts", "GET", true},
    {"/v1/budget-requests", "GET", true}, {"/v1/budget-requests", "POST", true},
    {"/v1/releases", "GET", true},        {"/v1/releases/", "GET", true, true},
    {"/v1/admin/projects", "GET", true},  {"/v1/admin/projects", "POST", true},
    {"/v1/admin/budget-requests", "POST", true},
};

// A `limit` query parameter: 1 to kMaxAuditLimit.
int ParseLimit(const std::string& value) {
  int limit = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size() || limit < 1 ||
      limit > kMaxAuditLimit) {
    Fail(ErrorCode::kInvalidParameter, "limit must be a whole number from 1 to " +
                                           std::to_string(kMaxAuditLimit) + ", got '" + AuditText(value, 50) +
                                           "'");
  }
  return limit;
}

// The query parameters of the audit routes: limit and dataset, and analyst
// (a name) when `by_analyst_name`; any other is refused.
AuditFilter ParseAuditFilter(const std::string& query_string, bool by_analyst_name) {
  AuditFilter filter;
  filter.limit = kDefaultAuditLimit;
  for (const auto& [key, value] : ParseQueryString(query_string)) {
    if (key == "limit") {
      filter.limit = ParseLimit(value);
    } else if (key == "analyst" && by_analyst_name) {
      filter.analyst_name = value;
    } else if (key == "dataset") {
      filter.dataset = value;
    } else {
      Fail(ErrorCode::kInvalidParameter, "unknown parameter '" + AuditText(key, 50) + "'; use limit" +
                                             (by_analyst_name ? ", analyst and dataset" : " and dataset"));
    }
  }
  return filter;
}

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

}  // namespace

struct Router::Exchange {
  std::string route = "unknown";   // metrics label: a known path, never the raw target
  bool audited = false;            // the router still owes this request its audit row
  std::optional<Analyst> analyst;  // authenticated by the cached-answer round trip
  AuditRecord audit;
  bool may_have_spent = false;  // a SELECT that failed after it may have been charged
  // A refusal whose cause is for the administrator only: logged once the
  // audit row (and so its id) exists.
  std::optional<std::string> admin_log;
};

Router::Router(const ServerConfig& config, const Catalog& catalog, ConnectionPool& pool, Engine& engine,
               Metrics& metrics, const ConsoleFiles* console, std::string dashboards_json)
    : config_(config),
      catalog_(catalog),
      pool_(pool),
      engine_(engine),
      metrics_(metrics),
      console_(console),
      dashboards_json_(std::move(dashboards_json)),
      catalog_json_(Dump(CatalogJson(catalog))) {}

bool Router::IsInline(const HttpRequest& request) {
  std::string_view target = request.target;
  std::string_view path = target.substr(0, target.find('?'));
  return (path == "/metrics" || ConsoleFiles::Owns(path)) && !request.body_too_large;
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
      std::string log = std::string(Name(failure.code())) + ": " + failure.admin_detail();
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
        std::cerr << "dpqld: " << exchange.audit.source << ": " << error.code() << ": " << error.what()
                  << std::endl;
      }
      response = Refusal(http, exchange);
    } catch (const std::exception& error) {
      std::cerr << "dpqld: " << exchange.audit.source << ": unexpected error: " << error.what() << std::endl;
      response = Refusal(ToHttpError(DpqlError(ErrorCode::kInternal, error.what())), exchange);
    }
    std::optional<int64_t> audit_id;
    if (exchange.audited) audit_id = WriteAudit(exchange, response.status);
    if (exchange.admin_log) {
      // "dpqld: POST /v1/query: query_failed: SQLSTATE 22012: division by zero
      // (charged: ledger 12) [audit 34]": the administrator's, never a client's.
      std::cerr << "dpqld: " << exchange.audit.source << ": " << *exchange.admin_log << " [audit "
                << (audit_id ? std::to_string(*audit_id) : std::string("not written")) << "]" << std::endl;
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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
  exchange.audit.outcome = Name(error.code);
  exchange.audit.detail = error.message;
  if (exchange.may_have_spent && error.status >= 500 && error.code != ErrorCode::kNotReady) {
    exchange.audit.detail += " (the query failed after its budget check; see dpql.ledger for any charge)";
  }
  metrics_.RecordRefusal(std::string(Name(error.code)));
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
    return WithLedger(pool_, config_.db_pool, [&](Ledger& ledger) { return ledger.WriteAudit(record); });
  } catch (const std::exception& error) {
    // The response stands (a released answer has already been paid for); the
    // operator must see that the audit trail has a gap.
    std::cerr << "dpqld: AUDIT WRITE FAILED for " << record.source << " (analyst '" << record.analyst_name
              << "', status " << status << "): " << error.what() << std::endl;
    return std::nullopt;
  }
}

HttpResponse Router::Dispatch(const HttpRequest& request, Exchange& exchange) {
  std::string_view target = request.target;
  size_t question = target.find('?');
  std::string path(target.substr(0, question));
  std::string query_string(question == std::string_view::npos ? "" : target.substr(question + 1));

  if (ConsoleFiles::Owns(path)) return Console(path, request, exchange);

  const Route* route = nullptr;
  const Route* matched = nullptr;  // the path's route, whatever the method
  std::string allowed;
  for (const Route& candidate : kRoutes) {
    if (candidate.prefix ? path.rfind(candidate.path, 0) != 0 : path != candidate.path) continue;
    if (matched == nullptr) matched = &candidate;
    allowed = allowed.empty() ? std::string(candidate.method) : allowed + ", " + candidate.method;
    if (request.method == candidate.method) route = &candidate;
  }
  const bool v1 = path.rfind("/v1/", 0) == 0;
  exchange.audited = v1;
  exchange.audit.source = !request.audit_source.empty()
                              ? request.audit_source
                              : request.method + " " + (allowed.empty() ? "(unknown route)" : AuditText(path, 200));
  if (allowed.empty()) {
    if (v1) exchange.audit.detail = AuditText(path, 200);
    Fail(ErrorCode::kNotFound,
         "no route " + request.method + " " + AuditText(path, 200) +
             "; routes: POST /v1/query, POST /v1/explain, GET /v1/budget, GET /v1/catalog, "
             "GET /v1/history, GET /v1/dashboards, GET /v1/public/TABLE, GET|POST /v1/budget-requests, "
             "GET /v1/releases, GET /v1/releases/NAME, GET /v1/admin/audit, "
             "GET /v1/admin/analysts, GET|POST /v1/admin/projects, POST /v1/admin/budget-requests, GET /healthz, GET /readyz, GET /metrics, and the web console at /");
  }
  exchange.route = !matched->prefix ? path
                   : std::string_view(matched->path) == "/v1/releases/"
                       ? "/v1/releases/NAME"
                       : std::string(matched->path) + "TABLE";
  if (route == nullptr) {
    Fail(ErrorCode::kMethodNotAllowed, request.method + " is not allowed on " + path + "; use " + allowed,
         {{"Allow", allowed}});
  }
  if (request.body_too_large) {
    Fail(ErrorCode::kBodyTooLarge, "the request body is larger than this server's limit of " +
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

  if (path == "/v1/query" && request.project.empty()) {
    if (std::optional<HttpResponse> served = ServeCached(request, exchange)) return std::move(*served);
  }
  Analyst analyst = Authenticate(request, exchange);
  if (path == "/v1/query") return Query(request, analyst, exchange, false);
  if (path == "/v1/explain") return Query(request, analyst, exchange, true);
  if (path == "/v1/budget") return Budgets(analyst);
  if (path == "/v1/budget-requests") return BudgetRequests(request, analyst, exchange.audit);
  if (path == "/v1/catalog") {
    HttpResponse response;
    response.body = catalog_json_;
    return response;
  }
  if (path == "/v1/history") return History(query_string, analyst);
  if (path == "/v1/dashboards") {
    HttpResponse response;
    response.body = dashboards_json_;
    return response;
  }
  if (path.rfind("/v1/public/", 0) == 0) return PublicTable(path.substr(11), query_string);
  if (path == "/v1/releases") return Releases(analyst);
  if (path.rfind("/v1/releases/", 0) == 0)
    return ReleaseRuns(path.substr(13), query_string, analyst, exchange);
  if (path.rfind("/v1/admin/", 0) == 0) {
    if (!analyst.is_admin) {
      Fail(ErrorCode::kForbidden,
           request.method + " " + path + " needs an administrator's token; analyst '" + analyst.name +
               "' is not an administrator (dpqld admin add-analyst --admin creates one)");
    }
    if (path == "/v1/admin/analysts") return AdminAnalysts();
    if (path == "/v1/admin/projects") return AdminProjects(request, analyst, exchange.audit);
    if (path == "/v1/admin/budget-requests") return AdminBudgetRequests(request, analyst, exchange.audit);
    return AdminAudit(query_string, analyst);
  }
  throw DpqlError(ErrorCode::kInternal, "route table and dispatch disagree on " + path);
}

// The web console's files: from memory, no database, never audited.
HttpResponse Router::Console(const std::string& path, const HttpRequest& request, Exchange& exchange) {
  exchange.route = path == "/" ? "/" : "/assets";
  exchange.audit.source = request.method + " " + exchange.route;
  if (request.method != "GET" && request.method != "HEAD") {
    Fail(ErrorCode::kMethodNotAllowed,
         request.method + " is not allowed on " + exchange.route + "; use GET or HEAD",
         {{"Allow", "GET, HEAD"}});
  }
  if (request.body_too_large) {
    Fail(ErrorCode::kBodyTooLarge, "the request body is larger than this server's limit of " +
                                       std::to_string(config_.max_body_bytes) + " bytes");
  }
  if (console_ == nullptr) {
    Fail(ErrorCode::kNotFound,
         "the web console is not installed on this server: build it with scripts/console-build (it "
         "writes build/console, which build/bin/dpqld serves), or set console_dir in the config "
         "(--console-dir); the API is under /v1/");
  }
  return console_->Serve(path, request);
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
  http.code = ErrorCode::kNotReady;
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
  if (!request.session_token_hash.empty()) {
    std::optional<Analyst> analyst = std::move(exchange.analyst);  // from ServeCached's round trip
    if (!analyst) {
      analyst = WithLedger(pool_, config_.db_pool,
                           [&](Ledger& ledger) { return ledger.AuthenticateHash(request.session_token_hash); });
    }
    if (!analyst) {
      Fail(ErrorCode::kUnauthorized, "the analyst '" + request.session_analyst +
                                         "' has been revoked, or given a new token, since this session logged "
                                         "in; log in again with the current token");
    }
    exchange.audit.analyst_id = analyst->id;
    exchange.audit.analyst_name = analyst->name;
    return *analyst;
  }
  std::string_view header = request.authorization;
  if (header.empty()) {
    Fail(ErrorCode::kUnauthorized,
         "missing Authorization header; send `Authorization: Bearer <token>` (a data guardian "
         "creates tokens with dpqld admin add-analyst)");
  }
  std::optional<std::string_view> token = BearerToken(header);
  if (!token) {
    Fail(ErrorCode::kUnauthorized,
         "malformed Authorization header; expected `Authorization: Bearer <token>` with the "
         "token dpqld admin add-analyst printed");
  }
  std::optional<Analyst> analyst = std::move(exchange.analyst);  // from ServeCached's round trip
  if (!analyst) {
    analyst = WithLedger(pool_, config_.db_pool, [&](Ledger& ledger) { return ledger.Authenticate(*token); });
  }
  if (!analyst) {
    Fail(ErrorCode::kUnauthorized,
         "unknown or revoked token; check the token, or ask a data guardian for a new one",
         {{"WWW-Authenticate", "Bearer realm=\"dpql\", error=\"invalid_token\""}});
  }
  exchange.audit.analyst_id = analyst->id;
  exchange.audit.analyst_name = analyst->name;
  return *analyst;
}

std::optional<Login> Router::FindLogin(const std::string& name) noexcept {
  try {
    return WithLedger(pool_, config_.db_pool, [&](Ledger& ledger) { return ledger.FindLogin(name); });
  } catch (const std::exception& error) {
    std::cerr << "dpqld: pg: login lookup failed: " << error.what() << std::endl;
    return std::nullopt;
  }
}

std::optional<Analyst> Router::AuthenticateToken(std::string_view token) noexcept {
  try {
    return WithLedger(pool_, config_.db_pool, [&](Ledger& ledger) { return ledger.Authenticate(token); });
  } catch (const std::exception& error) {
    std::cerr << "dpqld: pg: login lookup failed: " << error.what() << std::endl;
    return std::nullopt;
  }
}

void Router::AuditLogin(const std::string& user, const std::optional<Analyst>& analyst, const std::string& outcome,
                        const std::string& detail) noexcept {
  try {
    Exchange exchange;
    exchange.audit.source = "pg: login";
    exchange.audit.analyst_name = AuditText(analyst ? analyst->name : user, 200);
    if (analyst) exchange.audit.analyst_id = analyst->id;
    exchange.audit.outcome = outcome;
    exchange.audit.detail = AuditText(detail, 1000);
    WriteAudit(exchange, outcome == "ok" ? 200 : 401);
    if (outcome != "ok") metrics_.RecordRefusal(outcome);
  } catch (...) {
    std::cerr << "dpqld: AUDIT WRITE FAILED for pg: login" << std::endl;
  }
}

// A repeated query in one database round trip (Engine::ServeCached). Only a
// request the general path would serve from the answer cache is answered
// here: a well-formed token and body, one SELECT that compiles, a known
// dataset. Anything else — and any miss — goes on to the general path, which
// reports errors, charges, and writes the audit row as usual.
std::optional<HttpResponse> Router::ServeCached(const HttpRequest& request, Exchange& exchange) {
  std::optional<std::string_view> token = BearerToken(request.authorization);
  if (!token && request.session_token_hash.empty()) return std::nullopt;
  std::optional<PlainQuery> body = ParsePlainQuery(request.body);
  if (!body || body->query.size() > config_.max_query_bytes || body->query.find('\0') != std::string::npos) {
    return std::nullopt;
  }
  const Catalog& catalog = engine_.catalog();
  const Dataset* dataset =
      body->dataset.empty() ? catalog.DefaultDataset() : catalog.FindDataset(body->dataset);
  if (dataset == nullptr) return std::nullopt;

  CachedRequest cached;
  if (token) cached.token = *token;
  else cached.token_hash = request.session_token_hash;
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
  auto [query, dataset_name] = ReadQueryBody(request.body, config_.max_query_bytes, exchange.audit);
  const Dataset& dataset = engine_.ResolveDataset(dataset_name);
  exchange.audit.dataset = dataset.name;
  const ast::Statement statement = OnlyStatement(query);

  if (explain_only) {
    // As this analyst would run it, and whether running it now would be
    // answered from the answer cache, free.
    bool cached = false;
    json explained = QueryResultJson(
        engine_.ExplainFor(Caller{analyst.id, analyst.name, ProjectHeader(request)}, dataset, statement, &cached));
    explained["cached"] = cached;
    return JsonResponse(200, explained);
  }

  exchange.may_have_spent = statement.kind == ast::StatementKind::kSelect;
  QueryResult result = engine_.Run(Caller{analyst.id, analyst.name, ProjectHeader(request)}, dataset.name,
                                   statement);
  if (result.explain.empty() && !result.budget) {
    // Metadata statements cost nothing but answer in the same shape, budget included.
    auto budget = WithLedger(pool_, config_.db_pool,
                             [&](Ledger& ledger) { return ledger.GetBudget(analyst.id, dataset.name); });
    if (budget) result.budget = ToBudgetView(*budget, &dataset);
  }
  if (result.budget && !result.budget->project.empty()) {
    exchange.audit.detail = "paid by project " + AuditText(result.budget->project, 200);
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
  return JsonResponse(200, {{"budgets", std::move(list)}, {"projects", ProjectsJson(analyst)}});
}

HttpResponse Router::AdminAudit(const std::string& query_string, const Analyst& analyst) {
  const AuditFilter filter = ParseAuditFilter(query_string, /*by_analyst_name=*/true);
  std::vector<AuditRecord> records =
      WithLedger(pool_, config_.db_pool, [&](Ledger& ledger) { return ledger.Audit(filter); });
  json rows = json::array();
  for (const AuditRecord& record : records) rows.push_back(AuditJson(record));
  return JsonResponse(200, {{"audit", std::move(rows)}});
}

// The caller's own audit rows: what they asked, when, what it cost, how it ended.
HttpResponse Router::History(const std::string& query_string, const Analyst& analyst) {
  AuditFilter filter = ParseAuditFilter(query_string, /*by_analyst_name=*/false);
  filter.analyst_id = analyst.id;
  std::vector<AuditRecord> records =
      WithLedger(pool_, config_.db_pool, [&](Ledger& ledger) { return ledger.Audit(filter); });
  json rows = json::array();
  for (const AuditRecord& record : records) {
    json row = AuditJson(record);
    row.erase("analyst_id");
    row.erase("analyst");
    const Dataset* dataset = engine_.catalog().FindDataset(record.dataset);
    if (dataset == nullptr || dataset->accounting != Accounting::kZcdp) row.erase("rho");
    row["cached"] = record.outcome == "cached";
    rows.push_back(std::move(row));
  }
  return JsonResponse(200, {{"history", std::move(rows)}});
}

// A public table's rows: the guardian declared it holds no personal data
// (`private: false`), so it is read and returned as is, at no cost.
HttpResponse Router::PublicTable(const std::string& table_name, const std::string& query_string) {
  std::string dataset_name;
  for (const auto& [key, value] : ParseQueryString(query_string)) {
    if (key == "dataset") {
      dataset_name = value;
    } else {
      Fail(ErrorCode::kInvalidParameter, "unknown parameter '" + AuditText(key, 50) + "'; use dataset");
    }
  }
  const Dataset& dataset = engine_.ResolveDataset(dataset_name);
  const CatalogTable* table = dataset.FindTable(table_name);
  if (table == nullptr) {
    std::string known;
    for (const CatalogTable& t : dataset.tables) {
      if (!t.is_private) known += (known.empty() ? "" : ", ") + t.name;
    }
    HttpError error;
    error.status = 404;
    error.code = ErrorCode::kUnknownTable;
    error.message = "dataset " + dataset.name + " has no table '" + AuditText(table_name, 100) +
                    "'; its public tables: " + (known.empty() ? std::string("none") : known);
    throw Refuse{error, {}};
  }
  if (table->is_private) {
    Fail(ErrorCode::kTableIsPrivate,
         "table " + table->name + " of dataset " + dataset.name +
             " is private: its rows never leave the server; ask for DP statistics with POST /v1/query");
  }
  PublicRows read = engine_.ReadPublicTable(dataset, *table, kMaxPublicRows);
  json columns = json::array(), types = json::array(), rows = json::array();
  for (const CatalogColumn& column : table->columns) {
    columns.push_back(column.name);
    types.push_back(ColumnTypeName(column.type));
  }
  for (const auto& row : read.rows) {
    json out = json::array();
    for (const Value& value : row) out.push_back(ValueJson(value));
    rows.push_back(std::move(out));
  }
  return JsonResponse(200, {{"dataset", dataset.name},
                            {"table", table->name},
                            {"columns", std::move(columns)},
                            {"column_types", std::move(types)},
                            {"rows", std::move(rows)},
                            {"truncated", read.truncated}});
}

// Every analyst with their budgets, and each dataset's spend against its cap.
HttpResponse Router::AdminAnalysts() {
  const Catalog& catalog = engine_.catalog();
  json analysts = json::array(), datasets = json::array();
  WithLedger(pool_, config_.db_pool, [&](Ledger& ledger) {
    analysts = json::array();
    datasets = json::array();
    for (const AnalystBudgets& entry : ledger.List()) {
      json budgets = json::array();
      for (const Budget& budget : entry.budgets) {
        budgets.push_back(BudgetJson(budget, catalog.FindDataset(budget.dataset)));
      }
      analysts.push_back({{"name", entry.analyst.name},
                          {"admin", entry.analyst.is_admin},
                          {"revoked", entry.analyst.revoked},
                          {"created_at", entry.analyst.created_at},
                          {"budgets", std::move(budgets)}});
    }
    for (const Dataset& dataset : catalog.datasets) {
      const BudgetCost spent = ledger.DatasetSpent(dataset.name);
      const PrivacyLimits& limits = dataset.limits;
      auto cap = [](const std::optional<Rational>& value) {
        return value ? json(ToDouble(*value)) : json(nullptr);
      };
      json entry = {{"dataset", dataset.name},
                    {"epsilon_cap", cap(limits.dataset_epsilon)},
                    {"delta_cap", cap(limits.dataset_delta)},
                    {"epsilon_spent", ToDouble(spent.Epsilon())},
                    {"delta_spent", ToDouble(spent.Delta())}};
      if (dataset.accounting == Accounting::kZcdp) {
        entry["rho_cap"] = cap(limits.dataset_rho);
        entry["rho_spent"] = ToDouble(spent.Rho());
      }
      datasets.push_back(std::move(entry));
    }
    return 0;
  });
  return JsonResponse(200, {{"analysts", std::move(analysts)}, {"datasets", std::move(datasets)}});
}

namespace {

json ReleaseCostJson(const BudgetCost& cost) {
  json out = {{"epsilon", ToDouble(cost.Epsilon())}, {"delta", ToDouble(cost.Delta())}};
  if (cost.rho_pico != 0) out["rho"] = ToDouble(cost.Rho());
  return out;
}

// "YYYY-MM-DD" of a from/to query parameter.
std::string ReleaseDay(const std::string& key, const std::string& value) {
  if (!IsFormDate(value)) {
    Fail(ErrorCode::kInvalidParameter, key + " must be a day YYYY-MM-DD, got '" + AuditText(value, 40) + "'");
  }
  return value;
}

}  // namespace

// The releases of the datasets the caller is an analyst of (AnalystDatasets):
// what each costs once, its schedule and its latest run. Free.
HttpResponse Router::Releases(const Analyst& analyst) {
  json list = json::array();
  if (releases_ != nullptr && !releases_->empty()) {
    const std::set<std::string> datasets = AnalystDatasets(analyst);
    for (const ReleaseDefinition& release : *releases_) {
      if (datasets.count(release.dataset) == 0) continue;
      std::optional<ReleaseRunRow> latest = engine_.LatestReleaseRun(release.name);
      json levels = json::array({release.name});
      for (const ReleaseHierarchyLevel& level : release.hierarchy) levels.push_back(level.level);
      json schedule = nullptr;
      if (release.schedule) {
        char at[16];
        std::snprintf(at, sizeof at, "%02d:%02d", release.schedule->at_minutes / 60,
                      release.schedule->at_minutes % 60);
        schedule = {
            {"every", "day"}, {"at", at}, {"day", release.schedule->day_offset == 1 ? "yesterday" : "today"}};
      }
      json entry = {{"name", release.name},
                    {"title", release.title},
                    {"description", release.description},
                    {"dataset", release.dataset},
                    {"parameters", json::array({{{"name", release.parameter.name},
                                                 {"type", release.parameter.type},
                                                 {"label", release.parameter.label}}})},
                    {"cost", ReleaseCostJson(release.cost)},
                    {"schedule", schedule},
                    {"schedule_text", DescribeSchedule(release.schedule)},
                    {"levels", std::move(levels)},
                    {"latest", nullptr}};
      if (latest) {
        entry["latest"] = {{"day", latest->day},
                           {"parameters", {{release.parameter.name, latest->day}}},
                           {"published_at", latest->published_at}};
      }
      list.push_back(std::move(entry));
    }
  }
  return JsonResponse(200, {{"releases", std::move(list)}});
}

// The published runs of one release in a day range, as /v1/query answers
// them (values with their intervals). Reading a published answer is
// post-processing of a paid release: it costs nothing (audited with cost 0).
HttpResponse Router::ReleaseRuns(const std::string& name, const std::string& query_string,
                                 const Analyst& analyst, Exchange& exchange) {
  const ReleaseDefinition* release = releases_ != nullptr ? FindRelease(*releases_, name) : nullptr;
  if (release == nullptr) {
    std::string known;
    if (releases_ != nullptr) {
      for (const ReleaseDefinition& r : *releases_) known += (known.empty() ? "" : ", ") + r.name;
    }
    HttpError error;
    error.status = 404;
    error.code = ErrorCode::kUnknownRelease;
    error.message = "no release named '" + AuditText(name, 100) + "'; GET /v1/releases lists them" +
                    (known.empty() ? std::string(" (this server declares none)") : " (" + known + ")");
    throw Refuse{error, {}};
  }
  exchange.audit.dataset = release->dataset;
  std::string from, to;
  int limit = kMaxAuditLimit;
  for (const auto& [key, value] : ParseQueryString(query_string)) {
    if (key == "from") {
      from = ReleaseDay(key, value);
    } else if (key == "to") {
      to = ReleaseDay(key, value);
    } else if (key == "limit") {
      limit = ParseLimit(value);
    } else {
      Fail(ErrorCode::kInvalidParameter,
           "unknown parameter '" + AuditText(key, 50) + "'; use from, to and limit");
    }
  }
  exchange.audit.query =
      "release " + release->name + (from.empty() ? "" : " from " + from) + (to.empty() ? "" : " to " + to);
  if (AnalystDatasets(analyst).count(release->dataset) == 0) {
    Fail(ErrorCode::kNoBudget, "release " + release->name + " is published to the analysts of dataset " +
                                   release->dataset +
                                   " (a budget on it, or an open research project on it) and you are "
                                   "neither; ask a data guardian");
  }
  json runs = json::array();
  for (PublishedRelease& run : engine_.ReleaseRuns(release->name, from, to, limit)) {
    json entry = {{"day", run.run.day},
                  {"parameters", {{release->parameter.name, run.run.day}}},
                  {"published_at", run.run.published_at},
                  {"release_cost", ReleaseCostJson(run.run.cost)}};
    json levels = json::array();
    for (size_t i = 0; i < run.levels.size(); ++i) {
      QueryResult& answer = run.levels[i].answer;
      answer.cost = {Rational(0), Rational(0)};
      answer.cached = true;
      json body = QueryResultJson(answer);
      body.erase("budget");
      if (i == 0) {
        for (auto it = body.begin(); it != body.end(); ++it) entry[it.key()] = it.value();
      }
      if (run.levels.size() > 1) {
        body["level"] = run.levels[i].level;
        levels.push_back(std::move(body));
      }
    }
    if (run.levels.size() > 1) {
      entry["levels"] = std::move(levels);
      // Every level's counts were made to add up after the noise
      // (runtime/release/hierarchy.h) before the run was stored.
      entry["consistent"] = true;
    }
    runs.push_back(std::move(entry));
  }
  return JsonResponse(200, {{"release", release->name},
                            {"title", release->title},
                            {"dataset", release->dataset},
                            {"runs", std::move(runs)}});
}

}  // namespace dpql
