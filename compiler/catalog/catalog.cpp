#include "compiler/catalog/catalog.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>

#include "compiler/common/date.h"
#include "compiler/common/error.h"
#include "compiler/common/text.h"

// The catalog file, validated in full before anything uses it: every mistake a
// guardian can make is reported with the file, the line, the key path and
// what to write instead. Nothing here reads the database.
//
// Column types: text, int, real, date, bool. Accepted aliases (any case):
//   int:  integer, bigint, smallint      real: double, float, numeric, decimal
//   text: varchar, string                bool: boolean
// Numbers (epsilon, bounds, ...) are parsed exactly from the YAML text
// (ParseDecimal), never through a double. Dates are yyyy-mm-dd and are stored
// as days since 1970-01-01.

namespace dpql {

const char* ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kText: return "text";
    case ColumnType::kInt: return "int";
    case ColumnType::kReal: return "real";
    case ColumnType::kDate: return "date";
    case ColumnType::kBool: return "bool";
  }
  return "text";
}

namespace {

Rational PowerOfTen(int exponent) {
  const BigInt power = boost::multiprecision::pow(BigInt(10), static_cast<unsigned>(std::abs(exponent)));
  return exponent < 0 ? Rational(BigInt(1), power) : Rational(power);
}

}  // namespace

Rational AbsoluteMinEpsilon() { return PowerOfTen(-6); }
Rational AbsoluteMaxEpsilon() { return Rational(100); }
Rational AbsoluteMinDelta() { return PowerOfTen(-20); }
Rational DefaultMinEpsilon() { return PowerOfTen(-3); }
Rational DefaultDatasetEpsilon() { return Rational(50); }
Rational DefaultDatasetDelta() { return PowerOfTen(-4); }
Rational MaxDatasetEpsilon() { return PowerOfTen(6); }
Rational MaxDatasetRho() { return PowerOfTen(6); }
Rational MaxConfidence() { return 1 - PowerOfTen(-9); }

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [](char x, char y) { return LowerAscii(x) == LowerAscii(y); });
}

// Names are spliced into SQL as quoted identifiers, so only plain SQL
// identifiers are allowed; 63 bytes is PostgreSQL's identifier limit.
constexpr size_t kMaxIdentifierLength = 63;

bool IsIdentifier(std::string_view s) {
  if (s.empty() || s.size() > kMaxIdentifierLength) return false;
  auto first = static_cast<unsigned char>(s[0]);
  if (!(std::isalpha(first) || first == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x80 && (std::isalnum(u) || u == '_');
  });
}

std::string JoinPath(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string NodeKindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "'" + node.Scalar() + "'";
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Undefined: return "nothing";
  }
  return "nothing";
}

std::optional<ColumnType> ParseColumnType(std::string_view text) {
  static const std::map<std::string, ColumnType> kTypes = {
      {"text", ColumnType::kText},     {"varchar", ColumnType::kText},
      {"string", ColumnType::kText},   {"int", ColumnType::kInt},
      {"integer", ColumnType::kInt},   {"bigint", ColumnType::kInt},
      {"smallint", ColumnType::kInt},  {"real", ColumnType::kReal},
      {"double", ColumnType::kReal},   {"float", ColumnType::kReal},
      {"numeric", ColumnType::kReal},  {"decimal", ColumnType::kReal},
      {"date", ColumnType::kDate},     {"bool", ColumnType::kBool},
      {"boolean", ColumnType::kBool},
  };
  auto it = kTypes.find(LowerAscii(text));
  if (it == kTypes.end()) return std::nullopt;
  return it->second;
}

// One `key: value` of a mapping, with the key's node for its line.
struct Entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

class CatalogParser {
 public:
  explicit CatalogParser(std::string_view source) : source_(source) {}

  Catalog Parse(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      std::string where = source_;
      SourceLocation loc;
      if (!e.mark.is_null()) {
        loc.line = static_cast<uint32_t>(e.mark.line + 1);
        loc.column = static_cast<uint32_t>(e.mark.column + 1);
        where += ":" + std::to_string(loc.line);
      }
      throw DpqlError(ErrorCode::kCatalogSyntaxError,
                      where + ": YAML syntax error: " + e.msg +
                          "; check the indentation, colons and quoting on or just before this line",
                      loc);
    }
    Catalog catalog;
    catalog.source = source_;
    if (root.IsNull()) {
      FailAt(YAML::Mark(), "", ErrorCode::kCatalogMissingKey,  // line 1
           "the catalog is empty; it must start with 'datasets:' followed by at least one dataset");
    }
    std::vector<Entry> top = Entries(root, "", "the top level");
    CheckKeys(top, "", {"datasets"});
    const Entry* datasets = Find(top, "datasets");
    if (datasets == nullptr) {
      Fail(root, "", ErrorCode::kCatalogMissingKey,
           "missing key 'datasets'; the catalog must start with 'datasets:' and declare each dataset under it");
    }
    std::vector<Entry> named = NamedEntries(datasets->value, "datasets", "dataset");
    if (named.empty()) {
      Fail(datasets->key_node, "datasets", ErrorCode::kCatalogEmpty,
           "no datasets declared; add one, e.g. 'hospital:' with privacy_unit and tables");
    }
    for (const Entry& e : named) catalog.datasets.push_back(ParseDataset(e, JoinPath("datasets", e.key)));
    return catalog;
  }

 private:
  [[noreturn]] void Fail(const YAML::Node& at, const std::string& path, ErrorCode code,
                         const std::string& what) const {
    FailAt(at.IsDefined() ? at.Mark() : YAML::Mark::null_mark(), path, code, what);
  }

  [[noreturn]] void FailAt(const YAML::Mark& mark, const std::string& path, ErrorCode code,
                           const std::string& what) const {
    SourceLocation loc;
    std::string message = source_;
    if (!mark.is_null()) {
      loc.line = static_cast<uint32_t>(mark.line + 1);
      loc.column = static_cast<uint32_t>(mark.column + 1);
      message += ":" + std::to_string(loc.line);
    }
    message += ": ";
    if (!path.empty()) message += path + ": ";
    message += what;
    throw DpqlError(code, message, loc);
  }

  static int LineOf(const YAML::Node& node) {
    YAML::Mark mark = node.Mark();
    return mark.is_null() ? 0 : mark.line + 1;
  }

  // The pairs of a mapping (an empty value counts as an empty mapping), with
  // scalar keys and no exact duplicates. yaml-cpp keeps duplicate keys rather
  // than rejecting them, so they are caught here.
  std::vector<Entry> Entries(const YAML::Node& map, const std::string& path, const std::string& what) {
    std::vector<Entry> out;
    if (map.IsNull()) return out;
    if (!map.IsMap()) {
      Fail(map, path, ErrorCode::kCatalogWrongShape,
           "expected a mapping of 'key: value' lines for " + what + ", got " + NodeKindName(map));
    }
    for (auto it = map.begin(); it != map.end(); ++it) {
      // Copies: the iterator hands out a temporary pair.
      YAML::Node key = it->first;
      YAML::Node value = it->second;
      if (!key.IsScalar()) {
        Fail(key, path, ErrorCode::kCatalogWrongShape, "keys must be plain names, got " + NodeKindName(key));
      }
      for (const Entry& seen : out) {
        if (seen.key == key.Scalar()) {
          Fail(key, path, ErrorCode::kCatalogDuplicateKey,
               "duplicate key '" + key.Scalar() + "' (first given on line " +
                   std::to_string(LineOf(seen.key_node)) + "); keep only one");
        }
      }
      out.push_back(Entry{key.Scalar(), key, value});
    }
    return out;
  }

  void CheckKeys(const std::vector<Entry>& entries, const std::string& path,
                 std::initializer_list<const char*> allowed) {
    for (const Entry& e : entries) {
      bool known = std::any_of(allowed.begin(), allowed.end(), [&](const char* k) { return e.key == k; });
      if (known) continue;
      std::string list;
      std::string suggestion;
      for (const char* k : allowed) {
        list += (list.empty() ? "" : ", ") + std::string(k);
        if (suggestion.empty() && EditDistance(LowerAscii(e.key), k) <= 2) suggestion = k;
      }
      std::string what = "unknown key '" + e.key + "'";
      if (!suggestion.empty()) what += " (did you mean '" + suggestion + "'?)";
      Fail(e.key_node, path, ErrorCode::kCatalogUnknownKey, what + "; expected one of " + list);
    }
  }

  static const Entry* Find(const std::vector<Entry>& entries, std::string_view key) {
    for (const Entry& e : entries) {
      if (e.key == key) return &e;
    }
    return nullptr;
  }

  // A mapping whose keys are names (datasets, tables, columns): each must be
  // a plain SQL identifier, unique ignoring case.
  std::vector<Entry> NamedEntries(const YAML::Node& map, const std::string& path, const std::string& kind) {
    std::vector<Entry> out = Entries(map, path, kind + " names");
    for (size_t i = 0; i < out.size(); ++i) {
      const Entry& e = out[i];
      if (!IsIdentifier(e.key)) {
        Fail(e.key_node, path, ErrorCode::kCatalogInvalidIdentifier,
             kind + " name '" + e.key +
                 "' is not a plain SQL identifier; use letters, digits and '_' only, starting with a "
                 "letter or '_', at most 63 characters (e.g. '" + SuggestIdentifier(e.key) + "')");
      }
      for (size_t j = 0; j < i; ++j) {
        if (EqualsIgnoreCase(out[j].key, e.key)) {
          Fail(e.key_node, path, ErrorCode::kCatalogDuplicateKey,
               kind + " '" + e.key + "' is declared twice (also as '" + out[j].key + "' on line " +
                   std::to_string(LineOf(out[j].key_node)) + "; names are case-insensitive); keep only one");
        }
      }
    }
    return out;
  }

  static std::string SuggestIdentifier(std::string_view s) {
    std::string out;
    for (char c : s) {
      auto u = static_cast<unsigned char>(c);
      out += (u < 0x80 && std::isalnum(u)) ? LowerAscii(c) : '_';
    }
    if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "_" + out;
    return out.substr(0, kMaxIdentifierLength);
  }

  std::string Scalar(const YAML::Node& node, const std::string& path, const std::string& expected) {
    if (!node.IsScalar()) {
      Fail(node, path, ErrorCode::kCatalogInvalidValue, "expected " + expected + ", got " + NodeKindName(node));
    }
    return node.Scalar();
  }

  Rational Number(const YAML::Node& node, const std::string& path) {
    std::string text = Scalar(node, path, "a number");
    std::optional<Rational> value = ParseDecimal(text);
    if (!value) {
      Fail(node, path, ErrorCode::kCatalogInvalidValue,
           "expected a number, got '" + text + "'; write digits like 1, 0.5 or 1.0e-6");
    }
    return *value;
  }

  int64_t PositiveInteger(const YAML::Node& node, const std::string& path) {
    Rational value = Number(node, path);
    std::optional<int64_t> as_int =
        boost::multiprecision::denominator(value) == 1 ? ToInt64(boost::multiprecision::numerator(value))
                                                       : std::nullopt;
    if (!as_int || *as_int < 1) {
      Fail(node, path, ErrorCode::kCatalogOutOfRange,
           "must be a whole number of at least 1, got '" + node.Scalar() + "'");
    }
    return *as_int;
  }

  bool Bool(const YAML::Node& node, const std::string& path) {
    std::string text = LowerAscii(Scalar(node, path, "true or false"));
    if (text == "true") return true;
    if (text == "false") return false;
    Fail(node, path, ErrorCode::kCatalogInvalidValue, "expected true or false, got '" + node.Scalar() + "'");
  }

  std::string Identifier(const YAML::Node& node, const std::string& path, const std::string& what) {
    std::string text = Scalar(node, path, what);
    if (!IsIdentifier(text)) {
      Fail(node, path, ErrorCode::kCatalogInvalidIdentifier,
           "'" + text + "' is not a plain SQL identifier; " + what +
               " must use letters, digits and '_' only, starting with a letter or '_'");
    }
    return text;
  }

  Dataset ParseDataset(const Entry& entry, const std::string& path) {
    Dataset dataset;
    dataset.name = entry.key;
    dataset.line = LineOf(entry.key_node);
    std::vector<Entry> entries = Entries(entry.value, path, "dataset '" + entry.key + "'");
    CheckKeys(entries, path, {"privacy_unit", "defaults", "limits", "accounting", "tables"});

    const Entry* unit = Find(entries, "privacy_unit");
    if (unit == nullptr) {
      Fail(entry.key_node, path, ErrorCode::kCatalogMissingKey,
           "missing key 'privacy_unit'; name the column that identifies one person in every private "
           "table, e.g. 'privacy_unit: patient_id'");
    }
    dataset.privacy_unit = Identifier(unit->value, JoinPath(path, "privacy_unit"), "the privacy unit");

    // Limits first: the defaults are checked against them.
    std::map<std::string, YAML::Node> limit_nodes;
    if (const Entry* limits = Find(entries, "limits")) {
      ParseLimits(*limits, JoinPath(path, "limits"), dataset, limit_nodes);
    }

    if (const Entry* defaults = Find(entries, "defaults")) {
      ParseDefaults(*defaults, JoinPath(path, "defaults"), dataset, limit_nodes);
    }
    // A declared default was checked against the limits above; the built-in
    // default epsilon (1) must fit them too.
    const PrivacyLimits& l = dataset.limits;
    if (dataset.defaults.epsilon < l.min_epsilon_per_query ||
        dataset.defaults.epsilon > l.max_epsilon_per_query) {
      const std::string key = dataset.defaults.epsilon < l.min_epsilon_per_query
                                  ? "min_epsilon_per_query"
                                  : "max_epsilon_per_query";
      Fail(limit_nodes.at(key), JoinPath(JoinPath(path, "limits"), key), ErrorCode::kCatalogMissingKey,
           "the built-in default epsilon " + ToDecimalString(dataset.defaults.epsilon) +
               " is outside limits.min_epsilon_per_query .. max_epsilon_per_query (" +
               ToDecimalString(l.min_epsilon_per_query) + " .. " +
               ToDecimalString(l.max_epsilon_per_query) + "); declare defaults.epsilon within them");
    }

    if (const Entry* accounting = Find(entries, "accounting")) {
      std::string p = JoinPath(path, "accounting");
      std::string text = Scalar(accounting->value, p, "basic or zcdp");
      if (text == "basic") {
        dataset.accounting = Accounting::kBasic;
      } else if (text == "zcdp") {
        dataset.accounting = Accounting::kZcdp;
      } else {
        Fail(accounting->value, p, ErrorCode::kCatalogInvalidValue,
             "unknown accounting '" + text + "'; expected basic or zcdp");
      }
    }
    CheckAccounting(dataset, entries, limit_nodes, path);
    ApplyDefaultCap(dataset, limit_nodes);

    const Entry* tables = Find(entries, "tables");
    if (tables == nullptr) {
      Fail(entry.key_node, path, ErrorCode::kCatalogMissingKey,
           "missing key 'tables'; declare the dataset's tables under 'tables:'");
    }
    std::string tpath = JoinPath(path, "tables");
    std::vector<Entry> named = NamedEntries(tables->value, tpath, "table");
    if (named.empty()) {
      Fail(tables->key_node, tpath, ErrorCode::kCatalogEmpty, "no tables declared; declare at least one table");
    }
    for (const Entry& t : named) {
      dataset.tables.push_back(ParseTable(t, JoinPath(tpath, t.key)));
    }
    CheckPrivacyUnit(dataset, named, tpath);
    ResolveDomains(dataset, named, tpath);
    return dataset;
  }

  // limits: the per-query ranges of epsilon and delta (within the absolute
  // floors and ceilings, see catalog.h), max_groups and max_rows, and the
  // dataset-wide caps (a number, or 'unlimited').
  void ParseLimits(const Entry& limits, const std::string& lpath, Dataset& dataset,
                   std::map<std::string, YAML::Node>& limit_nodes) {
    std::vector<Entry> items = Entries(limits.value, lpath, "limits");
    CheckKeys(items, lpath, {"min_epsilon_per_query", "max_epsilon_per_query", "min_delta_per_query",
                             "max_delta_per_query", "max_groups", "max_rows", "dataset_epsilon",
                             "dataset_delta", "dataset_rho"});
    PrivacyLimits& l = dataset.limits;
    for (const Entry& e : items) {
      std::string p = JoinPath(lpath, e.key);
      limit_nodes[e.key] = e.value;
      if (e.key == "min_epsilon_per_query" || e.key == "max_epsilon_per_query") {
        Rational value = Number(e.value, p);
        if (value <= 0) {
          Fail(e.value, p, ErrorCode::kCatalogOutOfRange, "must be greater than 0, got '" + e.value.Scalar() + "'");
        }
        if (value < AbsoluteMinEpsilon() || value > AbsoluteMaxEpsilon()) {
          Fail(e.value, p, ErrorCode::kCatalogOutOfRange,
               "must be from 0.000001 to 100 (the absolute range of epsilon per query, see "
               "docs/LANGUAGE.md), got '" + e.value.Scalar() + "'");
        }
        (e.key == "min_epsilon_per_query" ? l.min_epsilon_per_query : l.max_epsilon_per_query) = value;
      } else if (e.key == "min_delta_per_query") {
        l.min_delta_per_query = Number(e.value, p);
        if (l.min_delta_per_query < AbsoluteMinDelta() || l.min_delta_per_query >= 1) {
          Fail(e.value, p, ErrorCode::kCatalogOutOfRange,
               "must be at least 1e-20 (the absolute floor of delta per query, see "
               "docs/LANGUAGE.md) and less than 1, got '" + e.value.Scalar() + "'");
        }
      } else if (e.key == "max_delta_per_query") {
        l.max_delta_per_query = Number(e.value, p);
        if (l.max_delta_per_query < 0 || l.max_delta_per_query >= 1) {
          Fail(e.value, p, ErrorCode::kCatalogOutOfRange,
               "must be at least 0 and less than 1, got '" + e.value.Scalar() + "'");
        }
      } else if (e.key == "max_groups") {
        l.max_groups = PositiveInteger(e.value, p);
      } else if (e.key == "max_rows") {
        l.max_rows = PositiveInteger(e.value, p);
      } else if (IsUnlimited(e.value)) {
        // A dataset cap, explicitly none: declared (so no default applies) but unset.
      } else if (e.key == "dataset_epsilon" || e.key == "dataset_rho") {
        Rational value = Number(e.value, p);
        const Rational most = e.key == "dataset_epsilon" ? MaxDatasetEpsilon() : MaxDatasetRho();
        if (value <= 0 || value > most) {
          Fail(e.value, p, ErrorCode::kCatalogOutOfRange,
               "must be greater than 0 and at most " + ToDecimalString(most) +
                   " (write 'unlimited' for no cap), got '" + e.value.Scalar() + "'");
        }
        (e.key == "dataset_epsilon" ? l.dataset_epsilon : l.dataset_rho) = value;
      } else if (e.key == "dataset_delta") {
        l.dataset_delta = Number(e.value, p);
        if (*l.dataset_delta < 0 || *l.dataset_delta >= 1) {
          Fail(e.value, p, ErrorCode::kCatalogOutOfRange,
               "must be at least 0 and less than 1 (or 'unlimited'), got '" + e.value.Scalar() + "'");
        }
      }
    }
    // The ranges must not be empty (a delta range only matters when delta > 0 is allowed).
    if (l.min_epsilon_per_query > l.max_epsilon_per_query) {
      const std::string key = limit_nodes.count("min_epsilon_per_query") != 0 ? "min_epsilon_per_query"
                                                                              : "max_epsilon_per_query";
      Fail(limit_nodes.at(key), JoinPath(lpath, key), ErrorCode::kCatalogOutOfRange,
           "min_epsilon_per_query (" + ToDecimalString(l.min_epsilon_per_query) +
               ") is above max_epsilon_per_query (" + ToDecimalString(l.max_epsilon_per_query) +
               "); no epsilon would be allowed");
    }
    if (l.max_delta_per_query > 0 && l.min_delta_per_query > l.max_delta_per_query) {
      const std::string key = limit_nodes.count("min_delta_per_query") != 0 ? "min_delta_per_query"
                                                                            : "max_delta_per_query";
      Fail(limit_nodes.at(key), JoinPath(lpath, key), ErrorCode::kCatalogOutOfRange,
           "min_delta_per_query (" + ToDecimalString(l.min_delta_per_query) +
               ") is above max_delta_per_query (" + ToDecimalString(l.max_delta_per_query) +
               "); set max_delta_per_query: 0 to allow no delta at all");
    }
  }

  static bool IsUnlimited(const YAML::Node& node) {
    return node.IsScalar() && LowerAscii(node.Scalar()) == "unlimited";
  }

  // The default dataset-wide cap for each component the catalog leaves out
  // (docs/OPERATIONS.md, "Catalog: accounting and dataset-wide caps"):
  // basic accounting caps epsilon at 50 and delta at 1e-4; zCDP caps rho at
  // the largest rho implying (50, defaults.delta). 'unlimited' opts out.
  static void ApplyDefaultCap(Dataset& dataset, const std::map<std::string, YAML::Node>& limit_nodes) {
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
  void CheckAccounting(const Dataset& dataset, const std::vector<Entry>& entries,
                       const std::map<std::string, YAML::Node>& limit_nodes, const std::string& path) {
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

  void ParseDefaults(const Entry& defaults, const std::string& path, Dataset& dataset,
                     const std::map<std::string, YAML::Node>& limit_nodes) {
    std::vector<Entry> items = Entries(defaults.value, path, "defaults");
    CheckKeys(items, path, {"epsilon", "delta", "max_groups", "max_rows", "confidence", "mechanism"});
    PrivacyDefaults& d = dataset.defaults;
    const PrivacyLimits& l = dataset.limits;
    auto limit_origin = [&](const std::string& key) {
      return limit_nodes.count(key) != 0
                 ? "limits." + key + " (line " + std::to_string(LineOf(limit_nodes.at(key))) + ")"
                 : "the built-in limits." + key;
    };
    for (const Entry& e : items) {
      std::string p = JoinPath(path, e.key);
      if (e.key == "epsilon") {
        d.epsilon = Number(e.value, p);
        if (d.epsilon <= 0) {
          Fail(e.value, p, ErrorCode::kCatalogOutOfRange, "must be greater than 0, got '" + e.value.Scalar() + "'");
        }
        if (d.epsilon < l.min_epsilon_per_query) {
          Fail(e.value, p, ErrorCode::kCatalogBelowLimit,
               "default epsilon " + e.value.Scalar() + " is below " + limit_origin("min_epsilon_per_query") +
                   " = " + ToDecimalString(l.min_epsilon_per_query) +
                   "; raise the default or lower the limit (to at least 0.000001)");
        }
        if (d.epsilon > l.max_epsilon_per_query) {
          Fail(e.value, p, ErrorCode::kCatalogAboveLimit,
               "default epsilon " + e.value.Scalar() + " is above " + limit_origin("max_epsilon_per_query") +
                   " = " + ToDecimalString(l.max_epsilon_per_query) +
                   "; lower the default or raise the limit");
        }
      } else if (e.key == "delta") {
        d.delta = Number(e.value, p);
        if (d.delta < 0 || d.delta >= 1) {
          Fail(e.value, p, ErrorCode::kCatalogOutOfRange,
               "must be at least 0 and less than 1, got '" + e.value.Scalar() + "'");
        }
        if (d.delta > 0 && d.delta < l.min_delta_per_query) {
          Fail(e.value, p, ErrorCode::kCatalogBelowLimit,
               "default delta " + e.value.Scalar() + " is below " + limit_origin("min_delta_per_query") +
                   " = " + ToDecimalString(l.min_delta_per_query) +
                   "; use 0 (no delta) or a delta of at least that");
        }
        if (d.delta > l.max_delta_per_query) {
          Fail(e.value, p, ErrorCode::kCatalogAboveLimit,
               "default delta " + e.value.Scalar() + " is above " + limit_origin("max_delta_per_query") + " = " +
                   ToDecimalString(l.max_delta_per_query) + "; lower the default or raise the limit");
        }
      } else if (e.key == "max_groups" || e.key == "max_rows") {
        int64_t value = PositiveInteger(e.value, p);
        int64_t limit = e.key == "max_groups" ? l.max_groups : l.max_rows;
        if (value > limit) {
          Fail(e.value, p, ErrorCode::kCatalogAboveLimit,
               "default " + e.key + " " + std::to_string(value) + " is above " + limit_origin(e.key) + " = " +
                   std::to_string(limit) + "; lower the default or raise the limit");
        }
        (e.key == "max_groups" ? d.max_groups : d.max_rows) = value;
      } else if (e.key == "confidence") {
        d.confidence = Number(e.value, p);
        if (d.confidence <= 0 || d.confidence > MaxConfidence()) {
          Fail(e.value, p, ErrorCode::kCatalogOutOfRange,
               "must be above 0 and at most " + ToDecimalString(MaxConfidence()) +
                   ", e.g. 0.95; got '" + e.value.Scalar() + "'");
        }
      } else if (e.key == "mechanism") {
        std::string text = Scalar(e.value, p, "laplace or gaussian");
        if (text == "laplace") {
          d.mechanism = Mechanism::kLaplace;
        } else if (text == "gaussian") {
          d.mechanism = Mechanism::kGaussian;
        } else {
          Fail(e.value, p, ErrorCode::kCatalogInvalidValue, "unknown mechanism '" + text + "'; expected laplace or gaussian");
        }
      }
    }
    if (d.mechanism == Mechanism::kGaussian && d.delta == 0) {
      const Entry* mechanism = Find(items, "mechanism");
      Fail(mechanism->value, JoinPath(path, "mechanism"), ErrorCode::kCatalogOutOfRange,
           "the gaussian mechanism needs delta > 0; set defaults.delta (e.g. 1.0e-6) or use laplace");
    }
  }

  CatalogTable ParseTable(const Entry& entry, const std::string& path) {
    CatalogTable table;
    table.name = entry.key;
    table.line = LineOf(entry.key_node);
    std::vector<Entry> entries = Entries(entry.value, path, "table '" + entry.key + "'");
    CheckKeys(entries, path, {"private", "columns"});
    if (const Entry* is_private = Find(entries, "private")) {
      table.is_private = Bool(is_private->value, JoinPath(path, "private"));
    }
    const Entry* columns = Find(entries, "columns");
    if (columns == nullptr) {
      Fail(entry.key_node, path, ErrorCode::kCatalogMissingKey,
           "missing key 'columns'; list the table's columns, e.g. 'columns: { age: { type: int } }'");
    }
    std::string cpath = JoinPath(path, "columns");
    std::vector<Entry> named = NamedEntries(columns->value, cpath, "column");
    if (named.empty()) {
      Fail(columns->key_node, cpath, ErrorCode::kCatalogEmpty, "no columns declared; declare at least one column");
    }
    for (const Entry& c : named) table.columns.push_back(ParseColumn(c, JoinPath(cpath, c.key)));
    return table;
  }

  CatalogColumn ParseColumn(const Entry& entry, const std::string& path) {
    column_nodes_[path] = entry.key_node;
    CatalogColumn column;
    column.name = entry.key;
    column.line = LineOf(entry.key_node);
    if (entry.value.IsScalar()) {
      Fail(entry.value, path, ErrorCode::kCatalogWrongShape,
           "expected a mapping like '{ type: " + entry.value.Scalar() + " }', got '" + entry.value.Scalar() + "'");
    }
    std::vector<Entry> entries = Entries(entry.value, path, "column '" + entry.key + "'");
    CheckKeys(entries, path, {"type", "lower", "upper", "domain", "domain_from"});

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

    const Entry* lower = Find(entries, "lower");
    const Entry* upper = Find(entries, "upper");
    if (lower != nullptr || upper != nullptr) {
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

    const Entry* domain = Find(entries, "domain");
    const Entry* domain_from = Find(entries, "domain_from");
    if (domain != nullptr && domain_from != nullptr) {
      Fail(domain_from->key_node, path, ErrorCode::kCatalogInvalidDomain,
           "both 'domain' and 'domain_from' given; keep one (domain lists the values, domain_from names "
           "a public table's column that holds them)");
    }
    if (domain != nullptr) column.domain = Domain(*domain, JoinPath(path, "domain"), column.type);
    if (domain_from != nullptr) {
      std::string p = JoinPath(path, "domain_from");
      std::string text = Scalar(domain_from->value, p, "'table.column'");
      size_t dot = text.find('.');
      std::string table = dot == std::string::npos ? "" : text.substr(0, dot);
      std::string col = dot == std::string::npos ? "" : text.substr(dot + 1);
      if (!IsIdentifier(table) || !IsIdentifier(col)) {
        Fail(domain_from->value, p, ErrorCode::kCatalogInvalidDomain,
             "expected 'table.column' naming a public table's column, e.g. 'wards.ward_code'; got '" + text + "'");
      }
      if (column.type == ColumnType::kReal || column.type == ColumnType::kDate ||
          column.type == ColumnType::kBool) {
        Fail(domain_from->key_node, path, ErrorCode::kCatalogInvalidDomain,
             std::string("a ") + ColumnTypeName(column.type) +
                 " column cannot have a domain_from; public domains are for text and int columns");
      }
      domain_from_nodes_[path] = domain_from->value;
      column.domain_from_table = table;
      column.domain_from_column = col;
    }
    return column;
  }

  Rational Bound(const Entry& bound, const std::string& path, ColumnType type) {
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
           "range), got '" + bound.value.Scalar() + "'; declare the bounds the values really have");
    }
    if (type == ColumnType::kInt && boost::multiprecision::denominator(value) != 1) {
      Fail(bound.value, path, ErrorCode::kCatalogInvalidValue,
           "an int column's bound must be a whole number, got '" + bound.value.Scalar() +
               "'; round it or declare the column 'real'");
    }
    return value;
  }

  std::vector<std::string> Domain(const Entry& domain, const std::string& path, ColumnType type) {
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
           "expected a list of the column's public values, e.g. [F, M, X]; got " + NodeKindName(domain.value));
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
             "domain values must be plain values, got " + NodeKindName(item) +
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
      auto [it, inserted] = seen.emplace(canonical, LineOf(item));
      if (!inserted) {
        Fail(item, path, ErrorCode::kCatalogInvalidDomain,
             "duplicate domain value '" + item.Scalar() + "' (already listed on line " +
                 std::to_string(it->second) + "); list each value once");
      }
      values.push_back(canonical);
    }
    return values;
  }

  // Every private table holds the privacy unit, as a text or int column.
  void CheckPrivacyUnit(const Dataset& dataset, const std::vector<Entry>& tables, const std::string& path) {
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
      if (unit->type != ColumnType::kText && unit->type != ColumnType::kInt) {
        std::string p = JoinPath(path, table.name + ".columns." + unit->name);
        Fail(column_nodes_.at(p), p, ErrorCode::kCatalogPrivacyUnit,
             "the privacy unit column must be of type text or int, not " + std::string(ColumnTypeName(unit->type)));
      }
      if (unit->HasDomain()) {
        std::string p = JoinPath(path, table.name + ".columns." + unit->name);
        Fail(column_nodes_.at(p), p, ErrorCode::kCatalogPrivacyUnit,
             "the privacy unit cannot have a public domain (that would publish who is in the data); "
             "remove 'domain'/'domain_from'");
      }
    }
  }

  // domain_from must name a column of a public table of the same dataset,
  // with the same type.
  void ResolveDomains(const Dataset& dataset, const std::vector<Entry>& tables, const std::string& path) {
    for (size_t i = 0; i < dataset.tables.size(); ++i) {
      const CatalogTable& table = dataset.tables[i];
      for (const CatalogColumn& column : table.columns) {
        if (column.domain_from_table.empty()) continue;
        std::string column_path = JoinPath(path, table.name + ".columns." + column.name);
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
               "'" + target + "' is in a private table; a public domain must come from a public table "
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

  std::string source_;
  // Key nodes of columns and domain_from values by key path, for messages
  // from the checks that run after a whole dataset is parsed.
  std::map<std::string, YAML::Node> column_nodes_;
  std::map<std::string, YAML::Node> domain_from_nodes_;
};

}  // namespace

const CatalogColumn* CatalogTable::FindColumn(std::string_view name) const {
  for (const CatalogColumn& column : columns) {
    if (EqualsIgnoreCase(column.name, name)) return &column;
  }
  return nullptr;
}

const CatalogTable* Dataset::FindTable(std::string_view name) const {
  for (const CatalogTable& table : tables) {
    if (EqualsIgnoreCase(table.name, name)) return &table;
  }
  return nullptr;
}

const Dataset* Catalog::FindDataset(std::string_view name) const {
  for (const Dataset& dataset : datasets) {
    if (EqualsIgnoreCase(dataset.name, name)) return &dataset;
  }
  return nullptr;
}

const Dataset* Catalog::DefaultDataset() const { return datasets.size() == 1 ? &datasets.front() : nullptr; }

Catalog ParseCatalog(std::string_view yaml_text, std::string_view source_name) {
  return CatalogParser(source_name).Parse(yaml_text);
}

Catalog LoadCatalog(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw DpqlError(ErrorCode::kCatalogFileError,
                    "cannot read catalog file '" + path + "': " + std::strerror(errno) +
                        "; check the path given as 'catalog' (or --catalog)");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseCatalog(text.str(), path);
}

}  // namespace dpql
