#include "server/json_result.h"

#include "runtime/engine.h"

#include <charconv>

namespace dpql {

using json = nlohmann::ordered_json;

json ValueJson(const Value& value) {
  return std::visit(
      [](const auto& v) -> json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return nullptr;
        } else {
          return v;
        }
      },
      value);
}

namespace {

// Exact decimal text (as the ledger renders budgets) -> JSON number.
json DecimalJson(const std::string& text) {
  if (text.empty()) return nullptr;
  std::optional<Rational> value = ParseDecimal(text);
  return value ? json(ToDouble(*value)) : json(nullptr);
}

// A declared bound as a JSON value: a number for int/real, the text for dates.
json BoundJson(const CatalogColumn& column, const std::optional<Rational>& bound, const std::string& text) {
  if (!bound) return nullptr;
  switch (column.type) {
    case ColumnType::kInt: {
      if (auto whole = ToInt64(Floor(*bound)); whole && Rational(*whole) == *bound) return *whole;
      return ToDouble(*bound);
    }
    case ColumnType::kReal: return ToDouble(*bound);
    default: return text;
  }
}

const char* MechanismName(Mechanism mechanism) {
  return mechanism == Mechanism::kGaussian ? "gaussian" : "laplace";
}

}  // namespace

json CostJson(const PrivacyCost& cost) {
  json out = {{"epsilon", ToDouble(cost.epsilon)}, {"delta", ToDouble(cost.delta)}};
  if (cost.rho > 0) out["rho"] = ToDouble(cost.rho);  // Gaussian queries; zCDP datasets
  return out;
}

json BudgetViewJson(const BudgetView& view) {
  json out = {{"dataset", view.dataset},
              {"epsilon_total", DecimalJson(view.epsilon_total)},
              {"epsilon_spent", DecimalJson(view.epsilon_spent)},
              {"epsilon_remaining", DecimalJson(view.epsilon_remaining)},
              {"delta_total", DecimalJson(view.delta_total)},
              {"delta_spent", DecimalJson(view.delta_spent)},
              {"delta_remaining", DecimalJson(view.delta_remaining)},
              {"accounting", view.accounting}};
  if (view.accounting == "zcdp") {
    out["rho_total"] = DecimalJson(view.rho_total);
    out["rho_spent"] = DecimalJson(view.rho_spent);
    out["rho_remaining"] = DecimalJson(view.rho_remaining);
  }
  if (!view.project.empty()) {
    out["project"] = view.project;
    out["ends_on"] = view.ends_on;
    out["renews_on"] = view.renews_on.empty() ? json(nullptr) : json(view.renews_on);
  }
  return out;
}

json BudgetJson(const Budget& budget, const Dataset* dataset) {
  return BudgetViewJson(ToBudgetView(budget, dataset));
}

json ExpectedErrorJson(const std::vector<ExpectedError>& errors) {
  json out = json::array();
  for (const ExpectedError& error : errors) {
    json entry = {{"column", error.column}, {"confidence", ToDouble(error.confidence)}};
    if (error.half_width) {
      entry["half_width"] = *error.half_width;
      entry["unit"] = error.unit;
    } else {
      json sizes = json::array();
      for (const auto& [rows, half_width] : error.by_group_size) {
        sizes.push_back({{"group_rows", rows}, {"half_width", half_width}});
      }
      entry["half_width_by_group_size"] = std::move(sizes);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

json BiasJson(const std::vector<BiasNote>& notes) {
  json out = json::array();
  for (const BiasNote& note : notes) {
    out.push_back({{"code", note.code}, {"message", note.message}, {"outputs", note.outputs}});
  }
  return out;
}

json QueryResultJson(const QueryResult& result) {
  if (!result.explain.empty()) {
    json out = {{"explain", result.explain}, {"cost", CostJson(result.cost)}};
    if (!result.expected_errors.empty()) out["expected_error"] = ExpectedErrorJson(result.expected_errors);
    out["bias"] = BiasJson(result.bias);
    return out;
  }
  json columns = json::array();
  json types = json::array();
  for (const auto& column : result.columns) {
    columns.push_back(column.name);
    types.push_back(ValueTypeName(column.type));
  }
  json rows = json::array();
  json accuracy = json::array();
  const double confidence = ToDouble(result.confidence);
  for (size_t r = 0; r < result.rows.size(); ++r) {
    json row = json::array();
    for (size_t c = 0; c < result.rows[r].size(); ++c) {
      row.push_back(ValueJson(result.rows[r][c]));
      if (r < result.intervals.size() && c < result.intervals[r].size() && result.intervals[r][c] &&
          c < result.columns.size()) {
        const Interval& ci = *result.intervals[r][c];
        accuracy.push_back({{"column", result.columns[c].name},
                            {"row", r},
                            {"ci", {ci.lower, ci.upper}},
                            {"confidence", confidence}});
      }
    }
    rows.push_back(std::move(row));
  }
  return {{"columns", std::move(columns)},
          {"column_types", std::move(types)},
          {"rows", std::move(rows)},
          {"accuracy", std::move(accuracy)},
          {"cost", CostJson(result.cost)},
          {"budget", result.budget ? BudgetViewJson(*result.budget) : json(nullptr)},
          {"cached", result.cached},
          {"ledger_id", result.ledger_id ? json(*result.ledger_id) : json(nullptr)},
          {"notes", result.notes},
          {"bias", BiasJson(result.bias)}};
}

json CatalogJson(const Catalog& catalog) {
  json datasets = json::array();
  for (const Dataset& dataset : catalog.datasets) {
    json tables = json::array();
    for (const CatalogTable& table : dataset.tables) {
      json columns = json::array();
      for (const CatalogColumn& column : table.columns) {
        json entry = {{"name", column.name}, {"type", ColumnTypeName(column.type)}};
        if (column.lower) entry["lower"] = BoundJson(column, column.lower, column.lower_text);
        if (column.upper) entry["upper"] = BoundJson(column, column.upper, column.upper_text);
        if (!column.domain.empty()) entry["domain"] = column.domain;
        if (!column.domain_from_table.empty()) {
          entry["domain_from"] = column.domain_from_table + "." + column.domain_from_column;
        }
        if (column.name == dataset.privacy_unit) entry["privacy_unit"] = true;
        columns.push_back(std::move(entry));
      }
      tables.push_back(
          {{"name", table.name}, {"private", table.is_private}, {"columns", std::move(columns)}});
    }
    const PrivacyDefaults& d = dataset.defaults;
    const PrivacyLimits& l = dataset.limits;
    datasets.push_back({{"name", dataset.name},
                        {"privacy_unit", dataset.privacy_unit},
                        {"accounting", dataset.accounting == Accounting::kZcdp ? "zcdp" : "basic"},
                        {"defaults",
                         {{"epsilon", ToDouble(d.epsilon)},
                          {"delta", ToDouble(d.delta)},
                          {"max_groups", d.max_groups},
                          {"max_rows", d.max_rows},
                          {"confidence", ToDouble(d.confidence)},
                          {"mechanism", MechanismName(d.mechanism)}}},
                        {"limits",
                         {{"min_epsilon_per_query", ToDouble(l.min_epsilon_per_query)},
                          {"max_epsilon_per_query", ToDouble(l.max_epsilon_per_query)},
                          {"min_delta_per_query", ToDouble(l.min_delta_per_query)},
                          {"max_delta_per_query", ToDouble(l.max_delta_per_query)},
                          {"max_groups", l.max_groups},
                          {"max_rows", l.max_rows}}},
                        {"tables", std::move(tables)}});
    json& limits = datasets.back()["limits"];
    if (l.dataset_epsilon) limits["dataset_epsilon"] = ToDouble(*l.dataset_epsilon);
    if (l.dataset_delta) limits["dataset_delta"] = ToDouble(*l.dataset_delta);
    if (l.dataset_rho) limits["dataset_rho"] = ToDouble(*l.dataset_rho);
  }
  return {{"datasets", std::move(datasets)}};
}

json AuditJson(const AuditRecord& record) {
  return {{"id", record.id},
          {"at", record.at},
          {"analyst_id", record.analyst_id ? json(*record.analyst_id) : json(nullptr)},
          {"analyst", record.analyst_name},
          {"source", record.source},
          {"dataset", record.dataset},
          {"query", record.query},
          {"epsilon", ToDouble(record.cost.Epsilon())},
          {"delta", ToDouble(record.cost.Delta())},
          {"rho", ToDouble(record.cost.Rho())},
          {"outcome", record.outcome},
          {"status", record.status},
          {"detail", record.detail}};
}

HttpError ToHttpError(const DpqlError& error) {
  HttpError out;
  out.code = error.code();
  out.status = Info(error.code()).http_status;
  out.message = error.message();
  out.location = error.location();
  switch (error.kind()) {
    case ErrorKind::kCatalog:
    case ErrorKind::kInternal:
      out.location = {};
      switch (error.code()) {
        case ErrorCode::kQueryFailed:
          // One fixed message for every failure of a debited query, whatever
          // PostgreSQL said (runtime/pg/database_errors.h).
        case ErrorCode::kNotReady:
        case ErrorCode::kSiteUnavailable: break;
        case ErrorCode::kDatabaseUnavailable:
          out.message = "the database is unavailable; try again later";
          break;
        case ErrorCode::kLedgerNotInitialised:
          out.message = "the budget ledger is not initialised; an administrator must run `dpqld admin init`";
          break;
        default:
          // Never pass on PostgreSQL's text: it can quote values from the data.
          out.status = 500;
          out.code = ErrorCode::kInternalError;
          out.message = "internal server error; the server log has the details for an administrator";
          break;
      }
      break;
    default: break;
  }
  return out;
}

json ErrorJson(const HttpError& error) {
  json body = {
      {"code", Name(error.code)}, {"kind", ErrorKindName(Info(error.code).kind)}, {"message", error.message}};
  if (error.location.Known()) {
    body["line"] = error.location.line;
    body["column"] = error.location.column;
  }
  return {{"error", std::move(body)}};
}

}  // namespace dpql
