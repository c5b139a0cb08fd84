#include "server/dashboards.h"

#include <cctype>
#include <fstream>
#include <sstream>

#include "compiler/common/error.h"
#include "compiler/common/yaml.h"
#include "compiler/compile.h"
#include "compiler/parser/parser.h"

namespace dpql {

namespace {

using json = nlohmann::ordered_json;

constexpr ErrorCode kCode = ErrorCode::kConfigError;

bool IsName(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

bool IsDate(const std::string& text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

bool IsInt(const std::string& text) {
  size_t start = !text.empty() && text[0] == '-' ? 1 : 0;
  if (text.size() == start || text.size() - start > 18) return false;
  for (size_t i = start; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

// Reads one file's dashboards; every error names the file, line and key path.
class Reader {
 public:
  Reader(const std::string& source, const Catalog& catalog) : yaml_(source, false), catalog_(catalog) {}

  std::vector<Dashboard> Read(const YAML::Node& root) {
    if (!root.IsMap() || !root["dashboards"]) {
      yaml_.Fail(root, "", kCode,
                 "expected a mapping with one key, `dashboards:`, holding the dashboards by name "
                 "(docs/OPERATIONS.md, \"The dashboards file\")");
    }
    for (const auto& entry : root) {
      if (entry.first.Scalar() != "dashboards") {
        yaml_.Fail(entry.first, "", kCode,
                   "unknown key '" + entry.first.Scalar() + "'; the only key is `dashboards`");
      }
    }
    const YAML::Node& list = root["dashboards"];
    if (!list.IsMap() || list.size() == 0) {
      yaml_.Fail(list, "dashboards", kCode,
                 "expected a mapping of dashboards by name, e.g. `daily: {title: ..., panels: ...}`, got " +
                     DescribeYamlNode(list));
    }
    std::vector<Dashboard> out;
    for (const auto& entry : list) out.push_back(ReadDashboard(entry.first, entry.second));
    return out;
  }

 private:
  std::string Name(const YAML::Node& key, const std::string& path, const char* what) const {
    std::string name = yaml_.Scalar(key, path, kCode, what);
    if (!IsName(name)) {
      yaml_.Fail(key, path, kCode,
                 std::string(what) + " '" + name + "' must be 1-63 letters, digits, '_' or '-'");
    }
    return name;
  }

  std::string Text(const YAML::Node& node, const std::string& path) const {
    return yaml_.Scalar(node, path, kCode, "text");
  }

  // The keys of `node` must be among `known`; `required` ones must be present.
  void Keys(const YAML::Node& node, const std::string& path, std::initializer_list<const char*> known,
            std::initializer_list<const char*> required) const {
    if (!node.IsMap()) yaml_.Fail(node, path, kCode, "expected a mapping, got " + DescribeYamlNode(node));
    std::string list;
    for (const char* key : known) list += (list.empty() ? "" : ", ") + std::string(key);
    for (const auto& entry : node) {
      const std::string key = entry.first.Scalar();
      bool ok = false;
      for (const char* k : known) ok = ok || key == k;
      if (!ok) yaml_.Fail(entry.first, path, kCode, "unknown key '" + key + "'; known keys: " + list);
    }
    for (const char* key : required) {
      if (!node[key]) yaml_.Fail(node, path, kCode, std::string("missing key `") + key + "`");
    }
  }

  // "table.column" of the dataset; the table must be public when `must_be_public`.
  const CatalogTable& PublicTable(const YAML::Node& at, const std::string& path, const Dataset& dataset,
                                  const std::string& name) const {
    const CatalogTable* table = dataset.FindTable(name);
    if (table == nullptr) {
      yaml_.Fail(at, path, kCode, "dataset " + dataset.name + " has no table '" + name + "'");
    }
    if (table->is_private) {
      yaml_.Fail(at, path, kCode,
                 "table " + table->name +
                     " is private; the console can only read a public table "
                     "(`private: false` in the catalog)");
    }
    return *table;
  }

  void Column(const YAML::Node& at, const std::string& path, const CatalogTable& table,
              const std::string& name) const {
    if (table.FindColumn(name) == nullptr) {
      yaml_.Fail(at, path, kCode, "table " + table.name + " has no column '" + name + "'");
    }
  }

  Dashboard ReadDashboard(const YAML::Node& key, const YAML::Node& node) {
    Dashboard dashboard;
    dashboard.name = Name(key, "dashboards", "dashboard name");
    const std::string path = "dashboards." + dashboard.name;
    Keys(node, path, {"title", "description", "dataset", "parameters", "panels"}, {"title", "panels"});
    dashboard.title = Text(node["title"], path + ".title");
    if (node["description"]) dashboard.description = Text(node["description"], path + ".description");
    const Dataset* dataset = nullptr;
    if (node["dataset"]) {
      dashboard.dataset = Text(node["dataset"], path + ".dataset");
      dataset = catalog_.FindDataset(dashboard.dataset);
      if (dataset == nullptr) {
        yaml_.Fail(node["dataset"], path + ".dataset", kCode,
                   "the catalog has no dataset '" + dashboard.dataset + "'");
      }
    } else {
      dataset = catalog_.DefaultDataset();
      if (dataset == nullptr) {
        yaml_.Fail(node, path, kCode, "missing key `dataset` (the catalog has several datasets)");
      }
    }
    dashboard.dataset = dataset->name;
    if (const YAML::Node& parameters = node["parameters"]) {
      if (!parameters.IsMap()) {
        yaml_.Fail(parameters, path + ".parameters", kCode,
                   "expected a mapping of parameters by name, got " + DescribeYamlNode(parameters));
      }
      for (const auto& entry : parameters) {
        dashboard.parameters.push_back(
            ReadParameter(entry.first, entry.second, path + ".parameters", *dataset));
      }
    }
    const YAML::Node& panels = node["panels"];
    if (!panels.IsMap() || panels.size() == 0) {
      yaml_.Fail(panels, path + ".panels", kCode,
                 "expected a mapping of panels by id, got " + DescribeYamlNode(panels));
    }
    for (const auto& entry : panels) {
      dashboard.panels.push_back(ReadPanel(entry.first, entry.second, path + ".panels", dashboard, *dataset));
    }
    return dashboard;
  }

  DashboardParameter ReadParameter(const YAML::Node& key, const YAML::Node& node, const std::string& parent,
                                   const Dataset& dataset) const {
    DashboardParameter parameter;
    parameter.name = Name(key, parent, "parameter name");
    const std::string path = parent + "." + parameter.name;
    Keys(node, path, {"type", "label", "default", "choices_from"}, {"type", "default"});
    parameter.type = Text(node["type"], path + ".type");
    if (parameter.type != "date" && parameter.type != "text" && parameter.type != "int") {
      yaml_.Fail(node["type"], path + ".type", kCode,
                 "unknown type '" + parameter.type + "'; use date, text or int");
    }
    parameter.label = node["label"] ? Text(node["label"], path + ".label") : parameter.name;
    parameter.default_value = Text(node["default"], path + ".default");
    if (parameter.type == "date" && !IsDate(parameter.default_value)) {
      yaml_.Fail(node["default"], path + ".default", kCode,
                 "expected a date YYYY-MM-DD, got '" + parameter.default_value + "'");
    }
    if (parameter.type == "int" && !IsInt(parameter.default_value)) {
      yaml_.Fail(node["default"], path + ".default", kCode,
                 "expected a whole number, got '" + parameter.default_value + "'");
    }
    if (node["choices_from"]) {
      parameter.choices_from = Text(node["choices_from"], path + ".choices_from");
      const size_t dot = parameter.choices_from.find('.');
      if (dot == std::string::npos) {
        yaml_.Fail(node["choices_from"], path + ".choices_from", kCode,
                   "expected TABLE.COLUMN of a public table (e.g. wards.trust), got '" +
                       parameter.choices_from + "'");
      }
      const CatalogTable& table = PublicTable(node["choices_from"], path + ".choices_from", dataset,
                                              parameter.choices_from.substr(0, dot));
      Column(node["choices_from"], path + ".choices_from", table, parameter.choices_from.substr(dot + 1));
    }
    return parameter;
  }

  DashboardPanel ReadPanel(const YAML::Node& key, const YAML::Node& node, const std::string& parent,
                           const Dashboard& dashboard, const Dataset& dataset) const {
    DashboardPanel panel;
    panel.id = Name(key, parent, "panel id");
    const std::string path = parent + "." + panel.id;
    Keys(node, path, {"title", "description", "query", "chart", "capacity"}, {"title", "query", "chart"});
    panel.title = Text(node["title"], path + ".title");
    if (node["description"]) panel.description = Text(node["description"], path + ".description");
    panel.chart = Text(node["chart"], path + ".chart");
    if (panel.chart != "bars" && panel.chart != "line" && panel.chart != "histogram" &&
        panel.chart != "table") {
      yaml_.Fail(node["chart"], path + ".chart", kCode,
                 "unknown chart '" + panel.chart + "'; use bars, line, histogram or table");
    }
    if (const YAML::Node& capacity = node["capacity"]) {
      Keys(capacity, path + ".capacity", {"table", "key", "value"}, {"table", "key", "value"});
      DashboardCapacity c;
      c.table = Text(capacity["table"], path + ".capacity.table");
      c.key = Text(capacity["key"], path + ".capacity.key");
      c.value = Text(capacity["value"], path + ".capacity.value");
      const CatalogTable& table = PublicTable(capacity["table"], path + ".capacity.table", dataset, c.table);
      Column(capacity["key"], path + ".capacity.key", table, c.key);
      Column(capacity["value"], path + ".capacity.value", table, c.value);
      panel.capacity = std::move(c);
    }
    const YAML::Node& query = node["query"];
    panel.query = Text(query, path + ".query");
    std::string compiled_text;
    try {
      compiled_text = SubstituteDefaults(panel.query, dashboard.parameters);
    } catch (const DpqlError& error) {
      yaml_.Fail(query, path + ".query", kCode, error.message());
    }
    try {
      std::vector<ast::Statement> statements = ParseScript(compiled_text);
      if (statements.size() != 1 || statements[0].kind != ast::StatementKind::kSelect) {
        yaml_.Fail(query, path + ".query", kCode, "expected one SELECT statement");
      }
      Compile(dataset, statements[0]);
    } catch (const DpqlError& error) {
      if (error.code() == kCode) throw;
      std::string where;
      if (error.location().Known()) {
        where = " (at column " + std::to_string(error.location().column) +
                " of the query with the "
                "parameters' defaults: " +
                compiled_text + ")";
      }
      yaml_.Fail(query, path + ".query", kCode,
                 std::string(dpql::Name(error.code())) + ": " + error.message() + where);
    }
    return panel;
  }

  YamlReader yaml_;
  const Catalog& catalog_;
};

}  // namespace

std::string DashboardLiteral(const std::string& type, const std::string& value) {
  if (type == "date") return "DATE '" + value + "'";
  if (type == "int") return value;
  std::string out = "'";
  for (char c : value) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

std::string SubstituteDefaults(const std::string& query, const std::vector<DashboardParameter>& parameters) {
  std::string out;
  size_t at = 0;
  while (true) {
    size_t open = query.find("{{", at);
    if (open == std::string::npos) break;
    size_t close = query.find("}}", open + 2);
    if (close == std::string::npos) {
      throw DpqlError(kCode, "'{{' at offset " + std::to_string(open) + " has no closing '}}'");
    }
    std::string name = query.substr(open + 2, close - open - 2);
    while (!name.empty() && name.front() == ' ') name.erase(0, 1);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    const DashboardParameter* found = nullptr;
    for (const auto& parameter : parameters) {
      if (parameter.name == name) found = &parameter;
    }
    if (found == nullptr) {
      std::string known;
      for (const auto& parameter : parameters) known += (known.empty() ? "" : ", ") + parameter.name;
      throw DpqlError(kCode, "placeholder {{" + name + "}} names no parameter of this dashboard (" +
                                 (known.empty() ? std::string("it has none") : "it has " + known) +
                                 "); declare it under `parameters:`");
    }
    out += query.substr(at, open - at);
    out += DashboardLiteral(found->type, found->default_value);
    at = close + 2;
  }
  return out + query.substr(at);
}

std::vector<Dashboard> ParseDashboards(const std::string& yaml_text, const std::string& source,
                                       const Catalog& catalog) {
  YamlDocument document = ParseYaml(yaml_text);
  if (document.error) {
    throw DpqlError(kCode, source + ":" + std::to_string(document.error->at.line) +
                               ": not valid YAML: " + document.error->message);
  }
  return Reader(source, catalog).Read(document.root);
}

std::vector<Dashboard> LoadDashboards(const std::string& path, const Catalog& catalog) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw DpqlError(kCode, "cannot read the dashboards file " + path +
                               " (config key `dashboards`, relative to the config file); check the path");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseDashboards(text.str(), path, catalog);
}

json DashboardsJson(const std::vector<Dashboard>& dashboards) {
  json list = json::array();
  for (const Dashboard& dashboard : dashboards) {
    json parameters = json::array();
    for (const DashboardParameter& p : dashboard.parameters) {
      json entry = {{"name", p.name}, {"label", p.label}, {"type", p.type}};
      entry["default"] = p.type == "int" ? json(std::stoll(p.default_value)) : json(p.default_value);
      if (!p.choices_from.empty()) entry["choices_from"] = p.choices_from;
      parameters.push_back(std::move(entry));
    }
    json panels = json::array();
    for (const DashboardPanel& panel : dashboard.panels) {
      json entry = {{"id", panel.id},
                    {"title", panel.title},
                    {"description", panel.description},
                    {"query", panel.query},
                    {"chart", panel.chart}};
      if (panel.capacity) {
        entry["capacity"] = {
            {"table", panel.capacity->table}, {"key", panel.capacity->key}, {"value", panel.capacity->value}};
      }
      panels.push_back(std::move(entry));
    }
    list.push_back({{"name", dashboard.name},
                    {"title", dashboard.title},
                    {"description", dashboard.description},
                    {"dataset", dashboard.dataset},
                    {"parameters", std::move(parameters)},
                    {"panels", std::move(panels)}});
  }
  return {{"dashboards", std::move(list)}};
}

}  // namespace dpql
