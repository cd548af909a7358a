// Simulated power loss through FaultFileSystem: after a crash that keeps only
// what was synced (or a random subset of unsynced pages, or a torn sector),
// reopening gives every durable block, a write-order prefix of the
// acknowledged ones, and never wrong bytes. Then the store keeps working.
//
// SEGSTORE_POWER_LOSS_ROUNDS sets the number of crash points (CI: the
// default; the long setting in the README: 3000).

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "testutil/fault_file_system.h"
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

// One crash point: a random workload, a crash at a random write, a check, a
// recovery workload and a second check.
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
      absl::StatusOr<BlockNumber> n = store->Append(Payload(pseed, size), wo);
      if (!n.ok()) break;
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

void RunMode(PowerLoss mode, uint64_t base) {
  uint64_t survivors = 0;
  for (uint64_t i = 0; i < Rounds(); ++i) {
    Outcome o = CrashRound(base + i, mode, /*sync_is_noop=*/false);
    EXPECT_EQ(o.lost_durable, 0u) << "seed " << base + i;
    EXPECT_EQ(o.holes, 0u) << "seed " << base + i;
    EXPECT_EQ(o.wrong_bytes, 0u) << "seed " << base + i;
    survivors += o.survivors;
    if (::testing::Test::HasFailure()) return;
  }
  ::testing::Test::RecordProperty("survivors", static_cast<int>(survivors));
}

TEST(PowerLossTest, DropAllUnsynced) { RunMode(PowerLoss::kDropAll, 1000); }
TEST(PowerLossTest, RandomUnsyncedPages) { RunMode(PowerLoss::kRandomPages, 2000); }
TEST(PowerLossTest, TornSector) { RunMode(PowerLoss::kTornSector, 3000); }

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
