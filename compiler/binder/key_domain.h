#pragma once

// Internal to compiler/binder: the calendar arithmetic and the size limit
// shared by the key binders (bind_key.cpp) and the domain narrowing
// (key_domain.cpp).

#include <cstdint>
#include <string>

namespace dpql {

// The most keys one query may output; beyond this a result is more noise than
// signal and the generated domain would be large.
constexpr int64_t kMaxDomainSize = 100000;

// date_trunc(unit, day) in days since 1970-01-01, as PostgreSQL computes it.
int64_t TruncateDays(int64_t days, const std::string& unit);

// The number of `unit` steps from `first` to `last` (both truncated), inclusive.
int64_t CountSteps(int64_t first, int64_t last, const std::string& unit);

}  // namespace dpql
