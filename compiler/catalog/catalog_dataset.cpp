// A dataset's section of the catalog: the privacy unit, limits, defaults and
// accounting, then its tables (catalog_table.cpp) and the rules across them
// (catalog_checks.cpp).

#include "compiler/catalog/catalog_parser.h"
#include "compiler/common/text.h"

namespace dpql {

namespace {

// Where a limit a default is checked against comes from, for messages.
std::string LimitOrigin(const std::map<std::string, YAML::Node>& limit_nodes, const std::string& key) {
  return limit_nodes.count(key) != 0
             ? "limits." + key + " (line " + std::to_string(YamlLine(limit_nodes.at(key))) + ")"
             : "the built-in limits." + key;
}

}  // namespace

Dataset CatalogParser::ParseDataset(const Entry& entry, const std::string& path) {
  Dataset dataset;
  dataset.name = entry.key;
  dataset.line = YamlLine(entry.key_node);
  std::vector<Entry> entries =
      SectionEntries(entry, path, "dataset", {"privacy_unit", "defaults", "limits", "accounting", "shards", "sites",
                                              "max_sites_per_person", "tables"});

  const Entry* unit = Find(entries, "privacy_unit");
  if (unit == nullptr) {
    Fail(entry.key_node, path, ErrorCode::kCatalogMissingKey,
         "missing key 'privacy_unit'; name the column that identifies one person in every private "
         "table, e.g. 'privacy_unit: patient_id'");
  }
  dataset.privacy_unit = Identifier(unit->value, JoinPath(path, "privacy_unit"), "the privacy unit");

  // Limits first: the defaults are checked against them.
  LimitNodes limit_nodes;
  if (const Entry* limits = Find(entries, "limits")) {
    ParseLimits(*limits, JoinPath(path, "limits"), dataset, limit_nodes);
  }

  if (const Entry* defaults = Find(entries, "defaults")) {
    ParseDefaults(*defaults, JoinPath(path, "defaults"), dataset, limit_nodes);
  }
  CheckDefaultEpsilon(dataset, limit_nodes, path);

  ParseAccounting(entries, path, dataset);
  CheckAccounting(dataset, entries, limit_nodes, path);
  ApplyDefaultCap(dataset, limit_nodes);
  ParsePlacement(entries, path, dataset);

  std::vector<Entry> named =
      RequiredNamedEntries(entry.key_node, entries, path, "tables", "table",
                           "declare the dataset's tables under 'tables:'", "declare at least one table");
  std::string tpath = JoinPath(path, "tables");
  for (const Entry& t : named) {
    dataset.tables.push_back(ParseTable(t, JoinPath(tpath, t.key), dataset.limits));
  }
  CheckPrivacyUnit(dataset, named, tpath);
  ResolveDomains(dataset, tpath);
  return dataset;
}

// accounting: basic (epsilon and delta add up) or zcdp (rho adds up).
void CatalogParser::ParseAccounting(const std::vector<Entry>& entries, const std::string& path,
                                    Dataset& dataset) {
  const Entry* accounting = Find(entries, "accounting");
  if (accounting == nullptr) return;
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

// shards: [server, ...] (sharded by the privacy unit) or sites: [server, ...]
// with max_sites_per_person (federated). Each name is a foreign server of the
// server's database; see DataPlacement.
void CatalogParser::ParsePlacement(const std::vector<Entry>& entries, const std::string& path,
                                   Dataset& dataset) {
  const Entry* shards = Find(entries, "shards");
  const Entry* sites = Find(entries, "sites");
  const Entry* most = Find(entries, "max_sites_per_person");
  if (shards != nullptr && sites != nullptr) {
    Fail(sites->key_node, JoinPath(path, "sites"), ErrorCode::kCatalogInvalidValue,
         "a dataset is either sharded ('shards:') or federated ('sites:'), not both; keep one");
  }
  if (most != nullptr && sites == nullptr) {
    Fail(most->key_node, JoinPath(path, "max_sites_per_person"), ErrorCode::kCatalogInvalidValue,
         "max_sites_per_person applies to a federated dataset only; declare its 'sites:' or remove the key");
  }
  const Entry* list = shards != nullptr ? shards : sites;
  if (list == nullptr) return;
  const std::string lpath = JoinPath(path, list->key);
  const std::string example = list == shards ? "e.g. 'shards: [shard_1, shard_2, shard_3]'"
                                             : "e.g. 'sites: [leeds, york, hull]'";
  if (!list->value.IsSequence() || list->value.size() == 0) {
    Fail(list->value, lpath, ErrorCode::kCatalogWrongShape,
         "expected a list of foreign server names, " + example + "; got " + DescribeYamlNode(list->value));
  }
  DataPlacement& placement = dataset.placement;
  for (YAML::Node item : list->value) {
    std::string name = Identifier(item, lpath, "a foreign server name");
    for (const std::string& seen : placement.servers) {
      if (seen == name) {
        Fail(item, lpath, ErrorCode::kCatalogInvalidValue,
             "server '" + name + "' is listed twice; each holds its own rows, so list it once");
      }
    }
    placement.servers.push_back(std::move(name));
  }
  if (placement.servers.size() > 64) {
    Fail(list->value, lpath, ErrorCode::kCatalogInvalidValue,
         "at most 64 servers may be listed; got " + std::to_string(placement.servers.size()));
  }
  if (list == shards) {
    placement.kind = Placement::kSharded;
    return;
  }
  placement.kind = Placement::kFederated;
  if (most == nullptr) {
    Fail(sites->key_node, JoinPath(path, "max_sites_per_person"), ErrorCode::kCatalogMissingKey,
         "a federated dataset needs 'max_sites_per_person': the most sites one person's rows can be at "
         "(a public fact; each person's contribution counts that many times), e.g. 'max_sites_per_person: 2'");
  }
  const std::string mpath = JoinPath(path, "max_sites_per_person");
  placement.max_sites_per_person = PositiveInteger(most->value, mpath);
  if (placement.max_sites_per_person > static_cast<int64_t>(placement.servers.size())) {
    Fail(most->value, mpath, ErrorCode::kCatalogInvalidValue,
         "max_sites_per_person is " + std::to_string(placement.max_sites_per_person) + " but only " +
             std::to_string(placement.servers.size()) + " sites are listed; it can be at most that");
  }
}

// limits: the per-query ranges of epsilon and delta (within the absolute
// floors and ceilings, see catalog.h), max_groups and max_rows, and the
// dataset-wide caps (a number, or 'unlimited').
void CatalogParser::ParseLimits(const Entry& limits, const std::string& lpath, Dataset& dataset,
                                LimitNodes& limit_nodes) {
  std::vector<Entry> items = Entries(limits.value, lpath, "limits");
  CheckKeys(items, lpath,
            {"min_epsilon_per_query", "max_epsilon_per_query", "min_delta_per_query", "max_delta_per_query",
             "max_groups", "max_rows", "dataset_epsilon", "dataset_delta", "dataset_rho", "dataset_period"});
  PrivacyLimits& l = dataset.limits;
  for (const Entry& e : items) {
    std::string p = JoinPath(lpath, e.key);
    limit_nodes[e.key] = e.value;
    ParseLimit(e, p, l);
  }
  CheckLimitRanges(l, limit_nodes, lpath);
}

// One key of limits.
void CatalogParser::ParseLimit(const Entry& e, const std::string& p, PrivacyLimits& l) {
  if (e.key == "min_epsilon_per_query" || e.key == "max_epsilon_per_query") {
    Rational value = Number(e.value, p);
    if (value <= 0) {
      Fail(e.value, p, ErrorCode::kCatalogOutOfRange,
           "must be greater than 0, got '" + e.value.Scalar() + "'");
    }
    if (value < AbsoluteMinEpsilon() || value > AbsoluteMaxEpsilon()) {
      Fail(e.value, p, ErrorCode::kCatalogOutOfRange,
           "must be from 0.000001 to 100 (the absolute range of epsilon per query, see "
           "docs/LANGUAGE.md), got '" +
               e.value.Scalar() + "'");
    }
    (e.key == "min_epsilon_per_query" ? l.min_epsilon_per_query : l.max_epsilon_per_query) = value;
  } else if (e.key == "min_delta_per_query") {
    l.min_delta_per_query = Number(e.value, p);
    if (l.min_delta_per_query < AbsoluteMinDelta() || l.min_delta_per_query >= 1) {
      Fail(e.value, p, ErrorCode::kCatalogOutOfRange,
           "must be at least 1e-20 (the absolute floor of delta per query, see "
           "docs/LANGUAGE.md) and less than 1, got '" +
               e.value.Scalar() + "'");
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
  } else if (e.key == "dataset_period") {
    const std::string text = Scalar(e.value, p, "day, week, month or year");
    std::optional<BudgetPeriod> period = ParsePeriod(text);
    if (!period) {
      Fail(e.value, p, ErrorCode::kCatalogInvalidValue,
           "unknown period '" + text +
               "'; expected day, week, month or year (leave the key out for a cap over the dataset's life)");
    }
    l.dataset_period = *period;
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

void CatalogParser::CheckLimitRanges(const PrivacyLimits& l, const LimitNodes& limit_nodes,
                                     const std::string& lpath) {
  // An empty range of `name` (epsilon, delta), reported at its minimum if
  // declared, else at its maximum.
  auto fail_empty = [&](const std::string& name, const Rational& min, const Rational& max,
                        const std::string& consequence) {
    const std::string min_key = "min_" + name + "_per_query";
    const std::string max_key = "max_" + name + "_per_query";
    const std::string key = limit_nodes.count(min_key) != 0 ? min_key : max_key;
    Fail(limit_nodes.at(key), JoinPath(lpath, key), ErrorCode::kCatalogOutOfRange,
         min_key + " (" + ToDecimalString(min) + ") is above " + max_key + " (" + ToDecimalString(max) +
             "); " + consequence);
  };
  // The ranges must not be empty (a delta range only matters when delta > 0 is allowed).
  if (l.min_epsilon_per_query > l.max_epsilon_per_query) {
    fail_empty("epsilon", l.min_epsilon_per_query, l.max_epsilon_per_query, "no epsilon would be allowed");
  }
  if (l.max_delta_per_query > 0 && l.min_delta_per_query > l.max_delta_per_query) {
    fail_empty("delta", l.min_delta_per_query, l.max_delta_per_query,
               "set max_delta_per_query: 0 to allow no delta at all");
  }
}

bool CatalogParser::IsUnlimited(const YAML::Node& node) {
  return node.IsScalar() && LowerAscii(node.Scalar()) == "unlimited";
}

void CatalogParser::ParseDefaults(const Entry& defaults, const std::string& path, Dataset& dataset,
                                  const LimitNodes& limit_nodes) {
  std::vector<Entry> items = Entries(defaults.value, path, "defaults");
  CheckKeys(items, path, {"epsilon", "delta", "max_groups", "max_rows", "confidence", "mechanism"});
  const PrivacyDefaults& d = dataset.defaults;
  for (const Entry& e : items) {
    std::string p = JoinPath(path, e.key);
    ParseDefault(e, p, dataset, limit_nodes);
  }
  if (d.mechanism == Mechanism::kGaussian && d.delta == 0) {
    const Entry* mechanism = Find(items, "mechanism");
    Fail(mechanism->value, JoinPath(path, "mechanism"), ErrorCode::kCatalogOutOfRange,
         "the gaussian mechanism needs delta > 0; set defaults.delta (e.g. 1.0e-6) or use laplace");
  }
}

// One key of defaults, checked against the limits.
void CatalogParser::ParseDefault(const Entry& e, const std::string& p, Dataset& dataset,
                                 const LimitNodes& limit_nodes) {
  PrivacyDefaults& d = dataset.defaults;
  const PrivacyLimits& l = dataset.limits;
  if (e.key == "epsilon") {
    d.epsilon = Number(e.value, p);
    if (d.epsilon <= 0) {
      Fail(e.value, p, ErrorCode::kCatalogOutOfRange,
           "must be greater than 0, got '" + e.value.Scalar() + "'");
    }
    if (d.epsilon < l.min_epsilon_per_query) {
      Fail(e.value, p, ErrorCode::kCatalogBelowLimit,
           "default epsilon " + e.value.Scalar() + " is below " +
               LimitOrigin(limit_nodes, "min_epsilon_per_query") + " = " +
               ToDecimalString(l.min_epsilon_per_query) +
               "; raise the default or lower the limit (to at least 0.000001)");
    }
    if (d.epsilon > l.max_epsilon_per_query) {
      Fail(e.value, p, ErrorCode::kCatalogAboveLimit,
           "default epsilon " + e.value.Scalar() + " is above " +
               LimitOrigin(limit_nodes, "max_epsilon_per_query") + " = " +
               ToDecimalString(l.max_epsilon_per_query) + "; lower the default or raise the limit");
    }
  } else if (e.key == "delta") {
    d.delta = Number(e.value, p);
    if (d.delta < 0 || d.delta >= 1) {
      Fail(e.value, p, ErrorCode::kCatalogOutOfRange,
           "must be at least 0 and less than 1, got '" + e.value.Scalar() + "'");
    }
    if (d.delta > 0 && d.delta < l.min_delta_per_query) {
      Fail(e.value, p, ErrorCode::kCatalogBelowLimit,
           "default delta " + e.value.Scalar() + " is below " +
               LimitOrigin(limit_nodes, "min_delta_per_query") + " = " +
               ToDecimalString(l.min_delta_per_query) + "; use 0 (no delta) or a delta of at least that");
    }
    if (d.delta > l.max_delta_per_query) {
      Fail(e.value, p, ErrorCode::kCatalogAboveLimit,
           "default delta " + e.value.Scalar() + " is above " +
               LimitOrigin(limit_nodes, "max_delta_per_query") + " = " +
               ToDecimalString(l.max_delta_per_query) + "; lower the default or raise the limit");
    }
  } else if (e.key == "max_groups" || e.key == "max_rows") {
    int64_t value = PositiveInteger(e.value, p);
    int64_t limit = e.key == "max_groups" ? l.max_groups : l.max_rows;
    if (value > limit) {
      Fail(e.value, p, ErrorCode::kCatalogAboveLimit,
           "default " + e.key + " " + std::to_string(value) + " is above " + LimitOrigin(limit_nodes, e.key) +
               " = " + std::to_string(limit) + "; lower the default or raise the limit");
    }
    (e.key == "max_groups" ? d.max_groups : d.max_rows) = value;
  } else if (e.key == "confidence") {
    d.confidence = Number(e.value, p);
    if (d.confidence <= 0 || d.confidence > MaxConfidence()) {
      Fail(e.value, p, ErrorCode::kCatalogOutOfRange,
           "must be above 0 and at most " + ToDecimalString(MaxConfidence()) + ", e.g. 0.95; got '" +
               e.value.Scalar() + "'");
    }
  } else if (e.key == "mechanism") {
    std::string text = Scalar(e.value, p, "laplace, gaussian or auto");
    if (text == "laplace") {
      d.mechanism = Mechanism::kLaplace;
    } else if (text == "gaussian") {
      d.mechanism = Mechanism::kGaussian;
    } else if (text == "auto") {
      d.mechanism = Mechanism::kLaplace;  // unless the planner finds the Gaussian better
      d.mechanism_auto = true;
    } else {
      Fail(e.value, p, ErrorCode::kCatalogInvalidValue,
           "unknown mechanism '" + text + "'; expected laplace, gaussian or auto");
    }
  }
}

}  // namespace dpql
