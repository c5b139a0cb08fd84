#pragma once

// Noise drawn ahead of need. The exact samplers run longer for larger |noise|
// (Jin et al. 2022), so a release that sampled on demand would take longer
// exactly when its noise is large. NoisePools keeps one pool of pre-drawn
// values per noise distribution (mechanism and scale); a release only pops
// values that were drawn before it asked, so its running time does not depend
// on the values it uses. A background thread refills a pool when it falls to
// half its capacity.
//
// A caller can still have to wait for a fill: the first use of a
// distribution, or a release that needs more values than its pool holds.
// The time it waits must not depend on the values it then gets, so every
// fill is timed by a decoy: the filler first draws a batch of the same size
// from the same distribution and discards it, measuring how long it took
// (t); then draws the batch it keeps, and delivers it no earlier than 3t
// after the decoy ended. Both batches are sums of the same number of
// independent draw times, so the kept batch finishes within those 3t except
// with negligible probability (it would need to take three times as long as
// its twin), and the delivery time is a function of the discarded decoy only.
// The filler waits out that time before the next fill, so no fill's start
// depends on an earlier kept batch either. The cost: twice the draws, and a
// fill takes about four times as long as its draws.
//
// Prefill() fills pools for the distributions a server expects, at start,
// so that most releases never wait. Expect() asks for the pools a release is
// about to draw from, while its query runs, so that their first fill (of
// `first_fill` values: a fill's time grows with its size) is ready or nearly
// so when the release draws.
//
// Memory is bounded: at most `max_pools` pools (the least recently used idle
// pool is dropped) of at most `capacity` values each.
//
// Determinism: fills run one at a time, in the order they were requested, and
// each pool hands out its values first-in first-out, so a single-threaded
// caller with a seeded RandomSource sees the same values on every run: the
// sampler's sequence with every kept batch preceded by its decoy.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/noise/noise_source.h"

namespace dpql {

class NoisePools final : public NoiseSource {
 public:
  struct Options {
    size_t capacity = 1024;  // values per pool; refilled by capacity / 2 at half
    size_t max_pools = 64;   // distinct distributions kept at once
    // The first fill of a pool that Draw() or Expect() creates (0: capacity).
    // Prefill() fills to capacity.
    size_t first_fill = 0;
    // Time every fill by a discarded decoy batch (above). Off only in the
    // negative control of the timing tests.
    bool decoy = true;
    // Runs after every draw, decoys included, with its value: the timing
    // tests' stand-in for a sampler whose running time grows with |noise|.
    // Unset in production.
    std::function<void(const BigInt&)> after_draw;
  };

  // How long after its decoy a fill is delivered, in units of the decoy's time.
  static constexpr int kPadFactor = 3;

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

  // Creates (and requests the first fill of) a pool for each distribution,
  // in order, without waiting; invalid ones are skipped. Thread-safe.
  void Prefill(const std::vector<NoiseSpec>& specs);

  // The same for the distributions a release is about to draw from, each
  // pool created with a first fill of `first_fill` values; pools that exist
  // are left as they are. Never waits. Thread-safe.
  void Expect(const std::vector<NoiseSpec>& specs);

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

  // `first`: the size of a new pool's first fill.
  std::shared_ptr<Pool> FindOrCreate(const NoiseSpec& spec, size_t first);  // mutex_ held
  void RequestFill(const NoiseSpec& spec, Pool& pool, size_t count);  // mutex_ held
  void EvictIdlePool();                                               // mutex_ held
  size_t FirstFill() const { return options_.first_fill > 0 ? options_.first_fill : options_.capacity; }
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
