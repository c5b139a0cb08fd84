#pragma once

#include "runtime/release/result.h"

namespace dpql {

// Applies HAVING, ORDER BY and LIMIT to a released (noisy) result. Pure
// post-processing: it sees only noisy values. Rows keep their intervals.
void PostProcess(const BoundSelect& select, QueryResult& result);

}  // namespace dpql
