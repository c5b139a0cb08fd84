// Numeric robustness of the privacy parameters (docs/LANGUAGE.md, "WITH
// PRIVACY"): an epsilon or delta outside the dataset's floors and ceilings is
// refused by the binder with a positioned, coded message, whatever its size
// (1e-400, the smallest denormal, 1e300, ...); every legal extreme compiles
// to finite calibrations, and the partition-selection threshold is at least
// the exact bound, checked against 50-digit arithmetic.

#include <gtest/gtest.h>

#include <boost/multiprecision/cpp_bin_float.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/common/zcdp.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/ledger/ledger.h"

namespace dpql {
namespace {

using Float50 = boost::multiprecision::cpp_bin_float_50;

// No min_* limits: the built-in floors apply (epsilon 0.001, delta 1e-20).
constexpr const char* kCatalog = R"(
datasets:
  clinic:
    privacy_unit: person
    defaults: { epsilon: 1.0, delta: 0, max_groups: 2, max_rows: 3 }
    limits: { max_epsilon_per_query: 4, max_groups: 64 }
    tables:
      visits:
        private: true
        columns:
          person: { type: text }
          site:   { type: text, domain: [a, b, c, d, e] }
          cost:   { type: real, lower: -50.5, upper: 1000.25 }
          age:    { type: int, lower: 0, upper: 100 }
          note:   { type: text }
)";

Plan Compile(const Catalog& catalog, const std::string& text) {
  ast::Statement statement = ParseStatement(text);
  return CompileSelect(*catalog.DefaultDataset(), *statement.select);
}

// The three query shapes each parameter is tried with: Laplace without and
// with private partition selection (a key with no domain), and the Gaussian.
struct Shape {
  const char* name;
  std::string query;   // ends with "WITH PRIVACY (" + options + ")"
  std::string others;  // options added after the one under test
};

const std::vector<Shape>& Shapes() {
  static const std::vector<Shape> shapes = {
      {"laplace", "SELECT site, COUNT(*), AVG(cost) FROM visits GROUP BY site", ""},
      {"laplace with partition selection", "SELECT note, COUNT(*) FROM visits GROUP BY note",
       ", delta = 1e-6"},
      {"gaussian", "SELECT site, COUNT(*), SUM(cost) FROM visits GROUP BY site",
       ", mechanism = gaussian, delta = 1e-6"},
  };
  return shapes;
}

// Compiles `shape` with `option = value` first in WITH PRIVACY and expects a
// refusal with `code`, located at the value, whose message contains `part`.
void ExpectRefused(const Catalog& catalog, const Shape& shape, const std::string& option,
                   const std::string& value, const std::string& code, const std::string& part,
                   const std::string& others) {
  const std::string prefix = shape.query + " WITH PRIVACY (" + option + " = ";
  const std::string text = prefix + value + others + ");";
  SCOPED_TRACE(text);
  try {
    Plan plan = Compile(catalog, text);
    ADD_FAILURE() << "accepted: threshold " << plan.selection_threshold << ", cost epsilon "
                  << ToDecimalString(plan.cost.epsilon) << ", delta " << ToDecimalString(plan.cost.delta);
  } catch (const DpqlError& e) {
    EXPECT_EQ(std::string(Name(e.code())), code) << e.what();
    EXPECT_EQ(e.location().line, 1u);
    EXPECT_EQ(e.location().column, prefix.size() + 1) << "the refusal points at the value";
    EXPECT_NE(e.message().find(part), std::string::npos) << e.what();
  }
}

const std::vector<std::string>& TinyValues() {
  // Beyond double (1e-400), the smallest denormal and below it, other
  // denormals, the smallest normal double, and tiny normal values.
  static const std::vector<std::string> values = {"1e-400",   "5e-324", "4.9e-324",
                                                  "2.5e-324", "1e-310", "2.2250738585072014e-308",
                                                  "1e-300",   "1e-30",  "0.000000000000000000001"};
  return values;
}

TEST(PrivacyParamsTest, EpsilonOutsideTheFloorAndTheCeilingIsRefused) {
  const Catalog catalog = ParseCatalog(kCatalog, "test.yaml");
  for (const Shape& shape : Shapes()) {
    SCOPED_TRACE(shape.name);
    for (const std::string& value : TinyValues()) {
      ExpectRefused(catalog, shape, "epsilon", value, "epsilon_too_small", "ask for epsilon from 0.001 to 4",
                    shape.others);
    }
    ExpectRefused(catalog, shape, "epsilon", "0.000999", "epsilon_too_small",
                  "below this dataset's floor of 0.001", shape.others);
    for (const char* value : {"0", "0.0", "0e-400", "-1", "-1e-300", "-1e300"}) {
      ExpectRefused(catalog, shape, "epsilon", value, "invalid_privacy_option",
                    "epsilon must be greater than 0", shape.others);
    }
    for (const char* value : {"1e300", "1e400", "4.000001", "1.7976931348623157e308"}) {
      ExpectRefused(catalog, shape, "epsilon", value, "epsilon_too_large",
                    "exceeds this dataset's limit of 4", shape.others);
    }
  }
}

TEST(PrivacyParamsTest, DeltaOutsideItsRangeIsRefused) {
  const Catalog catalog = ParseCatalog(kCatalog, "test.yaml");
  // The option under test comes first; the shapes' own delta is left out.
  const std::vector<std::pair<std::string, std::string>> shapes = {
      {"SELECT site, COUNT(*) FROM visits GROUP BY site", ""},
      {"SELECT note, COUNT(*) FROM visits GROUP BY note", ""},
      {"SELECT site, COUNT(*) FROM visits GROUP BY site", ", mechanism = gaussian"},
  };
  for (const auto& [query, others] : shapes) {
    const Shape shape{"", query, others};
    SCOPED_TRACE(query + others);
    for (const std::string& value : TinyValues()) {  // every one below 1e-20
      ExpectRefused(catalog, shape, "delta", value, "delta_too_small",
                    "ask for delta = 0 or a delta from 1e-20 to 0.001", others);
    }
    ExpectRefused(catalog, shape, "delta", "9.99e-21", "delta_too_small",
                  "below this dataset's floor of 1e-20", others);
    for (const char* value : {"-1e-400", "-1", "1", "1e300", "1e400"}) {
      ExpectRefused(catalog, shape, "delta", value, "invalid_privacy_option",
                    "delta must be at least 0 and below 1", others);
    }
    for (const char* value : {"0.0011", "0.5", "0.999999999999999999999"}) {
      ExpectRefused(catalog, shape, "delta", value, "delta_too_large",
                    "exceeds this dataset's limit of 0.001", others);
    }
  }
}

// delta = 0: Laplace is pure epsilon-DP; the Gaussian and partition selection
// need delta > 0 and say so.
TEST(PrivacyParamsTest, DeltaZeroIsPureOrRefusedWhereDeltaIsNeeded) {
  const Catalog catalog = ParseCatalog(kCatalog, "test.yaml");
  EXPECT_EQ(Compile(catalog, "SELECT COUNT(*) FROM visits WITH PRIVACY (delta = 0);").cost.delta, 0);
  auto code = [&](const std::string& text) {
    try {
      Compile(catalog, text);
      return std::string("accepted");
    } catch (const DpqlError& e) {
      return std::string(Name(e.code()));
    }
  };
  EXPECT_EQ(code("SELECT COUNT(*) FROM visits WITH PRIVACY (mechanism = gaussian, delta = 0);"),
            "gaussian_needs_delta");
  EXPECT_EQ(code("SELECT note, COUNT(*) FROM visits GROUP BY note WITH PRIVACY (delta = 0);"),
            "no_public_domain");
}

// The exact smallest k >= 1 with P(X >= k) = r^k / (1 + r) <= target, X
// discrete Laplace with r = exp(-1/scale), in 50-digit arithmetic.
int64_t ExactK(const Rational& scale, const Float50& target) {
  const Float50 s =
      Float50(boost::multiprecision::numerator(scale)) / Float50(boost::multiprecision::denominator(scale));
  const Float50 r = exp(-1 / s);
  auto tail = [&](int64_t k) { return pow(r, k) / (1 + r); };
  Float50 estimate = ceil(s * (log(1 / target) - log1p(r)));
  int64_t k = estimate < 1 ? 1 : estimate.convert_to<int64_t>();
  while (k > 1 && tail(k - 1) <= target) --k;
  while (tail(k) > target) ++k;
  return k;
}

// The threshold T releases a one-person group when 1 + X >= T. For legal
// extremes (epsilon from 0.001 to 4 over up to 64 groups and a few measures,
// delta from 1e-20 to 0.5), P(1 + X >= T) must be at most the per-group
// delta in exact terms — delta / G, and so also 1 - (1 - delta)^(1/G) — and T
// must be within the one step of margin the planner adds.
TEST(PrivacyParamsTest, ThresholdForLegalExtremesIsAtLeastTheExactBound) {
  const Rational tiny_delta(BigInt(1), boost::multiprecision::pow(BigInt(10), 20));
  std::vector<Rational> scales = {Rational(1, 4),
                                  Rational(1, 2),
                                  Rational(1),
                                  Rational(3),
                                  Rational(64 * 3) / Rational(1, 1000),  // 192000
                                  Rational(640000),
                                  Rational(7, 3)};
  std::vector<Rational> deltas = {tiny_delta, Rational(1, 1000000000000), Rational(1, 1000000),
                                  Rational(1, 1000), Rational(1, 2)};
  for (const Rational& scale : scales) {
    for (const Rational& delta : deltas) {
      for (int64_t groups : {1, 2, 64, 1000}) {
        SCOPED_TRACE("scale " + ToDecimalString(scale) + ", delta " + ToDecimalString(delta) +
                     ", max_groups " + std::to_string(groups));
        const int64_t threshold = PartitionSelectionThreshold(scale, delta, groups);
        const Float50 d = Float50(boost::multiprecision::numerator(delta)) /
                          Float50(boost::multiprecision::denominator(delta));
        const Float50 per_group = d / groups;
        const Float50 google_per_group = 1 - pow(1 - d, Float50(1) / groups);
        ASSERT_LE(per_group, google_per_group * (1 + Float50(1e-40)));  // equal for G = 1
        const int64_t k = ExactK(scale, per_group);
        // Released when X >= T - 1: safe exactly when T - 1 >= k.
        EXPECT_GE(threshold - 1, k) << "the threshold is below the exact bound";
        EXPECT_LE(threshold - 1, k + 2) << "more than the planner's margin above the bound";
      }
    }
  }
}

// Parameters nothing legal produces: refused with a code, never an
// overflowed or undefined integer (the former code returned about -2^63
// for delta = 1e-5000, releasing every group).
TEST(PrivacyParamsTest, ThresholdRefusesParametersItCannotComputeInsteadOfOverflowing) {
  const BigInt huge = boost::multiprecision::pow(BigInt(10), 5000);
  const std::vector<std::tuple<Rational, Rational, int64_t>> cases = {
      {Rational(10), Rational(BigInt(1), huge), 1},  // delta below long double
      {Rational(huge), Rational(1, 1000000), 1},     // scale beyond long double
      {Rational(BigInt(10) * boost::multiprecision::pow(BigInt(10), 30)), Rational(1, 1000000), 4},
      {Rational(10), Rational(0), 1},          // no delta
      {Rational(10), Rational(1), 1},          // delta 1
      {Rational(0), Rational(1, 1000000), 1},  // no noise
  };
  for (const auto& [scale, delta, groups] : cases) {
    SCOPED_TRACE("scale " + ToDecimalString(scale) + ", delta " + ToDecimalString(delta));
    try {
      const int64_t threshold = PartitionSelectionThreshold(scale, delta, groups);
      ADD_FAILURE() << "returned " << threshold;
    } catch (const DpqlError& e) {
      EXPECT_EQ(std::string(Name(e.code())), "selection_threshold_out_of_range") << e.what();
      EXPECT_EQ(e.kind(), ErrorKind::kPrivacy);
    }
  }
}

// Every legal extreme compiles to positive, finite calibrations; with
// partition selection the delta charged is exactly the delta the threshold
// was computed for, and the ledger rounds it up, never down to nothing.
TEST(PrivacyParamsTest, LegalExtremesCompileToFiniteCalibrationsAndAreChargedInFull) {
  const Catalog catalog = ParseCatalog(kCatalog, "test.yaml");
  for (const char* epsilon : {"0.001", "0.0010000000000000000001", "4"}) {
    for (const char* delta : {"1e-20", "0.00000000000000000001", "1e-12", "0.001"}) {
      for (const char* groups : {"1", "64"}) {
        const std::string options =
            std::string("epsilon = ") + epsilon + ", delta = " + delta + ", max_groups = " + groups + ")";
        SCOPED_TRACE(options);
        const Rational d = *ParseDecimal(delta);
        Plan selected = Compile(catalog,
                                "SELECT note, COUNT(*), AVG(cost) FROM visits GROUP BY note "
                                "WITH PRIVACY (" +
                                    options);
        ASSERT_TRUE(selected.partition_selection);
        EXPECT_GE(selected.selection_threshold, 3);
        EXPECT_LE(selected.selection_threshold, 1000000000000000);
        EXPECT_EQ(selected.cost.delta, d);
        EXPECT_EQ(selected.cost.epsilon, *ParseDecimal(epsilon));
        const int64_t t = PartitionSelectionThreshold(selected.measures[selected.selection_measure].scale, d,
                                                      selected.groups_bound);
        EXPECT_EQ(selected.selection_threshold, t);
        const BudgetCost charged = BudgetCost::FromCost(selected.cost.epsilon, selected.cost.delta);
        EXPECT_GE(charged.Delta(), d);
        EXPECT_GE(charged.delta_pico, 1);
        EXPECT_GE(charged.Epsilon(), selected.cost.epsilon);

        Plan gaussian = Compile(catalog,
                                "SELECT site, COUNT(*), SUM(cost) FROM visits GROUP BY site "
                                "WITH PRIVACY (mechanism = gaussian, " +
                                    options);
        EXPECT_EQ(gaussian.cost.delta, d);
        EXPECT_GT(gaussian.cost.rho, 0);
        // sigma^2 is rounded up: the measures together stay within the rho
        // that implies the query's (epsilon, delta).
        EXPECT_LE(gaussian.cost.rho, RhoForEpsilonDelta(*ParseDecimal(epsilon), d));
        for (const Measure& m : gaussian.measures) {
          EXPECT_GT(m.sigma2, 0);
          EXPECT_GT(m.grid, 0);
        }
      }
    }
  }
}

}  // namespace
}  // namespace dpql
