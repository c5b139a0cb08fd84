#pragma once

// The guardian's declaration of what is private and what is public: datasets,
// the privacy unit, tables, column types, bounds and public domains, and the
// default and maximum privacy parameters. Loaded from YAML once at start.
// Bounds and domains are public facts; they are never read from the data.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/common/period.h"
#include "compiler/common/rational.h"

namespace dpql {

enum class ColumnType { kText, kInt, kReal, kDate, kBool };

const char* ColumnTypeName(ColumnType type);  // "text", "int", "real", "date", "bool"

struct CatalogColumn {
  std::string name;
  ColumnType type = ColumnType::kText;
  // Declared bounds, exact. For dates: days since 1970-01-01.
  std::optional<Rational> lower;
  std::optional<Rational> upper;
  std::string lower_text;  // as declared ("2020-01-01", "0") for messages and docs
  std::string upper_text;
  std::vector<std::string> domain;  // explicit public domain (`domain: [F, M, X]`)
  std::string domain_from_table;    // `domain_from: wards.ward_code`
  std::string domain_from_column;
  int line = 0;  // line in the catalog file, for messages

  bool HasBounds() const { return lower.has_value() && upper.has_value(); }
  bool HasDomain() const { return !domain.empty() || !domain_from_table.empty(); }
};

struct CatalogTable {
  std::string name;
  bool is_private = true;
  std::vector<CatalogColumn> columns;
  int line = 0;
  // Public structural facts (`unique: [[patient_id, day]]`): each list of
  // columns holds each combination of non-null values in at most one row.
  // The binder derives contribution bounds from them (docs/LANGUAGE.md,
  // "Bounds from declared structure"); `dpqld admin check` verifies them.
  std::vector<std::vector<std::string>> unique;
  // The table's own defaults (`defaults: { max_groups: 1, max_rows: 3 }`),
  // in place of the dataset's for queries on this table.
  std::optional<int64_t> max_groups;
  std::optional<int64_t> max_rows;

  const CatalogColumn* FindColumn(std::string_view name) const;  // case-insensitive
};

enum class Mechanism { kLaplace, kGaussian };
enum class Accounting { kBasic, kZcdp };

struct PrivacyDefaults {
  Rational epsilon{1};
  Rational delta{0};
  int64_t max_groups = 1;
  int64_t max_rows = 1;
  Rational confidence{Rational(95, 100)};
  Mechanism mechanism = Mechanism::kLaplace;
  // `mechanism: auto`: each query without its own `mechanism` gets the one
  // with the smaller noise at its (epsilon, delta) (the planner's choice).
  bool mechanism_auto = false;
};

// Absolute floors and ceilings of the per-query privacy parameters
// (docs/LANGUAGE.md, "WITH PRIVACY"). A catalog's limits and defaults must lie
// within them; the binder holds each query to the dataset's own limits. They
// keep every calculation on epsilon and delta (noise scales, the partition-
// selection threshold, the zCDP conversions, the ledger's units) finite and
// far from the edges of its arithmetic.
Rational AbsoluteMinEpsilon();  // 10^-6: the ledger's unit of epsilon
Rational AbsoluteMaxEpsilon();  // 100: beyond it the noise is almost surely 0
Rational AbsoluteMinDelta();    // 10^-20: ln(1/delta) <= 46.1
// Built-in defaults of limits.min_epsilon_per_query and the dataset-wide cap
// applied when the catalog declares none (docs/OPERATIONS.md).
Rational DefaultMinEpsilon();      // 0.001
Rational DefaultDatasetEpsilon();  // 50
Rational DefaultDatasetDelta();    // 10^-4
// The largest dataset-wide cap that may be declared (the ledger's integer
// units stay far from overflow below it); larger needs 'unlimited'.
Rational MaxDatasetEpsilon();  // 10^6
Rational MaxDatasetRho();      // 10^6
// The highest confidence level an interval may have (1 - 10^-9): keeps
// 1 - confidence and its logarithm well inside long double.
Rational MaxConfidence();

struct PrivacyLimits {
  // Per query: epsilon in [min_epsilon_per_query, max_epsilon_per_query];
  // delta 0 or in [min_delta_per_query, max_delta_per_query].
  Rational min_epsilon_per_query = DefaultMinEpsilon();
  Rational max_epsilon_per_query{1};
  Rational min_delta_per_query = AbsoluteMinDelta();
  Rational max_delta_per_query{Rational(1, 1000)};
  int64_t max_groups = 64;  // the largest max_groups a query may ask for
  int64_t max_rows = 64;    // the largest max_rows a query may ask for
  // Dataset-wide caps over all analysts together (unset = no cap). In a
  // dataset with zCDP accounting the cap is in rho: dataset_rho, or the
  // largest rho implying (dataset_epsilon, dataset_delta or defaults.delta).
  // The catalog fills in the default cap (DefaultDatasetEpsilon, and with
  // basic accounting DefaultDatasetDelta) for each one not declared; only an
  // explicit 'unlimited' leaves a component unset.
  std::optional<Rational> dataset_epsilon;
  std::optional<Rational> dataset_delta;
  std::optional<Rational> dataset_rho;
  // `dataset_period: day|week|month|year`: the caps above apply to each such
  // calendar period (UTC) instead of to the dataset's whole life.
  BudgetPeriod dataset_period = BudgetPeriod::kNone;
};

// Where a dataset's rows live (docs/SCALING.md). kSingle: in the server's
// own database. kSharded: split by the privacy unit over `servers`, each
// person's rows on exactly one. kFederated: each site keeps its own rows,
// and one person may appear at up to `max_sites_per_person` sites, under
// identifiers not linked across them. `servers` are foreign servers of the
// server's database (`dpqld admin add-server`); the statement generated for
// one database runs whole on each, and only its per-group totals come back.
enum class Placement { kSingle, kSharded, kFederated };

struct DataPlacement {
  Placement kind = Placement::kSingle;
  std::vector<std::string> servers;
  int64_t max_sites_per_person = 1;  // federated: the public bound; 1 otherwise
};

struct Dataset {
  std::string name;
  std::string privacy_unit;
  DataPlacement placement;
  PrivacyDefaults defaults;
  PrivacyLimits limits;
  Accounting accounting = Accounting::kBasic;
  std::vector<CatalogTable> tables;
  int line = 0;

  const CatalogTable* FindTable(std::string_view name) const;  // case-insensitive
};

struct Catalog {
  std::string source;  // file name, for messages
  std::vector<Dataset> datasets;

  const Dataset* FindDataset(std::string_view name) const;
  // The only dataset when there is exactly one; nullptr otherwise.
  const Dataset* DefaultDataset() const;
};

// Parses and fully validates a catalog. Throws DpqlError(kCatalog) naming the
// file, the key path and the line: "catalog.yaml:12: datasets.hospital.tables.
// admissions.columns.age.lower: expected a number, got 'zero'".
Catalog ParseCatalog(std::string_view yaml_text, std::string_view source_name);
Catalog LoadCatalog(const std::string& path);

}  // namespace dpql
