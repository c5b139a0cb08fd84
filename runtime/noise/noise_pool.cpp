#include "runtime/noise/noise_pool.h"

#include <chrono>
#include <vector>

#include "compiler/common/error.h"

namespace dpql {

NoisePools::NoisePools(std::unique_ptr<RandomSource> rng) : NoisePools(std::move(rng), Options{}) {}

NoisePools::NoisePools(std::unique_ptr<RandomSource> rng, Options options)
    : options_(options), locked_(std::move(rng)) {
  if (options_.capacity < 2 || options_.max_pools < 1 || options_.first_fill > options_.capacity) {
    throw DpqlError(ErrorCode::kInvalidOption,
                    "noise pools need a capacity of at least 2, at least one pool and a first fill "
                    "no larger than the capacity");
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
  std::shared_ptr<Pool> pool = FindOrCreate(spec, FirstFill());
  pool->last_used = ++clock_;
  ++pool->waiters;
  delivered_.wait(lock, [&] { return !pool->values.empty() || stop_ || !failure_.empty(); });
  --pool->waiters;
  if (!failure_.empty()) {
    throw DpqlError(ErrorCode::kRandomFailure, "noise could not be drawn: " + failure_);
  }
  if (pool->values.empty()) {
    throw DpqlError(ErrorCode::kShuttingDown, "the noise pools are shutting down");
  }
  BigInt value = std::move(pool->values.front());
  pool->values.pop_front();
  // Refill in fixed batches at fixed levels, so that which values a caller
  // gets never depends on how fast the filler ran.
  const size_t half = options_.capacity / 2;
  if (pool->values.size() + pool->pending <= half) RequestFill(spec, *pool, half);
  return value;
}

void NoisePools::Prefill(const std::vector<NoiseSpec>& specs) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const NoiseSpec& spec : specs) {
    try {
      FindOrCreate(spec, options_.capacity)->last_used = ++clock_;
    } catch (const DpqlError&) {
      // An invalid parameter: Draw() reports it to whoever asks for it.
    }
  }
}

void NoisePools::Expect(const std::vector<NoiseSpec>& specs) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const NoiseSpec& spec : specs) {
    try {
      FindOrCreate(spec, FirstFill())->last_used = ++clock_;
    } catch (const DpqlError&) {
      // An invalid parameter: Draw() reports it to whoever asks for it.
    }
  }
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

std::shared_ptr<NoisePools::Pool> NoisePools::FindOrCreate(const NoiseSpec& spec, size_t first) {
  auto found = pools_.find(spec);
  if (found != pools_.end()) return found->second;
  auto pool = std::make_shared<Pool>(spec);  // validates the parameter; throws if invalid
  if (pools_.size() >= options_.max_pools) EvictIdlePool();
  pools_.emplace(spec, pool);
  // Filled before its first use: the first caller waits for the whole batch.
  RequestFill(spec, *pool, first);
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
    auto deliver_at = std::chrono::steady_clock::now();
    auto decoy_end = deliver_at;
    std::chrono::steady_clock::duration pad{0};
    try {
      if (options_.decoy) {
        // The decoy: the same number of draws from the same distribution,
        // discarded; only its running time is used.
        const auto start = std::chrono::steady_clock::now();
        for (size_t i = 0; i < count; ++i) {
          BigInt discarded = pool->sampler.Sample(locked_);
          if (options_.after_draw) options_.after_draw(discarded);
        }
        decoy_end = std::chrono::steady_clock::now();
        pad = kPadFactor * (decoy_end - start);
        deliver_at = decoy_end + pad;
      }
      batch.reserve(count);
      for (size_t i = 0; i < count; ++i) {
        batch.push_back(pool->sampler.Sample(locked_));
        if (options_.after_draw) options_.after_draw(batch.back());
      }
    } catch (const std::exception& error) {
      failure = error.what();
    }
    // In the rare case the batch took longer than its pad (in practice: the
    // thread was descheduled), the next doubling of the pad: the time still
    // says only which power of two the overrun fell under.
    if (options_.decoy && pad.count() > 0) {
      while (deliver_at < std::chrono::steady_clock::now()) {
        pad *= 2;
        deliver_at = decoy_end + pad;
      }
    }
    lock.lock();
    // Deliver at the decoy's time, not the batch's. Waiting here also keeps
    // the next fill's start independent of this batch. Stop cuts it short.
    requested_.wait_until(lock, deliver_at, [&] { return stop_; });

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
