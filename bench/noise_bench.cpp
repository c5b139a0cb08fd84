// Exact noise: discrete Laplace and discrete Gaussian samples per second over
// the production CSPRNG, and the CSPRNG's own throughput.

#include <benchmark/benchmark.h>

#include <vector>

#include "runtime/noise/samplers.h"
#include "runtime/random/random_source.h"

namespace dpql {
namespace {

// Scales as numerator/denominator: counts at ε = 1 and 0.3, sums, and a
// scale far past the machine-word fast path.
void BM_DiscreteLaplace(benchmark::State& state) {
  SecureRandom rng;
  DiscreteLaplaceSampler sampler(Rational(BigInt(state.range(0)), BigInt(state.range(1))));
  for (auto _ : state) benchmark::DoNotOptimize(sampler.Sample(rng));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DiscreteLaplace)
    ->Args({1, 1})
    ->Args({10, 3})
    ->Args({40, 1})
    ->Args({1000, 1})
    ->Args({1'000'000'000, 7});

void BM_DiscreteLaplaceBigScale(benchmark::State& state) {
  SecureRandom rng;
  BigInt huge = BigInt(1) << 80;
  DiscreteLaplaceSampler sampler(Rational(huge, BigInt(3)));
  for (auto _ : state) benchmark::DoNotOptimize(sampler.Sample(rng));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DiscreteLaplaceBigScale);

void BM_DiscreteGaussian(benchmark::State& state) {
  SecureRandom rng;
  DiscreteGaussianSampler sampler(Rational(BigInt(state.range(0)), BigInt(state.range(1))));
  for (auto _ : state) benchmark::DoNotOptimize(sampler.Sample(rng));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DiscreteGaussian)->Args({1, 1})->Args({100, 1})->Args({1'000'000, 3});

void BM_SecureRandomBytes(benchmark::State& state) {
  SecureRandom rng;
  std::vector<uint8_t> buffer(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    rng.Fill(buffer.data(), buffer.size());
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SecureRandomBytes)->Arg(8)->Arg(4096);

}  // namespace
}  // namespace dpql
