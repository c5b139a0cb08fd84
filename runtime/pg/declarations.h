#pragma once

// `dpqld admin check`: the catalog's declarations verified against the data,
// for the data guardian. The guarantees DPQL gives rest on them being true:
// a `unique` key that is false lets one person contribute more than the
// bounds derived from it (docs/LANGUAGE.md, "Bounds from declared
// structure"). Bounds and domains are checked too, for information: values
// outside them are clamped or fall outside every group, which is safe but
// biases answers. The counts go to the guardian only, never to analysts.

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/catalog/catalog.h"

namespace dpql {

struct DeclarationFinding {
  enum class Kind {
    kUnique,  // a unique key: `count` combinations of values held by more than one row
    kBounds,  // a column's bounds: `count` non-null values outside them (clamped)
    kDomain,  // a declared value list: `count` non-null values not in it (in no group)
  };
  Kind kind = Kind::kUnique;
  std::string table;
  std::string declaration;  // "unique (patient_id, day)", "age in [0, 110]", "sex in [F, M, X]"
  int64_t count = 0;        // 0 when the declaration holds
  // True for a declaration the privacy guarantee rests on (unique keys).
  bool violates_guarantee() const { return kind == Kind::kUnique && count > 0; }
};

// Every unique key, bound and value list of `dataset`'s tables, one
// statement each, in the catalog's order, on a connection of its own to
// `connection_string`. Throws DpqlError "database_error" when it cannot
// connect, or naming the table when a statement fails.
std::vector<DeclarationFinding> CheckDeclarations(const std::string& connection_string, const Dataset& dataset);

}  // namespace dpql
