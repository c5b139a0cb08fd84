#pragma once

// Noise drawn ahead of need. The exact samplers run longer for larger |noise|
// (Jin et al. 2022), so a release that sampled on demand would take longer
// exactly when its noise is large. NoisePools keeps one pool of pre-drawn
// values per noise distribution (mechanism and scale); a release only pops
// values that were drawn before it asked, so its running time does not depend
// on the values it uses. A background thread refills a pool when it falls to
// half its capacity.
//
// A distribution seen for the first time gets a full pool before its first
// value is handed out: that wait is the time of `capacity` draws, of which any
// one value is a small part (its rank correlation with the wait falls like
// 1/sqrt(capacity)). The same holds when a release needs more values than a
// pool holds and has to wait for a refill batch.
//
// Memory is bounded: at most `max_pools` pools (the least recently used idle
// pool is dropped) of at most `capacity` values each.
//
// Determinism: fills run one at a time, in the order they were requested, and
// each pool hands out its values first-in first-out, so a single-threaded
// caller with a seeded RandomSource sees the same values on every run.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "runtime/noise/noise_source.h"

namespace dpql {

class NoisePools final : public NoiseSource {
 public:
  struct Options {
    size_t capacity = 1024;  // values per pool; refilled by capacity / 2 at half
    size_t max_pools = 64;   // distinct distributions kept at once
  };

  // `rng` feeds the filler thread (and Random()).
  explicit NoisePools(std::unique_ptr<RandomSource> rng);
  NoisePools(std::unique_ptr<RandomSource> rng, Options options);
  ~NoisePools() override;  // stops and joins the filler thread
  NoisePools(const NoisePools&) = delete;
  NoisePools& operator=(const NoisePools&) = delete;

  // Thread-safe. Blocks only while `spec`'s pool is empty (its first fill, or a
  // release that outran the refills). Throws DpqlError (kInternal) if `spec` is
  // invalid or the random source failed.
  BigInt Draw(const NoiseSpec& spec) override;

  // Thread-safe: shares the pools' source under a lock.
  RandomSource& Random() override { return locked_; }

  // Values waiting in `spec`'s pool (0 if it has none), and the number of
  // pools. For tests and metrics.
  size_t Available(const NoiseSpec& spec) const;
  size_t PoolCount() const;

 private:
  struct Pool {
    explicit Pool(const NoiseSpec& spec) : sampler(spec) {}
    const SpecSampler sampler;
    std::deque<BigInt> values;
    size_t pending = 0;  // requested but not yet delivered
    size_t waiters = 0;  // callers blocked on this pool
    uint64_t last_used = 0;
  };

  std::shared_ptr<Pool> FindOrCreate(const NoiseSpec& spec);  // mutex_ held
  void RequestFill(const NoiseSpec& spec, Pool& pool, size_t count);  // mutex_ held
  void EvictIdlePool();  // mutex_ held
  void FillerLoop();

  // The pools' source behind a lock, for the filler and for Random().
  class LockedRandom final : public RandomSource {
   public:
    explicit LockedRandom(std::unique_ptr<RandomSource> rng) : rng_(std::move(rng)) {}
    void Fill(uint8_t* out, size_t size) override {
      std::lock_guard<std::mutex> lock(mutex_);
      rng_->Fill(out, size);
    }

   private:
    std::mutex mutex_;
    std::unique_ptr<RandomSource> rng_;
  };

  const Options options_;
  LockedRandom locked_;

  mutable std::mutex mutex_;
  std::condition_variable delivered_;  // a fill arrived, or the filler stopped
  std::condition_variable requested_;  // a fill was requested, or stop
  std::map<NoiseSpec, std::shared_ptr<Pool>> pools_;
  std::deque<std::pair<NoiseSpec, size_t>> requests_;  // first in, first filled
  uint64_t clock_ = 0;
  bool stop_ = false;
  std::string failure_;  // set when the filler could not draw; every Draw then fails
  std::thread filler_;   // last: starts after everything above exists
};

}  // namespace dpql
