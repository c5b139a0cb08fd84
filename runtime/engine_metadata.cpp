// The metadata statements: SHOW TABLES, DESCRIBE and SHOW BUDGET. They read
// the catalog (and the caller's own budget), never the data, and cost nothing.

#include <optional>

#include "compiler/common/error.h"
#include "runtime/engine.h"
#include "runtime/pg/retry.h"

namespace dpql {

namespace {

std::string BoundsText(const CatalogColumn& column) {
  if (!column.HasBounds()) return "";
  return column.lower_text + " .. " + column.upper_text;
}

std::string DomainText(const CatalogColumn& column) {
  if (!column.domain_from_table.empty()) {
    return "from " + column.domain_from_table + "." + column.domain_from_column;
  }
  std::string out;
  for (const auto& value : column.domain) out += (out.empty() ? "" : ", ") + value;
  return out;
}

}  // namespace

QueryResult Engine::ShowTables(const Dataset& dataset) const {
  QueryResult result;
  result.columns = {{"table", ValueType::kText, false},
                    {"kind", ValueType::kText, false},
                    {"columns", ValueType::kInt, false}};
  for (const auto& table : dataset.tables) {
    result.rows.push_back({table.name, std::string(table.is_private ? "private" : "public"),
                           static_cast<int64_t>(table.columns.size())});
    result.intervals.emplace_back(3);
  }
  return result;
}

QueryResult Engine::Describe(const Dataset& dataset, const CatalogTable& table) const {
  QueryResult result;
  result.columns = {{"column", ValueType::kText, false},
                    {"type", ValueType::kText, false},
                    {"bounds", ValueType::kText, false},
                    {"domain", ValueType::kText, false},
                    {"note", ValueType::kText, false}};
  for (const auto& column : table.columns) {
    std::string note;
    if (column.name == dataset.privacy_unit) {
      note = "privacy unit: use COUNT(DISTINCT " + column.name + ")";
    } else if (table.is_private && !column.HasDomain() && !column.HasBounds() &&
               column.type != ColumnType::kBool) {
      note = "no public domain: grouped only with partition selection (delta > 0)";
    }
    result.rows.push_back({column.name, std::string(ColumnTypeName(column.type)), BoundsText(column),
                           DomainText(column), note});
    result.intervals.emplace_back(5);
  }
  return result;
}

QueryResult Engine::ShowBudget(const Caller& caller, const Dataset& dataset) {
  auto connection = pool_.Acquire();
  Ledger ledger(*connection);
  std::optional<Budget> budget = ledger.GetBudget(caller.analyst_id, dataset.name);
  QueryResult result;
  result.columns = {
      {"dataset", ValueType::kText, false},        {"epsilon_total", ValueType::kText, false},
      {"epsilon_spent", ValueType::kText, false},  {"epsilon_remaining", ValueType::kText, false},
      {"delta_total", ValueType::kText, false},    {"delta_spent", ValueType::kText, false},
      {"delta_remaining", ValueType::kText, false}};
  const bool zcdp = dataset.accounting == Accounting::kZcdp;
  if (zcdp) {
    // rho is the budget itself; epsilon and delta above are its equivalents.
    result.columns.push_back({"rho_total", ValueType::kText, false});
    result.columns.push_back({"rho_spent", ValueType::kText, false});
    result.columns.push_back({"rho_remaining", ValueType::kText, false});
  }
  if (budget) {
    BudgetView view = ToBudgetView(*budget, &dataset);
    result.budget = view;
    std::vector<Value> row = {view.dataset,           view.epsilon_total, view.epsilon_spent,
                              view.epsilon_remaining, view.delta_total,   view.delta_spent,
                              view.delta_remaining};
    if (zcdp) {
      row.insert(row.end(), {view.rho_total, view.rho_spent, view.rho_remaining});
    }
    result.intervals.emplace_back(row.size());
    result.rows.push_back(std::move(row));
  }
  // The caller's research projects on the dataset, one row each, after an
  // `account` column naming who pays ("own" or the project); the column is
  // there only for members of a project.
  std::vector<Project> projects = ProjectLedger(*connection).ForAnalyst(caller.analyst_id, clock_->Now());
  std::erase_if(projects, [&](const Project& project) { return project.dataset != dataset.name; });
  if (!projects.empty()) {
    result.columns.insert(result.columns.begin(), {"account", ValueType::kText, false});
    for (auto& row : result.rows) row.insert(row.begin(), Value(std::string("own")));
    result.columns.push_back({"renews_on", ValueType::kText, false});
    result.columns.push_back({"last_day", ValueType::kText, false});
    for (auto& row : result.rows) row.insert(row.end(), {Value(std::string()), Value(std::string())});
    for (const Project& project : projects) {
      BudgetView view = ProjectBudgetView(project, &dataset);
      std::vector<Value> row = {"project " + project.name, view.dataset,         view.epsilon_total,
                                view.epsilon_spent,        view.epsilon_remaining, view.delta_total,
                                view.delta_spent,          view.delta_remaining};
      if (zcdp) row.insert(row.end(), {view.rho_total, view.rho_spent, view.rho_remaining});
      row.insert(row.end(), {view.renews_on, view.ends_on});
      result.rows.push_back(std::move(row));
    }
    result.intervals.assign(result.rows.size(), std::vector<std::optional<Interval>>(result.columns.size()));
  }
  return result;
}

PublicRows Engine::ReadPublicTable(const Dataset& dataset, const CatalogTable& table, size_t max_rows) {
  if (table.is_private) {
    throw DpqlError(ErrorCode::kTableIsPrivate, "table " + table.name + " of dataset " + dataset.name +
                                                    " is private; its rows never leave the server");
  }
  // A read of the data: on the read replica when there is one.
  return WithConnection(data_pool_, 1, [&](pqxx::connection& connection) {
    return ReadPublicRows(connection, table, max_rows, statement_timeout_ms_);
  });
}

}  // namespace dpql
