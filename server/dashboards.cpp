#include "server/dashboards.h"

#include <cctype>
#include <fstream>
#include <sstream>

#include "compiler/common/error.h"
#include "compiler/common/yaml.h"
#include "compiler/compile.h"
#include "compiler/parser/parser.h"
#include "server/form_reader.h"

namespace dpql {

namespace {

using json = nlohmann::ordered_json;

constexpr ErrorCode kCode = ErrorCode::kConfigError;

// Reads one file's dashboards; every error names the file, line and key path.
class Reader : public FormReader {
 public:
  using FormReader::FormReader;

  std::vector<Dashboard> Read(const YAML::Node& root) {
    const YAML::Node list = Entries(root, "dashboards", "daily: {title: ..., panels: ...}");
    std::vector<Dashboard> out;
    for (const auto& entry : list) out.push_back(ReadDashboard(entry.first, entry.second));
    return out;
  }

 private:
  Dashboard ReadDashboard(const YAML::Node& key, const YAML::Node& node) {
    Dashboard dashboard;
    dashboard.name = Name(key, "dashboards", "dashboard name");
    const std::string path = "dashboards." + dashboard.name;
    Keys(node, path, {"title", "description", "dataset", "parameters", "panels"}, {"title", "panels"});
    dashboard.title = Text(node["title"], path + ".title");
    if (node["description"]) dashboard.description = Text(node["description"], path + ".description");
    const Dataset* dataset = &DatasetOf(node, path);
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
    CheckQuery(query, path + ".query", panel.query, dashboard.parameters, dataset);
    return panel;
  }
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
