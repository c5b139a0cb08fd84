// Noise drawn ahead of need for the queries a catalog most often gets (engine.h).

#include <algorithm>

#include "compiler/common/error.h"
#include "compiler/compile.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/engine.h"
#include "runtime/release/release.h"

namespace dpql {

std::vector<NoiseSpec> Engine::PrefillNoise() {
  // Typical first queries at the defaults: what a release most often needs.
  std::vector<std::string> texts;
  for (const Dataset& dataset : catalog_.datasets) {
    for (const CatalogTable& table : dataset.tables) {
      if (!table.is_private) continue;
      std::vector<std::string> aggregates = {"COUNT(*)"};
      const CatalogColumn* key = nullptr;
      for (const CatalogColumn& column : table.columns) {
        if (column.name == dataset.privacy_unit) {
          aggregates.push_back("COUNT(DISTINCT " + column.name + ")");
        } else if ((column.type == ColumnType::kInt || column.type == ColumnType::kReal) &&
                   column.HasBounds()) {
          aggregates.push_back("SUM(" + column.name + ")");
          aggregates.push_back("AVG(" + column.name + ")");
        }
        if (key == nullptr && column.HasDomain() && column.name != dataset.privacy_unit) {
          key = &column;
        }
      }
      for (const std::string& aggregate : aggregates) {
        texts.push_back(dataset.name + '\0' + "SELECT " + aggregate + " FROM " + table.name);
        if (key != nullptr) {
          texts.push_back(dataset.name + '\0' + "SELECT " + key->name + ", " + aggregate + " FROM " +
                          table.name + " GROUP BY " + key->name);
        }
      }
    }
  }
  std::vector<NoiseSpec> specs;
  const size_t limit = NoisePools::Options{}.max_pools / 2;
  for (const std::string& entry : texts) {
    const size_t nul = entry.find('\0');
    try {
      const Dataset& dataset = ResolveDataset(entry.substr(0, nul));
      ast::Statement statement = ParseStatement(entry.substr(nul + 1));
      Plan plan = CompileSelect(dataset, *statement.select);
      for (const Measure& measure : plan.measures) {
        NoiseSpec spec = MeasureNoise(measure);
        if (std::find(specs.begin(), specs.end(), spec) == specs.end() && specs.size() < limit) {
          specs.push_back(spec);
        }
      }
    } catch (const DpqlError&) {
      // A query this catalog refuses (e.g. a key without a public domain) has no noise.
    }
  }
  noise_->Prefill(specs);
  return specs;
}

}  // namespace dpql
