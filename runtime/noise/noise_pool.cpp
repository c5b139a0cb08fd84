#include "runtime/noise/noise_pool.h"

#include <vector>

#include "compiler/common/error.h"

namespace dpql {

NoisePools::NoisePools(std::unique_ptr<RandomSource> rng) : NoisePools(std::move(rng), Options{}) {}

NoisePools::NoisePools(std::unique_ptr<RandomSource> rng, Options options)
    : options_(options), locked_(std::move(rng)) {
  if (options_.capacity < 2 || options_.max_pools < 1) {
    throw DpqlError(ErrorKind::kInternal, "invalid_option",
                    "noise pools need a capacity of at least 2 and at least one pool");
  }
  filler_ = std::thread([this] { FillerLoop(); });
}

NoisePools::~NoisePools() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  requested_.notify_all();
  delivered_.notify_all();
  filler_.join();
}

BigInt NoisePools::Draw(const NoiseSpec& spec) {
  std::unique_lock<std::mutex> lock(mutex_);
  std::shared_ptr<Pool> pool = FindOrCreate(spec);
  pool->last_used = ++clock_;
  ++pool->waiters;
  delivered_.wait(lock, [&] { return !pool->values.empty() || stop_ || !failure_.empty(); });
  --pool->waiters;
  if (!failure_.empty()) {
    throw DpqlError(ErrorKind::kInternal, "random_failure", "noise could not be drawn: " + failure_);
  }
  if (pool->values.empty()) {
    throw DpqlError(ErrorKind::kInternal, "shutting_down", "the noise pools are shutting down");
  }
  BigInt value = std::move(pool->values.front());
  pool->values.pop_front();
  // Refill in fixed batches at fixed levels, so that which values a caller
  // gets never depends on how fast the filler ran.
  const size_t half = options_.capacity / 2;
  if (pool->values.size() + pool->pending <= half) RequestFill(spec, *pool, half);
  return value;
}

size_t NoisePools::Available(const NoiseSpec& spec) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = pools_.find(spec);
  return found == pools_.end() ? 0 : found->second->values.size();
}

size_t NoisePools::PoolCount() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pools_.size();
}

std::shared_ptr<NoisePools::Pool> NoisePools::FindOrCreate(const NoiseSpec& spec) {
  auto found = pools_.find(spec);
  if (found != pools_.end()) return found->second;
  auto pool = std::make_shared<Pool>(spec);  // validates the parameter; throws if invalid
  if (pools_.size() >= options_.max_pools) EvictIdlePool();
  pools_.emplace(spec, pool);
  // Full before its first use: the first caller waits for the whole batch.
  RequestFill(spec, *pool, options_.capacity);
  return pool;
}

void NoisePools::RequestFill(const NoiseSpec& spec, Pool& pool, size_t count) {
  pool.pending += count;
  requests_.emplace_back(spec, count);
  requested_.notify_one();
}

void NoisePools::EvictIdlePool() {
  auto victim = pools_.end();
  for (auto it = pools_.begin(); it != pools_.end(); ++it) {
    const Pool& pool = *it->second;
    if (pool.pending != 0 || pool.waiters != 0) continue;
    if (victim == pools_.end() || pool.last_used < victim->second->last_used) victim = it;
  }
  // With every pool busy, go over the bound for now; busy pools are at most
  // as many as concurrent callers.
  if (victim != pools_.end()) pools_.erase(victim);
}

void NoisePools::FillerLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    requested_.wait(lock, [&] { return stop_ || !requests_.empty(); });
    if (stop_) return;
    auto [spec, count] = requests_.front();
    requests_.pop_front();
    auto found = pools_.find(spec);
    if (found == pools_.end()) continue;  // cannot happen: pools with pending fills are kept
    std::shared_ptr<Pool> pool = found->second;

    // Sample without the lock, so callers keep popping from other pools.
    lock.unlock();
    std::vector<BigInt> batch;
    std::string failure;
    try {
      batch.reserve(count);
      for (size_t i = 0; i < count; ++i) batch.push_back(pool->sampler.Sample(locked_));
    } catch (const std::exception& error) {
      failure = error.what();
    }
    lock.lock();

    pool->pending -= count;
    if (!failure.empty()) {
      failure_ = failure;
    } else {
      for (BigInt& value : batch) pool->values.push_back(std::move(value));
    }
    delivered_.notify_all();
  }
}

}  // namespace dpql
