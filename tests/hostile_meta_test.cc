// Hostile or absurd values in meta/ (written here straight into RocksDB) are
// clear errors or handled, never a crash, an unbounded allocation or lost
// blocks. Cases found by the fuzz targets.

#include <gtest/gtest.h>

#include "meta/meta_store.h"
#include "testutil/test_util.h"

namespace segstore {
namespace {

using testing::Payload;
using testing::ScratchDir;

void Fill(const std::string& dir, uint64_t blocks) {
  auto store = BlockStore::Open(testing::SmallOptions(64 << 10), dir);
  ASSERT_OK(store);
  for (uint64_t i = 0; i < blocks; ++i) ASSERT_OK((*store)->Append(Payload(i, 1500)));
  ASSERT_OK((*store)->Close());
}

// Rewrites one SegmentMeta (the newest if `active`, else the first).
void Edit(const std::string& dir, bool active, const std::function<void(proto::SegmentMeta*)>& edit) {
  internal::MetaOptions mo;
  auto meta = internal::MetaStore::Open(dir + "/meta", mo);
  ASSERT_OK(meta);
  auto segs = (*meta)->ReadSegments();
  ASSERT_OK(segs);
  ASSERT_GE(segs->size(), 2u);
  proto::SegmentMeta m = active ? segs->back() : segs->front();
  edit(&m);
  internal::MetaStore::Batch b;
  b.PutSegment(m);
  ASSERT_OK((*meta)->Write(b, true));
  ASSERT_OK((*meta)->Close());
}

TEST(HostileMetaTest, UsedUpEpochSealsTheSegmentAndLosesNothing) {
  ScratchDir dir;
  Fill(dir.path(), 100);
  Edit(dir.path(), true, [](proto::SegmentMeta* m) { m->set_epoch(UINT32_MAX); });
  {
    auto store = BlockStore::Open(testing::SmallOptions(64 << 10), dir.path());
    ASSERT_OK(store);
    const uint64_t segments = (*store)->GetStats().segments;
    for (uint64_t i = 100; i < 110; ++i) ASSERT_OK((*store)->Append(Payload(i, 1500)));  // unsynced
    EXPECT_GT((*store)->GetStats().segments, segments);  // a new segment took them
    ASSERT_OK((*store)->Close());
  }
  auto store = BlockStore::Open(testing::SmallOptions(64 << 10), dir.path());
  ASSERT_OK(store);
  for (uint64_t i = 0; i < 110; ++i) {
    absl::StatusOr<Block> b = (*store)->Get(i);
    ASSERT_TRUE(b.ok() && b->data() == Payload(i, 1500)) << i << ": " << b.status();
  }
}

TEST(HostileMetaTest, HugeFooterLengthIsDataLossNotAnAllocation) {
  ScratchDir dir;
  Fill(dir.path(), 100);
  Edit(dir.path(), false, [](proto::SegmentMeta* m) {
    m->set_file_size(uint64_t{1} << 40);
    m->set_capacity(uint64_t{1} << 40);
    m->set_footer_length((uint64_t{1} << 40) - m->footer_offset() - 4096);  // consistent, but not the file
  });
  auto store = BlockStore::Open(testing::SmallOptions(64 << 10), dir.path());
  ASSERT_OK(store);
  absl::StatusOr<Block> b = (*store)->Get(0);
  ASSERT_EQ(b.status().code(), absl::StatusCode::kDataLoss) << b.status();
  EXPECT_NE(b.status().message().find("0000000000000001.seg"), std::string::npos) << b.status();
  absl::StatusOr<Block> later = (*store)->Get(99);
  ASSERT_TRUE(later.ok() && later->data() == Payload(99, 1500)) << later.status();
}

}  // namespace
}  // namespace segstore
