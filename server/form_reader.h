#pragma once

// What the dashboards file and the releases file read alike (server/dashboards.cpp,
// server/releases.cpp): names, texts, known keys, parameters with a default,
// and a DPQL query compiled with sample parameter values — every error as
// "file:line: key.path: what is wrong and what to write instead"
// (DpqlError "config_error").

#include <initializer_list>
#include <string>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/common/yaml.h"
#include "server/dashboards.h"

namespace dpql {

bool IsFormName(const std::string& name);  // 1-63 letters, digits, '_' or '-'
bool IsFormDate(const std::string& text);  // YYYY-MM-DD (digits in place)

class FormReader {
 public:
  FormReader(const std::string& source, const Catalog& catalog) : yaml_(source, false), catalog_(catalog) {}

  const YamlReader& yaml() const { return yaml_; }

  // The file's one top-level key `key` ("dashboards", "releases"): a
  // non-empty mapping of entries by name, as in `example`.
  YAML::Node Entries(const YAML::Node& root, const std::string& key, const std::string& example) const;
  std::string Name(const YAML::Node& key, const std::string& path, const char* what) const;
  std::string Text(const YAML::Node& node, const std::string& path) const;
  // The keys of `node` must be among `known`; `required` ones must be present.
  void Keys(const YAML::Node& node, const std::string& path, std::initializer_list<const char*> known,
            std::initializer_list<const char*> required) const;
  // A public table of the dataset, by name.
  const CatalogTable& PublicTable(const YAML::Node& at, const std::string& path, const Dataset& dataset,
                                  const std::string& name) const;
  void Column(const YAML::Node& at, const std::string& path, const CatalogTable& table,
              const std::string& name) const;
  // `dataset:` of `node`, or the catalog's only dataset.
  const Dataset& DatasetOf(const YAML::Node& node, const std::string& path) const;
  // One entry of `parameters:`.
  DashboardParameter ReadParameter(const YAML::Node& key, const YAML::Node& node, const std::string& parent,
                                   const Dataset& dataset) const;
  // `query` with the parameters' defaults substituted must be one SELECT that
  // compiles against `dataset`; returns that text.
  std::string CheckQuery(const YAML::Node& query, const std::string& path, const std::string& text,
                         const std::vector<DashboardParameter>& parameters, const Dataset& dataset) const;

 protected:
  YamlReader yaml_;
  const Catalog& catalog_;
};

}  // namespace dpql
