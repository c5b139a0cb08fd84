// Research projects over HTTP: the DPQL-Project header, the analyst's
// projects in GET /v1/budget, and budget requests (GET and POST
// /v1/budget-requests). The ledger work is runtime/ledger/projects.h's.

#include <nlohmann/json.hpp>

#include "compiler/common/date.h"
#include "compiler/common/error.h"
#include "compiler/common/period.h"
#include "runtime/pg/retry.h"
#include "server/request.h"
#include "server/router.h"

namespace dpql {
namespace {

using json = nlohmann::ordered_json;

constexpr size_t kMaxProjectNameBytes = 200;

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

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
  out["decided_by"] = request.decided_by.empty() ? json(nullptr) : json(request.decided_by);
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

// A project as the API shows it: its budget view, dates, status and members.
json ProjectJson(const Project& project, const Dataset* dataset, TimePoint now) {
  json entry = BudgetViewJson(ProjectBudgetView(project, dataset));
  entry["starts_on"] = FormatDate(DayOf(project.starts_at));
  entry["renew"] = project.renew == BudgetPeriod::kNone ? json(nullptr) : json(PeriodName(project.renew));
  entry["status"] = project.closed_at         ? "closed"
                    : now < project.starts_at ? "not_started"
                    : now >= project.ends_at  ? "ended"
                                              : "open";
  entry["members"] = project.members;
  return entry;
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
      Fail(ErrorCode::kInvalidParameter,
           "the DPQL-Project header holds a control character; send the project's name");
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
  const TimePoint now = engine_.clock().Now();
  std::vector<Project> projects = WithProjects(
      pool_, config_.db_pool, [&](ProjectLedger& ledger) { return ledger.ForAnalyst(analyst.id, now); });
  json list = json::array();
  for (const Project& project : projects) {
    list.push_back(ProjectJson(project, engine_.catalog().FindDataset(project.dataset), now));
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
    return ProjectLedger(connection)
        .File(analyst.id, project, dataset, amount, justification, engine_.clock().Now());
  });
  audit.dataset = filed.dataset;
  audit.detail = "budget request " + std::to_string(filed.id) + " filed";
  response.status = 201;
  response.body = Dump({{"request", RequestJson(filed)}});
  return response;
}

namespace {

// A body for the guardian's routes: a JSON object with only `keys`.
json AdminBody(const HttpRequest& request, std::initializer_list<const char*> keys,
               const std::string& example) {
  json body = json::parse(request.body, nullptr, false);
  if (!body.is_object()) Fail(ErrorCode::kInvalidJson, "the body must be a JSON object such as " + example);
  for (const auto& [key, value] : body.items()) {
    (void)value;
    bool known = false;
    std::string names;
    for (const char* allowed : keys) {
      known = known || key == allowed;
      names += (names.empty() ? "" : ", ") + std::string(allowed);
    }
    if (!known)
      Fail(ErrorCode::kInvalidRequest, "unknown key \"" + AuditText(key, 50) + "\"; the keys are " + names);
  }
  return body;
}

std::string Required(const json& body, const char* key, const std::string& what) {
  std::string value = Text(body, key);
  if (value.empty()) Fail(ErrorCode::kInvalidRequest, std::string("\"") + key + "\" is required: " + what);
  return value;
}

// "YYYY-MM-DD" in `key`: days since 1970-01-01.
int64_t Day(const json& body, const char* key) {
  const std::string text = Text(body, key);
  std::optional<int64_t> day = ParseDate(text);
  if (!day) {
    Fail(ErrorCode::kInvalidParameter,
         std::string("\"") + key + "\" must be a date YYYY-MM-DD, got '" + AuditText(text, 40) + "'");
  }
  return *day;
}

BudgetCost AmountOf(const json& body) {
  try {
    return BudgetCost::FromGrant(Amount(body, "epsilon"), Amount(body, "delta"), Amount(body, "rho"));
  } catch (const DpqlError& error) {
    Fail(error.code(), error.message());
  }
}

}  // namespace

namespace {

// A guardian-page change the server's database role may not make: it was set
// up by `grant-role` without --guardian-console. Said plainly, not as a 500.
template <class Work>
auto GuardianChange(Work&& work) {
  try {
    return work();
  } catch (const DpqlError& error) {
    if (error.code() == ErrorCode::kDatabaseError &&
        error.message().find("permission denied") != std::string::npos) {
      Fail(ErrorCode::kForbidden,
           "dpqld's database role may not change projects or budget requests: its privileges come from "
           "`dpqld admin grant-role ROLE --catalog FILE` without --guardian-console. Rerun it with "
           "--guardian-console, or make the change with `dpqld admin project ...` / `dpqld admin request "
           "...`. "
           "Nothing was changed.");
    }
    throw;
  }
}

}  // namespace

HttpResponse Router::AdminProjects(const HttpRequest& request, const Analyst& analyst, AuditRecord& audit) {
  const TimePoint now = engine_.clock().Now();
  HttpResponse response;
  if (request.method == "GET") {
    json projects = json::array(), requests = json::array();
    WithProjects(pool_, config_.db_pool, [&](ProjectLedger& ledger) {
      projects = json::array();
      requests = json::array();
      for (const Project& project : ledger.List(now)) {
        projects.push_back(ProjectJson(project, engine_.catalog().FindDataset(project.dataset), now));
      }
      for (const BudgetRequest& entry : ledger.Requests(std::nullopt, false))
        requests.push_back(RequestJson(entry));
      return 0;
    });
    response.body = Dump({{"projects", std::move(projects)}, {"requests", std::move(requests)}});
    return response;
  }
  const json body = AdminBody(
      request,
      {"action", "project", "dataset", "epsilon", "delta", "rho", "start", "end", "renew", "analyst"},
      "{\"action\": \"add-member\", \"project\": \"sepsis-study\", \"analyst\": \"researcher\"}");
  const std::string action = Required(body, "action", "create, add-member, remove-member, extend or close");
  const std::string name = Required(body, "project", "the project's name");
  audit.query = AuditText("project " + action + " " + name, 200);
  std::string done;
  GuardianChange([&] {
    return WithProjects(pool_, config_.db_pool, [&](ProjectLedger& ledger) {
      if (action == "create") {
        ProjectSpec spec;
        spec.name = name;
        spec.dataset = engine_.ResolveDataset(Text(body, "dataset")).name;
        spec.budget = AmountOf(body);
        spec.starts_at = StartOfDay(Day(body, "start"));
        // "end" is the last day the project pays for: it ends at the next midnight.
        spec.ends_at = StartOfDay(Day(body, "end") + 1);
        if (const std::string renew = Text(body, "renew"); !renew.empty()) {
          std::optional<BudgetPeriod> period = ParsePeriod(renew);
          if (!period) {
            Fail(ErrorCode::kInvalidParameter,
                 "\"renew\" must be day, week, month or year, got '" + AuditText(renew, 20) + "'");
          }
          spec.renew = *period;
        }
        audit.dataset = spec.dataset;
        ledger.Create(spec, now);
        done = "created";
      } else if (action == "add-member") {
        const std::string member = Required(body, "analyst", "the analyst to add");
        done = ledger.AddMember(name, member) ? "added " + member : member + " was a member already";
      } else if (action == "remove-member") {
        const std::string member = Required(body, "analyst", "the analyst to remove");
        done = ledger.RemoveMember(name, member) ? "removed " + member : member + " was not a member";
      } else if (action == "extend") {
        std::optional<TimePoint> ends_at;
        if (!Text(body, "end").empty()) ends_at = StartOfDay(Day(body, "end") + 1);
        const BudgetCost more = AmountOf(body);
        if (!ends_at && more == BudgetCost{}) {
          Fail(ErrorCode::kInvalidRequest,
               "extend needs a later \"end\" (YYYY-MM-DD) or more budget (\"epsilon\")");
        }
        ledger.Extend(name, ends_at, more, now);
        done = "extended";
      } else if (action == "close") {
        done = ledger.Close(name, now) ? "closed" : "was closed already";
      } else {
        Fail(ErrorCode::kInvalidParameter, "unknown action '" + AuditText(action, 30) +
                                               "'; use create, add-member, remove-member, extend or close");
      }
      return 0;
    });
  });
  audit.detail = "project " + name + ": " + done + " by " + analyst.name;
  response.body = Dump({{"project", name}, {"done", done}});
  return response;
}

HttpResponse Router::AdminBudgetRequests(const HttpRequest& request, const Analyst& analyst,
                                         AuditRecord& audit) {
  const json body = AdminBody(request, {"id", "decision", "reason"},
                              "{\"id\": 3, \"decision\": \"decline\", \"reason\": \"...\"}");
  auto id = body.find("id");
  if (id == body.end() || !id->is_number_integer() || id->get<int64_t>() < 1) {
    Fail(ErrorCode::kInvalidRequest,
         "\"id\" must be the request's number (GET /v1/admin/projects lists them)");
  }
  const std::string decision = Required(body, "decision", "approve or decline");
  const std::string reason = Text(body, "reason");
  audit.query = AuditText("budget request " + std::to_string(id->get<int64_t>()) + " " + decision, 200);
  const TimePoint now = engine_.clock().Now();
  BudgetRequest decided = GuardianChange([&] {
    return WithProjects(pool_, config_.db_pool, [&](ProjectLedger& ledger) {
      if (decision == "approve") return ledger.Approve(id->get<int64_t>(), analyst.name, now);
      if (decision != "decline") {
        Fail(ErrorCode::kInvalidParameter,
             "unknown decision '" + AuditText(decision, 30) + "'; use approve or decline");
      }
      if (reason.empty())
        Fail(ErrorCode::kInvalidRequest, "a declined request needs a \"reason\" for the analyst");
      return ledger.Decline(id->get<int64_t>(), analyst.name, reason, now);
    });
  });
  audit.dataset = decided.dataset;
  audit.detail = "budget request " + std::to_string(decided.id) + " " + decided.status;
  HttpResponse response;
  response.body = Dump({{"request", RequestJson(decided)}});
  return response;
}

}  // namespace dpql
