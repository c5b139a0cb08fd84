#include "runtime/noise/noise_source.h"

namespace dpql {

SpecSampler::SpecSampler(const NoiseSpec& spec) {
  if (spec.kind == NoiseSpec::Kind::kDiscreteGaussian) {
    gaussian_ = std::make_unique<DiscreteGaussianSampler>(spec.parameter);
  } else {
    laplace_ = std::make_unique<DiscreteLaplaceSampler>(spec.parameter);
  }
}

BigInt SpecSampler::Sample(RandomSource& rng) const {
  return laplace_ ? laplace_->Sample(rng) : gaussian_->Sample(rng);
}

BigInt DirectNoise::Draw(const NoiseSpec& spec) {
  auto found = samplers_.find(spec);
  if (found == samplers_.end()) found = samplers_.emplace(spec, SpecSampler(spec)).first;
  return found->second.Sample(rng_);
}

}  // namespace dpql
