// Reopen costs I/O in proportion to the unsealed tail, not to the size of
// the store: a store with 100 sealed segments opens with about as many
// segment bytes read and mapped as one with a single sealed segment, given
// the same active tail. Counted through the FileSystem seam
// (CountingFileSystem), so no wall-clock threshold is involved.

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>

#include "testutil/counting_file_system.h"
#include "testutil/test_util.h"

namespace segstore {
namespace {

using testing::CountingFileSystem;
using testing::ExpectBlockEq;
using testing::NumberedPayload;
using testing::ScratchDir;

constexpr uint64_t kSegmentSize = 64 << 10;
constexpr size_t kBlockSize = 1000;
constexpr uint64_t kTailBlocks = 20;

std::string Want(BlockNumber n) { return NumberedPayload(7, n, kBlockSize, kBlockSize); }

struct Built {
  BlockNumber blocks = 0;
  BlockNumber first_in_tail = 0;
};

// Appends until `sealed` segments are sealed, then fills the new active
// segment with exactly kTailBlocks blocks, and closes.
Built Build(const std::string& dir, uint64_t sealed) {
  Built b;
  Options o = testing::SmallOptions(kSegmentSize);
  absl::StatusOr<std::unique_ptr<BlockStore>> s = BlockStore::Open(o, dir);
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) return b;
  BlockStore& store = **s;
  while (store.GetStats().sealed_segments < sealed) {
    EXPECT_TRUE(store.Append(Want(b.blocks)).ok());
    ++b.blocks;
  }
  // The block that made the seal happen is the first of the new active one.
  b.first_in_tail = b.blocks - 1;
  while (b.blocks - b.first_in_tail < kTailBlocks) {
    EXPECT_TRUE(store.Append(Want(b.blocks)).ok());
    ++b.blocks;
  }
  EXPECT_EQ(store.GetStats().sealed_segments, sealed);
  EXPECT_TRUE(store.Close().ok());
  return b;
}

struct OpenCost {
  uint64_t read = 0, mapped = 0, opens = 0;
  uint64_t total() const { return read + mapped; }
};

// Opens through a counting file system, records what Open cost, then checks
// every block (old ones included) and the stats.
OpenCost Reopen(const std::string& dir, const Built& b, uint64_t sealed) {
  OpenCost cost;
  auto fs = std::make_shared<CountingFileSystem>(DefaultFileSystem());
  Options o = testing::SmallOptions(kSegmentSize);
  o.file_system = fs;
  absl::StatusOr<std::unique_ptr<BlockStore>> s = BlockStore::Open(o, dir);
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) return cost;
  cost.read = fs->bytes_read();
  cost.mapped = fs->bytes_mapped();
  cost.opens = fs->opens();
  BlockStore& store = **s;
  EXPECT_TRUE(store.LastRecoveryReport().clean) << store.LastRecoveryReport().ToString();
  EXPECT_EQ(store.LastRecoveryReport().segments_scanned, 1u);
  EXPECT_EQ(store.GetStats().sealed_segments, sealed);
  EXPECT_EQ(store.BlockCount(), b.blocks);
  // An old block (in the first sealed segment) and one in the middle still
  // read back; then all of them.
  ExpectBlockEq(store, 0, Want(0));
  ExpectBlockEq(store, b.first_in_tail / 2, Want(b.first_in_tail / 2));
  for (BlockNumber n = 0; n < b.blocks; ++n) ExpectBlockEq(store, n, Want(n));
  EXPECT_TRUE(store.Close().ok());
  return cost;
}

TEST(OpenCostTest, OpenCostDependsOnTheTailNotOnSealedSegments) {
  ScratchDir small_dir, big_dir;
  const Built small = Build(small_dir.path(), 1);
  const Built big = Build(big_dir.path(), 100);
  ASSERT_EQ(testing::SegmentFiles(small_dir.path()).size(), 2u);
  ASSERT_EQ(testing::SegmentFiles(big_dir.path()).size(), 101u);
  ASSERT_GT(big.blocks, 50 * small.blocks);

  const OpenCost c1 = Reopen(small_dir.path(), small, 1);
  const OpenCost c100 = Reopen(big_dir.path(), big, 100);
  SCOPED_TRACE(::testing::Message() << "1 sealed: read " << c1.read << " mapped " << c1.mapped << " opens "
                                    << c1.opens << "; 100 sealed: read " << c100.read << " mapped "
                                    << c100.mapped << " opens " << c100.opens);
  std::printf("open cost: 1 sealed %llu bytes, 100 sealed %llu bytes\n",
              static_cast<unsigned long long>(c1.total()), static_cast<unsigned long long>(c100.total()));
  ASSERT_GT(c1.total(), 0u) << "open read nothing through the file system seam?";
  // Within 10% of each other.
  EXPECT_LE(c100.total() * 10, c1.total() * 11);
  EXPECT_LE(c1.total() * 10, c100.total() * 11);
  // And bounded by the tail: the active segment once or twice, never the
  // 100 sealed ones (6.4 MB).
  EXPECT_LE(c100.total(), 2 * kSegmentSize);
  EXPECT_LE(c100.opens, c1.opens + 2);
}

}  // namespace
}  // namespace segstore
