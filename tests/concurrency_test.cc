// Writers, readers and Sync at once: 8 writer threads (Append with random
// sizes, some Put with gaps, some sync writes), 8 reader threads (Get of
// random acknowledged blocks, GetRange), and a Sync thread, with bounded op
// counts. Every byte read is checked. Meant to run under TSan as well
// (SEGSTORE_SANITIZE=thread).
//
// A writer chooses a payload (by a unique seed and a size) before it knows
// the number Append gives it, so after the write returns it records
// number -> (seed, size) in a shared map. A block in the map was
// acknowledged, so every reader must see it, byte for byte. A GetRange may
// also return blocks that are written but not yet in the map; their bytes are
// kept and checked once all threads are done.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "testutil/test_util.h"

namespace segstore {
namespace {

using testing::Payload;
using testing::ScratchDir;

constexpr int kWriters = 8;
constexpr int kReaders = 8;
constexpr int kWritesPerWriter = 300;
constexpr int kReadsPerReader = 1000;
constexpr int kSyncs = 40;
constexpr size_t kMaxSize = 6000;

struct Written {
  uint64_t seed = 0;
  size_t size = 0;
};

class Ledger {
 public:
  void Add(BlockNumber n, Written w) {
    std::lock_guard<std::mutex> l(mu_);
    ASSERT_TRUE(map_.emplace(n, w).second) << "block " << n << " acknowledged twice";
    numbers_.push_back(n);
  }
  // A random acknowledged number, if any.
  std::optional<std::pair<BlockNumber, Written>> Pick(std::mt19937_64& rng) {
    std::lock_guard<std::mutex> l(mu_);
    if (numbers_.empty()) return std::nullopt;
    BlockNumber n = numbers_[rng() % numbers_.size()];
    return std::make_pair(n, map_.at(n));
  }
  std::map<BlockNumber, Written> Snapshot() {
    std::lock_guard<std::mutex> l(mu_);
    return map_;
  }
  std::optional<Written> Find(BlockNumber n) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = map_.find(n);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::mutex mu_;
  std::map<BlockNumber, Written> map_;
  std::vector<BlockNumber> numbers_;
};

std::string Expected(const Written& w) { return Payload(w.seed, w.size); }

void RunWritersReadersAndSync(Options o) {
  ScratchDir dir;
  absl::StatusOr<std::unique_ptr<BlockStore>> opened = BlockStore::Open(o, dir.path());
  ASSERT_OK(opened);
  BlockStore& store = **opened;

  Ledger ledger;
  std::atomic<uint64_t> next_seed{1};
  // A few blocks before the threads start, so readers have work at once.
  for (int i = 0; i < 20; ++i) {
    Written w{next_seed++, static_cast<size_t>(i * 97)};
    absl::StatusOr<BlockNumber> n = store.Append(Expected(w));
    ASSERT_OK(n);
    ledger.Add(*n, w);
  }

  std::atomic<int> errors{0};
  std::atomic<int> puts_ok{0}, puts_raced{0};
  auto fail = [&](const std::string& what) {
    ++errors;
    ADD_FAILURE() << what;
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(1000 + static_cast<uint64_t>(t));
      for (int i = 0; i < kWritesPerWriter && errors == 0; ++i) {
        Written w{next_seed++, 16 + static_cast<size_t>(rng() % kMaxSize)};  // >= 16: never equal by chance
        const std::string payload = Expected(w);
        WriteOptions wo;
        wo.sync = rng() % 50 == 0;
        if (rng() % 5 == 0) {
          // Put just above the current highest, sometimes with a gap. Another
          // writer may get there first: then FailedPrecondition (below the
          // highest) or AlreadyExists (that very number, other bytes).
          std::optional<BlockNumber> h = store.HighestNumber();
          const BlockNumber n = (h ? *h + 1 : 0) + rng() % 3;
          absl::Status s = store.Put(n, payload, wo);
          if (s.ok()) {
            ledger.Add(n, w);
            ++puts_ok;
          } else if (absl::IsFailedPrecondition(s) || absl::IsAlreadyExists(s)) {
            ++puts_raced;
          } else {
            fail("Put(" + std::to_string(n) + "): " + s.ToString());
          }
        } else {
          absl::StatusOr<BlockNumber> n = store.Append(payload, wo);
          if (!n.ok()) {
            fail("Append: " + n.status().ToString());
            continue;
          }
          ledger.Add(*n, w);
        }
      }
    });
  }

  std::mutex late_mu;
  std::vector<std::pair<BlockNumber, std::string>> late;  // range blocks not yet in the ledger
  for (int t = 0; t < kReaders; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(2000 + static_cast<uint64_t>(t));
      std::vector<std::pair<BlockNumber, std::string>> my_late;
      for (int i = 0; i < kReadsPerReader && errors == 0; ++i) {
        std::optional<std::pair<BlockNumber, Written>> pick = ledger.Pick(rng);
        if (!pick) continue;
        const auto& [n, w] = *pick;
        if (rng() % 4 != 0) {
          absl::StatusOr<Block> b = store.Get(n);
          if (!b.ok()) {
            fail("Get(" + std::to_string(n) + "): " + b.status().ToString());
          } else if (b->number() != n || b->data() != Expected(w)) {
            fail("Get(" + std::to_string(n) + ") returned other bytes");
          }
          if (!store.Contains(n)) fail("Contains(" + std::to_string(n) + ") is false");
          continue;
        }
        const BlockNumber start = n >= 3 ? n - rng() % 4 : n;
        const uint64_t count = 1 + rng() % 24;
        // Numbers acknowledged before the call must all be in the result.
        std::map<BlockNumber, Written> before;
        for (BlockNumber k = start; k < start + count; ++k) {
          if (std::optional<Written> f = ledger.Find(k)) before.emplace(k, *f);
        }
        absl::StatusOr<std::vector<Block>> range = store.GetRange(start, count);
        if (!range.ok()) {
          fail("GetRange: " + range.status().ToString());
          continue;
        }
        std::optional<BlockNumber> prev;
        for (const Block& b : *range) {
          if (b.number() < start || b.number() >= start + count || (prev && b.number() <= *prev)) {
            fail("GetRange(" + std::to_string(start) + ", " + std::to_string(count) + ") returned block " +
                 std::to_string(b.number()) + " out of order or range");
          }
          prev = b.number();
          before.erase(b.number());
          if (std::optional<Written> f = ledger.Find(b.number())) {
            if (b.data() != Expected(*f)) fail("GetRange block " + std::to_string(b.number()) + " bytes differ");
          } else {
            my_late.emplace_back(b.number(), std::string(b.data()));
          }
        }
        if (!before.empty()) {
          fail("GetRange(" + std::to_string(start) + ", " + std::to_string(count) + ") missed acknowledged block " +
               std::to_string(before.begin()->first));
        }
      }
      std::lock_guard<std::mutex> l(late_mu);
      late.insert(late.end(), my_late.begin(), my_late.end());
    });
  }

  threads.emplace_back([&] {
    for (int i = 0; i < kSyncs && errors == 0; ++i) {
      absl::Status s = store.Sync();
      if (!s.ok()) fail("Sync: " + s.ToString());
      std::this_thread::yield();
    }
  });
  for (std::thread& th : threads) th.join();
  ASSERT_EQ(errors.load(), 0);
  ASSERT_OK(store.Health());

  std::map<BlockNumber, Written> all = ledger.Snapshot();
  EXPECT_EQ(all.size(), 20u + kWriters * kWritesPerWriter - static_cast<uint64_t>(puts_raced.load()));
  EXPECT_EQ(store.BlockCount(), all.size());
  EXPECT_EQ(store.HighestNumber(), all.rbegin()->first);
  EXPECT_GT(store.GetStats().sealed_segments, 3u);
  for (const auto& [n, bytes] : late) {
    auto it = all.find(n);
    ASSERT_NE(it, all.end()) << "GetRange returned block " << n << " that no writer acknowledged";
    EXPECT_TRUE(bytes == Expected(it->second)) << "late-checked block " << n;
  }
  // Exactly the acknowledged numbers are present: gaps of Put stay absent.
  absl::StatusOr<std::vector<Block>> every = store.GetRange(0, all.rbegin()->first + 1);
  ASSERT_OK(every);
  ASSERT_EQ(every->size(), all.size());
  {
    auto it = all.begin();
    for (const Block& b : *every) {
      ASSERT_EQ(b.number(), it->first);
      EXPECT_TRUE(b.data() == Expected(it->second)) << "block " << b.number();
      ++it;
    }
  }
  if (o.warm_segments != SIZE_MAX) {
    EXPECT_GT(store.Scaling().GetScalingMetrics().segments_cold, 3u) << "no segment went cold under the readers";
  }
  ASSERT_OK(store.Close());

  // And all of it after a reopen.
  opened = BlockStore::Open(o, dir.path());
  ASSERT_OK(opened);
  EXPECT_TRUE((*opened)->LastRecoveryReport().clean) << (*opened)->LastRecoveryReport().ToString();
  EXPECT_EQ((*opened)->BlockCount(), all.size());
  for (const auto& [n, w] : all) ASSERT_TRUE(testing::ExpectBlockEq(**opened, n, Expected(w)));
  std::printf("puts ok %d, raced %d, late-checked %zu\n", puts_ok.load(), puts_raced.load(), late.size());
}

TEST(ConcurrencyTest, WritersReadersAndSync) {
  RunWritersReadersAndSync(testing::SmallOptions(256 << 10));  // many seals; hot_segments = 2
}

// The same while sealed segments move to the cold tier under the readers
// (every seal moves the segment leaving the warm tier).
TEST(ConcurrencyTest, WritersReadersAndSyncWithAColdTier) {
  Options o = testing::SmallOptions(256 << 10);
  o.warm_segments = 1;
  o.block_cache_entries = 16;  // most cold reads go to the backing store
  RunWritersReadersAndSync(o);
}

}  // namespace
}  // namespace segstore
