// A real descriptor limit (RLIMIT_NOFILE): when the process runs out of
// descriptors, writes fail with a clear error, nothing acknowledged is lost,
// and the store works again once descriptors are available.

#include <gtest/gtest.h>
#include <cstdio>
#include <sys/resource.h>
#include <unistd.h>

#include "testutil/test_util.h"

namespace segstore {
namespace {

using testing::Payload;
using testing::ScratchDir;

TEST(FdLimitTest, RunningOutOfDescriptorsFailsCleanlyAndRecovers) {
  ScratchDir dir;
  Options o = testing::SmallOptions(64 << 10);
  auto opened = BlockStore::Open(o, dir.path());
  ASSERT_OK(opened);
  BlockStore& store = **opened;
  uint64_t acked = 0;
  for (; acked < 50; ++acked) ASSERT_OK(store.Append(Payload(acked, 3000)));

  struct rlimit old;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  struct rlimit tight = old;
  // The limit bounds descriptor numbers: no number is free below it.
  const int lowest_free = ::dup(0);
  ASSERT_GE(lowest_free, 0);
  ::close(lowest_free);
  tight.rlim_cur = static_cast<rlim_t>(lowest_free);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  absl::Status failure;
  for (int i = 0; i < 400 && failure.ok(); ++i) {
    absl::StatusOr<BlockNumber> n = store.Append(Payload(acked, 3000));
    if (n.ok()) {
      ++acked;
    } else {
      failure = n.status();
    }
  }
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  ASSERT_FALSE(failure.ok()) << "the descriptor limit was never hit";
  EXPECT_EQ(failure.code(), absl::StatusCode::kResourceExhausted) << failure;
  std::printf("out of descriptors: %s\n", failure.ToString().c_str());
  for (uint64_t i = 0; i < acked; ++i) {
    absl::StatusOr<Block> b = store.Get(i);
    ASSERT_TRUE(b.ok() && b->data() == Payload(i, 3000)) << i << ": " << b.status();
  }
  // Descriptors are back: appends go on (after at most a few retries while
  // RocksDB resumes), and everything survives a reopen.
  absl::Status resumed;
  for (int attempt = 0; attempt < 5; ++attempt) {
    absl::StatusOr<BlockNumber> n = store.Append(Payload(acked, 3000));
    resumed = n.status();
    if (n.ok()) {
      ++acked;
      break;
    }
  }
  if (!resumed.ok()) {
    // A failed sync leaves the store read-only by design; then a reopen is
    // the way back, and must find everything acknowledged.
    EXPECT_FALSE(store.Health().ok()) << resumed;
  }
  (void)store.Close();
  opened->reset();
  auto again = BlockStore::Open(o, dir.path());
  ASSERT_OK(again);
  EXPECT_EQ((*again)->BlockCount(), acked);
  for (uint64_t i = 0; i < acked; ++i) {
    absl::StatusOr<Block> b = (*again)->Get(i);
    ASSERT_TRUE(b.ok() && b->data() == Payload(i, 3000)) << i << ": " << b.status();
  }
  ASSERT_OK((*again)->Append("after"));
}

}  // namespace
}  // namespace segstore
