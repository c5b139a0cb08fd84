#pragma once

// The answer cache's notion of "the same query": computed from the planned
// query, never from its text, so that whitespace, keyword case, comments,
// output and table alias names and the order of AND-ed (or OR-ed) predicates
// do not matter, while anything that changes the released figures — the data
// read, the bounding, the measures and their noise, the privacy parameters —
// does.

#include <string>

#include "compiler/planner/plan.h"

namespace dpql {

// Puts every chain of ANDs (and of ORs) in plan.select.where into one order
// (flattened, sorted by a canonical rendering of each operand) and generates
// the SQL again. The query means the same; only its text is canonical.
void CanonicalizePredicates(Plan& plan);

// An unambiguous rendering of everything that determines the released answer
// before post-processing: the dataset, the generated SQL and its parameters
// (which fix the table, filter, keys, domains and bounding), the measures with
// their sensitivities, epsilon shares and scales, the outputs (by kind and
// position, not by name), partition selection, the cost and the privacy
// parameters (epsilon, delta, mechanism, max_groups, max_rows, confidence).
// HAVING, ORDER BY and LIMIT are left out: the cache stores the answer before
// them and re-applies the asker's own. Call after CanonicalizePredicates.
std::string CanonicalPlanText(const Plan& plan);

// SHA-256 of CanonicalPlanText, as 64 hex digits.
std::string CanonicalPlanHash(const Plan& plan);

}  // namespace dpql
