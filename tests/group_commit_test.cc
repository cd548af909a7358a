// Group commit and parallel appenders, shown deterministically: a FileSystem
// that parks segment syncs (or record writes) on a latch lets the test line
// writers up at a known point and count what they cost, with no timing.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "testutil/blocking_file_system.h"
#include "testutil/test_util.h"

namespace segstore {
namespace {

using testing::BlockingFileSystem;
using testing::Payload;
using testing::ScratchDir;

Options LatchOptions(std::shared_ptr<BlockingFileSystem> fs, size_t writers) {
  Options o = testing::SmallOptions(4 << 20);
  o.file_system = std::move(fs);
  o.max_concurrent_writes = writers;
  return o;
}

// Eight writers with sync = true: while the first one's sync is parked, the
// other seven publish and wait; releasing it costs one more sync for all of
// them, not seven.
TEST(GroupCommitTest, SyncWritesArrivingTogetherShareOneSync) {
  constexpr int kWriters = 8;
  ScratchDir dir;
  auto fs = std::make_shared<BlockingFileSystem>(DefaultFileSystem());
  absl::StatusOr<std::unique_ptr<BlockStore>> opened = BlockStore::Open(LatchOptions(fs, kWriters), dir.path());
  ASSERT_OK(opened);
  BlockStore& store = **opened;
  ASSERT_OK(store.Append("warm-up: the active segment exists", {.sync = true}));

  fs->Arm(BlockingFileSystem::Hold::kSync);
  const uint64_t syncs_before = fs->syncs();
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<BlockNumber>> got(kWriters, absl::UnknownError("not run"));
  threads.emplace_back([&] { got[0] = store.Append(Payload(100, 3000), {.sync = true}); });
  ASSERT_TRUE(fs->WaitForBlocked(1)) << "the first sync never started";
  for (int t = 1; t < kWriters; ++t) {
    threads.emplace_back([&, t] { got[static_cast<size_t>(t)] = store.Append(Payload(100 + static_cast<uint64_t>(t), 3000), {.sync = true}); });
  }
  // All eight are published (readable) while the first sync is still parked.
  for (int i = 0; i < 60'000 && store.BlockCount() < kWriters + 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(store.BlockCount(), kWriters + 1u);
  EXPECT_EQ(fs->blocked(), 1u) << "a second sync started while the first was running";
  fs->Release();
  for (std::thread& th : threads) th.join();

  std::set<BlockNumber> numbers;
  for (int t = 0; t < kWriters; ++t) {
    ASSERT_OK(got[static_cast<size_t>(t)]);
    numbers.insert(*got[static_cast<size_t>(t)]);
    testing::ExpectBlockEq(store, *got[static_cast<size_t>(t)], Payload(100 + static_cast<uint64_t>(t), 3000));
  }
  EXPECT_EQ(numbers.size(), static_cast<size_t>(kWriters));
  // The parked sync covered the first writer; one more covered the other seven.
  EXPECT_EQ(fs->syncs() - syncs_before, 2u);
  ASSERT_OK(store.Close());

  // And all of it is there after a reopen.
  opened = BlockStore::Open(LatchOptions(fs, kWriters), dir.path());
  ASSERT_OK(opened);
  for (int t = 0; t < kWriters; ++t) {
    testing::ExpectBlockEq(**opened, *got[static_cast<size_t>(t)], Payload(100 + static_cast<uint64_t>(t), 3000));
  }
}

// Admitted writers write their records at the same time: with record writes
// parked, as many writers are inside File::Write as max_concurrent_writes
// allows, and no more. Released, they are published in number order.
TEST(GroupCommitTest, AppendersWriteInParallelUpToTheLimit) {
  constexpr int kThreads = 6;
  constexpr size_t kLimit = 4;
  ScratchDir dir;
  auto fs = std::make_shared<BlockingFileSystem>(DefaultFileSystem());
  absl::StatusOr<std::unique_ptr<BlockStore>> opened = BlockStore::Open(LatchOptions(fs, kLimit), dir.path());
  ASSERT_OK(opened);
  BlockStore& store = **opened;
  ASSERT_OK(store.Append("warm-up"));

  fs->Arm(BlockingFileSystem::Hold::kWrite);
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<BlockNumber>> got(kThreads, absl::UnknownError("not run"));
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { got[static_cast<size_t>(t)] = store.Append(Payload(200 + static_cast<uint64_t>(t), 5000)); });
  }
  ASSERT_TRUE(fs->WaitForBlocked(kLimit));
  // Nothing is published while the oldest record is still being written.
  EXPECT_EQ(store.BlockCount(), 1u);
  EXPECT_EQ(store.HighestNumber(), 0u);
  fs->Release();
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(fs->max_blocked(), kLimit);

  std::set<BlockNumber> numbers;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_OK(got[static_cast<size_t>(t)]);
    numbers.insert(*got[static_cast<size_t>(t)]);
    testing::ExpectBlockEq(store, *got[static_cast<size_t>(t)], Payload(200 + static_cast<uint64_t>(t), 5000));
  }
  EXPECT_EQ(numbers, (std::set<BlockNumber>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(store.BlockCount(), kThreads + 1u);
}

// A write with a deadline does not wait forever for admission.
TEST(GroupCommitTest, DeadlinePassesWhileAllSlotsAreBusy) {
  ScratchDir dir;
  auto fs = std::make_shared<BlockingFileSystem>(DefaultFileSystem());
  absl::StatusOr<std::unique_ptr<BlockStore>> opened = BlockStore::Open(LatchOptions(fs, 1), dir.path());
  ASSERT_OK(opened);
  BlockStore& store = **opened;
  ASSERT_OK(store.Append("warm-up"));
  fs->Arm(BlockingFileSystem::Hold::kWrite);
  absl::StatusOr<BlockNumber> first = absl::UnknownError("not run");
  std::thread holder([&] { first = store.Append("holds the only slot"); });
  ASSERT_TRUE(fs->WaitForBlocked(1));
  WriteOptions wo;
  wo.deadline = absl::Now() + absl::Milliseconds(50);
  absl::StatusOr<BlockNumber> late = store.Append("too late", wo);
  ASSERT_CODE(late, absl::StatusCode::kDeadlineExceeded);
  fs->Release();
  holder.join();
  ASSERT_OK(first);
  EXPECT_EQ(*first, 1u);
  // The refused write left no trace; the next one gets the next number.
  absl::StatusOr<BlockNumber> next = store.Append("after");
  ASSERT_OK(next);
  EXPECT_EQ(*next, 2u);
}

}  // namespace
}  // namespace segstore
