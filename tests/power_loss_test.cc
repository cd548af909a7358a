// Simulated power loss through FaultFileSystem: after a crash that keeps only
// what was synced (or a random subset of unsynced pages, or a torn sector),
// reopening gives every durable block, a write-order prefix of the
// acknowledged ones, and never wrong bytes. Then the store keeps working.
//
// SEGSTORE_POWER_LOSS_ROUNDS sets the number of random crash points per model
// (default 60; CI 600; the long setting, `tools/run-tests.sh crash-long`: 3400).

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "meta/meta_store.h"
#include "testutil/fault_file_system.h"
#include "testutil/fault_rocksdb_fs.h"
#include "testutil/test_util.h"

namespace segstore {
namespace {

using testing::FaultFileSystem;
using testing::Payload;
using testing::PowerLoss;
using testing::ScratchDir;

struct Written {
  BlockNumber n;
  uint64_t seed;
  size_t size;
};

struct Outcome {
  uint64_t lost_durable = 0;    // durable blocks missing or wrong: must be 0
  uint64_t holes = 0;           // a block missing before a surviving one: must be 0
  uint64_t wrong_bytes = 0;     // a present block with other bytes: must be 0
  uint64_t survivors = 0;
  bool reopen_failed = false;   // the store could not be opened: must not happen
};

Options FaultOptions(std::shared_ptr<FaultFileSystem> fs) {
  Options o = testing::SmallOptions(64 << 10);
  o.file_system = std::move(fs);
  return o;
}

// Checks the reopened store against what was acknowledged and made durable.
Outcome Check(BlockStore& store, const std::vector<Written>& acked, size_t durable) {
  Outcome out;
  bool gone = false;
  for (size_t i = 0; i < acked.size(); ++i) {
    absl::StatusOr<Block> b = store.Get(acked[i].n);
    const bool present = b.ok();
    if (present && b->data() != Payload(acked[i].seed, acked[i].size)) ++out.wrong_bytes;
    if (!present) {
      EXPECT_TRUE(absl::IsNotFound(b.status())) << "block " << acked[i].n << ": " << b.status();
      if (i < durable) ++out.lost_durable;
      gone = true;
    } else {
      ++out.survivors;
      if (gone) ++out.holes;
    }
  }
  return out;
}

// One crash point: a random workload (appends, and puts above the highest
// block, some leaving gaps), a crash at a random write, a check, a recovery
// workload and a second check.
Outcome CrashRound(uint64_t seed, PowerLoss mode, bool sync_is_noop) {
  ScratchDir dir;
  auto fs = std::make_shared<FaultFileSystem>(DefaultFileSystem());
  fs->SetSyncIsNoop(sync_is_noop);
  std::mt19937_64 rng(seed);
  std::vector<Written> acked;
  size_t durable = 0;
  const int writes = 40 + static_cast<int>(rng() % 160);
  {
    auto opened = BlockStore::Open(FaultOptions(fs), dir.path());
    EXPECT_TRUE(opened.ok()) << opened.status();
    if (!opened.ok()) return {};
    std::unique_ptr<BlockStore> store = *std::move(opened);
    for (int i = 0; i < writes; ++i) {
      const size_t size = rng() % 4 == 0 ? rng() % 20000 : rng() % 2000;
      const uint64_t pseed = seed * 1000 + static_cast<uint64_t>(i);
      WriteOptions wo;
      wo.sync = rng() % 8 == 0;
      absl::StatusOr<BlockNumber> n;
      if (rng() % 5 == 0) {
        // Put above the highest, sometimes leaving a gap of up to 3 numbers.
        const std::optional<BlockNumber> highest = store->HighestNumber();
        n = (highest ? *highest + 1 : 0) + rng() % 4;
        absl::Status put = store->Put(*n, Payload(pseed, size), wo);
        if (!put.ok()) break;
      } else {
        n = store->Append(Payload(pseed, size), wo);
        if (!n.ok()) break;
      }
      acked.push_back({*n, pseed, size});
      if (wo.sync) durable = acked.size();
      if (rng() % 16 == 0 && store->Sync().ok()) durable = acked.size();
    }
    fs->Crash(mode, seed);
    store.reset();  // every call fails now: nothing more reaches the disk
  }
  fs->Restart();
  fs->SetSyncIsNoop(false);
  auto reopened = BlockStore::Open(FaultOptions(fs), dir.path());
  if (!reopened.ok()) {
    Outcome failed;
    failed.reopen_failed = true;
    failed.lost_durable = durable;
    if (!sync_is_noop) ADD_FAILURE() << "seed " << seed << ": " << reopened.status();
    return failed;
  }
  Outcome out = Check(**reopened, acked, durable);
  // Every write was acknowledged before the crash: nothing else may be there
  // (a gap left by a Put stays empty).
  EXPECT_EQ((*reopened)->BlockCount(), out.survivors) << "seed " << seed;

  // The recovered store keeps working: append after the cut tail, reopen,
  // and everything (old survivors and new blocks) reads back.
  std::vector<Written> after(acked.begin(), acked.begin() + static_cast<long>(out.survivors));
  if (out.holes == 0 && out.wrong_bytes == 0) {
    for (int i = 0; i < 30; ++i) {
      const uint64_t pseed = seed * 1000 + 900 + static_cast<uint64_t>(i);
      const size_t size = rng() % 3000;
      absl::StatusOr<BlockNumber> n = (*reopened)->Append(Payload(pseed, size));
      EXPECT_TRUE(n.ok()) << n.status();
      if (n.ok()) after.push_back({*n, pseed, size});
    }
    EXPECT_TRUE((*reopened)->Close().ok());
    reopened->reset();
    auto again = BlockStore::Open(FaultOptions(fs), dir.path());
    EXPECT_TRUE(again.ok()) << again.status();
    if (again.ok()) {
      Outcome second = Check(**again, after, after.size());
      EXPECT_EQ(second.lost_durable + second.holes + second.wrong_bytes, 0u)
          << "after recovery and more appends, seed " << seed;
      absl::StatusOr<VerifyReport> v = (*again)->Verify(/*deep=*/true);
      EXPECT_TRUE(v.ok() && v->ok()) << "verify after recovery, seed " << seed << ": "
                                     << (v.ok() && !v->ok() ? v->problems[0].what : v.status().ToString());
    }
  }
  return out;
}

uint64_t Rounds() {
  const char* r = std::getenv("SEGSTORE_POWER_LOSS_ROUNDS");
  return r != nullptr ? std::strtoull(r, nullptr, 10) : 60;
}

void RunMode(PowerLoss mode, uint64_t base, const char* name) {
  uint64_t survivors = 0, points = 0;
  for (uint64_t i = 0; i < Rounds(); ++i) {
    Outcome o = CrashRound(base + i, mode, /*sync_is_noop=*/false);
    EXPECT_EQ(o.lost_durable, 0u) << "seed " << base + i;
    EXPECT_EQ(o.holes, 0u) << "seed " << base + i;
    EXPECT_EQ(o.wrong_bytes, 0u) << "seed " << base + i;
    survivors += o.survivors;
    if (::testing::Test::HasFailure()) return;
    ++points;
  }
  ::testing::Test::RecordProperty("survivors", static_cast<int>(survivors));
  std::printf("crash points: %llu random workloads, power loss %s; %llu acknowledged blocks survived\n",
              static_cast<unsigned long long>(points), name, static_cast<unsigned long long>(survivors));
}

TEST(PowerLossTest, DropAllUnsynced) { RunMode(PowerLoss::kDropAll, 1000, "drops every unsynced byte"); }
TEST(PowerLossTest, RandomUnsyncedPages) { RunMode(PowerLoss::kRandomPages, 2000, "keeps random unsynced 4 KiB pages"); }
TEST(PowerLossTest, TornSector) { RunMode(PowerLoss::kTornSector, 3000, "tears a 512-byte sector"); }

// Crash points at every file-system call of a fixed workload: 200 appends
// with two segment rollovers, a sync every 10 writes and some sync writes.
// SEGSTORE_CRASH_POINT_STRIDE (default 5; 1 = every call) thins them for CI.
struct FixedRun {
  std::vector<Written> acked;
  size_t durable = 0;
};

FixedRun FixedWorkload(BlockStore& store) {
  FixedRun run;
  for (int i = 0; i < 200; ++i) {
    const uint64_t pseed = 77'000 + static_cast<uint64_t>(i);
    const size_t size = static_cast<size_t>((i * 7919) % 1900);
    WriteOptions wo;
    wo.sync = i % 37 == 36;
    absl::StatusOr<BlockNumber> n = store.Append(Payload(pseed, size), wo);
    if (!n.ok()) break;
    run.acked.push_back({*n, pseed, size});
    if (wo.sync) run.durable = run.acked.size();
    if (i % 10 == 9) {
      if (!store.Sync().ok()) break;
      run.durable = run.acked.size();
    }
  }
  return run;
}

TEST(PowerLossTest, CrashAtEveryFileSystemCall) {
  const char* stride_env = std::getenv("SEGSTORE_CRASH_POINT_STRIDE");
  const uint64_t stride = std::max<uint64_t>(1, stride_env != nullptr ? std::strtoull(stride_env, nullptr, 10) : 5);
  // How many calls the workload makes when nothing crashes.
  uint64_t total = 0;
  {
    ScratchDir dir;
    auto fs = std::make_shared<FaultFileSystem>(DefaultFileSystem());
    auto store = BlockStore::Open(FaultOptions(fs), dir.path());
    ASSERT_OK(store);
    fs->CrashAtCall(UINT64_MAX, PowerLoss::kDropAll, 0);  // counts from here, never fires
    FixedRun run = FixedWorkload(**store);
    ASSERT_EQ(run.acked.size(), 200u);
    EXPECT_GE((*store)->GetStats().sealed_segments, 2u) << "the workload must roll over twice";
    total = fs->total_calls();
  }
  ASSERT_GT(total, 200u);
  uint64_t points = 0;
  for (uint64_t k = 1; k <= total + 1; k += stride) {
    const PowerLoss mode = static_cast<PowerLoss>(k % 3);
    ScratchDir dir;
    auto fs = std::make_shared<FaultFileSystem>(DefaultFileSystem());
    FixedRun run;
    {
      auto store = BlockStore::Open(FaultOptions(fs), dir.path());
      ASSERT_OK(store);
      fs->CrashAtCall(k, mode, k);
      run = FixedWorkload(**store);
      if (!fs->crashed()) fs->Crash(mode, k);
    }
    fs->Restart();
    auto reopened = BlockStore::Open(FaultOptions(fs), dir.path());
    ASSERT_TRUE(reopened.ok()) << "crash at call " << k << ": " << reopened.status();
    Outcome o = Check(**reopened, run.acked, run.durable);
    ASSERT_EQ(o.lost_durable + o.holes + o.wrong_bytes, 0u)
        << "crash at call " << k << " of " << total << ": lost durable " << o.lost_durable << ", holes " << o.holes
        << ", wrong " << o.wrong_bytes;
    // Appending after the recovered tail keeps every survivor intact.
    for (int i = 0; i < 20; ++i) ASSERT_OK((*reopened)->Append(Payload(k * 100 + static_cast<uint64_t>(i), 900)));
    absl::StatusOr<VerifyReport> v = (*reopened)->Verify(/*deep=*/true);
    ASSERT_OK(v);
    ASSERT_TRUE(v->ok()) << "crash at call " << k << ": " << v->problems[0].what;
    // rebuild-index from the files alone finds the same blocks as recovery.
    const uint64_t count = (*reopened)->BlockCount();
    ASSERT_OK((*reopened)->Close());
    reopened->reset();
    ASSERT_OK(RebuildIndex(FaultOptions(fs), dir.path()));
    auto rebuilt = BlockStore::Open(FaultOptions(fs), dir.path());
    ASSERT_TRUE(rebuilt.ok()) << "crash at call " << k << ": " << rebuilt.status();
    ASSERT_EQ((*rebuilt)->BlockCount(), count) << "crash at call " << k;
    Outcome r = Check(**rebuilt, std::vector<Written>(run.acked.begin(), run.acked.begin() + static_cast<long>(o.survivors)),
                      o.survivors);
    ASSERT_EQ(r.lost_durable + r.holes + r.wrong_bytes, 0u) << "after rebuild-index, crash at call " << k;
    ++points;
  }
  ::testing::Test::RecordProperty("crash_points", static_cast<int>(points));
  std::printf("crash points: %llu of %llu file-system calls\n", static_cast<unsigned long long>(points),
              static_cast<unsigned long long>(total));
}

// Power loss of the whole machine: segment files and RocksDB's files in
// meta/ both lose what they had not synced, at the same moment.
TEST(PowerLossTest, MetaAndSegmentsLosePowerTogether) {
  auto rocks = std::make_shared<testing::FaultRocksFs>(rocksdb::FileSystem::Default());
  internal::SetMetaFileSystemForTesting(rocks);
  const uint64_t rounds = std::max<uint64_t>(Rounds() / 2, 1);
  for (uint64_t i = 0; i < rounds; ++i) {
    ScratchDir dir;
    auto fs = std::make_shared<FaultFileSystem>(DefaultFileSystem());
    fs->SetOnCrash([rocks] { rocks->Crash(); });
    std::mt19937_64 rng(5000 + i);
    std::vector<Written> acked;
    size_t durable = 0;
    {
      // Journal batches of 1 to 64 blocks: RocksDB then holds unsynced
      // journal writes when the power goes.
      Options options = FaultOptions(fs);
      options.journal_batch_blocks = 1 + rng() % 64;
      auto store = BlockStore::Open(options, dir.path());
      ASSERT_OK(store);
      fs->CrashAtCall(1 + rng() % 400, static_cast<PowerLoss>(i % 3), i);
      for (int w = 0; w < 300 && !fs->crashed(); ++w) {
        const size_t size = rng() % 1500;
        const uint64_t pseed = 5'000'000 + i * 1000 + static_cast<uint64_t>(w);
        WriteOptions wo;
        wo.sync = rng() % 10 == 0;
        absl::StatusOr<BlockNumber> n = (*store)->Append(Payload(pseed, size), wo);
        if (!n.ok()) break;
        acked.push_back({*n, pseed, size});
        if (wo.sync) durable = acked.size();
        if (rng() % 20 == 0 && (*store)->Sync().ok()) durable = acked.size();
      }
      if (!fs->crashed()) fs->Crash(PowerLoss::kDropAll, i);
    }
    fs->Restart();
    rocks->Restart();
    auto reopened = BlockStore::Open(FaultOptions(fs), dir.path());
    ASSERT_TRUE(reopened.ok()) << "round " << i << ": " << reopened.status();
    Outcome o = Check(**reopened, acked, durable);
    ASSERT_EQ(o.lost_durable + o.holes + o.wrong_bytes, 0u)
        << "round " << i << ": lost durable " << o.lost_durable << ", holes " << o.holes << ", wrong "
        << o.wrong_bytes << " (" << acked.size() << " acked, " << durable << " durable)";
    for (int w = 0; w < 20; ++w) ASSERT_OK((*reopened)->Append(Payload(i * 7 + static_cast<uint64_t>(w), 700)));
    absl::StatusOr<VerifyReport> v = (*reopened)->Verify(/*deep=*/true);
    ASSERT_OK(v);
    ASSERT_TRUE(v->ok()) << "round " << i << ": " << v->problems[0].what;
  }
  // The RocksDB side really lost data, or this test proves nothing about it.
  EXPECT_GT(rocks->bytes_dropped(), 0u);
  std::printf("crash points: %llu whole-machine power losses (segments and RocksDB); unsynced RocksDB bytes "
              "dropped: %llu\n",
              static_cast<unsigned long long>(rounds), static_cast<unsigned long long>(rocks->bytes_dropped()));
  internal::SetMetaFileSystemForTesting(nullptr);
}

// The negative control: if sync made nothing durable, the same harness must
// report lost durable blocks. A harness that cannot fail proves nothing.
TEST(PowerLossTest, HarnessDetectsSyncThatDoesNothing) {
  uint64_t detected = 0;
  for (uint64_t i = 0; i < 20; ++i) {
    Outcome o = CrashRound(4000 + i, PowerLoss::kDropAll, /*sync_is_noop=*/true);
    if (o.lost_durable > 0 || o.reopen_failed) ++detected;
  }
  EXPECT_GT(detected, 10u) << "the harness did not notice that sync made nothing durable";
}

}  // namespace
}  // namespace segstore
