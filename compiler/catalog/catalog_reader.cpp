// The catalog document and its generic shapes: mappings with known keys and
// no duplicates, names that are plain SQL identifiers, and typed scalars
// (through compiler/common/yaml.h, shared with the server's configuration).
// Numbers (epsilon, bounds, ...) are parsed exactly from the YAML text
// (ParseDecimal), never through a double.

#include <algorithm>
#include <cctype>

#include "compiler/catalog/catalog_parser.h"
#include "compiler/common/text.h"

namespace dpql {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return LowerAscii(x) == LowerAscii(y); });
}

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

Catalog CatalogParser::Parse(std::string_view text) {
  YamlDocument document = ParseYaml(std::string(text));
  if (document.error) {
    const SourceLocation& at = document.error->at;
    throw DpqlError(ErrorCode::kCatalogSyntaxError,
                    YamlPlace(yaml_.source(), at, "") + ": YAML syntax error: " + document.error->message +
                        "; check the indentation, colons and quoting on or just before this line",
                    at);
  }
  const YAML::Node& root = document.root;
  Catalog catalog;
  catalog.source = yaml_.source();
  if (root.IsNull()) {
    yaml_.FailAt(SourceLocation{1, 1}, "", ErrorCode::kCatalogMissingKey,
                 "the catalog is empty; it must start with 'datasets:' followed by at least one "
                 "dataset");
  }
  std::vector<Entry> top = Entries(root, "", "the top level");
  CheckKeys(top, "", {"datasets"});
  std::vector<Entry> named =
      RequiredNamedEntries(root, top, "", "datasets", "dataset",
                           "the catalog must start with 'datasets:' and declare each dataset under it",
                           "add one, e.g. 'hospital:' with privacy_unit and tables");
  for (const Entry& e : named) catalog.datasets.push_back(ParseDataset(e, JoinPath("datasets", e.key)));
  return catalog;
}

void CatalogParser::Fail(const YAML::Node& at, const std::string& path, ErrorCode code,
                         const std::string& what) const {
  yaml_.Fail(at, path, code, what);
}

// The pairs of a mapping (an empty value counts as an empty mapping), with
// scalar keys and no exact duplicates. yaml-cpp keeps duplicate keys rather
// than rejecting them, so they are caught here.
std::vector<Entry> CatalogParser::Entries(const YAML::Node& map, const std::string& path,
                                          const std::string& what) {
  std::vector<Entry> out;
  if (map.IsNull()) return out;
  if (!map.IsMap()) {
    Fail(map, path, ErrorCode::kCatalogWrongShape,
         "expected a mapping of 'key: value' lines for " + what + ", got " + DescribeYamlNode(map));
  }
  for (auto it = map.begin(); it != map.end(); ++it) {
    // Copies: the iterator hands out a temporary pair.
    YAML::Node key = it->first;
    YAML::Node value = it->second;
    if (!key.IsScalar()) {
      Fail(key, path, ErrorCode::kCatalogWrongShape,
           "keys must be plain names, got " + DescribeYamlNode(key));
    }
    for (const Entry& seen : out) {
      if (seen.key == key.Scalar()) {
        Fail(key, path, ErrorCode::kCatalogDuplicateKey,
             "duplicate key '" + key.Scalar() + "' (first given on line " +
                 std::to_string(YamlLine(seen.key_node)) + "); keep only one");
      }
    }
    out.push_back(Entry{key.Scalar(), key, value});
  }
  return out;
}

void CatalogParser::CheckKeys(const std::vector<Entry>& entries, const std::string& path,
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

const Entry* CatalogParser::Find(const std::vector<Entry>& entries, std::string_view key) {
  for (const Entry& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

// A mapping whose keys are names (datasets, tables, columns): each must be
// a plain SQL identifier, unique ignoring case.
std::vector<Entry> CatalogParser::NamedEntries(const YAML::Node& map, const std::string& path,
                                               const std::string& kind) {
  std::vector<Entry> out = Entries(map, path, kind + " names");
  for (size_t i = 0; i < out.size(); ++i) {
    const Entry& e = out[i];
    if (!IsIdentifier(e.key)) {
      Fail(e.key_node, path, ErrorCode::kCatalogInvalidIdentifier,
           kind + " name '" + e.key +
               "' is not a plain SQL identifier; use letters, digits and '_' only, starting with a "
               "letter or '_', at most 63 characters (e.g. '" +
               SuggestIdentifier(e.key) + "')");
    }
    for (size_t j = 0; j < i; ++j) {
      if (EqualsIgnoreCase(out[j].key, e.key)) {
        Fail(e.key_node, path, ErrorCode::kCatalogDuplicateKey,
             kind + " '" + e.key + "' is declared twice (also as '" + out[j].key + "' on line " +
                 std::to_string(YamlLine(out[j].key_node)) + "; names are case-insensitive); keep only one");
      }
    }
  }
  return out;
}

// A named section's entries (a dataset, a table, a column), with only the
// `allowed` keys.
std::vector<Entry> CatalogParser::SectionEntries(const Entry& section, const std::string& path,
                                                 const std::string& kind,
                                                 std::initializer_list<const char*> allowed) {
  std::vector<Entry> entries = Entries(section.value, path, kind + " '" + section.key + "'");
  CheckKeys(entries, path, allowed);
  return entries;
}

// The named entries under `key` (datasets, tables, columns), which must be
// given and not be empty: `missing_hint` and `empty_hint` say what to write.
// `owner` is the node the missing key is reported at.
std::vector<Entry> CatalogParser::RequiredNamedEntries(const YAML::Node& owner,
                                                       const std::vector<Entry>& entries,
                                                       const std::string& path, const std::string& key,
                                                       const std::string& kind,
                                                       const std::string& missing_hint,
                                                       const std::string& empty_hint) {
  const Entry* list = Find(entries, key);
  if (list == nullptr) {
    Fail(owner, path, ErrorCode::kCatalogMissingKey, "missing key '" + key + "'; " + missing_hint);
  }
  std::string list_path = JoinPath(path, key);
  std::vector<Entry> named = NamedEntries(list->value, list_path, kind);
  if (named.empty()) {
    Fail(list->key_node, list_path, ErrorCode::kCatalogEmpty, "no " + key + " declared; " + empty_hint);
  }
  return named;
}

std::string CatalogParser::SuggestIdentifier(std::string_view s) {
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x80 && std::isalnum(u)) ? LowerAscii(c) : '_';
  }
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "_" + out;
  return out.substr(0, kMaxIdentifierLength);
}

std::string CatalogParser::Scalar(const YAML::Node& node, const std::string& path,
                                  const std::string& expected) {
  return yaml_.Scalar(node, path, ErrorCode::kCatalogInvalidValue, expected);
}

Rational CatalogParser::Number(const YAML::Node& node, const std::string& path) {
  return yaml_.Decimal(node, path, ErrorCode::kCatalogInvalidValue);
}

int64_t CatalogParser::PositiveInteger(const YAML::Node& node, const std::string& path) {
  Rational value = Number(node, path);
  std::optional<int64_t> as_int = boost::multiprecision::denominator(value) == 1
                                      ? ToInt64(boost::multiprecision::numerator(value))
                                      : std::nullopt;
  if (!as_int || *as_int < 1) {
    Fail(node, path, ErrorCode::kCatalogOutOfRange,
         "must be a whole number of at least 1, got '" + node.Scalar() + "'");
  }
  return *as_int;
}

bool CatalogParser::Bool(const YAML::Node& node, const std::string& path) {
  return yaml_.Bool(node, path, ErrorCode::kCatalogInvalidValue);
}

std::string CatalogParser::Identifier(const YAML::Node& node, const std::string& path,
                                      const std::string& what) {
  std::string text = Scalar(node, path, what);
  if (!IsIdentifier(text)) {
    Fail(node, path, ErrorCode::kCatalogInvalidIdentifier,
         "'" + text + "' is not a plain SQL identifier; " + what +
             " must use letters, digits and '_' only, starting with a letter or '_'");
  }
  return text;
}

}  // namespace dpql
