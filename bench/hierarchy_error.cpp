// The error figures of docs/PRIVACY.md, "Consistent hierarchies in releases":
// the demo hospital's tree (all -> 4 trusts -> 37 wards, examples/hospital)
// measured level by level with the discrete Laplace, then made consistent by
// MakeConsistent. Prints, per level, the root mean squared error of the raw
// noisy figures, of the least-squares estimate and of the published integers,
// the published integers' largest bias (over the level's nodes, the largest
// |mean error|: the clamping at 0 and the split among siblings bias small
// counts), and the share of raw figures below zero.
//
// Usage: dpql_hierarchy_error [trials] [seed]   (defaults 20000 and 20)
// Simulated truth, not data: the true counts are the wards' beds scaled to a
// typical day, so the output is the same on every machine for a given seed.

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "compiler/common/rational.h"
#include "runtime/noise/samplers.h"
#include "runtime/release/hierarchy.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

// examples/hospital/schema.sql, hospital_wards(): beds at 200 000 admissions.
struct Ward {
  const char* code;
  int beds;
};
constexpr Ward kWards[] = {
    {"LTH-AMU", 36}, {"LTH-CAR", 28}, {"LTH-RES", 28}, {"LTH-ORT", 30}, {"LTH-SUR", 30}, {"LTH-ONC", 24},
    {"LTH-ELD", 32}, {"LTH-ICU", 16}, {"LTH-MAT", 24}, {"LTH-PAE", 24}, {"BTH-AMU", 32}, {"BTH-CAR", 24},
    {"BTH-RES", 26}, {"BTH-ORT", 26}, {"BTH-SUR", 28}, {"BTH-ELD", 30}, {"BTH-MAT", 20}, {"BTH-PAE", 20},
    {"MFT-AMU", 40}, {"MFT-CAR", 30}, {"MFT-RES", 28}, {"MFT-ORT", 30}, {"MFT-SUR", 32}, {"MFT-ONC", 24},
    {"MFT-REN", 22}, {"MFT-ELD", 34}, {"MFT-ICU", 18}, {"MFT-MAT", 28}, {"MFT-PAE", 28}, {"STH-AMU", 34},
    {"STH-CAR", 26}, {"STH-RES", 26}, {"STH-ORT", 28}, {"STH-SUR", 30}, {"STH-ELD", 32}, {"STH-MAT", 22},
    {"STH-PAE", 18}};

// The release's epsilon split (sensitivity 1 at every level: one patient is
// in at most one ward on a day, so in one trust and once in the total).
const Rational kEpsilon[] = {Rational(1, 5), Rational(3, 10), Rational(1, 2)};  // all, trusts, wards
const char* const kLevelName[] = {"all (1)", "trusts (4)", "wards (37)"};

struct Tree {
  std::vector<HierarchyNode> nodes;
  std::vector<int> level;
  std::vector<double> truth;
};

// `per_bed` true figures per bed on the day, rounded per ward.
Tree DemoTree(double per_bed) {
  Tree tree;
  tree.nodes.push_back(HierarchyNode{"all", -1, std::nullopt, 0});
  tree.level.push_back(0);
  std::string trust;
  int trust_index = -1;
  for (const Ward& ward : kWards) {
    const std::string prefix = std::string(ward.code).substr(0, 3);
    if (prefix != trust) {
      trust = prefix;
      trust_index = static_cast<int>(tree.nodes.size());
      tree.nodes.push_back(HierarchyNode{trust, 0, std::nullopt, 0});
      tree.level.push_back(1);
    }
    tree.nodes.push_back(HierarchyNode{ward.code, trust_index, std::nullopt, 0});
    tree.level.push_back(2);
  }
  tree.truth.assign(tree.nodes.size(), 0);
  size_t w = 0;
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    if (tree.level[i] != 2) continue;
    tree.truth[i] = std::round(per_bed * kWards[w++].beds);
    for (int p = tree.nodes[i].parent; p >= 0; p = tree.nodes[static_cast<size_t>(p)].parent) {
      tree.truth[static_cast<size_t>(p)] += tree.truth[i];
    }
  }
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    tree.nodes[i].variance = DiscreteLaplaceVariance(Rational(1) / kEpsilon[tree.level[i]]);
  }
  return tree;
}

void Run(const char* title, double per_bed, int trials, uint64_t seed) {
  Tree tree = DemoTree(per_bed);
  SeededRandom rng(seed);
  const DiscreteLaplaceSampler samplers[] = {DiscreteLaplaceSampler(Rational(1) / kEpsilon[0]),
                                             DiscreteLaplaceSampler(Rational(1) / kEpsilon[1]),
                                             DiscreteLaplaceSampler(Rational(1) / kEpsilon[2])};
  double raw_sq[3] = {}, wls_sq[3] = {}, pub_sq[3] = {}, negative[3] = {}, count[3] = {};
  std::vector<double> pub_err(tree.nodes.size(), 0);  // per node: the sum of published - true
  double min_truth[3] = {1e300, 1e300, 1e300}, max_truth[3] = {};
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    min_truth[tree.level[i]] = std::min(min_truth[tree.level[i]], tree.truth[i]);
    max_truth[tree.level[i]] = std::max(max_truth[tree.level[i]], tree.truth[i]);
  }
  for (int t = 0; t < trials; ++t) {
    for (size_t i = 0; i < tree.nodes.size(); ++i) {
      const BigInt noise = samplers[tree.level[i]].Sample(rng);
      tree.nodes[i].noisy = tree.truth[i] + static_cast<double>(ToInt64(noise).value());
    }
    const ConsistentFigures out = MakeConsistent(tree.nodes);
    for (size_t i = 0; i < tree.nodes.size(); ++i) {
      const int l = tree.level[i];
      const double raw = *tree.nodes[i].noisy - tree.truth[i];
      const double wls = out.least_squares[i] - tree.truth[i];
      const double pub = static_cast<double>(out.published[i]) - tree.truth[i];
      raw_sq[l] += raw * raw;
      wls_sq[l] += wls * wls;
      pub_sq[l] += pub * pub;
      pub_err[i] += pub;
      negative[l] += *tree.nodes[i].noisy < 0 ? 1 : 0;
      count[l] += 1;
    }
  }
  std::printf("\n%s\n\n", title);
  double bias[3] = {};
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    bias[tree.level[i]] = std::max(bias[tree.level[i]], std::fabs(pub_err[i] / trials));
  }
  std::printf(
      "| level | true counts | ε | RMSE raw | RMSE least squares | RMSE published | largest bias published | "
      "raw < 0 |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (int l = 0; l < 3; ++l) {
    char truth[64];
    if (min_truth[l] == max_truth[l]) {
      std::snprintf(truth, sizeof truth, "%.0f", min_truth[l]);
    } else {
      std::snprintf(truth, sizeof truth, "%.0f–%.0f", min_truth[l], max_truth[l]);
    }
    std::printf("| %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f%% |\n", kLevelName[l], truth,
                ToDecimalString(kEpsilon[l]).c_str(), std::sqrt(raw_sq[l] / count[l]),
                std::sqrt(wls_sq[l] / count[l]), std::sqrt(pub_sq[l] / count[l]), bias[l],
                100 * negative[l] / count[l]);
  }
}

}  // namespace
}  // namespace dpql

int main(int argc, char** argv) {
  const int trials = argc > 1 ? std::atoi(argv[1]) : 20000;
  const uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 20;
  if (trials <= 0) {
    std::fprintf(stderr, "usage: dpql_hierarchy_error [trials > 0] [seed]\n");
    return 2;
  }
  std::printf(
      "Demo hierarchy all -> 4 trusts -> 37 wards; discrete Laplace, sensitivity 1, "
      "ε 0.2 + 0.3 + 0.5 = 1; %d trials, seed %llu.\n",
      trials, static_cast<unsigned long long>(seed));
  // examples/hospital: 87% of beds occupied on an average day; about 182
  // admissions a day over 1 008 beds.
  dpql::Run("Occupied beds on one day (87% of beds):", 0.87, trials, seed);
  dpql::Run("Admissions on one day (182 over 1 008 beds):", 182.0 / 1008, trials, seed + 1);
  // A small slice, e.g. one diagnosis chapter (an eighth of admissions).
  dpql::Run("Admissions of one diagnosis chapter on one day (an eighth of them):", 182.0 / 1008 / 8, trials,
            seed + 2);
  return 0;
}
