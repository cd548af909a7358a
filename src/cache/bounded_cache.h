// BoundedCache: a thread-safe, sharded map bounded by entry count and by
// total charge (bytes), evicting the least recently used entry of a shard
// first, with an optional time to live, and hit, miss, eviction and
// expiration counters. Values are copied out on lookup, so V should be cheap
// to copy (a shared_ptr: one atomic increment, no allocation).
//
// Shards. The cache is split into a power-of-two number of shards, each with
// its own Mutex, LRU list and hash map; a key's shard is chosen by the top
// bits of its (remixed) hash. LRU order is therefore per shard, not global.
// The shard count is fixed at construction: the requested count is rounded
// down to a power of two (0 counts as 1) and then reduced to at most the
// largest power of two <= max_entries, so that a small cache does not waste
// shards (a cache built with max_entries 0 or 1 has a single shard).
//
// Limits. The global limits (max_entries, max_charge) are split exactly
// across the N shards: shard i gets limit / N, plus 1 if i < limit % N. The
// shares sum to the limit, and a shard evicts as soon as ITS share is
// exceeded, so the totals never exceed the configured limits, at any time.
// The price: when a limit is smaller than N (possible only after SetLimits
// shrinks it below the shard count, or for max_charge), some shards get a
// share of 0 and keys that hash there are never cached. An entry whose charge
// exceeds its shard's byte share (about max_charge / N) is not kept. A limit
// of 0 entries disables the cache (every Insert is dropped).
//
// TTL. With a finite ttl, an entry expires ttl after its Insert (lookups do
// not extend it). An expired entry is a miss: Lookup erases it and counts an
// expiration. Insert (and SetLimits) also drop the expired entries they meet
// at the cold end of the LRU list while evicting, counted as expirations,
// not evictions. The clock is injectable (tests need not sleep); it is called
// outside the shard locks, only when the ttl is finite, and must be
// thread-safe.
//
// stats() sums the shards one after the other: each shard's figures are
// consistent, the sum is not a single snapshot while other threads write.

#ifndef SEGSTORE_SRC_CACHE_BOUNDED_CACHE_H_
#define SEGSTORE_SRC_CACHE_BOUNDED_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "util/mutex.h"

namespace segstore::internal {

struct CacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;       // includes lookups that found an expired entry
  uint64_t evictions = 0;    // dropped to respect a limit (Insert, SetLimits)
  uint64_t expirations = 0;  // dropped because their ttl had passed
  uint64_t entries = 0;
  uint64_t charge = 0;
};

template <typename K, typename V, typename Hash = std::hash<K>>
class BoundedCache {
 public:
  static constexpr size_t kDefaultShards = 16;

  BoundedCache(size_t max_entries, size_t max_charge, size_t shards = kDefaultShards,
               absl::Duration ttl = absl::InfiniteDuration(), std::function<absl::Time()> clock = nullptr)
      : shard_bits_(ShardBits(shards, max_entries)),
        num_shards_(size_t{1} << shard_bits_),
        shards_(std::make_unique<Shard[]>(num_shards_)),
        ttl_(ttl),
        has_ttl_(ttl != absl::InfiniteDuration()),
        clock_(clock ? std::move(clock) : std::function<absl::Time()>(&absl::Now)) {
    SetLimits(max_entries, max_charge);
  }
  BoundedCache(const BoundedCache&) = delete;
  BoundedCache& operator=(const BoundedCache&) = delete;

  std::optional<V> Lookup(const K& key) {
    const absl::Time now = Now();
    Shard& s = ShardFor(key);
    MutexLock lock(&s.mu);
    return s.Lookup(key, now);
  }

  // Replaces any entry for key. An entry larger than the shard's byte share
  // is not kept (and the old entry for key is gone).
  void Insert(const K& key, V value, size_t charge) {
    const absl::Time now = Now();
    const absl::Time expires = has_ttl_ ? now + ttl_ : absl::InfiniteFuture();
    Shard& s = ShardFor(key);
    MutexLock lock(&s.mu);
    s.Insert(key, std::move(value), charge, expires, now);
  }

  void Erase(const K& key) {
    Shard& s = ShardFor(key);
    MutexLock lock(&s.mu);
    s.EraseKey(key);
  }

  // Drops every entry; counters other than entries and charge are kept.
  void Clear() {
    for (size_t i = 0; i < num_shards_; ++i) {
      MutexLock lock(&shards_[i].mu);
      shards_[i].map.clear();
      shards_[i].lru.clear();
      shards_[i].charge = 0;
    }
  }

  // Takes effect at once: every shard evicts down to its new share before
  // SetLimits returns. The shard count does not change.
  void SetLimits(size_t max_entries, size_t max_charge) {
    const absl::Time now = Now();
    MutexLock config(&limits_mu_);
    max_entries_.store(max_entries, std::memory_order_relaxed);
    max_charge_.store(max_charge, std::memory_order_relaxed);
    for (size_t i = 0; i < num_shards_; ++i) {
      Shard& s = shards_[i];
      MutexLock lock(&s.mu);
      s.max_entries = Share(max_entries, i);
      s.max_charge = Share(max_charge, i);
      s.Evict(now);
    }
  }

  CacheStats stats() {
    CacheStats total;
    for (size_t i = 0; i < num_shards_; ++i) {
      Shard& s = shards_[i];
      MutexLock lock(&s.mu);
      total.hits += s.stats.hits;
      total.misses += s.stats.misses;
      total.evictions += s.stats.evictions;
      total.expirations += s.stats.expirations;
      total.entries += s.map.size();
      total.charge += s.charge;
    }
    return total;
  }

  size_t max_entries() const { return max_entries_.load(std::memory_order_relaxed); }
  size_t max_charge() const { return max_charge_.load(std::memory_order_relaxed); }
  size_t shard_count() const { return num_shards_; }

 private:
  struct Entry {
    K key;
    V value;
    size_t charge;
    absl::Time expires;
  };

  // Its own cache line, so that shards do not contend through their locks.
  using List = std::list<Entry>;
  using Map = std::unordered_map<K, typename List::iterator, Hash>;

  struct alignas(64) Shard {
    Mutex mu;
    size_t max_entries ABSL_GUARDED_BY(mu) = 0;
    size_t max_charge ABSL_GUARDED_BY(mu) = 0;
    size_t charge ABSL_GUARDED_BY(mu) = 0;
    List lru ABSL_GUARDED_BY(mu);  // most recently used first
    Map map ABSL_GUARDED_BY(mu);
    CacheStats stats ABSL_GUARDED_BY(mu);  // entries and charge unused here

    std::optional<V> Lookup(const K& key, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      auto it = map.find(key);
      if (it == map.end()) {
        ++stats.misses;
        return std::nullopt;
      }
      if (now >= it->second->expires) {
        ++stats.misses;
        ++stats.expirations;
        Remove(it);
        return std::nullopt;
      }
      ++stats.hits;
      lru.splice(lru.begin(), lru, it->second);
      return it->second->value;
    }

    void Insert(const K& key, V value, size_t entry_charge, absl::Time expires, absl::Time now)
        ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      EraseKey(key);
      if (max_entries == 0 || entry_charge > max_charge) return;
      lru.push_front(Entry{key, std::move(value), entry_charge, expires});
      map[key] = lru.begin();
      charge += entry_charge;
      Evict(now);
    }

    void EraseKey(const K& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      auto it = map.find(key);
      if (it != map.end()) Remove(it);
    }

    void Remove(typename Map::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      charge -= it->second->charge;
      lru.erase(it->second);
      map.erase(it);
    }

    // Drops expired entries at the cold end, then the least recently used
    // entries while a limit is exceeded.
    void Evict(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      while (!lru.empty()) {
        const Entry& victim = lru.back();
        const bool expired = now >= victim.expires;
        if (!expired && map.size() <= max_entries && charge <= max_charge) break;
        if (expired) {
          ++stats.expirations;
        } else {
          ++stats.evictions;
        }
        charge -= victim.charge;
        map.erase(victim.key);
        lru.pop_back();
      }
    }
  };

  static unsigned ShardBits(size_t requested, size_t max_entries) {
    unsigned bits = 0;
    while (bits < 16 && (size_t{2} << bits) <= requested && (size_t{2} << bits) <= max_entries) ++bits;
    return bits;
  }

  size_t Share(size_t limit, size_t shard) const {
    return limit / num_shards_ + (shard < limit % num_shards_ ? 1 : 0);
  }

  Shard& ShardFor(const K& key) {
    if (shard_bits_ == 0) return shards_[0];
    // Remix: std::hash of an integer is the identity on libstdc++, and the
    // shard maps use the low bits (modulo a prime) of the same hash.
    const uint64_t h = static_cast<uint64_t>(hash_(key)) * 0x9E3779B97F4A7C15ull;
    return shards_[static_cast<size_t>(h >> (64 - shard_bits_))];
  }

  // absl::InfinitePast() never expires anything: nothing is read from the
  // clock when there is no ttl.
  absl::Time Now() const { return has_ttl_ ? clock_() : absl::InfinitePast(); }

  const unsigned shard_bits_;
  const size_t num_shards_;
  const std::unique_ptr<Shard[]> shards_;
  const absl::Duration ttl_;
  const bool has_ttl_;
  const std::function<absl::Time()> clock_;
  [[no_unique_address]] Hash hash_;
  Mutex limits_mu_;  // serializes SetLimits; taken before any shard's mu
  std::atomic<size_t> max_entries_{0};
  std::atomic<size_t> max_charge_{0};
};

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_CACHE_BOUNDED_CACHE_H_
