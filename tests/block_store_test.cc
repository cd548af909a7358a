// BlockStore through its public API: round trips, numbering rules,
// truncation, reopen, and 64-bit numbers. Every test checks the bytes.

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <thread>

#include "testutil/test_util.h"

namespace segstore {
namespace {

using testing::Payload;
using testing::ScratchDir;
using testing::SmallOptions;

std::unique_ptr<BlockStore> OpenOrDie(const Options& o, const std::string& dir) {
  absl::StatusOr<std::unique_ptr<BlockStore>> s = BlockStore::Open(o, dir);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

void ExpectBlock(BlockStore& store, BlockNumber n, const std::string& want) {
  absl::StatusOr<Block> b = store.Get(n);
  ASSERT_TRUE(b.ok()) << "block " << n << ": " << b.status();
  EXPECT_EQ(b->number(), n);
  ASSERT_EQ(b->data().size(), want.size()) << "block " << n;
  EXPECT_TRUE(b->data() == want) << "block " << n << " bytes differ";
}

TEST(BlockStoreTest, EmptyStore) {
  ScratchDir dir;
  auto store = OpenOrDie(SmallOptions(), dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->BlockCount(), 0u);
  EXPECT_FALSE(store->LowestNumber().has_value());
  EXPECT_FALSE(store->HighestNumber().has_value());
  ASSERT_CODE(store->Get(0), absl::StatusCode::kNotFound);
  EXPECT_FALSE(store->Contains(0));
  ASSERT_OK(store->Close());
}

TEST(BlockStoreTest, RoundTripSizes) {
  ScratchDir dir;
  Options o = SmallOptions(4 << 20);
  auto store = OpenOrDie(o, dir.path());
  std::vector<std::string> payloads = {"", "x", Payload(1, 1 << 20), Payload(2, store->MaxPayloadSize())};
  for (const std::string& p : payloads) ASSERT_OK(store->Append(p));
  for (size_t i = 0; i < payloads.size(); ++i) ExpectBlock(*store, i, payloads[i]);
  ASSERT_OK(store->Close());
  store = OpenOrDie(o, dir.path());
  for (size_t i = 0; i < payloads.size(); ++i) ExpectBlock(*store, i, payloads[i]);
  EXPECT_EQ(store->BlockCount(), payloads.size());
}

TEST(BlockStoreTest, ManyBlocksAcrossSegmentsAndReopen) {
  ScratchDir dir;
  Options o = SmallOptions(128 << 10);
  std::mt19937_64 rng(7);
  std::map<BlockNumber, size_t> sizes;
  {
    auto store = OpenOrDie(o, dir.path());
    for (int i = 0; i < 3000; ++i) {
      size_t size = rng() % 3000;
      absl::StatusOr<BlockNumber> n = store->Append(Payload(static_cast<uint64_t>(i), size));
      ASSERT_OK(n);
      sizes[*n] = size;
    }
    for (auto& [n, size] : sizes) ExpectBlock(*store, n, Payload(n, size));
    EXPECT_GT(store->GetStats().sealed_segments, 10u);
    ASSERT_OK(store->Close());
  }
  auto store = OpenOrDie(o, dir.path());
  EXPECT_EQ(store->BlockCount(), sizes.size());
  EXPECT_EQ(store->LowestNumber(), 0u);
  EXPECT_EQ(store->HighestNumber(), 2999u);
  for (auto& [n, size] : sizes) ExpectBlock(*store, n, Payload(n, size));
  ASSERT_OK(store->Append("after reopen"));
  ExpectBlock(*store, 3000, "after reopen");
}

TEST(BlockStoreTest, PutRules) {
  ScratchDir dir;
  auto store = OpenOrDie(SmallOptions(), dir.path());
  ASSERT_OK(store->Put(10, "ten"));
  ASSERT_OK(store->Put(20, "twenty"));
  ASSERT_OK(store->Put(20, "twenty"));  // idempotent
  ASSERT_OK(store->Put(10, "ten"));
  ASSERT_CODE(store->Put(20, "other"), absl::StatusCode::kAlreadyExists);
  ASSERT_CODE(store->Put(15, "gap"), absl::StatusCode::kFailedPrecondition);
  ASSERT_CODE(store->Put(5, "below"), absl::StatusCode::kFailedPrecondition);
  ASSERT_CODE(store->Get(15), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->BlockCount(), 2u);
  absl::StatusOr<BlockNumber> n = store->Append("21");
  ASSERT_OK(n);
  EXPECT_EQ(*n, 21u);
  ExpectBlock(*store, 20, "twenty");
}

TEST(BlockStoreTest, OutOfRangeAndOversized) {
  ScratchDir dir;
  auto store = OpenOrDie(SmallOptions(), dir.path());
  ASSERT_CODE(store->Put(kMaxBlockNumber + 1, "x"), absl::StatusCode::kInvalidArgument);
  ASSERT_CODE(store->Put(UINT64_MAX, "x"), absl::StatusCode::kInvalidArgument);
  ASSERT_CODE(store->Get(UINT64_MAX), absl::StatusCode::kInvalidArgument);
  std::string big(store->MaxPayloadSize() + 1, 'b');
  absl::Status s = store->Put(1, big);
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("MaxPayloadSize"), std::string::npos) << s;
  EXPECT_EQ(store->BlockCount(), 0u);
  ASSERT_OK(store->Put(kMaxBlockNumber, "last"));
  ExpectBlock(*store, kMaxBlockNumber, "last");
  ASSERT_CODE(store->Append("no room"), absl::StatusCode::kOutOfRange);
}

TEST(BlockStoreTest, SixtyFourBitNumbers) {
  ScratchDir dir;
  Options o = SmallOptions();
  const std::vector<BlockNumber> numbers = {(1ull << 31) - 1, 1ull << 31, 1ull << 32, 1ull << 40,
                                            kMaxBlockNumber};
  {
    auto store = OpenOrDie(o, dir.path());
    for (BlockNumber n : numbers) ASSERT_OK(store->Put(n, Payload(n, 100)));
    ASSERT_OK(store->Close());
  }
  auto store = OpenOrDie(o, dir.path());
  for (BlockNumber n : numbers) ExpectBlock(*store, n, Payload(n, 100));
  EXPECT_EQ(store->LowestNumber(), numbers.front());
  EXPECT_EQ(store->HighestNumber(), kMaxBlockNumber);
  EXPECT_EQ(store->BlockCount(), numbers.size());
}

TEST(BlockStoreTest, FirstBlockNumberAboveFourBillion) {
  ScratchDir dir;
  Options o = SmallOptions(128 << 10);
  o.first_block_number = 5'000'000'000ull;
  {
    auto store = OpenOrDie(o, dir.path());
    for (int i = 0; i < 500; ++i) {
      absl::StatusOr<BlockNumber> n = store->Append(Payload(static_cast<uint64_t>(i), 700));
      ASSERT_OK(n);
      ASSERT_EQ(*n, uint64_t{5'000'000'000} + static_cast<uint64_t>(i));
    }
    ASSERT_OK(store->Close());
  }
  Options wrong = o;
  wrong.first_block_number = 0;
  ASSERT_CODE(BlockStore::Open(wrong, dir.path()), absl::StatusCode::kInvalidArgument);
  auto store = OpenOrDie(o, dir.path());
  for (int i = 0; i < 500; ++i) {
    ExpectBlock(*store, uint64_t{5'000'000'000} + static_cast<uint64_t>(i), Payload(static_cast<uint64_t>(i), 700));
  }
}

TEST(BlockStoreTest, TruncateAfterThenReappendAcrossReopen) {
  ScratchDir dir;
  Options o = SmallOptions(64 << 10);
  {
    auto store = OpenOrDie(o, dir.path());
    for (uint64_t i = 0; i < 400; ++i) ASSERT_OK(store->Append(Payload(i, 500)));
    ASSERT_OK(store->TruncateAfter(150));
    EXPECT_EQ(store->HighestNumber(), 150u);
    EXPECT_EQ(store->BlockCount(), 151u);
    ASSERT_CODE(store->Get(151), absl::StatusCode::kNotFound);
    ASSERT_CODE(store->Get(399), absl::StatusCode::kNotFound);
    for (uint64_t i = 151; i < 200; ++i) ASSERT_OK(store->Append(Payload(i + 1000, 300)));
    ASSERT_OK(store->Close());
  }
  auto store = OpenOrDie(o, dir.path());
  EXPECT_EQ(store->HighestNumber(), 199u);
  EXPECT_EQ(store->BlockCount(), 200u);
  for (uint64_t i = 0; i <= 150; ++i) ExpectBlock(*store, i, Payload(i, 500));
  for (uint64_t i = 151; i < 200; ++i) ExpectBlock(*store, i, Payload(i + 1000, 300));
  ASSERT_OK(store->TruncateAfter(0));
  EXPECT_EQ(store->BlockCount(), 1u);
  ExpectBlock(*store, 0, Payload(0, 500));
}

TEST(BlockStoreTest, GetRangeReturnsPresentBlocksCapped) {
  ScratchDir dir;
  Options o = SmallOptions(64 << 10);
  o.max_range_bytes = 10'000;
  auto store = OpenOrDie(o, dir.path());
  for (uint64_t n = 0; n < 300; n += 3) ASSERT_OK(store->Put(n, Payload(n, 1000)));
  absl::StatusOr<std::vector<Block>> r = store->GetRange(0, 30);
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 10u);
  for (size_t i = 0; i < r->size(); ++i) {
    EXPECT_EQ((*r)[i].number(), 3 * i);
    EXPECT_TRUE((*r)[i].data() == Payload(3 * i, 1000));
  }
  r = store->GetRange(3, 1000);  // capped by bytes
  ASSERT_OK(r);
  EXPECT_EQ(r->size(), 10u);
  EXPECT_EQ(r->front().number(), 3u);
  r = store->GetRange(1000, 5);
  ASSERT_OK(r);
  EXPECT_TRUE(r->empty());
}

TEST(BlockStoreTest, SecondWriterIsRefusedAndReadOnlyOpen) {
  ScratchDir dir;
  Options o = SmallOptions();
  auto store = OpenOrDie(o, dir.path());
  ASSERT_OK(store->Append("held"));
  Options ro = o;
  ro.read_only = true;
  absl::StatusOr<std::unique_ptr<BlockStore>> second = BlockStore::Open(o, dir.path());
  ASSERT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  absl::StatusOr<std::unique_ptr<BlockStore>> reader = BlockStore::Open(ro, dir.path());
  ASSERT_EQ(reader.status().code(), absl::StatusCode::kFailedPrecondition) << reader.status();
  EXPECT_NE(reader.status().message().find("held by another process"), std::string::npos);
  ASSERT_OK(store->Close());
  reader = BlockStore::Open(ro, dir.path());
  ASSERT_OK(reader);
  ExpectBlock(**reader, 0, "held");
  ASSERT_CODE((*reader)->Append("no"), absl::StatusCode::kFailedPrecondition);
}

// Blocks read with pread go through the block cache; a number rewritten
// after TruncateAfter must never come back with its old bytes.
TEST(BlockStoreTest, CachedBlocksNeverOutliveTheirNumber) {
  ScratchDir dir;
  Options o = SmallOptions(64 << 10);
  o.hot_segments = 0;  // every sealed segment is read with pread and cached
  auto store = OpenOrDie(o, dir.path());
  for (uint64_t i = 0; i < 300; ++i) ASSERT_OK(store->Append(Payload(i, 900)));
  for (uint64_t i = 0; i < 300; ++i) ExpectBlock(*store, i, Payload(i, 900));
  for (uint64_t i = 240; i < 300; ++i) ExpectBlock(*store, i, Payload(i, 900));  // cached: old bytes of 240..299
  EXPECT_GT(store->GetStats().block_cache_entries, 0u);
  ASSERT_OK(store->TruncateAfter(3));
  for (uint64_t i = 4; i < 300; ++i) ASSERT_OK(store->Append(Payload(i + 5000, 900)));
  for (uint64_t i = 0; i < 4; ++i) ExpectBlock(*store, i, Payload(i, 900));
  for (uint64_t i = 4; i < 300; ++i) ExpectBlock(*store, i, Payload(i + 5000, 900));
  ExpectBlock(*store, 10, Payload(10 + 5000, 900));  // now from the cache
  EXPECT_GT(store->GetStats().block_cache_hits, 0u);
}

TEST(BlockStoreTest, BlockOutlivesClose) {
  ScratchDir dir;
  auto store = OpenOrDie(SmallOptions(), dir.path());
  ASSERT_OK(store->Append(Payload(9, 5000)));
  absl::StatusOr<Block> b = store->Get(0);
  ASSERT_OK(b);
  ASSERT_OK(store->Close());
  store.reset();
  EXPECT_TRUE(b->data() == Payload(9, 5000));
}

}  // namespace
}  // namespace segstore

namespace segstore {
namespace {

// A re-read of a verified record (of 16 KiB or more) within the TTL skips
// hashing it; with a TTL of zero every read hashes; smaller records are
// hashed on every read and never enter the cache.
TEST(ValidationCacheTest, ReReadsWithinTheTtlSkipHashing) {
  constexpr size_t kBig = 20'000, kSmall = 2'000;
  static_assert(kBig >= kValidationCacheMinPayload && kSmall < kValidationCacheMinPayload);
  for (absl::Duration ttl : {absl::Minutes(5), absl::ZeroDuration()}) {
    ScratchDir dir;
    Options o = SmallOptions();
    o.validation_cache_ttl = ttl;
    auto store = OpenOrDie(o, dir.path());
    for (uint64_t i = 0; i < 10; ++i) ASSERT_OK(store->Append(Payload(i, kBig)));
    for (uint64_t i = 10; i < 20; ++i) ASSERT_OK(store->Append(Payload(i, kSmall)));
    for (int round = 0; round < 3; ++round) {
      for (uint64_t i = 0; i < 20; ++i) ExpectBlock(*store, i, Payload(i, i < 10 ? kBig : kSmall));
    }
    const CacheMetrics v = store->Scaling().GetScalingMetrics().validation_cache;
    if (ttl > absl::ZeroDuration()) {
      EXPECT_EQ(v.misses, 10u);
      EXPECT_EQ(v.hits, 20u);
      EXPECT_EQ(v.entries, 10u) << "only the 10 big records are remembered";
    } else {
      EXPECT_EQ(v.hits, 0u) << "an expired validation was used";
    }
    // Reads without verification neither use nor fill it.
    ASSERT_OK(store->Get(0, ReadOptions{false, true}));
    EXPECT_EQ(store->Scaling().GetScalingMetrics().validation_cache.hits, v.hits);
  }
}

}  // namespace
}  // namespace segstore

namespace segstore {
namespace {

// TruncateAfter(n) when the highest block kept is below n, then Put of the
// numbers in between: those blocks must survive reopen (the scan of the
// segment used to take n as the floor and drop them as out of order),
// Verify must find nothing wrong, and rebuild-index must keep them too.
TEST(TruncateGapTest, NumbersBetweenTheKeptHighestAndTheCutSurvive) {
  for (bool seal : {false, true}) {
    ScratchDir dir;
    Options o = SmallOptions(64 << 10);
    {
      auto store = OpenOrDie(o, dir.path());
      for (uint64_t n = 0; n < 10; ++n) ASSERT_OK(store->Put(n, Payload(n, 300)));
      ASSERT_OK(store->Put(15, Payload(15, 300)));
      ASSERT_OK(store->TruncateAfter(12));
      EXPECT_EQ(store->HighestNumber(), 9u);
      for (uint64_t n = 10; n <= 12; ++n) ASSERT_OK(store->Put(n, Payload(100 + n, 300)));
      if (seal) {  // and roll over, so the gap's blocks are in a sealed segment too
        for (uint64_t n = 13; n < 400; ++n) ASSERT_OK(store->Put(n, Payload(100 + n, 300)));
      }
      ASSERT_OK(store->Close());
    }
    const uint64_t last = seal ? 399 : 12;
    auto check = [&](BlockStore& store) {
      EXPECT_EQ(store.BlockCount(), last + 1);
      for (uint64_t n = 0; n < 10; ++n) ExpectBlock(store, n, Payload(n, 300));
      for (uint64_t n = 10; n <= last; ++n) ExpectBlock(store, n, Payload(100 + n, 300));
      absl::StatusOr<VerifyReport> v = store.Verify(/*deep=*/true);
      ASSERT_OK(v);
      EXPECT_TRUE(v->ok()) << v->problems[0].what;
    };
    {
      auto store = OpenOrDie(o, dir.path());
      EXPECT_TRUE(store->LastRecoveryReport().damaged.empty()) << store->LastRecoveryReport().ToString();
      check(*store);
    }
    ASSERT_OK(RebuildIndex(o, dir.path()));
    auto store = OpenOrDie(o, dir.path());
    check(*store);
  }
}

}  // namespace
}  // namespace segstore
