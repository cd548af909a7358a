// LruCache: a thread-safe map bounded by entry count and by total charge
// (bytes), evicting the least recently used entry first, with hit, miss and
// eviction counters. Values are copied out on lookup, so V should be cheap to
// copy (a shared_ptr: one atomic increment, no allocation).

#ifndef SEGSTORE_SRC_CACHE_LRU_CACHE_H_
#define SEGSTORE_SRC_CACHE_LRU_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>

#include "util/mutex.h"

namespace segstore::internal {

struct CacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;
  uint64_t entries = 0;
  uint64_t charge = 0;
};

template <typename K, typename V, typename Hash = std::hash<K>>
class LruCache {
 public:
  // A limit of 0 disables the cache (every Insert is dropped).
  LruCache(size_t max_entries, size_t max_charge) : max_entries_(max_entries), max_charge_(max_charge) {}
  LruCache(const LruCache&) = delete;
  LruCache& operator=(const LruCache&) = delete;

  std::optional<V> Lookup(const K& key) {
    MutexLock lock(&mu_);
    auto it = map_.find(key);
    if (it == map_.end()) {
      ++stats_.misses;
      return std::nullopt;
    }
    ++stats_.hits;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->value;
  }

  // Replaces any entry for key. An entry larger than the whole budget is not
  // kept.
  void Insert(const K& key, V value, size_t charge) {
    MutexLock lock(&mu_);
    EraseLocked(key);
    if (max_entries_ == 0 || charge > max_charge_) return;
    lru_.push_front(Entry{key, std::move(value), charge});
    map_[key] = lru_.begin();
    stats_.charge += charge;
    EvictLocked();
  }

  void Erase(const K& key) {
    MutexLock lock(&mu_);
    EraseLocked(key);
  }

  void Clear() {
    MutexLock lock(&mu_);
    map_.clear();
    lru_.clear();
    stats_.charge = 0;
  }

  void SetLimits(size_t max_entries, size_t max_charge) {
    MutexLock lock(&mu_);
    max_entries_ = max_entries;
    max_charge_ = max_charge;
    EvictLocked();
  }

  CacheStats stats() {
    MutexLock lock(&mu_);
    CacheStats s = stats_;
    s.entries = map_.size();
    return s;
  }

 private:
  struct Entry {
    K key;
    V value;
    size_t charge;
  };

  void EraseLocked(const K& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = map_.find(key);
    if (it == map_.end()) return;
    stats_.charge -= it->second->charge;
    lru_.erase(it->second);
    map_.erase(it);
  }

  void EvictLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    while (!lru_.empty() && (map_.size() > max_entries_ || stats_.charge > max_charge_)) {
      const Entry& victim = lru_.back();
      stats_.charge -= victim.charge;
      map_.erase(victim.key);
      lru_.pop_back();
      ++stats_.evictions;
    }
  }

  Mutex mu_;
  size_t max_entries_ ABSL_GUARDED_BY(mu_);
  size_t max_charge_ ABSL_GUARDED_BY(mu_);
  std::list<Entry> lru_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<K, typename std::list<Entry>::iterator, Hash> map_ ABSL_GUARDED_BY(mu_);
  CacheStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_CACHE_LRU_CACHE_H_
