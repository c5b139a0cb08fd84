#pragma once

// Routes -> engine. Knows the DPQL HTTP API (paths, methods, JSON bodies,
// auth, audit, status codes) but not the wire protocol: server/http_server.cpp
// turns Beast messages into HttpRequest and HttpResponse back into Beast.
//
// Handle() blocks on the database (authentication, the engine, the audit
// write), so the HTTP server calls it on its database worker pool, never on an
// I/O thread. It never throws: every failure becomes a JSON error response.

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "compiler/catalog/catalog.h"
#include "runtime/engine.h"
#include "runtime/ledger/ledger.h"
#include "runtime/pg/connection_pool.h"
#include "server/config.h"
#include "server/metrics.h"

namespace dpql {

struct HttpError;          // server/json_result.h
class ConsoleFiles;        // server/console.h
struct ReleaseDefinition;  // server/releases.h

struct HttpRequest {
  std::string method;           // "GET", "POST", ...
  std::string target;           // path and query string: "/v1/admin/audit?limit=5"
  std::string authorization;    // the Authorization header ("" if absent)
  std::string accept_encoding;  // the Accept-Encoding header (console files)
  std::string if_none_match;    // the If-None-Match header (console files)
  std::string project;          // the DPQL-Project header: the research project that pays ("" if absent)
  std::string body;
  bool body_too_large = false;  // the body exceeded max_body_bytes and was not read
  // Set by the PostgreSQL front end (server/pg_server.cpp) instead of a
  // bearer token: the analyst its login authenticated. Re-read, and its
  // revocation checked, on every request.
  std::string session_analyst;
  std::string session_token_hash;  // the SHA-256 of the token it logged in with: a replaced token ends the session
  std::string audit_source;  // the audit row's source when set, e.g. "pg: query"
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  // Not sent before this moment (a failed query's answer waits out the
  // statement timeout; the HTTP server holds it without a worker thread).
  std::optional<std::chrono::steady_clock::time_point> not_before;
};

class Router {
 public:
  // `console` (may be null: the console is off) and `dashboards_json` (the
  // rendered dashboards file, {"dashboards": []} when none) are the web
  // console's, loaded at start-up (server/console.h, server/dashboards.h).
  Router(const ServerConfig& config, const Catalog& catalog, ConnectionPool& pool, Engine& engine,
         Metrics& metrics, const ConsoleFiles* console = nullptr,
         std::string dashboards_json = "{\"dashboards\":[]}\n");

  // The releases file's releases (server/releases.h; null or empty: GET
  // /v1/releases lists none). Must outlive the router.
  void set_releases(const std::vector<ReleaseDefinition>* releases) { releases_ = releases; }

  const Catalog& catalog() const { return catalog_; }

  // Serves one request. Blocking; never throws.
  HttpResponse Handle(const HttpRequest& request) noexcept;

  // The PostgreSQL front end's login (blocking: call on a database worker).
  // The analyst and SCRAM verifier of `name` (nullopt: unknown); the
  // unrevoked analyst whose token this is; an audit row for each login.
  std::optional<Login> FindLogin(const std::string& name) noexcept;
  std::optional<Analyst> AuthenticateToken(std::string_view token) noexcept;
  void AuditLogin(const std::string& user, const std::optional<Analyst>& analyst, const std::string& outcome,
                  const std::string& detail) noexcept;

  // Requests cheap enough to answer on an I/O thread (no database): /metrics
  // and the console's files.
  static bool IsInline(const HttpRequest& request);

 private:
  struct Exchange;

  HttpResponse Dispatch(const HttpRequest& request, Exchange& exchange);
  HttpResponse Console(const std::string& path, const HttpRequest& request, Exchange& exchange);
  HttpResponse Healthz();
  HttpResponse Readyz();
  Analyst Authenticate(const HttpRequest& request, Exchange& exchange);
  std::optional<HttpResponse> ServeCached(const HttpRequest& request, Exchange& exchange);
  HttpResponse Query(const HttpRequest& request, const Analyst& analyst, Exchange& exchange,
                     bool explain_only);
  HttpResponse Budgets(const Analyst& analyst);
  // Research projects (server/router_projects.cpp): the DPQL-Project header
  // checked, an analyst's projects for GET /v1/budget, and their budget
  // requests (GET and POST /v1/budget-requests).
  static std::string ProjectHeader(const HttpRequest& request);
  nlohmann::ordered_json ProjectsJson(const Analyst& analyst);
  HttpResponse BudgetRequests(const HttpRequest& request, const Analyst& analyst, AuditRecord& audit);
  // The guardian's page (admin only): GET /v1/admin/projects lists every
  // project and budget request; POST /v1/admin/projects creates, adds or
  // removes a member, extends or closes; POST /v1/admin/budget-requests
  // approves or declines. Each change is audited by the project ledger.
  HttpResponse AdminProjects(const HttpRequest& request, const Analyst& analyst, AuditRecord& audit);
  HttpResponse AdminBudgetRequests(const HttpRequest& request, const Analyst& analyst, AuditRecord& audit);
  HttpResponse AdminAudit(const std::string& query_string, const Analyst& analyst);
  HttpResponse History(const std::string& query_string, const Analyst& analyst);
  HttpResponse PublicTable(const std::string& table, const std::string& query_string);
  HttpResponse AdminAnalysts();
  HttpResponse Releases(const Analyst& analyst);
  // The datasets `analyst` is an analyst of: a budget row on it, or
  // membership of a research project on it that is open now. Releases are
  // published to them.
  std::set<std::string> AnalystDatasets(const Analyst& analyst);
  HttpResponse ReleaseRuns(const std::string& name, const std::string& query_string, const Analyst& analyst,
                           Exchange& exchange);
  HttpResponse Refusal(const HttpError& error, Exchange& exchange);
  // Returns the audit row's id, or nothing when it could not be written.
  std::optional<int64_t> WriteAudit(const Exchange& exchange, int status);

  const ServerConfig& config_;
  const Catalog& catalog_;
  ConnectionPool& pool_;
  Engine& engine_;
  Metrics& metrics_;
  const ConsoleFiles* console_;  // null: the console is off (GET / is 404)
  std::string dashboards_json_;
  std::string catalog_json_;  // rendered once: the catalog never changes while serving
  const std::vector<ReleaseDefinition>* releases_ = nullptr;
};

}  // namespace dpql
