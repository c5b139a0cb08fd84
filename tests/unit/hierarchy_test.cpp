// Consistent hierarchies after noise (runtime/release/hierarchy.h): the
// weighted least-squares step against closed forms and a dense generalised
// least-squares solve, the integer step's invariants on random trees, the
// refusals, the noise variances, and (HierarchyStatisticalTest) the error
// reduction on a hospital-shaped tree with the project's own sampler.
//
// Statistical checks run at significance level alpha = 1e-4 (one-sided) on a
// fixed seed, so the outcome is deterministic; each has a negative control
// that must fail the same check.

#include "runtime/release/hierarchy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/parser/parser.h"
#include "runtime/noise/samplers.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

constexpr double kAlpha = 1e-4;
// One-sided normal quantile for kAlpha: P(Z > 3.7190) = 1e-4.
constexpr double kZOneSided = 3.7190;

HierarchyNode Measured(std::string key, int parent, double noisy, double variance) {
  return HierarchyNode{std::move(key), parent, noisy, variance};
}
HierarchyNode Unmeasured(std::string key, int parent) {
  return HierarchyNode{std::move(key), parent, std::nullopt, 0};
}

// Every parent equals the sum of its children, in both outputs; every
// published figure is >= 0.
void ExpectConsistent(const std::vector<HierarchyNode>& nodes, const ConsistentFigures& out) {
  const size_t n = nodes.size();
  ASSERT_EQ(out.least_squares.size(), n);
  ASSERT_EQ(out.published.size(), n);
  std::vector<double> real_sum(n, 0), magnitude(n, 0);
  std::vector<int64_t> int_sum(n, 0);
  std::vector<bool> has_children(n, false);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_GE(out.published[i], 0) << nodes[i].key;
    EXPECT_TRUE(std::isfinite(out.least_squares[i])) << nodes[i].key;
    if (nodes[i].parent < 0) continue;
    const auto p = static_cast<size_t>(nodes[i].parent);
    has_children[p] = true;
    real_sum[p] += out.least_squares[i];
    magnitude[p] += std::fabs(out.least_squares[i]);
    int_sum[p] += out.published[i];
  }
  for (size_t i = 0; i < n; ++i) {
    if (!has_children[i]) continue;
    EXPECT_EQ(out.published[i], int_sum[i]) << nodes[i].key;
    EXPECT_NEAR(out.least_squares[i], real_sum[i], 1e-9 * (1 + magnitude[i])) << nodes[i].key;
  }
}

void ExpectRefused(const std::vector<HierarchyNode>& nodes, ErrorCode code, const std::string& fragment) {
  try {
    MakeConsistent(nodes);
    ADD_FAILURE() << "accepted; expected " << code << " containing: " << fragment;
  } catch (const DpqlError& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

double Uniform(RandomSource& rng) { return static_cast<double>(rng.NextUint64() >> 11) * 0x1.0p-53; }

// ---- known cases ----------------------------------------------------------------

TEST(HierarchyTest, TwoLeavesWithEqualVariancesGiveTheClassicClosedForm) {
  // root y0, leaves y1, y2, all variance 1: the root becomes (2 y0 + y1 + y2) / 3
  // and leaf 1 becomes (2 y1 - y2 + y0) / 3.
  const std::vector<HierarchyNode> nodes = {Measured("all", -1, 10, 1), Measured("a", 0, 3, 1),
                                            Measured("b", 0, 4, 1)};
  const ConsistentFigures out = MakeConsistent(nodes);
  EXPECT_NEAR(out.least_squares[0], 9, 1e-12);
  EXPECT_NEAR(out.least_squares[1], 4, 1e-12);
  EXPECT_NEAR(out.least_squares[2], 5, 1e-12);
  EXPECT_EQ(out.published, (std::vector<int64_t>{9, 4, 5}));
}

TEST(HierarchyTest, UnequalVariancesWeighTheMoreReliableFigureMore) {
  // root 100 (variance 1), leaves 40 and 50 (variance 4 each): the leaves' sum
  // 90 has variance 8, so the root moves 1/9 of the way to it, 98.888..., and
  // each leaf takes half of the remaining 8.888...
  const std::vector<HierarchyNode> nodes = {Measured("all", -1, 100, 1), Measured("a", 0, 40, 4),
                                            Measured("b", 0, 50, 4)};
  const ConsistentFigures out = MakeConsistent(nodes);
  EXPECT_NEAR(out.least_squares[0], 100 - 10.0 / 9, 1e-12);
  EXPECT_NEAR(out.least_squares[1], 40 + 40.0 / 9, 1e-12);
  EXPECT_NEAR(out.least_squares[2], 50 + 40.0 / 9, 1e-12);
  // 99 split from 44.44 and 54.44: the projection adds 0.056 to each (44.5,
  // 54.5), then one of them is rounded up.
  EXPECT_EQ(out.published[0], 99);
  EXPECT_EQ(out.published[1] + out.published[2], 99);
  EXPECT_TRUE(out.published[1] == 44 || out.published[1] == 45) << out.published[1];
}

TEST(HierarchyTest, AnUnmeasuredMiddleLevelIsTheSumOfItsChildren) {
  // all -> T (not measured) -> {a, b}: the same as the two-leaf closed form.
  const std::vector<HierarchyNode> nodes = {Measured("all", -1, 10, 1), Unmeasured("T", 0),
                                            Measured("a", 1, 3, 1), Measured("b", 1, 4, 1)};
  const ConsistentFigures out = MakeConsistent(nodes);
  EXPECT_NEAR(out.least_squares[1], 9, 1e-12);
  EXPECT_NEAR(out.least_squares[2], 4, 1e-12);
  EXPECT_EQ(out.published, (std::vector<int64_t>{9, 9, 4, 5}));
}

TEST(HierarchyTest, AnUnmeasuredRootIsTheSumOfItsChildrenWhichKeepTheirValues) {
  const std::vector<HierarchyNode> nodes = {Unmeasured("all", -1), Measured("a", 0, 3.25, 2),
                                            Measured("b", 0, 4.5, 7)};
  const ConsistentFigures out = MakeConsistent(nodes);
  EXPECT_DOUBLE_EQ(out.least_squares[0], 7.75);
  EXPECT_DOUBLE_EQ(out.least_squares[1], 3.25);
  EXPECT_DOUBLE_EQ(out.least_squares[2], 4.5);
  EXPECT_EQ(out.published, (std::vector<int64_t>{8, 3, 5}));
}

TEST(HierarchyTest, AnUnmeasuredLeafTakesWhatItsMeasuredSiblingsLeave) {
  const std::vector<HierarchyNode> nodes = {Measured("all", -1, 10, 1), Measured("a", 0, 3, 1),
                                            Unmeasured("b", 0)};
  const ConsistentFigures out = MakeConsistent(nodes);
  EXPECT_DOUBLE_EQ(out.least_squares[1], 3);
  EXPECT_DOUBLE_EQ(out.least_squares[2], 7);
  EXPECT_EQ(out.published, (std::vector<int64_t>{10, 3, 7}));
}

TEST(HierarchyTest, SeveralUnmeasuredSiblingsShareEqually) {
  const std::vector<HierarchyNode> nodes = {Measured("all", -1, 11, 1), Measured("a", 0, 2, 1),
                                            Unmeasured("b", 0), Unmeasured("c", 0), Unmeasured("d", 0)};
  const ConsistentFigures out = MakeConsistent(nodes);
  for (size_t i = 2; i < 5; ++i) EXPECT_DOUBLE_EQ(out.least_squares[i], 3);
  EXPECT_EQ(out.published, (std::vector<int64_t>{11, 2, 3, 3, 3}));
}

TEST(HierarchyTest, NegativeFiguresBecomeZeroAndTheRestKeepsTheTotal) {
  // Noise pushed two small wards below zero and the total to -2.
  const std::vector<HierarchyNode> nodes = {Measured("all", -1, -2, 4), Measured("a", 0, -3, 1),
                                            Measured("b", 0, -1, 1)};
  ConsistentFigures out = MakeConsistent(nodes);
  EXPECT_EQ(out.published, (std::vector<int64_t>{0, 0, 0}));
  ExpectConsistent(nodes, out);

  const std::vector<HierarchyNode> mixed = {Measured("all", -1, 6, 1), Measured("a", 0, -2, 1),
                                            Measured("b", 0, 8, 1)};
  out = MakeConsistent(mixed);
  // Least squares: root 6 (the leaves' sum also 6); the projection of (-2, 8)
  // onto {x >= 0, sum 6} is (0, 6).
  EXPECT_NEAR(out.least_squares[0], 6, 1e-12);
  EXPECT_EQ(out.published, (std::vector<int64_t>{6, 0, 6}));
}

TEST(HierarchyTest, ASingleMeasuredNodeIsRoundedAndClamped) {
  EXPECT_EQ(MakeConsistent({Measured("all", -1, 41.5, 3)}).published, (std::vector<int64_t>{42}));
  EXPECT_EQ(MakeConsistent({Measured("all", -1, -0.4, 3)}).published, (std::vector<int64_t>{0}));
  EXPECT_EQ(MakeConsistent({Measured("all", -1, -17, 3)}).published, (std::vector<int64_t>{0}));
}

TEST(HierarchyTest, NodesMayBeListedInAnyOrder) {
  // Children before their parents; the root last.
  const std::vector<HierarchyNode> nodes = {Measured("a", 2, 3, 1), Measured("b", 2, 4, 1),
                                            Measured("all", -1, 10, 1)};
  const ConsistentFigures out = MakeConsistent(nodes);
  EXPECT_EQ(out.published, (std::vector<int64_t>{4, 5, 9}));
}

// ---- ApportionInteger -----------------------------------------------------------

TEST(HierarchyTest, ApportionBreaksTiesDeterministically) {
  const std::vector<int64_t> first = ApportionInteger(3, {1.5, 1.5}, {"b", "a"});
  EXPECT_EQ(first[0] + first[1], 3);
  EXPECT_EQ(ApportionInteger(3, {1.5, 1.5}, {"b", "a"}), first);
  // The same key in the same place wins whatever the order of the list.
  const std::vector<int64_t> swapped = ApportionInteger(3, {1.5, 1.5}, {"a", "b"});
  EXPECT_EQ(swapped[0], first[1]);
  // Equal keys (and equal hashes): the earlier node.
  EXPECT_EQ(ApportionInteger(3, {1.5, 1.5}, {"x", "x"}), (std::vector<int64_t>{2, 1}));
  // Unequal remainders are never reordered by the tie-break.
  EXPECT_EQ(ApportionInteger(3, {1.4, 1.6}, {"a", "b"}), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(ApportionInteger(3, {1.6, 1.4}, {"b", "a"}), (std::vector<int64_t>{2, 1}));
}

TEST(HierarchyTest, ApportionSpreadsTiesSoNoChildIsRoundedUpEveryTime) {
  // Three children with equal estimates, totals 1..3000: 2000 totals leave 1
  // or 2 units to share among exact ties (3000 units in all). A fixed order
  // would give the first child 2000 of them; the hash gives each child close
  // to a third (1000; 900..1100 is over 4 standard deviations for a fair
  // split).
  int extra[3] = {0, 0, 0};
  for (int64_t total = 1; total <= 3000; ++total) {
    const double each = static_cast<double>(total / 3);
    const std::vector<int64_t> split = ApportionInteger(total, {each, each, each}, {"W1", "W2", "W3"});
    ASSERT_EQ(split[0] + split[1] + split[2], total);
    for (int i = 0; i < 3; ++i) extra[i] += static_cast<int>(split[static_cast<size_t>(i)] - total / 3);
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_GT(extra[i], 900) << "child " << i;
    EXPECT_LT(extra[i], 1100) << "child " << i;
  }
}

TEST(HierarchyTest, ApportionKeepsTheTotalWhateverTheEstimates) {
  EXPECT_EQ(ApportionInteger(0, {5, 7}, {"a", "b"}), (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(ApportionInteger(10, {-5, -7}, {"a", "b"}),
            (std::vector<int64_t>{6, 4}));  // (6, 4) after projection
  EXPECT_EQ(ApportionInteger(5, {100, 0.2, -3}, {"a", "b", "c"}), (std::vector<int64_t>{5, 0, 0}));
}

TEST(HierarchyTest, ApportionRefusesWhatNoParentCanHave) {
  EXPECT_THROW(ApportionInteger(-1, {1}, {"a"}), DpqlError);
  EXPECT_THROW(ApportionInteger(1, {1, 2}, {"a"}), DpqlError);
  EXPECT_THROW(ApportionInteger(1, {NAN}, {"a"}), DpqlError);
  EXPECT_THROW(ApportionInteger(7, {}, {}), DpqlError);
  EXPECT_EQ(ApportionInteger(0, {}, {}).size(), 0u);
}

// ---- random trees ---------------------------------------------------------------

// A random recursive tree: node 0 is the root, node i's parent is uniform
// among 0..i-1.
std::vector<HierarchyNode> RandomTree(RandomSource& rng, size_t n, double p_internal_measured,
                                      double p_leaf_measured) {
  std::vector<HierarchyNode> nodes(n);
  std::vector<bool> has_children(n, false);
  for (size_t i = 0; i < n; ++i) {
    nodes[i].key = "n" + std::to_string(i);
    nodes[i].parent = i == 0 ? -1 : static_cast<int>(rng.UniformBelow(i));
    if (i > 0) has_children[static_cast<size_t>(nodes[i].parent)] = true;
  }
  for (size_t i = 0; i < n; ++i) {
    const double p = has_children[i] ? p_internal_measured : p_leaf_measured;
    if (i == 0 || Uniform(rng) < p) {
      nodes[i].noisy = -20 + 120 * Uniform(rng);
      nodes[i].variance = 0.5 + 50 * Uniform(rng);
    }
  }
  return nodes;
}

TEST(HierarchyTest, RandomTreesComeOutConsistentAndNonNegative) {
  SeededRandom rng(20);
  for (int trial = 0; trial < 300; ++trial) {
    const size_t n = 1 + rng.UniformBelow(80);
    const std::vector<HierarchyNode> nodes = RandomTree(rng, n, 0.6, 0.8);
    SCOPED_TRACE("trial " + std::to_string(trial) + ", " + std::to_string(n) + " nodes");
    ExpectConsistent(nodes, MakeConsistent(nodes));
  }
}

TEST(HierarchyTest, LargeAndDeepTreesRunWithoutRecursion) {
  // A chain 100 000 deep (each node the only child of the one before) and a
  // root with 100 000 children: both in well under a second (O(n log n)).
  constexpr int kNodes = 100000;
  std::vector<HierarchyNode> chain, star;
  for (int i = 0; i < kNodes; ++i) {
    chain.push_back(Measured("c" + std::to_string(i), i - 1, 50 + (i % 7), 1 + (i % 3)));
    star.push_back(Measured("s" + std::to_string(i), i == 0 ? -1 : 0, i == 0 ? 1e6 : 10 - (i % 21), 4));
  }
  ConsistentFigures out = MakeConsistent(chain);
  ExpectConsistent(chain, out);
  for (int64_t v : out.published) ASSERT_EQ(v, out.published[0]);
  out = MakeConsistent(star);
  ExpectConsistent(star, out);
}

// Solves A x = b (dense, partial pivoting).
std::vector<long double> Solve(std::vector<std::vector<long double>> a, std::vector<long double> b) {
  const size_t n = b.size();
  for (size_t col = 0; col < n; ++col) {
    size_t pivot = col;
    for (size_t r = col + 1; r < n; ++r) {
      if (std::fabs(a[r][col]) > std::fabs(a[pivot][col])) pivot = r;
    }
    std::swap(a[col], a[pivot]);
    std::swap(b[col], b[pivot]);
    for (size_t r = col + 1; r < n; ++r) {
      const long double f = a[r][col] / a[col][col];
      for (size_t c = col; c < n; ++c) a[r][c] -= f * a[col][c];
      b[r] -= f * b[col];
    }
  }
  std::vector<long double> x(n);
  for (size_t r = n; r-- > 0;) {
    long double s = b[r];
    for (size_t c = r + 1; c < n; ++c) s -= a[r][c] * x[c];
    x[r] = s / a[r][r];
  }
  return x;
}

TEST(HierarchyTest, TheTwoPassesEqualTheDenseGeneralisedLeastSquaresSolution) {
  // Every leaf measured, so the leaves' values are identified: the unknowns
  // are the leaves, each measured node observes the sum of the leaves below
  // it, and GLS solves (A' W A) x = A' W y with W = diag(1 / variance).
  SeededRandom rng(2010);
  for (int trial = 0; trial < 100; ++trial) {
    const size_t n = 1 + rng.UniformBelow(40);
    const std::vector<HierarchyNode> nodes = RandomTree(rng, n, 0.6, 1.0);
    std::vector<bool> leaf(n, true);
    for (const HierarchyNode& node : nodes) {
      if (node.parent >= 0) leaf[static_cast<size_t>(node.parent)] = false;
    }
    std::vector<size_t> leaves;
    std::vector<int> column(n, -1);
    for (size_t i = 0; i < n; ++i) {
      if (leaf[i]) {
        column[i] = static_cast<int>(leaves.size());
        leaves.push_back(i);
      }
    }
    const size_t l = leaves.size();
    std::vector<std::vector<long double>> normal(l, std::vector<long double>(l, 0));
    std::vector<long double> rhs(l, 0);
    // below[i] = the leaves in i's subtree (walk up from each leaf).
    std::vector<std::vector<size_t>> below(n);
    for (size_t lf : leaves) {
      for (int v = static_cast<int>(lf); v >= 0; v = nodes[static_cast<size_t>(v)].parent) {
        below[static_cast<size_t>(v)].push_back(static_cast<size_t>(column[lf]));
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (!nodes[i].noisy) continue;
      const long double w = 1.0L / nodes[i].variance;
      for (size_t a : below[i]) {
        rhs[a] += w * *nodes[i].noisy;
        for (size_t b : below[i]) normal[a][b] += w;
      }
    }
    const std::vector<long double> gls = Solve(normal, rhs);
    const ConsistentFigures out = MakeConsistent(nodes);
    SCOPED_TRACE("trial " + std::to_string(trial) + ", " + std::to_string(n) + " nodes");
    for (size_t i = 0; i < n; ++i) {
      long double expected = 0;
      for (size_t a : below[i]) expected += gls[a];
      EXPECT_NEAR(out.least_squares[i], static_cast<double>(expected), 1e-8 * (1 + std::fabs(expected)))
          << nodes[i].key;
    }
  }
}

// ---- refusals -------------------------------------------------------------------

TEST(HierarchyTest, MalformedShapesAreRefusedWithTheNodeNamed) {
  ExpectRefused({}, ErrorCode::kConfigError, "no nodes");
  ExpectRefused({Measured("all", -1, 1, 1), Measured("also", -1, 1, 1)}, ErrorCode::kConfigError,
                "two roots: node 'all' (#0) and node 'also' (#1)");
  ExpectRefused({Measured("a", 1, 1, 1), Measured("b", 0, 1, 1)}, ErrorCode::kConfigError, "no root");
  ExpectRefused({Measured("all", -1, 1, 1), Measured("w", 5, 1, 1)}, ErrorCode::kConfigError,
                "node 'w' (#1) has parent index 5, outside 0..1");
  ExpectRefused({Measured("all", -1, 1, 1), Measured("w", -2, 1, 1)}, ErrorCode::kConfigError,
                "parent index -2");
  ExpectRefused({Measured("all", -1, 1, 1), Measured("w", 1, 1, 1)}, ErrorCode::kConfigError,
                "node 'w' (#1) is its own parent");
  ExpectRefused(
      {Measured("all", -1, 1, 1), Measured("x", 2, 1, 1), Measured("y", 1, 1, 1), Measured("z", 2, 1, 1)},
      ErrorCode::kConfigError, "the cycle 'x' -> 'y' -> 'x'");
  ExpectRefused({Unmeasured("all", -1), Measured("T1", 0, 4, 1), Unmeasured("T2", 0), Unmeasured("w", 2)},
                ErrorCode::kConfigError,
                "leaf node 'w' (#3) is not measured and neither is any node above it");
}

TEST(HierarchyTest, BadNumbersAreRefusedAsInternalErrors) {
  const auto tree = [](double noisy, double variance) {
    return std::vector<HierarchyNode>{Measured("all", -1, 10, 1), Measured("w", 0, noisy, variance)};
  };
  ExpectRefused(tree(NAN, 1), ErrorCode::kInternal, "node 'w' (#1): the noisy value");
  ExpectRefused(tree(INFINITY, 1), ErrorCode::kInternal, "is not a finite number");
  ExpectRefused(tree(-1e16, 1), ErrorCode::kInternal, "magnitude at most 2^53");
  ExpectRefused(tree(1, 0), ErrorCode::kInternal, "node 'w' (#1): the noise variance");
  ExpectRefused(tree(1, -2), ErrorCode::kInternal, "must be finite and > 0");
  ExpectRefused(tree(1, NAN), ErrorCode::kInternal, "must be finite and > 0");
  ExpectRefused(tree(1, INFINITY), ErrorCode::kInternal, "must be finite and > 0");
  // An unmeasured node's variance is not read.
  EXPECT_NO_THROW(MakeConsistent({Measured("all", -1, 10, 1), HierarchyNode{"w", 0, std::nullopt, NAN}}));
}

// ---- noise variances ------------------------------------------------------------

TEST(HierarchyTest, DiscreteLaplaceVarianceMatchesTheSeries) {
  for (const Rational& scale : {Rational(1, 4), Rational(1, 2), Rational(1), Rational(2), Rational(10, 3),
                                Rational(5), Rational(40)}) {
    const double b = ToDouble(scale);
    long double mass = 1, second = 0;
    for (int x = 1; x < 20000; ++x) {
      const long double w = std::exp(-x / static_cast<long double>(b));
      mass += 2 * w;
      second += 2.0L * x * x * w;
    }
    EXPECT_NEAR(DiscreteLaplaceVariance(scale), static_cast<double>(second / mass),
                1e-9 * static_cast<double>(second / mass))
        << "scale " << b;
  }
  // Large scales approach the continuous Laplace's 2 b^2 (less 1/6).
  EXPECT_NEAR(DiscreteLaplaceVariance(Rational(1000000)), 2e12 - 1.0 / 6, 1e-3);
}

TEST(HierarchyTest, DiscreteGaussianVarianceIsJustBelowSigma2) {
  // sigma2 = 1/4: P(x) proportional to exp(-2 x^2); |x| <= 4 is exact to 1e-12.
  const double quarter = DiscreteGaussianVariance(Rational(1, 4));
  double mass = 1, second = 0;
  for (int x = 1; x <= 4; ++x) {
    mass += 2 * std::exp(-2.0 * x * x);
    second += 2.0 * x * x * std::exp(-2.0 * x * x);
  }
  EXPECT_NEAR(quarter, second / mass, 1e-12);
  for (const Rational& sigma2 :
       {Rational(1), Rational(4), Rational(100), Rational(999999), Rational(10000000)}) {
    const double v = DiscreteGaussianVariance(sigma2);
    EXPECT_LE(v, ToDouble(sigma2));
    EXPECT_NEAR(v, ToDouble(sigma2), 1e-6 * ToDouble(sigma2));
  }
  // Below 1 the gap is visible: sigma2 = 1/4 gives 0.215, not 0.25.
  EXPECT_LT(quarter, 0.24);
}

class MeasureVarianceTest : public ::testing::Test {
 protected:
  MeasureVarianceTest()
      : catalog_(ParseCatalog(R"(
datasets:
  clinic:
    privacy_unit: person
    defaults: { epsilon: 1.0, delta: 0, max_groups: 1, max_rows: 1 }
    tables:
      visits:
        private: true
        columns:
          person: { type: text }
          site:   { type: text, domain: [a, b] }
          cost:   { type: real, lower: 0, upper: 1000 }
)",
                              "test.yaml")) {}
  Plan Compile(const std::string& text) {
    ast::Statement statement = ParseStatement(text);
    return CompileSelect(*catalog_.DefaultDataset(), *statement.select);
  }
  Catalog catalog_;
};

TEST_F(MeasureVarianceTest, ACountAtEpsilonHalfHasTheDiscreteLaplaceVarianceOfScaleTwo) {
  const Plan plan = Compile("SELECT site, COUNT(*) FROM visits GROUP BY site WITH PRIVACY (epsilon = 0.5);");
  ASSERT_EQ(plan.measures[0].scale, Rational(2));
  const double r = std::exp(-0.5);
  EXPECT_NEAR(MeasureNoiseVariance(plan, 0), 2 * r / ((1 - r) * (1 - r)), 1e-9);
  EXPECT_THROW(MeasureNoiseVariance(plan, 1), DpqlError);
}

TEST_F(MeasureVarianceTest, AGaussianCountHasItsSigma2AndASumIsInReleasedUnits) {
  const Plan gaussian = Compile(
      "SELECT site, COUNT(*) FROM visits GROUP BY site WITH PRIVACY (mechanism = gaussian, delta = 1e-6);");
  ASSERT_EQ(gaussian.measures[0].mechanism, Mechanism::kGaussian);
  EXPECT_NEAR(MeasureNoiseVariance(gaussian, 0), ToDouble(gaussian.measures[0].sigma2),
              1e-9 * ToDouble(gaussian.measures[0].sigma2));

  const Plan sum = Compile("SELECT site, SUM(cost) FROM visits GROUP BY site;");
  const Measure& m = sum.measures[0];
  const double grid = ToDouble(m.grid);
  EXPECT_NEAR(MeasureNoiseVariance(sum, 0), DiscreteLaplaceVariance(m.scale) * grid * grid,
              1e-9 * MeasureNoiseVariance(sum, 0));
  // Sensitivity 1000 at epsilon 1: about 2 * 1000^2 in released units, whatever the grid.
  EXPECT_NEAR(MeasureNoiseVariance(sum, 0), 2e6, 2e6 * 0.01);
}

// ---- statistical: the error on a hospital-shaped tree ---------------------------

// 1 root, 6 trusts, 6 wards each, true ward counts 5..60; each level measured
// with the discrete Laplace at epsilon 0.5 (wards), 0.3 (trusts), 0.2 (root),
// sensitivity 1.
struct Simulation {
  std::vector<HierarchyNode> nodes;
  std::vector<double> truth;
  std::vector<int> level;  // 0 root, 1 trust, 2 ward
};

Simulation HospitalTree() {
  Simulation s;
  const double var_root = DiscreteLaplaceVariance(Rational(5));
  const double var_trust = DiscreteLaplaceVariance(Rational(10, 3));
  const double var_ward = DiscreteLaplaceVariance(Rational(2));
  s.nodes.push_back(Unmeasured("all", -1));
  s.nodes[0].variance = var_root;
  s.level.push_back(0);
  for (int t = 0; t < 6; ++t) {
    const int trust = static_cast<int>(s.nodes.size());
    s.nodes.push_back(HierarchyNode{"T" + std::to_string(t), 0, std::nullopt, var_trust});
    s.level.push_back(1);
    for (int w = 0; w < 6; ++w) {
      s.nodes.push_back(
          HierarchyNode{"T" + std::to_string(t) + "W" + std::to_string(w), trust, std::nullopt, var_ward});
      s.level.push_back(2);
    }
  }
  const size_t n = s.nodes.size();
  s.truth.assign(n, 0);
  int ward = 0;
  for (size_t i = n; i-- > 1;) {
    if (s.level[i] == 2) s.truth[i] = 5 + (ward++ * 23) % 56;  // 5..60, spread over the trusts
    s.truth[static_cast<size_t>(s.nodes[i].parent)] += s.truth[i];
  }
  return s;
}

// Per trial: the mean over a level's nodes of raw squared error minus
// estimate squared error; and the mean signed error of the estimate.
struct Figures {
  std::vector<double> gain_trust, gain_root, error_ward;
};

Figures Simulate(Simulation s, uint64_t seed, int trials, double declared_ward_variance_factor) {
  SeededRandom rng(seed);
  const DiscreteLaplaceSampler samplers[] = {DiscreteLaplaceSampler(Rational(5)),
                                             DiscreteLaplaceSampler(Rational(10, 3)),
                                             DiscreteLaplaceSampler(Rational(2))};
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    if (s.level[i] == 2) s.nodes[i].variance *= declared_ward_variance_factor;
  }
  Figures f;
  for (int t = 0; t < trials; ++t) {
    for (size_t i = 0; i < s.nodes.size(); ++i) {
      const BigInt noise = samplers[s.level[i]].Sample(rng);
      s.nodes[i].noisy = s.truth[i] + static_cast<double>(ToInt64(noise).value());
    }
    const ConsistentFigures out = MakeConsistent(s.nodes);
    double trust = 0, root = 0, ward = 0;
    for (size_t i = 0; i < s.nodes.size(); ++i) {
      const double raw = *s.nodes[i].noisy - s.truth[i], est = out.least_squares[i] - s.truth[i];
      const double gain = raw * raw - est * est;
      if (s.level[i] == 0) root += gain;
      if (s.level[i] == 1) trust += gain / 6;
      if (s.level[i] == 2) ward += est / 36;
    }
    f.gain_trust.push_back(trust);
    f.gain_root.push_back(root);
    f.error_ward.push_back(ward);
  }
  return f;
}

// z statistic of "the mean of `values` is above `shift`".
double ZAbove(const std::vector<double>& values, double shift) {
  const double n = static_cast<double>(values.size());
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  double ss = 0;
  for (double v : values) ss += (v - mean) * (v - mean);
  return (mean - shift) / std::sqrt(ss / (n - 1) / n);
}

constexpr int kTrials = 2000;

TEST(HierarchyStatisticalTest, LeastSquaresBeatsTheRawFiguresAtTheTrustAndRootLevels) {
  // H0: the least-squares estimate's mean squared error is at least the raw
  // figure's; rejected when the paired mean gain's z exceeds kZOneSided.
  const Figures f = Simulate(HospitalTree(), 42, kTrials, 1.0);
  EXPECT_GT(ZAbove(f.gain_trust, 0), kZOneSided) << "alpha " << kAlpha;
  EXPECT_GT(ZAbove(f.gain_root, 0), kZOneSided) << "alpha " << kAlpha;
}

TEST(HierarchyStatisticalTest, NegativeControlWrongVariancesDoNotBeatTheRawFigures) {
  // The wards declared 100 times more precise than they are: the estimate
  // then leans on the sums of wards (variance 6 x 7.8 for a trust, 36 x 7.8
  // for the root), noisier than the trusts' and root's own figures. The
  // same test must not reject H0.
  const Figures f = Simulate(HospitalTree(), 42, kTrials, 0.01);
  EXPECT_LT(ZAbove(f.gain_trust, 0), kZOneSided);
  EXPECT_LT(ZAbove(f.gain_root, 0), kZOneSided);
}

TEST(HierarchyStatisticalTest, LeastSquaresIsUnbiasedAndAShiftedEstimateIsCaught) {
  // Two-sided at alpha = 1e-4 (|z| < 3.8906): the mean ward error is 0. The
  // control: the same errors plus 0.1 must be rejected.
  const Figures f = Simulate(HospitalTree(), 7, kTrials, 1.0);
  EXPECT_LT(std::fabs(ZAbove(f.error_ward, 0)), 3.8906);
  std::vector<double> shifted = f.error_ward;
  for (double& e : shifted) e += 0.1;
  EXPECT_GT(std::fabs(ZAbove(shifted, 0)), 3.8906);
}

}  // namespace
}  // namespace dpql
