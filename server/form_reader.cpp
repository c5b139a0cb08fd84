#include "server/form_reader.h"

#include <cctype>

#include "compiler/common/error.h"
#include "compiler/compile.h"
#include "compiler/parser/parser.h"

namespace dpql {

namespace {

constexpr ErrorCode kCode = ErrorCode::kConfigError;

bool IsFormInt(const std::string& text) {
  size_t start = !text.empty() && text[0] == '-' ? 1 : 0;
  if (text.size() == start || text.size() - start > 18) return false;
  for (size_t i = start; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

}  // namespace

bool IsFormName(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

bool IsFormDate(const std::string& text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

YAML::Node FormReader::Entries(const YAML::Node& root, const std::string& key,
                               const std::string& example) const {
  const ErrorCode code = ErrorCode::kConfigError;
  if (!root.IsMap() || !root[key]) {
    yaml_.Fail(root, "", code,
               "expected a mapping with one key, `" + key + ":`, holding the " + key +
                   " by name (docs/OPERATIONS.md, \"The " + key + " file\")");
  }
  for (const auto& entry : root) {
    if (entry.first.Scalar() != key) {
      yaml_.Fail(entry.first, "", code,
                 "unknown key '" + entry.first.Scalar() + "'; the only key is `" + key + "`");
    }
  }
  YAML::Node list = root[key];
  if (!list.IsMap() || list.size() == 0) {
    yaml_.Fail(
        list, key, code,
        "expected a mapping of " + key + " by name, e.g. `" + example + "`, got " + DescribeYamlNode(list));
  }
  return list;
}

std::string FormReader::Name(const YAML::Node& key, const std::string& path, const char* what) const {
  std::string name = yaml_.Scalar(key, path, kCode, what);
  if (!IsFormName(name)) {
    yaml_.Fail(key, path, kCode,
               std::string(what) + " '" + name + "' must be 1-63 letters, digits, '_' or '-'");
  }
  return name;
}

std::string FormReader::Text(const YAML::Node& node, const std::string& path) const {
  return yaml_.Scalar(node, path, kCode, "text");
}

void FormReader::Keys(const YAML::Node& node, const std::string& path,
                      std::initializer_list<const char*> known,
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

const CatalogTable& FormReader::PublicTable(const YAML::Node& at, const std::string& path,
                                            const Dataset& dataset, const std::string& name) const {
  const CatalogTable* table = dataset.FindTable(name);
  if (table == nullptr) {
    yaml_.Fail(at, path, kCode, "dataset " + dataset.name + " has no table '" + name + "'");
  }
  if (table->is_private) {
    yaml_.Fail(at, path, kCode,
               "table " + table->name +
                   " is private; only a public table (`private: false` in the catalog) can be named here: "
                   "its rows are read as they are");
  }
  return *table;
}

void FormReader::Column(const YAML::Node& at, const std::string& path, const CatalogTable& table,
                        const std::string& name) const {
  if (table.FindColumn(name) == nullptr) {
    yaml_.Fail(at, path, kCode, "table " + table.name + " has no column '" + name + "'");
  }
}

const Dataset& FormReader::DatasetOf(const YAML::Node& node, const std::string& path) const {
  const Dataset* dataset = nullptr;
  if (node["dataset"]) {
    const std::string name = Text(node["dataset"], path + ".dataset");
    dataset = catalog_.FindDataset(name);
    if (dataset == nullptr) {
      yaml_.Fail(node["dataset"], path + ".dataset", kCode, "the catalog has no dataset '" + name + "'");
    }
  } else {
    dataset = catalog_.DefaultDataset();
    if (dataset == nullptr) {
      yaml_.Fail(node, path, kCode, "missing key `dataset` (the catalog has several datasets)");
    }
  }
  return *dataset;
}

DashboardParameter FormReader::ReadParameter(const YAML::Node& key, const YAML::Node& node,
                                             const std::string& parent, const Dataset& dataset) const {
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
  if (parameter.type == "date" && !IsFormDate(parameter.default_value)) {
    yaml_.Fail(node["default"], path + ".default", kCode,
               "expected a date YYYY-MM-DD, got '" + parameter.default_value + "'");
  }
  if (parameter.type == "int" && !IsFormInt(parameter.default_value)) {
    yaml_.Fail(node["default"], path + ".default", kCode,
               "expected a whole number, got '" + parameter.default_value + "'");
  }
  if (node["choices_from"]) {
    parameter.choices_from = Text(node["choices_from"], path + ".choices_from");
    const size_t dot = parameter.choices_from.find('.');
    if (dot == std::string::npos) {
      yaml_.Fail(
          node["choices_from"], path + ".choices_from", kCode,
          "expected TABLE.COLUMN of a public table (e.g. wards.trust), got '" + parameter.choices_from + "'");
    }
    const CatalogTable& table = PublicTable(node["choices_from"], path + ".choices_from", dataset,
                                            parameter.choices_from.substr(0, dot));
    Column(node["choices_from"], path + ".choices_from", table, parameter.choices_from.substr(dot + 1));
  }
  return parameter;
}

std::string FormReader::CheckQuery(const YAML::Node& query, const std::string& path, const std::string& text,
                                   const std::vector<DashboardParameter>& parameters,
                                   const Dataset& dataset) const {
  std::string compiled_text;
  try {
    compiled_text = SubstituteDefaults(text, parameters);
  } catch (const DpqlError& error) {
    yaml_.Fail(query, path, kCode, error.message());
  }
  try {
    std::vector<ast::Statement> statements = ParseScript(compiled_text);
    if (statements.size() != 1 || statements[0].kind != ast::StatementKind::kSelect) {
      yaml_.Fail(query, path, kCode, "expected one SELECT statement");
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
    yaml_.Fail(query, path, kCode, std::string(dpql::Name(error.code())) + ": " + error.message() + where);
  }
  return compiled_text;
}

}  // namespace dpql
