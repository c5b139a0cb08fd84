#pragma once

// The dashboards file (config key `dashboards:`; docs/OPERATIONS.md, "The dashboards file"):
// parameterised panels of DPQL queries the web console draws. Read and
// validated once at start-up — every key, every parameter's default, and
// every panel's query compiled against the catalog with the defaults
// substituted — so a mistake stops the server with "file:line: path: what is
// wrong and what to write instead". GET /v1/dashboards returns it as JSON.
//
// A panel's query is DPQL an analyst could send anyway: the server compiles,
// prices and charges it like any other when the console runs it.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "compiler/catalog/catalog.h"

namespace dpql {

struct DashboardParameter {
  std::string name;
  std::string label;
  std::string type;           // "date", "text" or "int"
  std::string default_value;  // as written; an int's digits
  std::string choices_from;   // "table.column" of a public table, or ""
};

struct DashboardCapacity {
  std::string table, key, value;  // a public table, its key column and its capacity column
};

struct DashboardPanel {
  std::string id;
  std::string title;
  std::string description;
  std::string query;  // with {{parameter}} placeholders
  std::string chart;  // "bars", "line", "histogram" or "table"
  std::optional<DashboardCapacity> capacity;
};

struct Dashboard {
  std::string name;
  std::string title;
  std::string description;
  std::string dataset;
  std::vector<DashboardParameter> parameters;
  std::vector<DashboardPanel> panels;
};

// The DPQL literal of `value` for a parameter of `type`: date -> DATE
// 'yyyy-mm-dd', text -> '...' with ' doubled, int -> the digits.
std::string DashboardLiteral(const std::string& type, const std::string& value);

// `query` with each {{name}} replaced by the literal of that parameter's
// default. Throws DpqlError(kConfigError) naming an unknown placeholder.
// (The releases file substitutes a run's day the same way: server/releases.cpp.)
std::string SubstituteDefaults(const std::string& query, const std::vector<DashboardParameter>& parameters);

// Parses and validates YAML text (`source` names the file in messages).
// Throws DpqlError(kConfigError): "dashboards.yaml:12: dashboards.daily.
// panels.occupancy.query: unknown column 'wrd' ...".
std::vector<Dashboard> ParseDashboards(const std::string& yaml_text, const std::string& source,
                                       const Catalog& catalog);
std::vector<Dashboard> LoadDashboards(const std::string& path, const Catalog& catalog);

// {"dashboards": [...]} as GET /v1/dashboards answers.
nlohmann::ordered_json DashboardsJson(const std::vector<Dashboard>& dashboards);

}  // namespace dpql
