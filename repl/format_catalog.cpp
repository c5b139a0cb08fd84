// The budgets (\budget) and the catalog (\d, \d TABLE) as tables.

#include "repl/format.h"

#include <stdexcept>
#include <utility>

#include "compiler/common/text.h"
#include "repl/format_cells.h"

namespace dpql {
namespace {

using nlohmann::json;
using namespace format_cells;

// name -> entry, for catalog parts given either as [{"name": ...}, ...] or as
// {"name": {...}, ...}.
std::vector<std::pair<std::string, const json*>> Entries(const json& container) {
  std::vector<std::pair<std::string, const json*>> entries;
  if (container.is_array()) {
    for (const json& entry : container) {
      if (entry.is_object() && entry.contains("name") && entry["name"].is_string()) {
        entries.emplace_back(entry["name"].get<std::string>(), &entry);
      }
    }
  } else if (container.is_object()) {
    for (auto it = container.begin(); it != container.end(); ++it)
      entries.emplace_back(it.key(), &it.value());
  }
  return entries;
}

bool IsPrivate(const json& table) {
  const json& flag = Member(table, "private");
  return flag.is_boolean() && flag.get<bool>();
}

// The dataset's defaults: "ε 1, δ 1e-06, max_groups 100, ..., 95% intervals".
std::string DefaultsText(const json& defaults) {
  std::string text;
  auto add = [&](const char* key, const std::string& label) {
    const json& value = Member(defaults, key);
    if (value.is_null()) return;
    text += (text.empty() ? "" : ", ") + label + " " +
            (value.is_string() ? value.get<std::string>() : FormatAmount(value));
  };
  add("epsilon", kEpsilon);
  add("delta", kDelta);
  add("max_groups", "max_groups");
  add("max_rows", "max_rows");
  add("mechanism", "mechanism");
  const json& confidence = Member(defaults, "confidence");
  if (confidence.is_number())
    text += (text.empty() ? "" : ", ") + FormatAmount(confidence.get<double>() * 100) + "% intervals";
  return text;
}

// The "Public domain" cell of the column `name`: its listed values (the first
// few), the table it takes them from, or that it is the privacy unit.
std::string DomainText(const std::string& name, const json& column, bool is_private,
                       const std::string& unit_name) {
  std::string domain;
  const json& values = Member(column, "domain");
  const json& from = Member(column, "domain_from");
  const json& unit_flag = Member(column, "privacy_unit");
  if (is_private && (name == unit_name || (unit_flag.is_boolean() && unit_flag.get<bool>()))) {
    domain = "privacy unit (never output)";
  } else if (values.is_array()) {
    constexpr size_t kShown = 8;
    for (size_t i = 0; i < values.size() && i < kShown; ++i)
      domain += (i == 0 ? "" : ", ") + CellText(values[i]);
    if (values.size() > kShown) domain += ", \xE2\x80\xA6 (" + std::to_string(values.size()) + " values)";
  } else if (from.is_string()) {
    domain = "values of " + from.get<std::string>();
  }
  return domain;
}

}  // namespace

std::string FormatBudgets(const json& answer) {
  std::vector<std::string> header = {"Dataset",          kEpsilon + " total", kEpsilon + " spent",
                                     kEpsilon + " left", kDelta + " total",   kDelta + " spent",
                                     kDelta + " left"};
  const char* keys[] = {"epsilon_total", "epsilon_spent", "epsilon_remaining",
                        "delta_total",   "delta_spent",   "delta_remaining"};
  std::vector<std::vector<std::string>> rows;
  const json& budgets = Member(answer, "budgets");
  // zCDP datasets add their rho budget; the columns appear only when one has it.
  bool any_rho = false;
  if (budgets.is_array()) {
    for (const json& budget : budgets) any_rho |= budget.is_object() && budget.contains("rho_total");
  }
  std::vector<bool> right = {false, true, true, true, true, true, true};
  if (any_rho) {
    header.insert(header.end(), {kRho + " total", kRho + " spent", kRho + " left"});
    right.insert(right.end(), {true, true, true});
  }
  if (budgets.is_array()) {
    for (const json& budget : budgets) {
      std::vector<std::string> row = {CellText(Member(budget, "dataset"))};
      for (const char* key : keys) row.push_back(FormatAmount(Member(budget, key)));
      if (any_rho) {
        for (const char* key : {"rho_total", "rho_spent", "rho_remaining"}) {
          const json& value = Member(budget, key);
          row.push_back(value.is_null() ? "" : FormatAmount(value));
        }
      }
      rows.push_back(std::move(row));
    }
  }
  std::string text = RenderTable(header, rows, right) + Plural(rows.size(), "dataset", "datasets") + "\n";
  // The research projects the analyst belongs to (GET /v1/budget's "projects").
  const json& projects = Member(answer, "projects");
  if (projects.is_array() && !projects.empty()) {
    std::vector<std::vector<std::string>> project_rows;
    for (const json& project : projects) {
      const bool zcdp = project.is_object() && project.contains("rho_total");
      const char* unit = zcdp ? "rho" : "epsilon";
      const json& renews = Member(project, "renews_on");
      project_rows.push_back({CellText(Member(project, "project")), CellText(Member(project, "dataset")),
                              CellText(Member(project, "status")),
                              FormatAmount(Member(project, (std::string(unit) + "_total").c_str())) + (zcdp ? " " + kRho : ""),
                              FormatAmount(Member(project, (std::string(unit) + "_spent").c_str())),
                              FormatAmount(Member(project, (std::string(unit) + "_remaining").c_str())),
                              renews.is_string() ? renews.get<std::string>() : "-",
                              CellText(Member(project, "ends_on"))});
    }
    text += "\n" +
            RenderTable({"Project", "Dataset", "Status", "Budget", "Spent (this period)", "Left", "Renews on",
                         "Last day"},
                        project_rows, {false, false, false, true, true, true, false, false}) +
            Plural(project_rows.size(), "project", "projects") + "\n";
  }
  return text;
}

std::string FormatBudgetRequests(const json& answer) {
  std::vector<std::vector<std::string>> rows;
  const json& requests = Member(answer, "requests");
  if (requests.is_array()) {
    for (const json& request : requests) {
      const json& project = Member(request, "project");
      const json& reason = Member(request, "reason");
      rows.push_back({CellText(Member(request, "id")), CellText(Member(request, "filed_at")),
                      project.is_string() ? project.get<std::string>() : "(own budget)",
                      CellText(Member(request, "dataset")), FormatAmount(Member(request, "epsilon")),
                      CellText(Member(request, "status")), reason.is_string() ? reason.get<std::string>() : ""});
    }
  }
  return RenderTable({"Id", "Filed", "Project", "Dataset", kEpsilon, "Status", "Reason"}, rows,
                     {true, false, false, false, true, false, false}) +
         Plural(rows.size(), "request", "requests") + "\n";
}

const json* FindDataset(const json& catalog, std::string_view name) {
  auto entries = Entries(Member(catalog, "datasets"));
  for (const auto& [entry_name, entry] : entries) {
    if (name.empty() || entry_name == name) return entry;
  }
  return nullptr;
}

std::string FormatTableList(const json& dataset) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, table] : Entries(Member(dataset, "tables"))) {
    size_t columns = Entries(Member(*table, "columns")).size();
    rows.push_back({name, IsPrivate(*table) ? "private" : "public", std::to_string(columns)});
  }
  std::string out = RenderTable({"Table", "Kind", "Columns"}, rows, {false, false, true});
  out += Plural(rows.size(), "table", "tables");
  const json& unit = Member(dataset, "privacy_unit");
  if (unit.is_string()) out += "  privacy unit: " + unit.get<std::string>();
  out += "\n";
  const json& defaults = Member(dataset, "defaults");
  if (defaults.is_object()) {
    // What a query without WITH PRIVACY gets.
    std::string text = DefaultsText(defaults);
    if (!text.empty()) out += "defaults per query: " + text + "\n";
  }
  return out;
}

std::string FormatTableDescription(const json& dataset, std::string_view table_name) {
  const json* table = nullptr;
  std::string known;
  std::string canonical;
  for (const auto& [name, entry] : Entries(Member(dataset, "tables"))) {
    if (LowerAscii(name) == LowerAscii(table_name)) {
      table = entry;
      canonical = name;
    }
    known += (known.empty() ? "" : ", ") + name;
  }
  if (!table) {
    throw std::invalid_argument("no table \"" + std::string(table_name) +
                                "\" in this dataset; tables are: " + (known.empty() ? "(none)" : known));
  }
  const json& unit = Member(dataset, "privacy_unit");
  std::string unit_name = unit.is_string() ? unit.get<std::string>() : "";
  bool is_private = IsPrivate(*table);

  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, column] : Entries(Member(*table, "columns"))) {
    std::string type = CellText(Member(*column, "type"));
    std::string bounds;
    const json& lower = Member(*column, "lower");
    const json& upper = Member(*column, "upper");
    if (!lower.is_null() || !upper.is_null()) bounds = FormatAmount(lower) + " .. " + FormatAmount(upper);
    rows.push_back({name, type, bounds, DomainText(name, *column, is_private, unit_name)});
  }
  std::string title =
      "Table \"" + canonical + "\" (" +
      (is_private ? "private: each " + (unit_name.empty() ? std::string("person") : unit_name) +
                        "'s rows are protected together; only noisy aggregates"
                  : std::string("public dimension: may be joined and grouped by")) +
      ")\n";
  return title + RenderTable({"Column", "Type", "Bounds", "Public domain"}, rows, {}) +
         Plural(rows.size(), "column", "columns") + "\n";
}

}  // namespace dpql
