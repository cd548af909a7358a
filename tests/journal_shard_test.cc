// Live journal column families stay bounded by the unsealed tail: with
// small shards and small segments, appending many blocks retires shard after
// shard, so the number alive at any time is a small constant derived from
// blocks-per-segment / shard size, while the number ever used grows with the
// store. Also across a reopen.

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <string>

#include "testutil/test_util.h"

namespace segstore {
namespace {

using testing::ExpectBlockEq;
using testing::NumberedPayload;
using testing::ScratchDir;

constexpr uint64_t kSegmentSize = 64 << 10;
constexpr uint64_t kShardBlocks = 100;
constexpr size_t kBlockSize = 100;
constexpr uint64_t kBlocks = 20'000;
constexpr uint64_t kRecordBytes = (40 + kBlockSize + 7) & ~uint64_t{7};  // 144
// At most this many records fit one segment (the footer takes some more).
constexpr uint64_t kMaxBlocksPerSegment = (kSegmentSize - 128) / kRecordBytes;  // 454
// The unsealed tail holds at most one segment of consecutive numbers, which
// spans at most kMaxBlocksPerSegment / kShardBlocks + 2 shards.
constexpr uint64_t kLiveShardBound = kMaxBlocksPerSegment / kShardBlocks + 2;  // 6

std::string Want(BlockNumber n) { return NumberedPayload(3, n, kBlockSize, kBlockSize); }

// Shard names from "retired journal shard" info_log lines. The callback runs
// under the store's locks, so never call the store while holding mu.
struct ShardLog {
  std::mutex mu;
  std::multiset<std::string> retired;
  std::multiset<std::string> Retired() {
    std::lock_guard<std::mutex> l(mu);
    return retired;
  }
};

Options ShardOptions(ShardLog* log) {
  Options o = testing::SmallOptions(kSegmentSize);
  o.journal_shard_blocks = kShardBlocks;
  // Journal every block at once: the strictest case for the shard bound (a
  // larger batch only skips journal writes of blocks sealed meanwhile).
  o.journal_batch_blocks = 1;
  o.info_log = [log](std::string_view line) {
    constexpr std::string_view kRetired = "retired journal shard ";
    if (line.substr(0, kRetired.size()) == kRetired) {
      std::lock_guard<std::mutex> l(log->mu);
      log->retired.emplace(line.substr(kRetired.size()));
    }
  };
  return o;
}

std::unique_ptr<BlockStore> OpenOrDie(const Options& o, const std::string& dir) {
  absl::StatusOr<std::unique_ptr<BlockStore>> s = BlockStore::Open(o, dir);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

// Appends blocks [from, to), checking the live shard count after each, and
// that the column families other than journal shards stay as many.
void AppendAndSample(BlockStore& store, BlockNumber from, BlockNumber to, uint64_t* max_live) {
  const StoreStats first = store.GetStats();
  ASSERT_GE(first.live_column_families, first.live_journal_shards + 1);
  const uint64_t others = first.live_column_families - first.live_journal_shards;
  for (BlockNumber n = from; n < to; ++n) {
    absl::StatusOr<BlockNumber> got = store.Append(Want(n));
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(*got, n);
    StoreStats st = store.GetStats();
    *max_live = std::max(*max_live, st.live_journal_shards);
    ASSERT_LE(st.live_journal_shards, kLiveShardBound) << "after block " << n;
    ASSERT_EQ(st.live_column_families, st.live_journal_shards + others) << "after block " << n;
  }
}

TEST(JournalShardTest, LiveShardsStayBoundedByTheTail) {
  static_assert(kLiveShardBound < 10, "the bound should be small");
  ScratchDir dir;
  ShardLog log;
  uint64_t max_live = 0;
  uint64_t live_at_close = 0;
  {
    auto store = OpenOrDie(ShardOptions(&log), dir.path());
    ASSERT_NE(store, nullptr);
    ASSERT_NO_FATAL_FAILURE(AppendAndSample(*store, 0, kBlocks, &max_live));
    StoreStats st = store->GetStats();
    EXPECT_GT(st.sealed_segments, kBlocks / kMaxBlocksPerSegment - 1);
    live_at_close = st.live_journal_shards;
    // Every shard of [0, kBlocks) was used: those retired plus those alive.
    const std::multiset<std::string> retired = log.Retired();
    EXPECT_EQ(retired.size() + live_at_close, kBlocks / kShardBlocks)
        << retired.size() << " retired, " << live_at_close << " live";
    EXPECT_EQ(std::set<std::string>(retired.begin(), retired.end()).size(), retired.size())
        << "a shard was retired twice";
    EXPECT_GT(retired.size(), kBlocks / kShardBlocks - kLiveShardBound);
    ASSERT_OK(store->Close());
  }
  EXPECT_GE(max_live, 2u) << "the tail should span more than one shard at times";

  {
    auto store = OpenOrDie(ShardOptions(&log), dir.path());
    ASSERT_NE(store, nullptr);
    StoreStats st = store->GetStats();
    EXPECT_EQ(st.live_journal_shards, live_at_close);
    EXPECT_LE(st.live_journal_shards, kLiveShardBound);
    EXPECT_EQ(st.block_count, kBlocks);
    for (BlockNumber n = 0; n < kBlocks; ++n) {
      if (!ExpectBlockEq(*store, n, Want(n))) break;
    }
    // Retirement goes on after a reopen.
    ASSERT_NO_FATAL_FAILURE(AppendAndSample(*store, kBlocks, kBlocks + 2'000, &max_live));
    const uint64_t live = store->GetStats().live_journal_shards;
    const std::multiset<std::string> retired = log.Retired();
    EXPECT_EQ(retired.size() + live, (kBlocks + 2'000) / kShardBlocks);
    EXPECT_EQ(std::set<std::string>(retired.begin(), retired.end()).size(), retired.size());
    ASSERT_OK(store->Close());
  }
  auto store = OpenOrDie(ShardOptions(&log), dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_LE(store->GetStats().live_journal_shards, kLiveShardBound);
  for (BlockNumber n = 0; n < kBlocks + 2'000; n += 7) {
    if (!ExpectBlockEq(*store, n, Want(n))) break;
  }
}

}  // namespace
}  // namespace segstore
