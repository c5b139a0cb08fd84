// Research projects over HTTP: the DPQL-Project header, the analyst's
// projects in GET /v1/budget, and budget requests (GET and POST
// /v1/budget-requests). The ledger work is runtime/ledger/projects.h's.

#include <nlohmann/json.hpp>

#include "compiler/common/date.h"
#include "compiler/common/error.h"
#include "runtime/pg/retry.h"
#include "server/request.h"
#include "server/router.h"

namespace dpql {
namespace {

using json = nlohmann::ordered_json;

constexpr size_t kMaxProjectNameBytes = 200;

std::string Dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

template <class Work>
auto WithProjects(ConnectionPool& pool, int pool_size, Work&& work) {
  return WithConnection(pool, pool_size + 1, [&](pqxx::connection& connection) {
    ProjectLedger projects(connection);
    return work(projects);
  });
}

json RequestJson(const BudgetRequest& request) {
  json out = {{"id", request.id},
              {"analyst", request.analyst},
              {"project", request.project.empty() ? json(nullptr) : json(request.project)},
              {"dataset", request.dataset},
              {"epsilon", request.amount.EpsilonString()},
              {"delta", request.amount.DeltaString()}};
  if (request.amount.rho_pico != 0) out["rho"] = request.amount.RhoString();
  out["justification"] = request.justification;
  out["status"] = request.status;
  out["filed_at"] = request.filed_at;
  out["decided_at"] = request.decided_at.empty() ? json(nullptr) : json(request.decided_at);
  out["reason"] = request.reason.empty() ? json(nullptr) : json(request.reason);
  return out;
}

// An amount in the body: a JSON number or a decimal string, exact.
Rational Amount(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return Rational(0);
  std::optional<Rational> value;
  if (it->is_string()) value = ParseDecimal(it->get<std::string>());
  if (it->is_number()) value = ParseDecimal(it->dump());
  if (!value || *value < 0) {
    Fail(ErrorCode::kInvalidParameter, std::string("\"") + key +
                                           "\" must be a non-negative decimal number such as 0.5 or "
                                           "\"0.5\"; got " +
                                           AuditText(it->dump(), 50));
  }
  return *value;
}

std::string Text(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return "";
  if (!it->is_string()) Fail(ErrorCode::kInvalidRequest, std::string("\"") + key + "\" must be a string");
  return it->get<std::string>();
}

}  // namespace

std::string Router::ProjectHeader(const HttpRequest& request) {
  const std::string& name = request.project;
  if (name.size() > kMaxProjectNameBytes) {
    Fail(ErrorCode::kInvalidParameter, "the DPQL-Project header is longer than " +
                                           std::to_string(kMaxProjectNameBytes) +
                                           " bytes; send the project's name");
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      Fail(ErrorCode::kInvalidParameter, "the DPQL-Project header holds a control character; send the project's name");
    }
  }
  return name;
}

std::set<std::string> Router::AnalystDatasets(const Analyst& analyst) {
  std::set<std::string> datasets;
  for (const Budget& budget : WithConnection(pool_, config_.db_pool + 1, [&](pqxx::connection& connection) {
         return Ledger(connection).GetBudgets(analyst.id);
       })) {
    datasets.insert(budget.dataset);
  }
  const TimePoint now = engine_.clock().Now();
  for (const Project& project : WithProjects(pool_, config_.db_pool, [&](ProjectLedger& ledger) {
         return ledger.ForAnalyst(analyst.id, now);
       })) {
    if (project.OpenAt(now)) datasets.insert(project.dataset);
  }
  return datasets;
}

json Router::ProjectsJson(const Analyst& analyst) {
  std::vector<Project> projects = WithProjects(pool_, config_.db_pool, [&](ProjectLedger& ledger) {
    return ledger.ForAnalyst(analyst.id, engine_.clock().Now());
  });
  const TimePoint now = engine_.clock().Now();
  json list = json::array();
  for (const Project& project : projects) {
    json entry = BudgetViewJson(ProjectBudgetView(project, engine_.catalog().FindDataset(project.dataset)));
    entry["starts_on"] = FormatDate(DayOf(project.starts_at));
    entry["renew"] = project.renew == BudgetPeriod::kNone ? json(nullptr) : json(PeriodName(project.renew));
    entry["status"] = project.closed_at            ? "closed"
                      : now < project.starts_at    ? "not_started"
                      : now >= project.ends_at     ? "ended"
                                                   : "open";
    entry["members"] = project.members;
    list.push_back(std::move(entry));
  }
  return list;
}

HttpResponse Router::BudgetRequests(const HttpRequest& request, const Analyst& analyst, AuditRecord& audit) {
  HttpResponse response;
  if (request.method == "GET") {
    std::vector<BudgetRequest> requests = WithProjects(
        pool_, config_.db_pool, [&](ProjectLedger& ledger) { return ledger.Requests(analyst.id, false); });
    json list = json::array();
    for (const BudgetRequest& entry : requests) list.push_back(RequestJson(entry));
    response.body = Dump({{"requests", std::move(list)}});
    return response;
  }
  json body = json::parse(request.body, nullptr, false);
  if (!body.is_object()) {
    Fail(ErrorCode::kInvalidJson,
         "the body must be a JSON object such as {\"project\": \"sepsis-study\", \"epsilon\": 1, "
         "\"justification\": \"...\"} (or \"dataset\" instead of \"project\" for your own budget)");
  }
  for (const auto& [key, value] : body.items()) {
    (void)value;
    if (key != "project" && key != "dataset" && key != "epsilon" && key != "delta" && key != "rho" &&
        key != "justification") {
      Fail(ErrorCode::kInvalidRequest, "unknown key \"" + AuditText(key, 50) +
                                           "\"; the keys are project or dataset, epsilon, delta, rho and "
                                           "justification");
    }
  }
  const std::string project = Text(body, "project");
  std::string dataset = Text(body, "dataset");
  const std::string justification = Text(body, "justification");
  if (project.empty() || !dataset.empty()) dataset = engine_.ResolveDataset(dataset).name;
  audit.dataset = dataset;
  audit.query = AuditText("budget request" + (project.empty() ? "" : " on project " + project), 200);
  BudgetCost amount;
  try {
    amount = BudgetCost::FromGrant(Amount(body, "epsilon"), Amount(body, "delta"), Amount(body, "rho"));
  } catch (const DpqlError& error) {
    Fail(error.code(), error.message());
  }
  BudgetRequest filed = WithConnection(pool_, 1, [&](pqxx::connection& connection) {
    return ProjectLedger(connection).File(analyst.id, project, dataset, amount, justification,
                                          engine_.clock().Now());
  });
  audit.dataset = filed.dataset;
  audit.detail = "budget request " + std::to_string(filed.id) + " filed";
  response.status = 201;
  response.body = Dump({{"request", RequestJson(filed)}});
  return response;
}

}  // namespace dpql
