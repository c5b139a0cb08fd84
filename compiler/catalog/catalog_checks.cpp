// The rules that tie a dataset's sections together, checked once the
// sections they read are parsed: the defaults within the limits, the
// accounting and the dataset-wide caps, the privacy unit in every private
// table, and each domain_from naming a public table's column.

#include "compiler/catalog/catalog_parser.h"

namespace dpql {

namespace {

// A column's key path below a dataset's tables (at `tables_path`).
std::string ColumnPath(const std::string& tables_path, const std::string& table, const std::string& column) {
  return JoinPath(tables_path, table + ".columns." + column);
}

}  // namespace

// A declared default was checked against the limits (ParseDefaults); the
// built-in default epsilon (1) must fit them too.
void CatalogParser::CheckDefaultEpsilon(const Dataset& dataset, const LimitNodes& limit_nodes,
                                        const std::string& path) {
  const PrivacyLimits& l = dataset.limits;
  if (dataset.defaults.epsilon < l.min_epsilon_per_query ||
      dataset.defaults.epsilon > l.max_epsilon_per_query) {
    const std::string key = dataset.defaults.epsilon < l.min_epsilon_per_query ? "min_epsilon_per_query"
                                                                               : "max_epsilon_per_query";
    Fail(limit_nodes.at(key), JoinPath(JoinPath(path, "limits"), key), ErrorCode::kCatalogMissingKey,
         "the built-in default epsilon " + ToDecimalString(dataset.defaults.epsilon) +
             " is outside limits.min_epsilon_per_query .. max_epsilon_per_query (" +
             ToDecimalString(l.min_epsilon_per_query) + " .. " + ToDecimalString(l.max_epsilon_per_query) +
             "); declare defaults.epsilon within them");
  }
}

// The default dataset-wide cap for each component the catalog leaves out
// (docs/OPERATIONS.md, "Catalog: accounting and dataset-wide caps"):
// basic accounting caps epsilon at 50 and delta at 1e-4; zCDP caps rho at
// the largest rho implying (50, defaults.delta). 'unlimited' opts out.
void CatalogParser::ApplyDefaultCap(Dataset& dataset, const LimitNodes& limit_nodes) {
  PrivacyLimits& l = dataset.limits;
  auto declared = [&](const char* key) { return limit_nodes.count(key) != 0; };
  if (dataset.accounting == Accounting::kZcdp) {
    if (!declared("dataset_rho") && !declared("dataset_epsilon")) {
      l.dataset_epsilon = DefaultDatasetEpsilon();
    }
    return;
  }
  if (!declared("dataset_epsilon")) l.dataset_epsilon = DefaultDatasetEpsilon();
  if (!declared("dataset_delta")) l.dataset_delta = DefaultDatasetDelta();
}

// The rules that tie the accounting to the defaults and the dataset caps.
void CatalogParser::CheckAccounting(const Dataset& dataset, const std::vector<Entry>& entries,
                                    const LimitNodes& limit_nodes, const std::string& path) {
  const PrivacyLimits& l = dataset.limits;
  // Declared, as a number or as 'unlimited'.
  auto declared = [&](const char* key) { return limit_nodes.count(key) != 0; };
  auto limit_path = [&](const std::string& key) { return JoinPath(JoinPath(path, "limits"), key); };
  if (dataset.accounting == Accounting::kBasic) {
    if (declared("dataset_rho")) {
      Fail(limit_nodes.at("dataset_rho"), limit_path("dataset_rho"), ErrorCode::kCatalogInvalidValue,
           "dataset_rho is a zCDP budget; it needs 'accounting: zcdp' (with basic accounting cap "
           "the dataset with dataset_epsilon and dataset_delta)");
    }
    return;
  }
  // zCDP: budgets are kept in rho and shown as (epsilon, delta) at the
  // default delta, which must therefore be positive.
  if (dataset.defaults.delta <= 0) {
    const Entry* accounting = Find(entries, "accounting");
    Fail(accounting->value, JoinPath(path, "accounting"), ErrorCode::kCatalogOutOfRange,
         "accounting: zcdp needs defaults.delta > 0 (rho budgets are shown as (epsilon, delta) at "
         "that delta); set e.g. 'defaults: { delta: 1.0e-6 }'");
  }
  if (declared("dataset_rho") && (declared("dataset_epsilon") || declared("dataset_delta"))) {
    Fail(limit_nodes.at("dataset_rho"), limit_path("dataset_rho"), ErrorCode::kCatalogInvalidValue,
         "give the dataset cap either as dataset_rho or as dataset_epsilon (with dataset_delta), "
         "not both");
  }
  if (declared("dataset_delta") && !declared("dataset_epsilon")) {
    Fail(limit_nodes.at("dataset_delta"), limit_path("dataset_delta"), ErrorCode::kCatalogMissingKey,
         "with zCDP accounting dataset_delta only qualifies dataset_epsilon (the cap is the rho "
         "implying both); add dataset_epsilon or use dataset_rho");
  }
  if (declared("dataset_delta") && !l.dataset_delta) {
    Fail(limit_nodes.at("dataset_delta"), limit_path("dataset_delta"), ErrorCode::kCatalogInvalidValue,
         "with zCDP accounting dataset_delta only qualifies dataset_epsilon, so it cannot be "
         "'unlimited'; give a delta > 0, or remove it to use defaults.delta");
  }
  if (l.dataset_epsilon && l.dataset_delta && *l.dataset_delta == 0) {
    Fail(limit_nodes.at("dataset_delta"), limit_path("dataset_delta"), ErrorCode::kCatalogOutOfRange,
         "with zCDP accounting the cap (dataset_epsilon, dataset_delta) needs dataset_delta > 0: "
         "no rho implies delta = 0");
  }
}

// Every private table holds the privacy unit, as a text or int column.
void CatalogParser::CheckPrivacyUnit(const Dataset& dataset, const std::vector<Entry>& tables,
                                     const std::string& path) {
  for (size_t i = 0; i < dataset.tables.size(); ++i) {
    const CatalogTable& table = dataset.tables[i];
    if (!table.is_private) continue;
    const CatalogColumn* unit = table.FindColumn(dataset.privacy_unit);
    if (unit == nullptr) {
      Fail(tables[i].key_node, JoinPath(path, table.name), ErrorCode::kCatalogPrivacyUnit,
           "private table '" + table.name + "' has no column '" + dataset.privacy_unit +
               "' (the dataset's privacy_unit); add it under columns, or mark the table 'private: false' "
               "if it holds no personal data");
    }
    const std::string p = ColumnPath(path, table.name, unit->name);
    if (unit->type != ColumnType::kText && unit->type != ColumnType::kInt) {
      Fail(column_nodes_.at(p), p, ErrorCode::kCatalogPrivacyUnit,
           "the privacy unit column must be of type text or int, not " +
               std::string(ColumnTypeName(unit->type)));
    }
    if (unit->HasDomain()) {
      Fail(column_nodes_.at(p), p, ErrorCode::kCatalogPrivacyUnit,
           "the privacy unit cannot have a public domain (that would publish who is in the data); "
           "remove 'domain'/'domain_from'");
    }
  }
}

// domain_from must name a column of a public table of the same dataset,
// with the same type.
void CatalogParser::ResolveDomains(const Dataset& dataset, const std::string& path) {
  for (const CatalogTable& table : dataset.tables) {
    for (const CatalogColumn& column : table.columns) {
      if (column.domain_from_table.empty()) continue;
      std::string column_path = ColumnPath(path, table.name, column.name);
      std::string p = JoinPath(column_path, "domain_from");
      const YAML::Node& at = domain_from_nodes_.at(column_path);
      std::string target = column.domain_from_table + "." + column.domain_from_column;
      const CatalogTable* source = dataset.FindTable(column.domain_from_table);
      if (source == nullptr) {
        Fail(at, p, ErrorCode::kCatalogInvalidDomain,
             "table '" + column.domain_from_table + "' is not declared in dataset '" + dataset.name +
                 "'; declare it (with 'private: false') or fix the name");
      }
      if (source->is_private) {
        Fail(at, p, ErrorCode::kCatalogInvalidDomain,
             "'" + target +
                 "' is in a private table; a public domain must come from a public table "
                 "(private: false), because listing a private column's values would reveal the data");
      }
      const CatalogColumn* source_column = source->FindColumn(column.domain_from_column);
      if (source_column == nullptr) {
        Fail(at, p, ErrorCode::kCatalogInvalidDomain,
             "table '" + source->name + "' has no column '" + column.domain_from_column + "'");
      }
      if (source_column->type != column.type) {
        Fail(at, p, ErrorCode::kCatalogInvalidDomain,
             "'" + target + "' is " + ColumnTypeName(source_column->type) + " but this column is " +
                 ColumnTypeName(column.type) + "; a domain must have the column's type");
      }
    }
  }
}

}  // namespace dpql
