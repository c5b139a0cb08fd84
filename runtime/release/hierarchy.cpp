#include "runtime/release/hierarchy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "compiler/common/error.h"

namespace dpql {

namespace {

[[noreturn]] void Malformed(const std::string& message) {
  throw DpqlError(ErrorCode::kConfigError, "hierarchy: " + message);
}

[[noreturn]] void Bug(const std::string& message) {
  throw DpqlError(ErrorCode::kInternal, "hierarchy: " + message);
}

std::string NodeName(const std::vector<HierarchyNode>& nodes, size_t i) {
  return "node '" + nodes[i].key + "' (#" + std::to_string(i) + ")";
}

// Shape checks; returns the root's index.
size_t CheckParents(const std::vector<HierarchyNode>& nodes) {
  const size_t n = nodes.size();
  if (n == 0) Malformed("no nodes; a hierarchy needs at least its root (e.g. \"all\")");
  std::optional<size_t> root;
  for (size_t i = 0; i < n; ++i) {
    const int p = nodes[i].parent;
    if (p == -1) {
      if (root) {
        Malformed("two roots: " + NodeName(nodes, *root) + " and " + NodeName(nodes, i) +
                  " have no parent (parent -1); exactly one node (e.g. \"all\") may be the root, give the "
                  "other its parent");
      }
      root = i;
    } else if (p < 0 || static_cast<size_t>(p) >= n) {
      Malformed(NodeName(nodes, i) + " has parent index " + std::to_string(p) + ", outside 0.." +
                std::to_string(n - 1) + " (or -1 for the root); give the index of its parent");
    } else if (static_cast<size_t>(p) == i) {
      Malformed(NodeName(nodes, i) + " is its own parent (a cycle); give the index of the node above it");
    }
  }
  if (!root) {
    Malformed("no root: every one of the " + std::to_string(n) +
              " nodes has a parent, so the parents form a cycle; exactly one node (e.g. \"all\") must have "
              "parent -1");
  }
  return *root;
}

// A node not reached from the root leads, following parents, into a cycle:
// names the cycle.
[[noreturn]] void ReportCycle(const std::vector<HierarchyNode>& nodes, size_t start) {
  std::vector<int> seen(nodes.size(), -1);
  size_t i = start;
  for (int step = 0; seen[i] < 0; ++step) {
    seen[i] = step;
    i = static_cast<size_t>(nodes[i].parent);
  }
  std::string cycle = "'" + nodes[i].key + "'";
  for (size_t j = static_cast<size_t>(nodes[i].parent); j != i; j = static_cast<size_t>(nodes[j].parent)) {
    cycle += " -> '" + nodes[j].key + "'";
  }
  cycle += " -> '" + nodes[i].key + "'";
  Malformed(NodeName(nodes, start) + " is not below the root: following parents from it gives the cycle " +
            cycle + " (child -> parent); break the cycle so that every node leads to the root");
}

void CheckNumbers(const std::vector<HierarchyNode>& nodes) {
  for (size_t i = 0; i < nodes.size(); ++i) {
    const HierarchyNode& node = nodes[i];
    if (!node.noisy) continue;
    if (!std::isfinite(*node.noisy) || std::fabs(*node.noisy) > kHierarchyMaxMagnitude) {
      Bug(NodeName(nodes, i) + ": the noisy value " + std::to_string(*node.noisy) +
          " is not a finite number of magnitude at most 2^53");
    }
    if (!std::isfinite(node.variance) || !(node.variance > 0)) {
      Bug(NodeName(nodes, i) + ": the noise variance " + std::to_string(node.variance) +
          " of a measured node must be finite and > 0 (MeasureNoiseVariance)");
    }
  }
}

// Children of each node, contiguous (first[v] .. first[v + 1]), in index order.
struct Children {
  std::vector<size_t> first, of;
  size_t begin(size_t v) const { return first[v]; }
  size_t end(size_t v) const { return first[v + 1]; }
};

Children ChildLists(const std::vector<HierarchyNode>& nodes) {
  const size_t n = nodes.size();
  Children c;
  c.first.assign(n + 1, 0);
  for (const HierarchyNode& node : nodes) {
    if (node.parent >= 0) ++c.first[static_cast<size_t>(node.parent) + 1];
  }
  std::partial_sum(c.first.begin(), c.first.end(), c.first.begin());
  c.of.resize(c.first[n]);
  std::vector<size_t> next(c.first.begin(), c.first.end() - 1);
  for (size_t i = 0; i < n; ++i) {
    if (nodes[i].parent >= 0) c.of[next[static_cast<size_t>(nodes[i].parent)]++] = i;
  }
  return c;
}

// A child's fractional part after the projection, for largest-remainder
// rounding, and its tie-break.
struct Remainder {
  double fraction;
  uint64_t tie;
  size_t index;
};

// FNV-1a over the key and two figures of the family. Children with equal
// variances and integer noisy figures tie exactly and often (every ward of a
// trust gets the same share of the trust's disagreement); a fixed order by key
// would round the same ward up every day, a bias of up to half a unit. A hash
// of the key and the day's figures spreads the ties while staying a
// deterministic function of released values.
uint64_t TieOrder(const std::string& key, int64_t total, int64_t whole) {
  uint64_t h = 14695981039346656037ULL;
  const auto mix = [&h](unsigned char byte) {
    h ^= byte;
    h *= 1099511628211ULL;
  };
  for (char c : key) mix(static_cast<unsigned char>(c));
  for (int64_t v : {total, whole}) {
    for (int b = 0; b < 8; ++b) mix(static_cast<unsigned char>(static_cast<uint64_t>(v) >> (8 * b)));
  }
  return h;
}

}  // namespace

std::vector<int64_t> ApportionInteger(int64_t total, const std::vector<double>& estimates,
                                      const std::vector<std::string>& keys) {
  const size_t k = estimates.size();
  if (total < 0) Bug("cannot split a negative total " + std::to_string(total));
  if (keys.size() != k)
    Bug("apportioning: " + std::to_string(k) + " estimates but " + std::to_string(keys.size()) + " keys");
  for (double e : estimates) {
    if (!std::isfinite(e)) Bug("apportioning: an estimate is not finite");
  }
  std::vector<int64_t> out(k, 0);
  if (total == 0) return out;
  if (k == 0) Bug("cannot split a total of " + std::to_string(total) + " among no children");

  // Euclidean projection onto {x >= 0, sum x = total} (Held, Wolfe & Crowder
  // 1974; Duchi et al. 2008): x_i = max(e_i - theta, 0), theta found by
  // walking the estimates from the largest down.
  std::vector<size_t> by_value(k);
  std::iota(by_value.begin(), by_value.end(), size_t{0});
  std::sort(by_value.begin(), by_value.end(), [&](size_t a, size_t b) {
    return estimates[a] != estimates[b] ? estimates[a] > estimates[b] : a < b;
  });
  const long double target = static_cast<long double>(total);
  long double prefix = 0, theta = 0;
  for (size_t j = 0; j < k; ++j) {
    prefix += estimates[by_value[j]];
    const long double candidate = (prefix - target) / static_cast<long double>(j + 1);
    // Every rank j with e_(j) > candidate is in the support; the last such
    // rank's candidate is theta. Rank 0 always qualifies.
    if (j == 0 || static_cast<long double>(estimates[by_value[j]]) > candidate) theta = candidate;
  }
  std::vector<Remainder> remainders(k);
  int64_t assigned = 0;
  for (size_t i = 0; i < k; ++i) {
    long double x = std::max<long double>(static_cast<long double>(estimates[i]) - theta, 0);
    x = std::min(x, target);
    const long double whole = std::floor(x);
    out[i] = static_cast<int64_t>(whole);
    assigned += out[i];
    remainders[i] = {static_cast<double>(x - whole), TieOrder(keys[i], total, out[i]), i};
  }

  // Largest remainder. The projection sums to `total` up to rounding error,
  // so the units left over are in [0, k); the loops also cover a sum that
  // rounding pushed to either side of that.
  std::sort(remainders.begin(), remainders.end(), [&](const Remainder& a, const Remainder& b) {
    if (a.fraction != b.fraction) return a.fraction > b.fraction;
    if (a.tie != b.tie) return a.tie < b.tie;
    if (keys[a.index] != keys[b.index]) return keys[a.index] < keys[b.index];
    return a.index < b.index;
  });
  for (size_t j = 0; assigned < total; j = (j + 1) % k) {
    ++out[remainders[j].index];
    ++assigned;
  }
  for (size_t j = k - 1; assigned > total; j = (j + k - 1) % k) {
    if (out[remainders[j].index] > 0) {
      --out[remainders[j].index];
      --assigned;
    }
  }
  return out;
}

ConsistentFigures MakeConsistent(const std::vector<HierarchyNode>& nodes) {
  const size_t root = CheckParents(nodes);
  const size_t n = nodes.size();
  const Children children = ChildLists(nodes);

  // Breadth-first from the root; a node not reached is on (or below) a cycle.
  std::vector<size_t> order;
  order.reserve(n);
  order.push_back(root);
  for (size_t head = 0; head < order.size(); ++head) {
    const size_t v = order[head];
    for (size_t c = children.begin(v); c < children.end(v); ++c) order.push_back(children.of[c]);
  }
  if (order.size() != n) {
    std::vector<bool> reached(n, false);
    for (size_t v : order) reached[v] = true;
    for (size_t i = 0; i < n; ++i) {
      if (!reached[i]) ReportCycle(nodes, i);
    }
  }

  // Every leaf needs a measurement on its path to the root; otherwise nothing
  // bounds its value.
  std::vector<bool> covered(n, false);
  for (size_t v : order) {
    covered[v] = nodes[v].noisy.has_value() || (v != root && covered[static_cast<size_t>(nodes[v].parent)]);
    if (!covered[v] && children.begin(v) == children.end(v)) {
      Malformed("leaf " + NodeName(nodes, v) +
                " is not measured and neither is any node above it, so nothing bounds its value; measure it "
                "or a node above it");
    }
  }
  CheckNumbers(nodes);

  // Bottom-up: z = the subtree's estimate of the node's value from the
  // measurements inside the subtree, with variance zvar.
  std::vector<double> z(n, 0), zvar(n, 0);
  std::vector<bool> has_z(n, false);
  for (size_t o = n; o-- > 0;) {
    const size_t v = order[o];
    const bool leaf = children.begin(v) == children.end(v);
    bool kids_known = !leaf;
    long double sum = 0, var = 0;
    for (size_t c = children.begin(v); c < children.end(v); ++c) {
      const size_t child = children.of[c];
      kids_known = kids_known && has_z[child];
      sum += z[child];
      var += zvar[child];
    }
    const HierarchyNode& node = nodes[v];
    if (node.noisy && kids_known) {
      const long double y = *node.noisy, s = node.variance;
      const long double weight = s / (s + var);  // the children's sum's weight
      z[v] = static_cast<double>(y + (sum - y) * weight);
      zvar[v] = static_cast<double>(s * (var / (s + var)));
      has_z[v] = true;
    } else if (node.noisy) {
      z[v] = *node.noisy;
      zvar[v] = node.variance;
      has_z[v] = true;
    } else if (kids_known) {
      z[v] = static_cast<double>(sum);
      zvar[v] = static_cast<double>(var);
      has_z[v] = true;
    }
  }
  if (!has_z[root]) Bug("the root has no estimate although every leaf is covered");

  // Top-down: each parent's disagreement with its children's estimates goes
  // to the children in proportion to their variances, or, when some children
  // have no estimate, to those children in equal shares.
  ConsistentFigures out;
  std::vector<double>& x = out.least_squares;
  x.assign(n, 0);
  x[root] = z[root];
  for (size_t v : order) {
    const size_t b = children.begin(v), e = children.end(v);
    if (b == e) continue;
    long double known_sum = 0, known_var = 0;
    size_t unknown = 0;
    for (size_t c = b; c < e; ++c) {
      const size_t child = children.of[c];
      if (has_z[child]) {
        known_sum += z[child];
        known_var += zvar[child];
      } else {
        ++unknown;
      }
    }
    const long double gap = static_cast<long double>(x[v]) - known_sum;
    const long double k = static_cast<long double>(e - b);
    for (size_t c = b; c < e; ++c) {
      const size_t child = children.of[c];
      if (unknown > 0) {
        x[child] = has_z[child] ? z[child] : static_cast<double>(gap / static_cast<long double>(unknown));
      } else if (known_var > 0) {
        x[child] = static_cast<double>(z[child] + gap * (zvar[child] / known_var));
      } else {  // every child's variance underflowed: no weights to go by
        x[child] = static_cast<double>(z[child] + gap / k);
      }
    }
  }

  // Non-negative integers, parent by parent.
  std::vector<int64_t>& published = out.published;
  published.assign(n, 0);
  if (!std::isfinite(x[root]) || std::fabs(x[root]) > kHierarchyMaxMagnitude) {
    Bug("the root's estimate " + std::to_string(x[root]) + " is beyond 2^53");
  }
  published[root] = std::max<int64_t>(0, std::llround(x[root]));
  std::vector<double> estimates;
  std::vector<std::string> keys;
  for (size_t v : order) {
    const size_t b = children.begin(v), e = children.end(v);
    if (b == e) continue;
    estimates.clear();
    keys.clear();
    for (size_t c = b; c < e; ++c) {
      estimates.push_back(x[children.of[c]]);
      keys.push_back(nodes[children.of[c]].key);
    }
    const std::vector<int64_t> split = ApportionInteger(published[v], estimates, keys);
    for (size_t c = b; c < e; ++c) published[children.of[c]] = split[c - b];
  }
  return out;
}

double DiscreteLaplaceVariance(const Rational& scale) {
  if (scale <= 0) Bug("a discrete Laplace scale must be > 0");
  // r = exp(-1/b); 1 - r = -expm1(-1/b), exact to double precision even when
  // 1/b is tiny (large scales).
  const long double inverse = ToDouble(Rational(1) / scale);
  const long double one_minus_r = -std::expm1(-inverse);
  const long double r = std::exp(-inverse);
  return static_cast<double>(2 * r / (one_minus_r * one_minus_r));
}

double DiscreteGaussianVariance(const Rational& sigma2) {
  if (sigma2 <= 0) Bug("a discrete Gaussian sigma2 must be > 0");
  const double s2 = ToDouble(sigma2);
  if (s2 > 1e6) return s2;
  // Terms beyond 14 sigma weigh less than exp(-98) of the central one.
  const long double s2l = s2;
  const auto last = static_cast<int64_t>(std::ceil(14 * std::sqrt(s2))) + 2;
  long double mass = 1, second = 0;  // x = 0: weight 1, x^2 = 0
  for (int64_t x = 1; x <= last; ++x) {
    const long double xl = static_cast<long double>(x);
    const long double w = std::exp(-xl * xl / (2 * s2l));
    mass += 2 * w;
    second += 2 * xl * xl * w;
  }
  return static_cast<double>(second / mass);
}

double MeasureNoiseVariance(const Plan& plan, size_t m) {
  if (m >= plan.measures.size()) {
    Bug("measure " + std::to_string(m) + " does not exist; the plan has " +
        std::to_string(plan.measures.size()));
  }
  const Measure& measure = plan.measures[m];
  const double units = measure.mechanism == Mechanism::kGaussian ? DiscreteGaussianVariance(measure.sigma2)
                                                                 : DiscreteLaplaceVariance(measure.scale);
  const double grid = ToDouble(measure.grid);
  const double variance = units * grid * grid;
  if (!std::isfinite(variance)) {
    Bug("measure " + std::to_string(m) + "'s noise variance overflows a double");
  }
  return std::max(variance, std::numeric_limits<double>::min());
}

}  // namespace dpql
