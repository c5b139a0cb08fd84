#pragma once

// Internal to compiler/binder: the calendar arithmetic and the size limit
// shared by the key binders (bind_key.cpp) and the domain narrowing
// (key_domain.cpp).

#include <cstdint>
#include <optional>
#include <string>

#include "compiler/binder/bound.h"

namespace dpql {

// The most keys one query may output; beyond this a result is more noise than
// signal and the generated domain would be large.
constexpr int64_t kMaxDomainSize = 100000;

// date_trunc(unit, day) in days since 1970-01-01, as PostgreSQL computes it.
int64_t TruncateDays(int64_t days, const std::string& unit);

// The number of `unit` steps from `first` to `last` (both truncated), inclusive.
int64_t CountSteps(int64_t first, int64_t last, const std::string& unit);

// How many values of `column` (a column of the FROM table, as a bound
// column expression) a row that passes WHERE can hold, read from WHERE's
// top-level AND conjuncts: 1 for `column = constant`, the constants of
// `column IN (...)`, the whole numbers (days) of a closed range on an int or
// date column (=, <, <=, >, >=, BETWEEN). Every such conjunct also excludes
// NULL. nullopt when WHERE (null: no WHERE) admits unboundedly many.
std::optional<BigInt> AdmittedValueCount(const BoundExpr* where, const BoundExpr& column);

}  // namespace dpql
