#pragma once

// In-process memory in front of dpql.answer_cache, so that a repeated query
// costs the server one database round trip and no compiling
// (Engine::ServeCached):
//
//  - plans: (dataset, query text) -> the compiled SELECT with its canonical
//    predicates and plan hash. Compiling is a pure function of the text and
//    the catalog, and the engine owning the memo is bound to one catalog for
//    its whole life, so a plan can never outlive the catalog it was compiled
//    against (a catalog change means a new dpqld, hence a new engine).
//  - answers: (dataset, plan hash) -> the answer dpql.answer_cache holds for
//    it under one data version. Only answers the table holds are kept: read
//    from it, or stored into it by this process (an answer whose Store lost to
//    a concurrent identical query is not kept). A kept answer is served only
//    after the same round trip has seen that the table still holds an answer
//    for the key under the dataset's current data version, so a data-version
//    bump stops it at once.
//
// Both are LRU maps bounded by an estimate of their bytes, and thread-safe.

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "compiler/planner/plan.h"
#include "runtime/release/result.h"

namespace dpql {

// A map from text keys to shared, immutable values that forgets the least
// recently used entries beyond `capacity_bytes` (as estimated by the caller).
template <class Value>
class LruMemo {
 public:
  explicit LruMemo(size_t capacity_bytes) : capacity_(capacity_bytes) {}

  std::shared_ptr<const Value> Find(const std::string& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->value;
  }

  // Replaces any entry for `key`. A value larger than the whole capacity is not kept.
  void Put(const std::string& key, std::shared_ptr<const Value> value, size_t bytes) {
    bytes += key.size() + kEntryOverhead;
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = index_.find(key); it != index_.end()) Erase(it);
    if (bytes > capacity_) return;
    while (bytes_ + bytes > capacity_ && !order_.empty()) Erase(index_.find(order_.back().key));
    order_.push_front(Entry{key, std::move(value), bytes});
    index_.emplace(key, order_.begin());
    bytes_ += bytes;
  }

  size_t size() {
    std::lock_guard<std::mutex> lock(mutex_);
    return index_.size();
  }

 private:
  static constexpr size_t kEntryOverhead = 128;  // list and hash nodes, control blocks
  struct Entry {
    std::string key;
    std::shared_ptr<const Value> value;
    size_t bytes;
  };
  using Index = std::unordered_map<std::string, typename std::list<Entry>::iterator>;

  void Erase(typename Index::iterator it) {
    bytes_ -= it->second->bytes;
    order_.erase(it->second);
    index_.erase(it);
  }

  const size_t capacity_;
  size_t bytes_ = 0;
  std::list<Entry> order_;  // most recently used first
  Index index_;
  std::mutex mutex_;
};

// A SELECT compiled once for the memo: canonical predicates, its cache key.
struct PreparedSelect {
  Plan plan;              // after CanonicalizePredicates
  std::string plan_hash;  // CanonicalPlanHash(plan)
};

// An answer as dpql.answer_cache holds it (decoded), and under which version.
struct MemoAnswer {
  int64_t data_version = 0;
  QueryResult answer;  // columns unnamed, no cost or budget (answer_cache.h)
};

// Rough sizes for the LRU bounds; they need only be proportionate.
size_t EstimateBytes(const PreparedSelect& prepared, size_t text_size);
size_t EstimateBytes(const QueryResult& answer);

struct EngineMemo {
  // Plans are small (a few KiB); answers can hold thousands of released groups.
  static constexpr size_t kPlanBytes = 16 * 1024 * 1024;
  static constexpr size_t kAnswerBytes = 32 * 1024 * 1024;
  // Longer texts are compiled every time (and bound the memory of one plan).
  static constexpr size_t kMaxPlanTextBytes = 16 * 1024;

  LruMemo<PreparedSelect> plans{kPlanBytes};
  LruMemo<MemoAnswer> answers{kAnswerBytes};
};

}  // namespace dpql
