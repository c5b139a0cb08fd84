// A table's section of the catalog: its columns, their types, bounds and
// public domains.

#include "compiler/catalog/catalog_parser.h"
#include "compiler/common/date.h"
#include "compiler/common/text.h"

namespace dpql {

namespace {

// Column types: text, int, real, date, bool. Accepted aliases (any case):
//   int:  integer, bigint, smallint      real: double, float, numeric, decimal
//   text: varchar, string                bool: boolean
std::optional<ColumnType> ParseColumnType(std::string_view text) {
  static const std::map<std::string, ColumnType> kTypes = {
      {"text", ColumnType::kText},    {"varchar", ColumnType::kText}, {"string", ColumnType::kText},
      {"int", ColumnType::kInt},      {"integer", ColumnType::kInt},  {"bigint", ColumnType::kInt},
      {"smallint", ColumnType::kInt}, {"real", ColumnType::kReal},    {"double", ColumnType::kReal},
      {"float", ColumnType::kReal},   {"numeric", ColumnType::kReal}, {"decimal", ColumnType::kReal},
      {"date", ColumnType::kDate},    {"bool", ColumnType::kBool},    {"boolean", ColumnType::kBool},
  };
  auto it = kTypes.find(LowerAscii(text));
  if (it == kTypes.end()) return std::nullopt;
  return it->second;
}

}  // namespace

CatalogTable CatalogParser::ParseTable(const Entry& entry, const std::string& path,
                                       const PrivacyLimits& limits) {
  CatalogTable table;
  table.name = entry.key;
  table.line = YamlLine(entry.key_node);
  std::vector<Entry> entries =
      SectionEntries(entry, path, "table", {"private", "columns", "unique", "defaults"});
  if (const Entry* is_private = Find(entries, "private")) {
    table.is_private = Bool(is_private->value, JoinPath(path, "private"));
  }
  std::vector<Entry> named = RequiredNamedEntries(
      entry.key_node, entries, path, "columns", "column",
      "list the table's columns, e.g. 'columns: { age: { type: int } }'", "declare at least one column");
  std::string cpath = JoinPath(path, "columns");
  for (const Entry& c : named) table.columns.push_back(ParseColumn(c, JoinPath(cpath, c.key)));
  if (const Entry* unique = Find(entries, "unique")) ParseUnique(*unique, JoinPath(path, "unique"), table);
  if (const Entry* defaults = Find(entries, "defaults")) {
    ParseTableDefaults(*defaults, JoinPath(path, "defaults"), limits, table);
  }
  return table;
}

// unique: one list of columns ([patient_id, day]) or a list of such lists
// ([[patient_id, day], [admission_id]]). Each names declared columns, once.
void CatalogParser::ParseUnique(const Entry& unique, const std::string& path, CatalogTable& table) {
  const std::string example = "e.g. 'unique: [[patient_id, day]]' (at most one row per patient per day)";
  if (!unique.value.IsSequence() || unique.value.size() == 0) {
    Fail(unique.value, path, ErrorCode::kCatalogWrongShape,
         "expected a list of column lists, " + example + "; got " + DescribeYamlNode(unique.value));
  }
  std::vector<YAML::Node> lists;
  if (unique.value[0].IsScalar()) {
    lists.push_back(unique.value);
  } else {
    for (YAML::Node list : unique.value) lists.push_back(list);
  }
  for (const YAML::Node& list : lists) {
    if (!list.IsSequence() || list.size() == 0) {
      Fail(list, path, ErrorCode::kCatalogWrongShape,
           "expected a list of column names, " + example + "; got " + DescribeYamlNode(list));
    }
    std::vector<std::string> columns;
    for (YAML::Node item : list) {
      if (!item.IsScalar()) {
        Fail(item, path, ErrorCode::kCatalogWrongShape,
             "expected a column name, " + example + "; got " + DescribeYamlNode(item));
      }
      const CatalogColumn* column = table.FindColumn(item.Scalar());
      if (column == nullptr) {
        Fail(item, path, ErrorCode::kCatalogInvalidValue,
             "table '" + table.name + "' has no column '" + item.Scalar() +
                 "'; a unique key lists columns declared under 'columns'");
      }
      for (const std::string& seen : columns) {
        if (seen == column->name) {
          Fail(item, path, ErrorCode::kCatalogInvalidValue,
               "column '" + column->name + "' is listed twice in one unique key; list it once");
        }
      }
      columns.push_back(column->name);
    }
    table.unique.push_back(std::move(columns));
  }
}

// The table's own max_groups and max_rows, within the dataset's limits.
void CatalogParser::ParseTableDefaults(const Entry& defaults, const std::string& path,
                                       const PrivacyLimits& limits, CatalogTable& table) {
  std::vector<Entry> items = Entries(defaults.value, path, "defaults");
  CheckKeys(items, path, {"max_groups", "max_rows"});
  for (const Entry& e : items) {
    const std::string p = JoinPath(path, e.key);
    const int64_t value = PositiveInteger(e.value, p);
    const int64_t limit = e.key == "max_groups" ? limits.max_groups : limits.max_rows;
    if (value > limit) {
      Fail(e.value, p, ErrorCode::kCatalogAboveLimit,
           "default " + e.key + " " + std::to_string(value) + " is above the dataset's limits." + e.key +
               " = " + std::to_string(limit) + "; lower the default or raise the limit");
    }
    (e.key == "max_groups" ? table.max_groups : table.max_rows) = value;
  }
}

CatalogColumn CatalogParser::ParseColumn(const Entry& entry, const std::string& path) {
  column_nodes_[path] = entry.key_node;
  CatalogColumn column;
  column.name = entry.key;
  column.line = YamlLine(entry.key_node);
  if (entry.value.IsScalar()) {
    Fail(entry.value, path, ErrorCode::kCatalogWrongShape,
         "expected a mapping like '{ type: " + entry.value.Scalar() + " }', got '" + entry.value.Scalar() +
             "'");
  }
  std::vector<Entry> entries =
      SectionEntries(entry, path, "column", {"type", "lower", "upper", "domain", "domain_from"});

  const Entry* type = Find(entries, "type");
  if (type == nullptr) {
    Fail(entry.key_node, path, ErrorCode::kCatalogMissingKey,
         "missing key 'type'; write e.g. '{ type: int }' (one of text, int, real, date, bool)");
  }
  std::string type_text = Scalar(type->value, JoinPath(path, "type"), "a type name");
  std::optional<ColumnType> parsed_type = ParseColumnType(type_text);
  if (!parsed_type) {
    Fail(type->value, JoinPath(path, "type"), ErrorCode::kCatalogUnknownType,
         "unknown type '" + type_text + "'; expected one of text, int, real, date, bool");
  }
  column.type = *parsed_type;

  ParseBounds(entries, path, column);

  const Entry* domain = Find(entries, "domain");
  const Entry* domain_from = Find(entries, "domain_from");
  if (domain != nullptr && domain_from != nullptr) {
    Fail(domain_from->key_node, path, ErrorCode::kCatalogInvalidDomain,
         "both 'domain' and 'domain_from' given; keep one (domain lists the values, domain_from names "
         "a public table's column that holds them)");
  }
  if (domain != nullptr) column.domain = Domain(*domain, JoinPath(path, "domain"), column.type);
  if (domain_from != nullptr) ParseDomainFrom(*domain_from, path, column);
  return column;
}

// lower and upper: both or neither, for int, real and date columns.
void CatalogParser::ParseBounds(const std::vector<Entry>& entries, const std::string& path,
                                CatalogColumn& column) {
  const Entry* lower = Find(entries, "lower");
  const Entry* upper = Find(entries, "upper");
  if (lower == nullptr && upper == nullptr) return;
  const Entry* given = lower != nullptr ? lower : upper;
  if (column.type == ColumnType::kText || column.type == ColumnType::kBool) {
    Fail(given->key_node, path, ErrorCode::kCatalogInvalidBounds,
         std::string("a ") + ColumnTypeName(column.type) +
             " column cannot have bounds; remove 'lower'/'upper' (bounds are for int, real and date "
             "columns; use 'domain' to declare a text column's public values)");
  }
  if (lower == nullptr || upper == nullptr) {
    Fail(given->key_node, path, ErrorCode::kCatalogInvalidBounds,
         std::string("'") + given->key + "' without '" + (lower == nullptr ? "lower" : "upper") +
             "'; declare both bounds or neither");
  }
  column.lower = Bound(*lower, JoinPath(path, "lower"), column.type);
  column.upper = Bound(*upper, JoinPath(path, "upper"), column.type);
  column.lower_text = lower->value.Scalar();
  column.upper_text = upper->value.Scalar();
  if (*column.lower > *column.upper) {
    Fail(upper->value, JoinPath(path, "upper"), ErrorCode::kCatalogInvalidBounds,
         "lower (" + column.lower_text + ") is greater than upper (" + column.upper_text +
             "); swap them so that lower <= upper");
  }
}

// domain_from: 'table.column', resolved once the dataset's tables are read
// (ResolveDomains).
void CatalogParser::ParseDomainFrom(const Entry& domain_from, const std::string& path,
                                    CatalogColumn& column) {
  std::string p = JoinPath(path, "domain_from");
  std::string text = Scalar(domain_from.value, p, "'table.column'");
  size_t dot = text.find('.');
  std::string table = dot == std::string::npos ? "" : text.substr(0, dot);
  std::string col = dot == std::string::npos ? "" : text.substr(dot + 1);
  if (!IsIdentifier(table) || !IsIdentifier(col)) {
    Fail(
        domain_from.value, p, ErrorCode::kCatalogInvalidDomain,
        "expected 'table.column' naming a public table's column, e.g. 'wards.ward_code'; got '" + text + "'");
  }
  if (column.type == ColumnType::kReal || column.type == ColumnType::kDate ||
      column.type == ColumnType::kBool) {
    Fail(domain_from.key_node, path, ErrorCode::kCatalogInvalidDomain,
         std::string("a ") + ColumnTypeName(column.type) +
             " column cannot have a domain_from; public domains are for text and int columns");
  }
  domain_from_nodes_[path] = domain_from.value;
  column.domain_from_table = table;
  column.domain_from_column = col;
}

Rational CatalogParser::Bound(const Entry& bound, const std::string& path, ColumnType type) {
  if (type == ColumnType::kDate) {
    std::string text = Scalar(bound.value, path, "a date like 2024-01-01");
    std::optional<int64_t> days = ParseDate(text);
    if (!days) {
      bool iso_shape = text.size() == 10 && text[4] == '-' && text[7] == '-';
      Fail(bound.value, path, ErrorCode::kCatalogInvalidValue,
           iso_shape ? "'" + text + "' is not a calendar date; check the month and day"
                     : "expected a date written yyyy-mm-dd (e.g. 2024-01-01), got '" + text + "'");
    }
    return Rational(*days);
  }
  Rational value = Number(bound.value, path);
  // Within a bigint's range: every calibration, interval and key derived
  // from a bound then stays finite (beyond it a variance's interval, ~bound^4,
  // leaves double precision, and the query would fail after its debit).
  static const Rational kLimit((BigInt(1) << 63) - 1);
  if (abs(value) > kLimit) {
    Fail(bound.value, path, ErrorCode::kCatalogOutOfRange,
         "a bound must lie within -9223372036854775807 and 9223372036854775807 (a bigint's "
         "range), got '" +
             bound.value.Scalar() + "'; declare the bounds the values really have");
  }
  if (type == ColumnType::kInt && boost::multiprecision::denominator(value) != 1) {
    Fail(bound.value, path, ErrorCode::kCatalogInvalidValue,
         "an int column's bound must be a whole number, got '" + bound.value.Scalar() +
             "'; round it or declare the column 'real'");
  }
  return value;
}

std::vector<std::string> CatalogParser::Domain(const Entry& domain, const std::string& path,
                                               ColumnType type) {
  if (type == ColumnType::kReal || type == ColumnType::kDate || type == ColumnType::kBool) {
    std::string hint = type == ColumnType::kReal   ? "group real values with BUCKET(x, width) instead"
                       : type == ColumnType::kDate ? "group dates with DATE_TRUNC or EXTRACT instead"
                                                   : "a bool column's values are always true and false";
    Fail(domain.key_node, path, ErrorCode::kCatalogInvalidDomain,
         std::string("a ") + ColumnTypeName(type) +
             " column cannot have a domain; public domains are for text and int columns (" + hint + ")");
  }
  if (!domain.value.IsSequence()) {
    Fail(domain.value, path, ErrorCode::kCatalogInvalidDomain,
         "expected a list of the column's public values, e.g. [F, M, X]; got " +
             DescribeYamlNode(domain.value));
  }
  if (domain.value.size() == 0) {
    Fail(domain.value, path, ErrorCode::kCatalogInvalidDomain,
         "the domain is empty; list every public value, or remove 'domain' if the column has none");
  }
  std::vector<std::string> values;
  std::map<std::string, int> seen;  // canonical value -> line
  for (YAML::Node item : domain.value) {
    if (!item.IsScalar()) {
      Fail(item, path, ErrorCode::kCatalogInvalidDomain,
           "domain values must be plain values, got " + DescribeYamlNode(item) +
               (item.IsNull() ? " (quote it, e.g. 'null', if you mean the text)" : ""));
    }
    std::string canonical = item.Scalar();
    if (type == ColumnType::kInt) {
      std::optional<Rational> number = ParseDecimal(canonical);
      if (!number || boost::multiprecision::denominator(*number) != 1) {
        Fail(item, path, ErrorCode::kCatalogInvalidDomain,
             "an int column's domain values must be whole numbers, got '" + item.Scalar() + "'");
      }
      canonical = boost::multiprecision::numerator(*number).str();
    }
    auto [it, inserted] = seen.emplace(canonical, YamlLine(item));
    if (!inserted) {
      Fail(item, path, ErrorCode::kCatalogInvalidDomain,
           "duplicate domain value '" + item.Scalar() + "' (already listed on line " +
               std::to_string(it->second) + "); list each value once");
    }
    values.push_back(canonical);
  }
  return values;
}

}  // namespace dpql
