#pragma once

#include <optional>

#include "runtime/noise/noise_source.h"
#include "runtime/random/random_source.h"
#include "runtime/release/result.h"

namespace dpql {

// Adds noise to exact aggregates and builds the released result: one discrete
// Laplace draw per (group, measure), shared by every output that uses that
// measure; counts clamped to >= 0; means clamped to the column's bounds; each
// value with its confidence interval from the exact noise distribution.
// Must be called only after the query's cost has been debited.
// Every draw comes from `noise` (the engine's pools drawn ahead of need).
// Then applies the SELECT's HAVING, ORDER BY and LIMIT (postprocess.h).
[[nodiscard]] QueryResult Release(const Plan& plan, const ExactAggregates& exact, NoiseSource& noise);
// The released answer before HAVING, ORDER BY and LIMIT: what the answer
// cache stores, so that each asker's own post-processing applies to it.
// With `noisy_measures`, also each released row's noisy measures before any
// clamping (a release's hierarchy is made consistent from these: clamped
// figures would bias its sums). They are noisy outputs, never exact values.
[[nodiscard]] QueryResult ReleaseAggregates(const Plan& plan, const ExactAggregates& exact, NoiseSource& noise,
                                            std::vector<std::vector<BigInt>>* noisy_measures = nullptr);
// The same, sampling directly from `rng` (tests inject a seeded source).
[[nodiscard]] QueryResult Release(const Plan& plan, const ExactAggregates& exact, RandomSource& rng);

// Where a measure's draws come from: its mechanism and scale.
NoiseSpec MeasureNoise(const Measure& measure);

// The half-width of a measure's confidence interval, in the measure's units.
int64_t MeasureHalfWidth(const Measure& measure, const Rational& confidence);

// The half-width of the interval Release() would report for `output`, at the
// plan's confidence, in a group whose count (COUNT(col) of the aggregated
// column) is `group_size` — computable before any data is read (EXPLAIN).
// Counts and sums: exact, whatever the data. AVG: the largest over where the
// mean lies (it is widest at a bound). VARIANCE and STDDEV: half the width of
// the interval for noise-free figures of a group whose mean is the bounds'
// midpoint and whose variance is half the largest possible. nullopt for keys.
std::optional<double> ExpectedHalfWidth(const Plan& plan, const PlanOutput& output, int64_t group_size);

}  // namespace dpql
