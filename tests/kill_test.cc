// Kill -9 of a writer process at random points: the kill_writer helper
// appends blocks (payload derived from the number alone) and prints each
// acknowledged number; the parent SIGKILLs it after a random number of acks
// (sometimes before any, so the kill can land inside Open's recovery), then
// reopens and checks the contract:
//  - every acknowledged block is present and byte-identical,
//  - the survivors are a prefix of the write order: [0, highest], no holes,
//  - appending afterwards works and survives another reopen.
// The same store is reused across rounds, so later rounds kill writers that
// are recovering or extending what earlier rounds left, across seals.

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "testutil/test_util.h"

#ifndef SEGSTORE_KILL_WRITER
#error "SEGSTORE_KILL_WRITER must name the kill_writer program"
#endif

namespace segstore {
namespace {

using testing::NumberedPayload;
using testing::ScratchDir;

constexpr uint64_t kSeed = 11;
constexpr uint64_t kSegmentSize = 64 << 10;
constexpr size_t kMaxSize = 3000;
constexpr int kRounds = 20;

std::string Want(BlockNumber n) { return NumberedPayload(kSeed, n, 0, kMaxSize); }

Options StoreOptions() { return testing::SmallOptions(kSegmentSize); }

// Checks that the store holds exactly blocks [0, count) with their bytes.
void ExpectPrefix(BlockStore& store, uint64_t count) {
  ASSERT_EQ(store.BlockCount(), count);
  if (count == 0) {
    ASSERT_FALSE(store.HighestNumber().has_value());
    return;
  }
  ASSERT_EQ(store.LowestNumber(), 0u);
  ASSERT_EQ(store.HighestNumber(), count - 1);
  for (BlockNumber n = 0; n < count; ++n) {
    ASSERT_TRUE(testing::ExpectBlockEq(store, n, Want(n)));
  }
  absl::StatusOr<std::vector<Block>> range = store.GetRange(0, count + 10);
  ASSERT_OK(range);
  ASSERT_EQ(range->size(), count);  // 64 MiB max_range_bytes: never capped here
  for (BlockNumber n = 0; n < count; ++n) ASSERT_EQ((*range)[n].number(), n);
}

// SEGSTORE_KILL_ROUNDS (default 20) sets the number of random kills.
int Rounds() {
  const char* e = std::getenv("SEGSTORE_KILL_ROUNDS");
  return e != nullptr ? std::max(1, std::atoi(e)) : kRounds;
}

// SEGSTORE_KILL_TEST_SEED varies the kill points for stress runs.
uint64_t SeedBase() {
  const char* e = std::getenv("SEGSTORE_KILL_TEST_SEED");
  return e != nullptr ? std::strtoull(e, nullptr, 10) : 0;
}

TEST(KillTest, AcknowledgedBlocksSurviveKill9) {
  ScratchDir dir;
  const uint64_t seed_base = SeedBase();
  uint64_t present = 0;  // blocks [0, present) are in the store
  uint64_t total_acks = 0;
  for (int round = 0; round < Rounds(); ++round) {
    SCOPED_TRACE(::testing::Message() << "round " << round);
    std::mt19937_64 rng(seed_base * 1000003 + static_cast<uint64_t>(round) * 7919 + 1);
    const bool kill_early = round % 5 == 4;  // kill without waiting for an ack
    const uint64_t target = kill_early ? 0 : 1 + rng() % 300;
    const uint64_t sync_every = round % 3 == 0 ? 0 : 1 + rng() % 40;
    const uint64_t put_every = round % 2 == 0 ? 0 : 1 + rng() % 4;  // some writes are Put(next number)

    testing::Child child = testing::SpawnChild(
        {SEGSTORE_KILL_WRITER, "dir=" + dir.path(), "seed=" + std::to_string(kSeed),
         "segment_size=" + std::to_string(kSegmentSize), "max_size=" + std::to_string(kMaxSize),
         "sync_every=" + std::to_string(sync_every), "put_every=" + std::to_string(put_every), "end=hang"});
    ASSERT_GT(child.pid, 0);
    std::vector<BlockNumber> acks;
    std::string buf, line;
    if (kill_early) {
      ::usleep(static_cast<useconds_t>(rng() % 150'000));
    } else {
      while (acks.size() < target && testing::ReadLine(child.out_fd, &buf, &line)) {
        acks.push_back(std::stoull(line));
      }
      ASSERT_EQ(acks.size(), target) << "the writer died before " << target << " acks";
    }
    ASSERT_EQ(::kill(child.pid, SIGKILL), 0);
    // Acks written before the kill are still in the pipe: they count too.
    while (testing::ReadLine(child.out_fd, &buf, &line)) acks.push_back(std::stoull(line));
    const int status = testing::WaitChild(child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the writer ended by itself (status " << status << ")";
    for (size_t i = 0; i < acks.size(); ++i) {
      ASSERT_EQ(acks[i], present + i) << "the writer appended out of order";
    }
    total_acks += acks.size();
    const uint64_t acked_end = present + acks.size();

    {
      absl::StatusOr<std::unique_ptr<BlockStore>> s = BlockStore::Open(StoreOptions(), dir.path());
      ASSERT_OK(s);
      BlockStore& store = **s;
      const uint64_t count = store.BlockCount();
      SCOPED_TRACE(::testing::Message() << acks.size() << " acks, " << count << " blocks; "
                                        << store.LastRecoveryReport().ToString());
      ASSERT_GE(count, acked_end) << "an acknowledged block was lost";
      ASSERT_TRUE(store.LastRecoveryReport().damaged.empty());
      ASSERT_TRUE(store.LastRecoveryReport().skipped.empty());
      ASSERT_NO_FATAL_FAILURE(ExpectPrefix(store, count));
      // Append a few more in this process, then a clean close.
      for (BlockNumber n = count; n < count + 5; ++n) {
        absl::StatusOr<BlockNumber> got = store.Append(Want(n));
        ASSERT_OK(got);
        ASSERT_EQ(*got, n);
      }
      present = count + 5;
      ASSERT_OK(store.Close());
    }
    absl::StatusOr<std::unique_ptr<BlockStore>> s = BlockStore::Open(StoreOptions(), dir.path());
    ASSERT_OK(s);
    EXPECT_TRUE((*s)->LastRecoveryReport().clean) << (*s)->LastRecoveryReport().ToString();
    ASSERT_NO_FATAL_FAILURE(ExpectPrefix(**s, present));
    ASSERT_OK((*s)->Close());
  }
  EXPECT_GT(total_acks, 1000u);
  std::printf("crash points: %d SIGKILLs at random times; %llu acknowledgements\n", Rounds(),
              static_cast<unsigned long long>(total_acks));
  std::vector<std::string> files = testing::SegmentFiles(dir.path());
  EXPECT_GT(files.size(), 5u) << "the rounds should have crossed several seals";
}

// The second mode: a fixed workload (200 appends of up to 1,200 bytes into
// 64 KiB segments: two rollovers; a sync every 10th), killed by SIGKILL
// right before its k-th file-system call, for every k (or every
// SEGSTORE_CRASH_POINT_STRIDE-th; default 6 here: each point is a process). After each: every
// acknowledged block present and byte-identical, no holes, nothing damaged,
// rebuild-index gives the same blocks as recovery, and the store takes more
// appends and keeps them across a reopen.
TEST(KillTest, SigkillBeforeEveryFileSystemCallOfAFixedWorkload) {
  constexpr uint64_t kWrites = 200;
  constexpr size_t kFixedMax = 1200;
  auto want = [](BlockNumber n) { return NumberedPayload(kSeed, n, 0, kFixedMax); };
  auto args = [&](const std::string& dir, const std::string& extra) {
    return std::vector<std::string>{SEGSTORE_KILL_WRITER, "dir=" + dir, "seed=" + std::to_string(kSeed),
                                    "count=" + std::to_string(kWrites), "segment_size=" + std::to_string(kSegmentSize),
                                    "max_size=" + std::to_string(kFixedMax), "sync_every=10", "end=exit", extra};
  };
  auto parse = [](const std::string& out, uint64_t* calls) {
    std::vector<BlockNumber> acks;
    size_t pos = 0;
    while (pos < out.size()) {
      const size_t nl = out.find('\n', pos);
      if (nl == std::string::npos) break;
      const std::string line = out.substr(pos, nl - pos);
      if (line.rfind("calls=", 0) == 0) {
        *calls = std::stoull(line.substr(6));
      } else {
        acks.push_back(std::stoull(line));
      }
      pos = nl + 1;
    }
    return acks;
  };
  uint64_t total = 0;
  {
    ScratchDir dir;
    int status = 0;
    std::vector<BlockNumber> acks = parse(testing::RunChild(args(dir.path(), "count_calls=1"), &status), &total);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    ASSERT_EQ(acks.size(), kWrites);
    ASSERT_GE(testing::SegmentFiles(dir.path()).size(), 3u) << "the workload should roll over twice";
  }
  ASSERT_GT(total, kWrites);
  const char* stride_env = std::getenv("SEGSTORE_CRASH_POINT_STRIDE");
  const uint64_t stride = std::max<uint64_t>(1, stride_env ? std::strtoull(stride_env, nullptr, 10) : 6);
  uint64_t points = 0;
  for (uint64_t k = 1; k <= total; k += stride) {
    SCOPED_TRACE(::testing::Message() << "SIGKILL before call " << k << " of " << total);
    ScratchDir dir;
    int status = 0;
    uint64_t unused = 0;
    std::vector<BlockNumber> acks =
        parse(testing::RunChild(args(dir.path(), "kill_at_call=" + std::to_string(k)), &status), &unused);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
    for (size_t i = 0; i < acks.size(); ++i) ASSERT_EQ(acks[i], i);
    uint64_t count = 0;
    {
      absl::StatusOr<std::unique_ptr<BlockStore>> s = BlockStore::Open(StoreOptions(), dir.path());
      if (!s.ok() && acks.empty() && absl::IsNotFound(s.status())) continue;  // killed before the store existed
      ASSERT_OK(s);
      BlockStore& store = **s;
      count = store.BlockCount();
      ASSERT_GE(count, acks.size()) << "an acknowledged block was lost";
      ASSERT_TRUE(store.LastRecoveryReport().damaged.empty()) << store.LastRecoveryReport().ToString();
      for (BlockNumber n = 0; n < count; ++n) ASSERT_TRUE(testing::ExpectBlockEq(store, n, want(n)));
      ASSERT_EQ(store.HighestNumber().value_or(UINT64_MAX), count == 0 ? UINT64_MAX : count - 1) << "a hole";
      ASSERT_OK(store.Close());
    }
    absl::StatusOr<RebuildReport> r = RebuildIndex(StoreOptions(), dir.path());
    ASSERT_OK(r);
    absl::StatusOr<std::unique_ptr<BlockStore>> s = BlockStore::Open(StoreOptions(), dir.path());
    ASSERT_OK(s);
    ASSERT_EQ((*s)->BlockCount(), count) << "rebuild-index disagrees with recovery";
    for (BlockNumber n = 0; n < count; ++n) ASSERT_TRUE(testing::ExpectBlockEq(**s, n, want(n)));
    for (BlockNumber n = count; n < count + 30; ++n) ASSERT_OK((*s)->Append(want(n)));
    ASSERT_OK((*s)->Close());
    s = BlockStore::Open(StoreOptions(), dir.path());
    ASSERT_OK(s);
    ASSERT_EQ((*s)->BlockCount(), count + 30);
    for (BlockNumber n = 0; n < count + 30; ++n) ASSERT_TRUE(testing::ExpectBlockEq(**s, n, want(n)));
    ++points;
  }
  std::printf("crash points: %llu SIGKILLs before a file-system call, of %llu calls\n", static_cast<unsigned long long>(points),
              static_cast<unsigned long long>(total));
  EXPECT_GT(points, total / stride / 2);
}

}  // namespace
}  // namespace segstore
