// BoundedCache: LRU order, the entry and byte limits (per shard and global),
// TTL with a fake clock, SetLimits at run time, and a multi-threaded test
// meant to run under TSan as well (SEGSTORE_SANITIZE=thread).

#include "cache/bounded_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"

namespace segstore::internal {
namespace {

using IntCache = BoundedCache<uint64_t, uint64_t>;

bool Has(IntCache& c, uint64_t key) { return c.Lookup(key).has_value(); }

TEST(BoundedCacheTest, EvictsLeastRecentlyUsedByEntries) {
  IntCache c(3, 1000, /*shards=*/1);
  c.Insert(1, 10, 1);
  c.Insert(2, 20, 1);
  c.Insert(3, 30, 1);
  ASSERT_EQ(c.Lookup(1), std::optional<uint64_t>(10));  // 1 is now the most recent
  c.Insert(4, 40, 1);                                   // evicts 2
  EXPECT_FALSE(Has(c, 2));
  EXPECT_TRUE(Has(c, 1));
  EXPECT_TRUE(Has(c, 3));
  EXPECT_TRUE(Has(c, 4));
  c.Insert(5, 50, 1);  // 1 is now the least recent (lookups: 1, 3, 4)
  EXPECT_FALSE(Has(c, 1));
  CacheStats s = c.stats();
  EXPECT_EQ(s.entries, 3u);
  EXPECT_EQ(s.evictions, 2u);
  EXPECT_EQ(s.hits, 4u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.charge, 3u);
}

TEST(BoundedCacheTest, ReplacingAKeyIsNotAnEviction) {
  IntCache c(2, 1000, 1);
  c.Insert(1, 10, 5);
  c.Insert(1, 11, 7);
  EXPECT_EQ(c.Lookup(1), std::optional<uint64_t>(11));
  CacheStats s = c.stats();
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.charge, 7u);
  EXPECT_EQ(s.evictions, 0u);
  c.Erase(1);
  c.Erase(99);  // absent: no effect
  EXPECT_EQ(c.stats().entries, 0u);
  EXPECT_EQ(c.stats().charge, 0u);
}

TEST(BoundedCacheTest, EvictsByCharge) {
  IntCache c(100, 100, 1);
  c.Insert(1, 1, 40);
  c.Insert(2, 2, 40);
  c.Insert(3, 3, 40);  // 120 > 100: evicts 1
  EXPECT_FALSE(Has(c, 1));
  EXPECT_TRUE(Has(c, 2));
  EXPECT_TRUE(Has(c, 3));
  EXPECT_EQ(c.stats().charge, 80u);
  c.Insert(4, 4, 90);  // evicts 2 and 3
  EXPECT_FALSE(Has(c, 2));
  EXPECT_FALSE(Has(c, 3));
  EXPECT_TRUE(Has(c, 4));
  CacheStats s = c.stats();
  EXPECT_EQ(s.charge, 90u);
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.evictions, 3u);
}

TEST(BoundedCacheTest, OversizedEntryIsNotKept) {
  IntCache c(10, 100, 1);
  c.Insert(1, 1, 50);
  c.Insert(2, 2, 101);
  EXPECT_FALSE(Has(c, 2));
  EXPECT_TRUE(Has(c, 1));  // nothing was evicted for it
  c.Insert(1, 7, 101);     // replacing with an oversized value drops the key
  EXPECT_FALSE(Has(c, 1));
  CacheStats s = c.stats();
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.charge, 0u);
  EXPECT_EQ(s.evictions, 0u);

  // Sharded, the byte budget of one entry is its shard's share: 100 / 4.
  IntCache sharded(100, 100, 4);
  ASSERT_EQ(sharded.shard_count(), 4u);
  sharded.Insert(1, 1, 26);
  EXPECT_FALSE(Has(sharded, 1));
  sharded.Insert(1, 1, 25);
  EXPECT_TRUE(Has(sharded, 1));
}

TEST(BoundedCacheTest, TtlExpiresWithFakeClock) {
  absl::Time now = absl::FromUnixSeconds(1'000'000);
  IntCache c(10, 1000, 1, absl::Seconds(10), [&now] { return now; });
  c.Insert(1, 10, 1);
  now += absl::Seconds(9);
  EXPECT_EQ(c.Lookup(1), std::optional<uint64_t>(10));  // hit; does not extend the ttl
  EXPECT_EQ(c.stats().hits, 1u);
  EXPECT_EQ(c.stats().expirations, 0u);
  now += absl::Seconds(1);
  EXPECT_EQ(c.Lookup(1), std::nullopt);
  CacheStats s = c.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.expirations, 1u);
  EXPECT_EQ(s.evictions, 0u);
  EXPECT_EQ(s.entries, 0u);  // erased by the lookup
  EXPECT_EQ(s.charge, 0u);
}

TEST(BoundedCacheTest, InsertDropsExpiredEntries) {
  absl::Time now = absl::FromUnixSeconds(1'000'000);
  IntCache c(10, 1000, 1, absl::Seconds(10), [&now] { return now; });
  c.Insert(1, 1, 1);
  c.Insert(2, 2, 1);
  now += absl::Seconds(5);
  c.Insert(3, 3, 1);
  now += absl::Seconds(6);  // 1 and 2 expired, 3 not
  c.Insert(4, 4, 1);        // no limit is exceeded, the expired cold end still goes
  CacheStats s = c.stats();
  EXPECT_EQ(s.entries, 2u);
  EXPECT_EQ(s.expirations, 2u);
  EXPECT_EQ(s.evictions, 0u);
  EXPECT_TRUE(Has(c, 3));
  EXPECT_TRUE(Has(c, 4));
}

TEST(BoundedCacheTest, SetLimitsShrinkEvictsAtOnce) {
  IntCache c(10, 1000, 1);
  for (uint64_t k = 0; k < 10; ++k) c.Insert(k, k, 10);
  ASSERT_EQ(c.stats().entries, 10u);
  c.SetLimits(4, 1000);
  EXPECT_EQ(c.max_entries(), 4u);
  EXPECT_EQ(c.max_charge(), 1000u);
  CacheStats s = c.stats();
  EXPECT_EQ(s.entries, 4u);
  EXPECT_EQ(s.evictions, 6u);
  for (uint64_t k = 6; k < 10; ++k) EXPECT_TRUE(Has(c, k)) << k;  // the most recent stay
  c.SetLimits(4, 25);  // bytes: only two entries of 10 fit
  s = c.stats();
  EXPECT_EQ(s.entries, 2u);
  EXPECT_EQ(s.charge, 20u);
  EXPECT_EQ(s.evictions, 8u);
  c.SetLimits(100, 10'000);  // growing evicts nothing and lets the cache fill again
  for (uint64_t k = 0; k < 50; ++k) c.Insert(k, k, 10);
  EXPECT_EQ(c.stats().entries, 50u);
  EXPECT_EQ(c.stats().evictions, 8u);
}

TEST(BoundedCacheTest, GlobalBoundHoldsAcrossShards) {
  // 100 entries over 16 shards: shares of 7 and 6 that sum to exactly 100.
  IntCache c(100, 1'000'000, 16);
  ASSERT_EQ(c.shard_count(), 16u);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20'000; ++i) {
    uint64_t k = rng();
    c.Insert(k, k, 1);
    ASSERT_LE(c.stats().entries, 100u);
  }
  EXPECT_EQ(c.stats().entries, 100u);  // every shard full: the bound is reached, not undershot

  // Byte bound with varied charges, and a limit that 16 does not divide.
  c.SetLimits(1000, 10'007);
  c.Clear();
  uint64_t peak = 0;
  for (int i = 0; i < 20'000; ++i) {
    uint64_t k = rng();
    c.Insert(k, k, 1 + k % 300);
    CacheStats s = c.stats();
    ASSERT_LE(s.entries, 1000u);
    ASSERT_LE(s.charge, 10'007u);
    peak = std::max(peak, s.charge);
  }
  EXPECT_GT(peak, 8000u);

  // A limit below the shard count still holds: some shards get a share of 0.
  c.SetLimits(10, 1'000'000);
  EXPECT_LE(c.stats().entries, 10u);
  for (int i = 0; i < 5000; ++i) {
    uint64_t k = rng();
    c.Insert(k, k, 1);
    ASSERT_LE(c.stats().entries, 10u);
  }
  EXPECT_EQ(c.stats().entries, 10u);
}

TEST(BoundedCacheTest, ShardCountIsAPowerOfTwoAtMostTheEntryLimit) {
  EXPECT_EQ(IntCache(1000, 1000).shard_count(), 16u);
  EXPECT_EQ(IntCache(1000, 1000, 1).shard_count(), 1u);
  EXPECT_EQ(IntCache(1000, 1000, 12).shard_count(), 8u);
  EXPECT_EQ(IntCache(3, 1000, 16).shard_count(), 2u);
  EXPECT_EQ(IntCache(0, 1000, 16).shard_count(), 1u);
  EXPECT_EQ(IntCache(1000, 1000, 0).shard_count(), 1u);
}

TEST(BoundedCacheTest, ZeroEntriesDisablesTheCache) {
  IntCache c(0, 1000);
  c.Insert(1, 1, 1);
  EXPECT_FALSE(Has(c, 1));
  CacheStats s = c.stats();
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.evictions, 0u);

  IntCache d(100, 1000, 4);
  for (uint64_t k = 0; k < 50; ++k) d.Insert(k, k, 1);
  d.SetLimits(0, 1000);  // disabling at run time empties it
  s = d.stats();
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.charge, 0u);
  EXPECT_EQ(s.evictions, 50u);
  d.Insert(1, 1, 1);
  EXPECT_FALSE(Has(d, 1));
}

TEST(BoundedCacheTest, ClearKeepsCounters) {
  IntCache c(10, 100, 2);
  c.Insert(1, 1, 1);
  EXPECT_TRUE(Has(c, 1));
  c.Clear();
  EXPECT_FALSE(Has(c, 1));
  CacheStats s = c.stats();
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.charge, 0u);
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
}

// 8 threads on 512 overlapping keys with a cache too small for them, so that
// inserts, evictions, expirations and erases interleave; one of them also
// changes the limits and reads the stats. A value is derived from its key, so
// any value seen for a key can be checked.
TEST(BoundedCacheTest, ConcurrentMixedOperationsNeverReturnWrongValues) {
  using StrCache = BoundedCache<uint64_t, std::shared_ptr<const std::string>>;
  auto value_of = [](uint64_t k) { return "value-" + std::to_string(k * 2654435761u); };
  std::atomic<int64_t> clock_ms{0};
  StrCache c(128, 128 * 40, 16, absl::Milliseconds(50),
             [&clock_ms] { return absl::FromUnixMillis(clock_ms.load(std::memory_order_relaxed)); });
  constexpr int kThreads = 8;
  constexpr int kOps = 40'000;
  constexpr uint64_t kKeys = 512;
  std::atomic<uint64_t> wrong{0}, hits{0}, lookups{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<uint64_t>(t) + 1);
      for (int i = 0; i < kOps; ++i) {
        const uint64_t k = rng() % kKeys;
        const uint64_t op = rng() % 100;
        if (op < 60) {
          lookups.fetch_add(1, std::memory_order_relaxed);
          if (std::optional<std::shared_ptr<const std::string>> v = c.Lookup(k)) {
            hits.fetch_add(1, std::memory_order_relaxed);
            if (*v == nullptr || **v != value_of(k)) wrong.fetch_add(1, std::memory_order_relaxed);
          }
        } else if (op < 90) {
          auto v = std::make_shared<const std::string>(value_of(k));
          size_t charge = v->size() + k % 32;
          c.Insert(k, std::move(v), charge);
        } else if (op < 98) {
          c.Erase(k);
        } else if (t == 0) {
          c.SetLimits(64 + rng() % 128, (64 + rng() % 128) * 40);
          CacheStats s = c.stats();
          if (s.entries > 192 || s.charge > 192 * 40) wrong.fetch_add(1, std::memory_order_relaxed);
        } else {
          clock_ms.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_GT(hits.load(), 0u);
  CacheStats s = c.stats();
  EXPECT_LE(s.entries, c.max_entries());
  EXPECT_LE(s.charge, c.max_charge());
  EXPECT_EQ(s.hits, hits.load());
  EXPECT_EQ(s.hits + s.misses, lookups.load());
  EXPECT_GT(s.evictions, 0u);
  EXPECT_GT(s.expirations, 0u);
  for (uint64_t k = 0; k < kKeys; ++k) {
    if (auto v = c.Lookup(k)) {
      EXPECT_EQ(**v, value_of(k)) << k;
    }
  }
}

}  // namespace
}  // namespace segstore::internal
