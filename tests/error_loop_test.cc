// SQLite-style error loop: for each kind of call through the segment
// FileSystem, fail call N (N = 1, 2, ...) until the workload runs without
// reaching it, once and forever, with EIO and ENOSPC. Every run must end
// without a crash, without a leaked descriptor or mapping, without any write
// acknowledged after a failed sync, and with a store that reopens with every
// acknowledged block and verifies.

#include <dirent.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>
#include <random>

#include "testutil/fault_file_system.h"
#include "testutil/test_util.h"

namespace segstore {
namespace {

using testing::FaultFileSystem;
using testing::FsOp;
using testing::Payload;
using testing::ScratchDir;

size_t OpenDescriptors() {
  size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d) != nullptr) ++n;
    ::closedir(d);
  }
  return n;
}

size_t Mappings() {
  std::ifstream in("/proc/self/maps");
  size_t n = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(".seg") != std::string::npos) ++n;
  }
  return n;
}

struct Acked {
  BlockNumber n;
  uint64_t seed;
  size_t size;
};

void ExpectBlockReadable(BlockStore& store, const Acked& a) {
  absl::StatusOr<Block> b = store.Get(a.n);
  EXPECT_TRUE(b.ok() && b->data() == Payload(a.seed, a.size)) << "block " << a.n << ": " << b.status();
}

// Runs the workload with call `at` of `op` failing. Returns false once the
// workload no longer reaches that call (the loop is done).
bool RunOnce(FsOp op, uint64_t at, int err, bool forever) {
  ScratchDir dir;
  auto fs = std::make_shared<FaultFileSystem>(DefaultFileSystem());
  Options o = testing::SmallOptions(64 << 10);
  o.file_system = fs;
  std::vector<Acked> acked;
  const size_t fds_before = OpenDescriptors();
  {
    auto opened = BlockStore::Open(o, dir.path());
    EXPECT_TRUE(opened.ok()) << opened.status();
    if (!opened.ok()) return false;
    std::unique_ptr<BlockStore> store = *std::move(opened);
    fs->FailAt(op, at, err, forever);
    std::mt19937_64 rng(at);
    bool sync_failed = false;
    for (int i = 0; i < 120; ++i) {
      const size_t size = rng() % 2500;
      const uint64_t seed = at * 1000 + static_cast<uint64_t>(i);
      absl::StatusOr<BlockNumber> n = store->Append(Payload(seed, size));
      if (n.ok()) {
        EXPECT_FALSE(sync_failed) << FsOpName(op) << " call " << at << ": a write was acknowledged after a failed sync";
        acked.push_back({*n, seed, size});
        ExpectBlockReadable(*store, acked.back());
      } else {
        EXPECT_FALSE(n.status().message().empty());
      }
      if (i % 25 == 24) {
        absl::Status s = store->Sync();
        if (!s.ok() && op == FsOp::kSync) {
          sync_failed = true;
          EXPECT_FALSE(store->Health().ok()) << "a failed sync must put the store into its failed state";
        }
      }
    }
    (void)store->Close();
  }
  const bool fired = fs->injected() > 0;
  fs->ClearFaults();
  EXPECT_EQ(Mappings(), 0u) << FsOpName(op) << " call " << at << ": a segment mapping leaked";
  EXPECT_LE(OpenDescriptors(), fds_before + 2) << FsOpName(op) << " call " << at << ": descriptors leaked";
  // No power loss happened, so every acknowledged block must be there.
  auto reopened = BlockStore::Open(o, dir.path());
  EXPECT_TRUE(reopened.ok()) << FsOpName(op) << " call " << at << ": " << reopened.status();
  if (!reopened.ok()) return false;
  for (const Acked& a : acked) {
    absl::StatusOr<Block> b = (*reopened)->Get(a.n);
    EXPECT_TRUE(b.ok() && b->data() == Payload(a.seed, a.size))
        << FsOpName(op) << " call " << at << ": block " << a.n << " " << b.status();
  }
  absl::StatusOr<VerifyReport> v = (*reopened)->Verify(/*deep=*/true);
  EXPECT_TRUE(v.ok() && v->ok()) << FsOpName(op) << " call " << at << ": "
                                 << (v.ok() && !v->ok() ? v->problems[0].what : v.status().ToString());
  return fired;
}

void Loop(FsOp op, int err) {
  for (bool forever : {false, true}) {
    uint64_t runs = 0;
    for (uint64_t at = 1; at < 10'000; ++at) {
      ++runs;
      if (!RunOnce(op, at, err, forever) || ::testing::Test::HasFailure()) break;
    }
    EXPECT_GT(runs, 1u) << FsOpName(op) << ": no fault ever fired";
  }
}

TEST(ErrorLoopTest, Write) { Loop(FsOp::kWrite, EIO); }
TEST(ErrorLoopTest, Sync) { Loop(FsOp::kSync, EIO); }
TEST(ErrorLoopTest, AllocateNoSpace) { Loop(FsOp::kAllocate, ENOSPC); }
TEST(ErrorLoopTest, Open) { Loop(FsOp::kOpen, EMFILE); }
TEST(ErrorLoopTest, Map) { Loop(FsOp::kMap, ENOMEM); }
TEST(ErrorLoopTest, SyncDir) { Loop(FsOp::kSyncDir, EIO); }
TEST(ErrorLoopTest, Truncate) { Loop(FsOp::kTruncate, EIO); }

// Faults while opening (recovery): the open fails cleanly, and a later open
// without faults finds everything.
TEST(ErrorLoopTest, DuringRecovery) {
  ScratchDir dir;
  auto fs = std::make_shared<FaultFileSystem>(DefaultFileSystem());
  Options o = testing::SmallOptions(64 << 10);
  o.file_system = fs;
  {
    auto store = BlockStore::Open(o, dir.path());
    ASSERT_OK(store);
    for (uint64_t i = 0; i < 100; ++i) ASSERT_OK((*store)->Append(Payload(i, 1000)));
  }
  for (FsOp op : {FsOp::kOpen, FsOp::kRead, FsOp::kMap, FsOp::kWrite, FsOp::kSync, FsOp::kAllocate}) {
    for (uint64_t at = 1; at < 50; ++at) {
      fs->FailAt(op, at, EIO, false);
      const uint64_t before = fs->injected();
      auto store = BlockStore::Open(o, dir.path());
      const bool fired = fs->injected() > before;
      fs->ClearFaults();
      if (!fired) {
        ASSERT_OK(store);
        break;
      }
      if (!store.ok()) continue;  // a clean error
      for (uint64_t i = 0; i < 100; ++i) {
        absl::StatusOr<Block> b = (*store)->Get(i);
        ASSERT_TRUE(b.ok() && b->data() == Payload(i, 1000)) << FsOpName(op) << " " << at << " block " << i;
      }
    }
    auto store = BlockStore::Open(o, dir.path());
    ASSERT_OK(store);
    for (uint64_t i = 0; i < 100; ++i) {
      absl::StatusOr<Block> b = (*store)->Get(i);
      ASSERT_TRUE(b.ok() && b->data() == Payload(i, 1000)) << FsOpName(op) << " block " << i;
    }
  }
}

}  // namespace
}  // namespace segstore
