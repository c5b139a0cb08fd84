#pragma once

// The catalog file's parser, inside compiler/catalog (the public interface is
// catalog.h: ParseCatalog, LoadCatalog). One class over four files, by concept:
//   catalog_reader.cpp   the document and its generic shapes: mappings with
//                        known keys, names, typed scalars (on compiler/common/yaml.h)
//   catalog_dataset.cpp  a dataset's section: privacy unit, limits, defaults, accounting
//   catalog_table.cpp    a table's section: columns, types, bounds, domains
//   catalog_checks.cpp   the rules that tie sections together, checked once a
//                        dataset is read
// Every mistake a guardian can make is reported with the file, the line, the
// key path and what to write instead. Nothing here reads the database.

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/common/yaml.h"

namespace dpql {

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Names are spliced into SQL as quoted identifiers, so only plain SQL
// identifiers are allowed; 63 bytes is PostgreSQL's identifier limit.
constexpr size_t kMaxIdentifierLength = 63;
bool IsIdentifier(std::string_view s);

// "a.b" from "a" and "b"; "b" from "" and "b".
std::string JoinPath(const std::string& path, std::string_view key);

// One `key: value` of a mapping, with the key's node for its line.
struct Entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

class CatalogParser {
 public:
  explicit CatalogParser(std::string_view source) : yaml_(std::string(source), /*locate=*/true) {}

  Catalog Parse(std::string_view text);

 private:
  // Nodes of the limits a dataset declares, by key, for messages.
  using LimitNodes = std::map<std::string, YAML::Node>;

  // Reading (catalog_reader.cpp).
  [[noreturn]] void Fail(const YAML::Node& at, const std::string& path, ErrorCode code,
                         const std::string& what) const;
  std::vector<Entry> Entries(const YAML::Node& map, const std::string& path, const std::string& what);
  void CheckKeys(const std::vector<Entry>& entries, const std::string& path,
                 std::initializer_list<const char*> allowed);
  static const Entry* Find(const std::vector<Entry>& entries, std::string_view key);
  std::vector<Entry> SectionEntries(const Entry& section, const std::string& path, const std::string& kind,
                                    std::initializer_list<const char*> allowed);
  std::vector<Entry> NamedEntries(const YAML::Node& map, const std::string& path, const std::string& kind);
  std::vector<Entry> RequiredNamedEntries(const YAML::Node& owner, const std::vector<Entry>& entries,
                                          const std::string& path, const std::string& key,
                                          const std::string& kind, const std::string& missing_hint,
                                          const std::string& empty_hint);
  static std::string SuggestIdentifier(std::string_view s);
  std::string Scalar(const YAML::Node& node, const std::string& path, const std::string& expected);
  Rational Number(const YAML::Node& node, const std::string& path);
  int64_t PositiveInteger(const YAML::Node& node, const std::string& path);
  bool Bool(const YAML::Node& node, const std::string& path);
  std::string Identifier(const YAML::Node& node, const std::string& path, const std::string& what);

  // A dataset (catalog_dataset.cpp).
  Dataset ParseDataset(const Entry& entry, const std::string& path);
  void ParseLimits(const Entry& limits, const std::string& lpath, Dataset& dataset, LimitNodes& limit_nodes);
  void ParseLimit(const Entry& e, const std::string& p, PrivacyLimits& l);
  void CheckLimitRanges(const PrivacyLimits& l, const LimitNodes& limit_nodes, const std::string& lpath);
  static bool IsUnlimited(const YAML::Node& node);
  void ParseDefaults(const Entry& defaults, const std::string& path, Dataset& dataset,
                     const LimitNodes& limit_nodes);
  void ParseDefault(const Entry& e, const std::string& p, Dataset& dataset, const LimitNodes& limit_nodes);
  void ParseAccounting(const std::vector<Entry>& entries, const std::string& path, Dataset& dataset);
  void ParsePlacement(const std::vector<Entry>& entries, const std::string& path, Dataset& dataset);

  // A table (catalog_table.cpp).
  CatalogTable ParseTable(const Entry& entry, const std::string& path, const PrivacyLimits& limits);
  void ParseUnique(const Entry& unique, const std::string& path, CatalogTable& table);
  void ParseTableDefaults(const Entry& defaults, const std::string& path, const PrivacyLimits& limits,
                          CatalogTable& table);
  CatalogColumn ParseColumn(const Entry& entry, const std::string& path);
  void ParseBounds(const std::vector<Entry>& entries, const std::string& path, CatalogColumn& column);
  void ParseDomainFrom(const Entry& domain_from, const std::string& path, CatalogColumn& column);
  Rational Bound(const Entry& bound, const std::string& path, ColumnType type);
  std::vector<std::string> Domain(const Entry& domain, const std::string& path, ColumnType type);

  // Rules across sections (catalog_checks.cpp).
  void CheckDefaultEpsilon(const Dataset& dataset, const LimitNodes& limit_nodes, const std::string& path);
  static void ApplyDefaultCap(Dataset& dataset, const LimitNodes& limit_nodes);
  void CheckAccounting(const Dataset& dataset, const std::vector<Entry>& entries,
                       const LimitNodes& limit_nodes, const std::string& path);
  void CheckPrivacyUnit(const Dataset& dataset, const std::vector<Entry>& tables, const std::string& path);
  void ResolveDomains(const Dataset& dataset, const std::string& path);

  YamlReader yaml_;
  // Key nodes of columns and domain_from values by key path, for messages
  // from the checks that run after a whole dataset is parsed.
  std::map<std::string, YAML::Node> column_nodes_;
  std::map<std::string, YAML::Node> domain_from_nodes_;
};

}  // namespace dpql
