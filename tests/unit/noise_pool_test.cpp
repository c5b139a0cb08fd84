// Noise drawn ahead of need (runtime/noise/noise_pool.h): the pools hand out
// exactly the samplers' draws, a new distribution is filled before its first
// use, memory stays bounded, and — the point of it all — the time a release
// spends getting a value does not depend on that value.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <numeric>
#include <thread>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/engine.h"
#include "runtime/noise/noise_pool.h"
#include "runtime/release/release.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

NoisePools::Options Small(size_t capacity, size_t max_pools = 64) {
  NoisePools::Options options;
  options.capacity = capacity;
  options.max_pools = max_pools;
  return options;
}

TEST(NoisePoolTest, HandsOutExactlyTheSamplersDrawsInOrder) {
  // First in, first out, refills included: the pooled values are the very
  // sequence the sampler draws from the same source, less the decoy batch
  // drawn (and discarded) before each kept one: a first fill of 64 after a
  // decoy of 64, then refills of 32 after decoys of 32. So their
  // distribution is the sampler's exact one.
  const NoiseSpec spec = NoiseSpec::Laplace(Rational(7, 3));
  NoisePools pools(std::make_unique<SeededRandom>(2024), Small(64));
  SeededRandom direct_rng(2024);
  SpecSampler sampler(spec);
  std::vector<BigInt> expected;
  for (size_t batch = 64; expected.size() < 1000; batch = 32) {
    for (size_t i = 0; i < batch; ++i) sampler.Sample(direct_rng);  // the decoy
    for (size_t i = 0; i < batch; ++i) expected.push_back(sampler.Sample(direct_rng));
  }
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(pools.Draw(spec), expected[i]) << "draw " << i;
  }
}

TEST(NoisePoolTest, WithoutTheDecoyThePoolHandsOutTheSamplersDrawsUnskipped) {
  // The negative control's pools: the same sequence, nothing skipped.
  const NoiseSpec spec = NoiseSpec::Laplace(Rational(7, 3));
  NoisePools::Options options = Small(64);
  options.decoy = false;
  NoisePools pools(std::make_unique<SeededRandom>(2024), options);
  SeededRandom direct_rng(2024);
  SpecSampler sampler(spec);
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(pools.Draw(spec), sampler.Sample(direct_rng)) << "draw " << i;
  }
}

TEST(NoisePoolTest, AFillIsDeliveredNoSoonerThanItsDecoyAllows) {
  // A first use waits for the decoy and then kPadFactor times the decoy's
  // time. Every draw here takes at least kDrawTime (after_draw sleeps), so the
  // decoy of n draws takes at least n x kDrawTime and the wait is at least
  // (1 + kPadFactor) n x kDrawTime. A busy machine only lengthens the wait,
  // so this lower bound cannot fail from load; without the pad (or without
  // the decoy) the wait would be about n x kDrawTime and fail it.
  constexpr auto kDrawTime = std::chrono::microseconds(200);
  std::atomic<int> draws{0};
  NoisePools::Options options = Small(64);
  options.after_draw = [&](const BigInt&) {
    draws.fetch_add(1);
    std::this_thread::sleep_for(kDrawTime);
  };
  NoisePools pools(std::make_unique<SeededRandom>(8), options);
  const auto start = std::chrono::steady_clock::now();
  pools.Draw(NoiseSpec::Laplace(Rational(1000000)));
  const auto wait = std::chrono::steady_clock::now() - start;
  // The decoy and the kept batch are the same size.
  const int batch = draws.load() / 2;
  ASSERT_GT(batch, 0);
  EXPECT_GE(wait, (1 + NoisePools::kPadFactor) * batch * kDrawTime)
      << "first wait " << std::chrono::duration<double>(wait).count() << " s for a batch of " << batch;
}

TEST(NoisePoolTest, PrefillCreatesFullPoolsWithoutWaiting) {
  NoisePools pools(std::make_unique<SeededRandom>(9), Small(16));
  const std::vector<NoiseSpec> specs = {NoiseSpec::Laplace(Rational(3)), NoiseSpec::Gaussian(Rational(5)),
                                        NoiseSpec::Laplace(Rational(0))};  // the last is invalid
  pools.Prefill(specs);
  EXPECT_EQ(pools.PoolCount(), 2u);  // the invalid one is skipped
  // Full once the filler is done, before anyone drew from them.
  auto full = [&] { return pools.Available(specs[0]) == 16 && pools.Available(specs[1]) == 16; };
  for (int i = 0; i < 2000 && !full(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(pools.Available(specs[0]), 16u);
  EXPECT_EQ(pools.Available(specs[1]), 16u);
  EXPECT_THROW(pools.Draw(specs[2]), DpqlError);
}

TEST(NoisePoolTest, ExpectFillsNewPoolsWithTheFirstFillAheadOfTheirUse) {
  // The engine's use (Engine::NoiseOptions): a small first fill, asked for
  // as a query starts. Filled before anyone draws, to first_fill and not to
  // capacity; a pool that exists is left as it is; the values are still the
  // sampler's draws, each kept batch after its decoy (10, then refills of 50).
  NoisePools::Options options = Small(100);
  options.first_fill = 10;
  const NoiseSpec spec = NoiseSpec::Laplace(Rational(7, 3));
  NoisePools pools(std::make_unique<SeededRandom>(2025), options);
  pools.Expect({spec, NoiseSpec::Laplace(Rational(0))});  // the invalid one is skipped
  EXPECT_EQ(pools.PoolCount(), 1u);
  for (int i = 0; i < 2000 && pools.Available(spec) < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(pools.Available(spec), 10u) << "the first fill is first_fill values, not the capacity";
  pools.Expect({spec});  // no second first fill
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(pools.Available(spec), 10u);

  SeededRandom direct_rng(2025);
  SpecSampler sampler(spec);
  std::vector<BigInt> expected;
  for (size_t batch = 10; expected.size() < 300; batch = 50) {
    for (size_t i = 0; i < batch; ++i) sampler.Sample(direct_rng);  // the decoy
    for (size_t i = 0; i < batch; ++i) expected.push_back(sampler.Sample(direct_rng));
  }
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(pools.Draw(spec), expected[i]) << "draw " << i;
  }
}

TEST(NoisePoolTest, FirstFillLargerThanTheCapacityIsRefused) {
  NoisePools::Options options = Small(16);
  options.first_fill = 17;
  EXPECT_THROW(NoisePools(std::make_unique<SeededRandom>(1), options), DpqlError);
}

TEST(NoisePoolTest, SameSeedSameValuesAcrossInterleavedDistributions) {
  const std::vector<NoiseSpec> specs = {NoiseSpec::Laplace(Rational(1)), NoiseSpec::Laplace(Rational(50)),
                                        NoiseSpec::Gaussian(Rational(9, 2))};
  auto run = [&] {
    NoisePools pools(std::make_unique<SeededRandom>(77), Small(32));
    std::vector<BigInt> out;
    for (int i = 0; i < 600; ++i) out.push_back(pools.Draw(specs[(i * 7 + i / 5) % specs.size()]));
    return out;
  };
  EXPECT_EQ(run(), run());
}

TEST(NoisePoolTest, NewDistributionIsFullBeforeItsFirstUse) {
  NoisePools pools(std::make_unique<SeededRandom>(1), Small(100));
  const NoiseSpec spec = NoiseSpec::Laplace(Rational(1000));
  EXPECT_EQ(pools.Available(spec), 0u);
  pools.Draw(spec);
  // The first caller waited for the whole first batch, then took one value.
  EXPECT_EQ(pools.Available(spec), 99u);
}

TEST(NoisePoolTest, MemoryIsBounded) {
  NoisePools pools(std::make_unique<SeededRandom>(3), Small(16, 4));
  for (int scale = 1; scale <= 20; ++scale) {
    pools.Draw(NoiseSpec::Laplace(Rational(scale)));
    EXPECT_LE(pools.PoolCount(), 4u);
  }
  // Refills keep each pool at or below its capacity.
  const NoiseSpec spec = NoiseSpec::Laplace(Rational(20));
  for (int i = 0; i < 200; ++i) {
    pools.Draw(spec);
    EXPECT_LE(pools.Available(spec), 16u);
  }
}

// Pools are keyed by (mechanism, numerator, denominator): scales that share a
// numerator are different distributions, and one value however written is one.
TEST(NoisePoolTest, EachDistributionHasItsOwnPool) {
  NoisePools pools(std::make_unique<SeededRandom>(6), Small(8));
  const NoiseSpec third = NoiseSpec::Laplace(Rational(10, 3));
  pools.Draw(third);
  pools.Draw(NoiseSpec::Laplace(Rational(10, 7)));
  pools.Draw(NoiseSpec::Laplace(Rational(20, 6)));  // 10/3 again
  pools.Draw(NoiseSpec::Gaussian(Rational(10, 3)));
  EXPECT_EQ(pools.PoolCount(), 3u);
  EXPECT_EQ(pools.Available(third), 6u);  // two of its 8 values taken
  EXPECT_FALSE(third < NoiseSpec::Laplace(Rational(20, 6)));
  EXPECT_FALSE(NoiseSpec::Laplace(Rational(20, 6)) < third);
  EXPECT_NE(NoiseSpec::Laplace(Rational(10, 7)) < third, third < NoiseSpec::Laplace(Rational(10, 7)));
}

TEST(NoisePoolTest, InvalidDistributionIsRefusedAndCreatesNoPool) {
  NoisePools pools(std::make_unique<SeededRandom>(4), Small(8));
  EXPECT_THROW(pools.Draw(NoiseSpec::Laplace(Rational(0))), DpqlError);
  EXPECT_THROW(pools.Draw(NoiseSpec::Gaussian(Rational(-1))), DpqlError);
  EXPECT_EQ(pools.PoolCount(), 0u);
}

TEST(NoisePoolTest, ConcurrentCallersAllGetValues) {
  NoisePools pools(std::make_unique<SeededRandom>(5), Small(64, 2));
  const std::vector<NoiseSpec> specs = {NoiseSpec::Laplace(Rational(2)), NoiseSpec::Laplace(Rational(3)),
                                        NoiseSpec::Gaussian(Rational(4))};
  std::atomic<int> drawn{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1500; ++i) {
        BigInt value = pools.Draw(specs[(t + i) % specs.size()]);
        if (abs(value) < 1000) ++drawn;  // scales 2..4: |noise| >= 1000 has probability < 1e-100
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(drawn.load(), 4 * 1500);
  EXPECT_LE(pools.PoolCount(), 3u);  // max 2, exceeded only while every pool is busy
}

// dpqld pre-fills the pools of typical queries at the catalog's defaults
// (Engine::PrefillNoise): those queries' first releases do not wait.
TEST(EnginePrefillTest, TypicalQueriesOfTheDemoCatalogHaveTheirPools) {
  const Catalog catalog = LoadCatalog(DPQL_SOURCE_DIR_DEFAULT "/examples/hospital/catalog.yaml");
  ConnectionPool pool("host=/nonexistent", 1);  // never used: pre-filling reads no data
  Engine engine(catalog, pool, std::make_unique<SeededRandom>(1));
  const std::vector<NoiseSpec> specs = engine.PrefillNoise();
  EXPECT_LE(specs.size(), NoisePools::Options{}.max_pools / 2);
  RecordProperty("prefilled", std::to_string(specs.size()));
  const Dataset& hospital = *catalog.FindDataset("hospital");
  for (const char* query :
       {"SELECT COUNT(*) FROM admissions", "SELECT AVG(age) FROM admissions",
        "SELECT SUM(length_of_stay) FROM admissions", "SELECT COUNT(DISTINCT patient_id) FROM bed_days",
        "SELECT ward_code, COUNT(*) FROM admissions GROUP BY ward_code"}) {
    const Plan plan = CompileSelect(hospital, *ParseStatement(query).select);
    for (const Measure& measure : plan.measures) {
      EXPECT_NE(std::find(specs.begin(), specs.end(), MeasureNoise(measure)), specs.end()) << query;
    }
  }
}

// ---------------------------------------------------------------------------
// Timing. A statistical test, not a speed target: it times many single draws
// at a large scale, where the exact sampler's running time grows with |noise|,
// and asks whether time and |noise| are rank-correlated.

// Spearman's rank correlation, ties given their average rank.
std::vector<double> Ranks(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = (static_cast<double>(i + j) / 2) + 1;
    i = j + 1;
  }
  return ranks;
}

double Spearman(const std::vector<double>& x, const std::vector<double>& y) {
  std::vector<double> rx = Ranks(x), ry = Ranks(y);
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(rx.begin(), rx.end(), 0.0) / n;
  const double my = std::accumulate(ry.begin(), ry.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) * (rx[i] - mx);
    syy += (ry[i] - my) * (ry[i] - my);
  }
  return sxy / std::sqrt(sxx * syy);
}

// Times `draws` single calls of `draw` and returns Spearman's r between the
// time of each call and the |value| it returned.
template <class Draw>
double TimeValueCorrelation(int draws, Draw&& draw) {
  std::vector<double> times, magnitudes;
  times.reserve(draws);
  magnitudes.reserve(draws);
  for (int i = 0; i < draws; ++i) {
    const auto start = std::chrono::steady_clock::now();
    BigInt value = draw();
    const auto end = std::chrono::steady_clock::now();
    times.push_back(std::chrono::duration<double, std::nano>(end - start).count());
    magnitudes.push_back(abs(value).convert_to<double>());
  }
  return Spearman(times, magnitudes);
}

// n = 10000 timed draws. Under independence r is approximately normal with
// standard deviation 1/sqrt(n - 1) = 0.01, so |r| < 0.06 (six standard
// deviations) fails by chance with probability about 2e-9: the significance
// level of the test. The negative control must exceed the same bound, showing
// that the harness sees a value-dependent running time when there is one (on
// a loaded two-core machine the direct sampler measured r = 0.15 to 0.47).
constexpr int kTimedDraws = 10000;
constexpr double kMaxAbsCorrelation = 0.06;
const Rational kLargeScale(1000000);  // |noise| ~ 10^6: many Bernoulli(exp(-1)) rounds per draw

TEST(NoiseTimingStatisticalTest, PooledDrawTimeDoesNotTrackTheValue) {
  const NoiseSpec spec = NoiseSpec::Laplace(kLargeScale);
  NoisePools pools(std::make_unique<SeededRandom>(11));
  pools.Draw(spec);  // the pool is full before the timed draws
  double r = TimeValueCorrelation(kTimedDraws, [&] { return pools.Draw(spec); });
  RecordProperty("spearman_pooled", std::to_string(r));
  EXPECT_LT(std::abs(r), kMaxAbsCorrelation) << "pooled draws: Spearman r = " << r;
}

// A caller that has to wait for a fill: the first use of a distribution.
// Each of n fresh distributions (scales 10^6 + i, alike to within 0.2%) is
// drawn once, timed, and then the rest of its first batch (16 values) is
// drained: how long the first caller waited is compared with the sum of
// |noise| over the batch it was handed a value of. The exact samplers' time grows with |noise|, but
// faintly next to thread wake-ups; here every draw also spins 200 us per scale
// unit of |noise| (Options::after_draw), the worst case of a value-dependent
// sampler. A batch of 16 makes its drawing time vary by a quarter of its mean
// (a sum of 16 exponentials), so that a loaded machine, which stretches every
// wait by a random factor, does not drown the signal of the negative control.
// Without the decoy the wait is the batch's own drawing time and tracks its
// sum of |noise|; with it, the wait is the discarded decoy's.
// Under independence r has standard deviation 1/sqrt(n - 1), so |r| below
// six of them fails by chance with probability about 2e-9: with n = 500 first
// uses the bound is 0.27. The negative control (no decoy) must exceed the
// bound for its own n; it uses n = 2000 (bound 0.134), because on a machine
// busy compiling the control's r fell to 0.24.
constexpr int kFirstUses = 500;
constexpr int kFirstUsesControl = 2000;
double MaxAbsWaitCorrelation(int uses) { return 6.0 / std::sqrt(uses - 1.0); }
constexpr size_t kFirstBatch = 16;

double FirstWaitBatchCorrelation(bool decoy, int uses) {
  NoisePools::Options options = Small(kFirstBatch);
  options.decoy = decoy;
  options.after_draw = [](const BigInt& value) {
    const double units = std::min(abs(value).convert_to<double>() / 1e6, 20.0);
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::nanoseconds(static_cast<int64_t>(units * 200000));
    while (std::chrono::steady_clock::now() < until) {
    }
  };
  NoisePools pools(std::make_unique<SeededRandom>(12), options);
  std::vector<double> waits, sums;
  for (int i = 0; i < uses; ++i) {
    const NoiseSpec spec = NoiseSpec::Laplace(Rational(1000000 + i));
    const auto start = std::chrono::steady_clock::now();
    BigInt first = pools.Draw(spec);
    const auto end = std::chrono::steady_clock::now();
    BigInt sum = abs(first);
    // The rest of the same batch: no wait.
    for (size_t k = 1; k < kFirstBatch; ++k) sum += abs(pools.Draw(spec));
    // Let the refill the drain requested finish, so the next first use does
    // not queue behind it.
    while (pools.Available(spec) < kFirstBatch / 2) std::this_thread::yield();
    waits.push_back(std::chrono::duration<double, std::nano>(end - start).count());
    sums.push_back(sum.convert_to<double>());
  }
  return Spearman(waits, sums);
}

TEST(NoiseTimingStatisticalTest, AFirstCallersWaitDoesNotTrackItsBatch) {
  double r = FirstWaitBatchCorrelation(true, kFirstUses);
  RecordProperty("spearman_first_wait_decoy", std::to_string(r));
  EXPECT_LT(std::abs(r), MaxAbsWaitCorrelation(kFirstUses)) << "decoy-timed first waits: Spearman r = " << r;
}

TEST(NoiseTimingStatisticalTest, NegativeControlWithoutDecoyTheWaitTracksTheBatch) {
  double r = FirstWaitBatchCorrelation(false, kFirstUsesControl);
  RecordProperty("spearman_first_wait_plain", std::to_string(r));
  EXPECT_GT(r, MaxAbsWaitCorrelation(kFirstUsesControl))
      << "first waits without decoy: Spearman r = " << r
      << " — the harness no longer sees the channel the decoy closes";
}

TEST(NoiseTimingStatisticalTest, NegativeControlDirectSamplerTimeTracksTheValue) {
  const NoiseSpec spec = NoiseSpec::Laplace(kLargeScale);
  SeededRandom rng(11);
  DirectNoise direct(rng);
  direct.Draw(spec);  // the sampler is built before the timed draws
  double r = TimeValueCorrelation(kTimedDraws, [&] { return direct.Draw(spec); });
  RecordProperty("spearman_direct", std::to_string(r));
  EXPECT_GT(r, kMaxAbsCorrelation) << "direct draws: Spearman r = " << r
                                   << " — the harness no longer sees the timing channel";
}

}  // namespace
}  // namespace dpql
