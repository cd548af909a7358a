// Group commit and parallel appenders, shown deterministically: a FileSystem
// that parks segment syncs (or record writes) on a latch lets the test line
// writers up at a known point and count what they cost, with no timing.

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "testutil/test_util.h"

namespace segstore {
namespace {

using testing::Payload;
using testing::ScratchDir;

// Parks File::Sync and/or File::Write of segment files while armed.
class LatchFileSystem final : public FileSystem {
 public:
  explicit LatchFileSystem(std::shared_ptr<FileSystem> base) : base_(std::move(base)) {}

  void ArmSync(bool on) { Set(&park_syncs_, on); }
  void ArmWrite(bool on) { Set(&park_writes_, on); }
  // Waits (bounded) until `n` calls are parked; false if they never come.
  bool AwaitParked(int n) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(60), [&] { return parked_ >= n; });
  }
  int parked() {
    std::lock_guard<std::mutex> l(mu_);
    return parked_;
  }
  int max_parked() {
    std::lock_guard<std::mutex> l(mu_);
    return max_parked_;
  }
  uint64_t syncs() const { return syncs_.load(); }

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  absl::StatusOr<std::shared_ptr<const ReadOnlyMapping>> Map(const std::string& path, uint64_t offset,
                                                             uint64_t length) override {
    return base_->Map(path, offset, length);
  }
  absl::Status Rename(const std::string& from, const std::string& to) override { return base_->Rename(from, to); }
  absl::Status Delete(const std::string& path) override { return base_->Delete(path); }
  absl::Status SyncDir(const std::string& path) override { return base_->SyncDir(path); }
  absl::Status CreateDir(const std::string& path) override { return base_->CreateDir(path); }
  absl::StatusOr<bool> Exists(const std::string& path) override { return base_->Exists(path); }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }

  void Park(const bool* which) {
    std::unique_lock<std::mutex> l(mu_);
    if (!*which) return;
    ++parked_;
    max_parked_ = std::max(max_parked_, parked_);
    cv_.notify_all();
    cv_.wait(l, [&] { return !*which; });
    --parked_;
  }
  bool park_syncs_ = false;
  bool park_writes_ = false;
  std::atomic<uint64_t> syncs_{0};

 private:
  void Set(bool* flag, bool on) {
    std::lock_guard<std::mutex> l(mu_);
    *flag = on;
    cv_.notify_all();
  }
  std::shared_ptr<FileSystem> base_;
  std::mutex mu_;
  std::condition_variable cv_;
  int parked_ = 0;
  int max_parked_ = 0;
};

class LatchFile final : public File {
 public:
  LatchFile(LatchFileSystem* fs, std::unique_ptr<File> base) : fs_(fs), base_(std::move(base)) {}
  absl::StatusOr<size_t> Read(uint64_t offset, char* dst, size_t n) override { return base_->Read(offset, dst, n); }
  absl::Status Write(uint64_t offset, std::string_view data) override {
    fs_->Park(&fs_->park_writes_);
    return base_->Write(offset, data);
  }
  absl::Status Allocate(uint64_t offset, uint64_t length) override { return base_->Allocate(offset, length); }
  absl::Status Truncate(uint64_t size) override { return base_->Truncate(size); }
  absl::Status Sync() override {
    fs_->syncs_.fetch_add(1);
    fs_->Park(&fs_->park_syncs_);
    return base_->Sync();
  }
  absl::StatusOr<uint64_t> Size() override { return base_->Size(); }

 private:
  LatchFileSystem* const fs_;
  std::unique_ptr<File> base_;
};

absl::StatusOr<std::unique_ptr<File>> LatchFileSystem::Open(const std::string& path, OpenMode mode) {
  absl::StatusOr<std::unique_ptr<File>> f = base_->Open(path, mode);
  if (!f.ok()) return f;
  return std::unique_ptr<File>(new LatchFile(this, *std::move(f)));
}

Options LatchOptions(std::shared_ptr<LatchFileSystem> fs, size_t writers) {
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
  auto fs = std::make_shared<LatchFileSystem>(DefaultFileSystem());
  absl::StatusOr<std::unique_ptr<BlockStore>> opened = BlockStore::Open(LatchOptions(fs, kWriters), dir.path());
  ASSERT_OK(opened);
  BlockStore& store = **opened;
  ASSERT_OK(store.Append("warm-up: the active segment exists", {.sync = true}));

  fs->ArmSync(true);
  const uint64_t syncs_before = fs->syncs();
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<BlockNumber>> got(kWriters, absl::UnknownError("not run"));
  threads.emplace_back([&] { got[0] = store.Append(Payload(100, 3000), {.sync = true}); });
  ASSERT_TRUE(fs->AwaitParked(1)) << "the first sync never started";
  for (int t = 1; t < kWriters; ++t) {
    threads.emplace_back([&, t] { got[static_cast<size_t>(t)] = store.Append(Payload(100 + static_cast<uint64_t>(t), 3000), {.sync = true}); });
  }
  // All eight are published (readable) while the first sync is still parked.
  for (int i = 0; i < 60'000 && store.BlockCount() < kWriters + 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(store.BlockCount(), kWriters + 1u);
  EXPECT_EQ(fs->parked(), 1) << "a second sync started while the first was running";
  fs->ArmSync(false);
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
  auto fs = std::make_shared<LatchFileSystem>(DefaultFileSystem());
  absl::StatusOr<std::unique_ptr<BlockStore>> opened = BlockStore::Open(LatchOptions(fs, kLimit), dir.path());
  ASSERT_OK(opened);
  BlockStore& store = **opened;
  ASSERT_OK(store.Append("warm-up"));

  fs->ArmWrite(true);
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<BlockNumber>> got(kThreads, absl::UnknownError("not run"));
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] { got[static_cast<size_t>(t)] = store.Append(Payload(200 + static_cast<uint64_t>(t), 5000)); });
  }
  ASSERT_TRUE(fs->AwaitParked(static_cast<int>(kLimit)));
  // Nothing is published while the oldest record is still being written.
  EXPECT_EQ(store.BlockCount(), 1u);
  EXPECT_EQ(store.HighestNumber(), 0u);
  fs->ArmWrite(false);
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(fs->max_parked(), static_cast<int>(kLimit));

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
  auto fs = std::make_shared<LatchFileSystem>(DefaultFileSystem());
  absl::StatusOr<std::unique_ptr<BlockStore>> opened = BlockStore::Open(LatchOptions(fs, 1), dir.path());
  ASSERT_OK(opened);
  BlockStore& store = **opened;
  ASSERT_OK(store.Append("warm-up"));
  fs->ArmWrite(true);
  absl::StatusOr<BlockNumber> first = absl::UnknownError("not run");
  std::thread holder([&] { first = store.Append("holds the only slot"); });
  ASSERT_TRUE(fs->AwaitParked(1));
  WriteOptions wo;
  wo.deadline = absl::Now() + absl::Milliseconds(50);
  absl::StatusOr<BlockNumber> late = store.Append("too late", wo);
  ASSERT_CODE(late, absl::StatusCode::kDeadlineExceeded);
  fs->ArmWrite(false);
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
