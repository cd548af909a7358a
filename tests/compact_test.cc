// Compact: underfull sealed segments merged, straddling segments rewritten
// without their pruned blocks; space reclaimed; a crash at every
// file-system call of a compaction leaves every live block exactly once
// (after reopen and after rebuild-index); readers and writers keep working.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "segstore/rebuild.h"
#include "testutil/fault_file_system.h"
#include "testutil/test_util.h"

namespace segstore {
namespace {

using testing::FaultFileSystem;
using testing::NumberedPayload;
using testing::PowerLoss;
using testing::ScratchDir;

constexpr uint64_t kSeed = 777;
// Mostly small blocks, every fourth one big: a big block that does not fit
// the active 64 KiB segment seals it underfull.
size_t SizeOf(uint64_t n) { return n % 4 == 3 ? 30'000 : 300 + (n * 37) % 700; }
std::string Pay(uint64_t n) {
  std::string p = NumberedPayload(kSeed, n, 1, 1);
  p.resize(SizeOf(n), static_cast<char>('a' + n % 26));
  for (size_t i = 0; i < p.size(); i += 97) p[i] = static_cast<char>(n >> (i % 8));
  return p;
}

Options Opts(uint64_t segment_size, std::shared_ptr<FileSystem> fs = nullptr) {
  Options o = testing::SmallOptions(segment_size);
  o.file_system = std::move(fs);
  return o;
}

uint64_t DirBytes(const std::string& store) {
  uint64_t sum = 0;
  for (const auto& e : std::filesystem::directory_iterator(store + "/segments")) {
    if (e.is_regular_file()) sum += e.file_size();
  }
  return sum;
}

// Writes blocks [0, count) in 64 KiB segments, closing and reopening every
// 25 blocks.
void Build(const std::string& dir, uint64_t count, std::shared_ptr<FileSystem> fs = nullptr) {
  for (uint64_t n = 0; n < count;) {
    auto s = BlockStore::Open(Opts(64 << 10, fs), dir);
    ASSERT_OK(s);
    for (uint64_t k = 0; k < 25 && n < count; ++k, ++n) ASSERT_OK((*s)->Put(n, Pay(n)));
    ASSERT_OK((*s)->Close());
  }
}

// Every block in [lo, hi] present exactly once and byte-identical.
void ExpectExactly(BlockStore& s, uint64_t lo, uint64_t hi, const std::string& what) {
  for (uint64_t n = lo == 0 ? 0 : lo - 1; n <= hi + 1; ++n) {
    absl::StatusOr<Block> b = s.Get(n);
    if (n < lo || n > hi) {
      ASSERT_TRUE(absl::IsNotFound(b.status())) << what << ": block " << n << ": " << b.status();
      continue;
    }
    ASSERT_TRUE(b.ok()) << what << ": block " << n << ": " << b.status();
    ASSERT_EQ(b->data(), Pay(n)) << what << ": block " << n;
  }
  ASSERT_EQ(s.BlockCount(), hi - lo + 1) << what;
  ASSERT_EQ(s.LowestNumber(), lo) << what;
  uint64_t next = lo;
  while (next <= hi) {
    absl::StatusOr<std::vector<Block>> r = s.GetRange(next, hi - next + 1);
    ASSERT_OK(r);
    ASSERT_FALSE(r->empty()) << what;
    for (const Block& b : *r) ASSERT_EQ(b.number(), next++) << what;
  }
  absl::StatusOr<VerifyReport> v = s.Verify(/*deep=*/true);
  ASSERT_OK(v);
  ASSERT_TRUE(v->ok()) << what << ": " << v->problems[0].file << ": " << v->problems[0].what;
}

TEST(CompactTest, ManyTinySegmentsBecomeFew) {
  ScratchDir dir;
  const uint64_t total = 240, p = 101;
  Build(dir.path(), total);
  const size_t files_before = testing::SegmentFiles(dir.path()).size();
  ASSERT_GE(files_before, 30u);
  {
    // Compaction writes segments of the size configured now: 1 MiB.
    auto s = BlockStore::Open(Opts(1 << 20), dir.path());
    ASSERT_OK(s);
    ASSERT_OK((*s)->PruneBefore(p));
    const uint64_t bytes_before = DirBytes(dir.path());
    CompactOptions dry;
    dry.dry_run = true;
    absl::StatusOr<CompactReport> plan = (*s)->Compact(dry);
    ASSERT_OK(plan);
    EXPECT_GT(plan->dead_records, 0u);  // the straddling segment's pruned blocks
    EXPECT_EQ(DirBytes(dir.path()), bytes_before);
    absl::StatusOr<CompactReport> r = (*s)->Compact();
    ASSERT_OK(r);
    EXPECT_EQ(r->segments_in, plan->segments_in);
    EXPECT_EQ(r->bytes_reclaimed, plan->bytes_reclaimed);
    EXPECT_GT(r->segments_in, 10u);
    EXPECT_LE(r->segments_out, 6u);
    EXPECT_GT(r->blocks_moved, 0u);
    EXPECT_LE(r->blocks_moved, total - p);
    const uint64_t bytes_after = DirBytes(dir.path());
    EXPECT_EQ(bytes_before - bytes_after, r->bytes_reclaimed);
    EXPECT_GT(r->bytes_reclaimed, r->dead_record_bytes);
    ExpectExactly(**s, p, total - 1, "after compaction");
    // Nothing left to do.
    absl::StatusOr<CompactReport> again = (*s)->Compact();
    ASSERT_OK(again);
    EXPECT_EQ(again->segments_in, 0u);
    ASSERT_OK((*s)->Close());
  }
  EXPECT_LT(testing::SegmentFiles(dir.path()).size(), files_before / 4);
  {
    auto s = BlockStore::Open(Opts(1 << 20), dir.path());
    ASSERT_OK(s);
    ExpectExactly(**s, p, total - 1, "after reopen");
    for (uint64_t n = total; n < total + 20; ++n) ASSERT_OK((*s)->Put(n, Pay(n)));
    ASSERT_OK((*s)->TruncateAfter(total + 9));
    ExpectExactly(**s, p, total + 9, "after more writes");
  }
  ASSERT_OK(RebuildIndex(Opts(1 << 20), dir.path()));
  auto s = BlockStore::Open(Opts(1 << 20), dir.path());
  ASSERT_OK(s);
  ExpectExactly(**s, p, total + 9, "after rebuild-index");
}

// A crash at every file-system call of the compaction of a fixed store.
TEST(CompactTest, CrashAtEveryFileSystemCall) {
  const uint64_t total = 60, p = 7;
  auto prepare = [&](const std::string& dir) {
    Build(dir, total);
    auto s = BlockStore::Open(Opts(1 << 20), dir);
    ASSERT_OK(s);
    ASSERT_OK((*s)->PruneBefore(p));
  };
  uint64_t calls = 0;
  {
    ScratchDir dir;
    prepare(dir.path());
    auto fs = std::make_shared<FaultFileSystem>(DefaultFileSystem());
    auto s = BlockStore::Open(Opts(1 << 20, fs), dir.path());
    ASSERT_OK(s);
    fs->CrashAtCall(UINT64_MAX, PowerLoss::kDropAll, 0);
    absl::StatusOr<CompactReport> r = (*s)->Compact();
    ASSERT_OK(r);
    ASSERT_GE(r->segments_in, 5u);
    calls = fs->total_calls();
  }
  ASSERT_GT(calls, 20u);
  // SEGSTORE_CRASH_POINT_STRIDE (default 2; 1 = every call) thins them for CI.
  const char* stride_env = std::getenv("SEGSTORE_CRASH_POINT_STRIDE");
  const uint64_t stride = std::max<uint64_t>(1, stride_env != nullptr ? std::strtoull(stride_env, nullptr, 10) : 2);
  uint64_t superseded = 0, installs_finished = 0, round = 0;
  for (uint64_t k = 1; k <= calls + 1; k += stride, ++round) {
    ScratchDir dir;
    prepare(dir.path());
    if (::testing::Test::HasFatalFailure()) return;
    auto fs = std::make_shared<FaultFileSystem>(DefaultFileSystem());
    {
      auto s = BlockStore::Open(Opts(1 << 20, fs), dir.path());
      ASSERT_OK(s);
      fs->CrashAtCall(k, static_cast<PowerLoss>(k % 3), k);
      (void)(*s)->Compact();
      if (!fs->crashed()) fs->Crash(static_cast<PowerLoss>(k % 3), k);
    }
    fs->Restart();
    const std::string what = "crash at call " + std::to_string(k) + " of " + std::to_string(calls);
    if (round % 2 == 1) {
      // rebuild-index straight from the files the crash left.
      absl::StatusOr<RebuildReport> rr = RebuildIndex(Opts(1 << 20, fs), dir.path());
      ASSERT_TRUE(rr.ok()) << what << ": " << rr.status();
      superseded += rr->superseded;
      auto s = BlockStore::Open(Opts(1 << 20, fs), dir.path());
      ASSERT_TRUE(s.ok()) << what << ": " << s.status();
      ExpectExactly(**s, p, total - 1, what + ", rebuild first");
    } else {
      {
        auto s = BlockStore::Open(Opts(1 << 20, fs), dir.path());
        ASSERT_TRUE(s.ok()) << what << ": " << s.status();
        if (!(*s)->LastRecoveryReport().clean) ++installs_finished;
        ExpectExactly(**s, p, total - 1, what + ", reopen");
      }
      ASSERT_OK(RebuildIndex(Opts(1 << 20, fs), dir.path()));
      auto s = BlockStore::Open(Opts(1 << 20, fs), dir.path());
      ASSERT_OK(s);
      ExpectExactly(**s, p, total - 1, what + ", reopen then rebuild");
    }
    if (::testing::Test::HasFatalFailure()) return;
    // No leftovers of the compaction survive the next open.
    for (const auto& e : std::filesystem::directory_iterator(dir.Sub("segments"))) {
      ASSERT_EQ(e.path().string().find(".compact"), std::string::npos) << what << ": " << e.path();
    }
  }
  std::printf("crash points: %llu of %llu calls of a compaction; rebuild-index found superseded inputs %llu time(s); open finished "
              "%llu interrupted compaction(s)\n",
              static_cast<unsigned long long>(round), static_cast<unsigned long long>(calls),
              static_cast<unsigned long long>(superseded), static_cast<unsigned long long>(installs_finished));
  // Both recovery paths were reached. Each is a window of one or two calls,
  // so a coarser stride than the default may step over it.
  if (stride <= 2) {
    EXPECT_GT(superseded, 0u);
    EXPECT_GT(installs_finished, 0u);
  }
}

// Compaction while one writer appends and readers read and check bytes.
TEST(CompactTest, ConcurrentWithAppendsAndReads) {
  ScratchDir dir;
  const uint64_t total = 200;
  Build(dir.path(), total);
  Options o = Opts(1 << 20);
  o.block_cache_entries = 16;
  o.hot_segments = 1;
  o.max_open_files = 4;
  auto opened = BlockStore::Open(o, dir.path());
  ASSERT_OK(opened);
  BlockStore& s = **opened;
  std::atomic<uint64_t> highest{total - 1};
  std::atomic<bool> compacted{false};
  std::atomic<uint64_t> bad{0};
  std::atomic<uint64_t> reads{0}, reads_during{0};
  std::thread writer([&] {
    for (uint64_t n = total; n < total + 300; ++n) {
      if (!s.Put(n, Pay(n)).ok()) {
        ++bad;
        return;
      }
      highest.store(n);
    }
  });
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<uint64_t>(t) + 1);
      for (int i = 0; i < 4000 || !compacted.load(); ++i) {
        const uint64_t hi = highest.load();
        const uint64_t n = rng() % (hi + 1);
        if (i % 16 == 0) {
          absl::StatusOr<std::vector<Block>> r = s.GetRange(n, 8);
          if (!r.ok() || r->empty()) {
            ++bad;
            continue;
          }
          for (size_t j = 0; j < r->size(); ++j) {
            if ((*r)[j].number() != n + j || (*r)[j].data() != Pay(n + j)) ++bad;
          }
          continue;
        }
        absl::StatusOr<Block> b = s.Get(n);
        ++reads;
        if (!compacted.load()) ++reads_during;
        if (!b.ok() || b->data() != Pay(n)) {
          ADD_FAILURE() << "block " << n << ": " << (b.ok() ? "wrong bytes" : b.status().ToString());
          ++bad;
        }
        if (i > 200'000) break;  // bounded
      }
    });
  }
  // Compaction starts once the readers and the writer are going.
  while ((reads.load() < 200 || highest.load() < total + 5) && bad.load() == 0) std::this_thread::yield();
  uint64_t rewritten = 0;
  for (int round = 0; round < 2; ++round) {
    absl::StatusOr<CompactReport> r = s.Compact();
    ASSERT_OK(r);
    rewritten += r->segments_in;
  }
  compacted.store(true);
  writer.join();
  for (std::thread& r : readers) r.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(reads_during.load(), 200u);
  EXPECT_GT(rewritten, 10u);
  ExpectExactly(s, 0, highest.load(), "after concurrent compaction");
  ASSERT_OK(s.Close());
  ASSERT_OK(RebuildIndex(o, dir.path()));
  auto again = BlockStore::Open(o, dir.path());
  ASSERT_OK(again);
  ExpectExactly(**again, 0, total + 299, "after rebuild-index");
}

// Blocks read before a compaction stay valid after their files are replaced
// or deleted; records cut by TruncateAfter are reclaimed too.
TEST(CompactTest, HeldBlocksSurviveAndTruncatedRecordsGo) {
  ScratchDir dir;
  Build(dir.path(), 120);
  Options o = Opts(1 << 20);
  o.hot_segments = 2;  // some blocks come from mappings, some from pread copies
  auto s = BlockStore::Open(o, dir.path());
  ASSERT_OK(s);
  // Cut into the middle of the sealed segment before the newest: its tail
  // becomes dead records.
  std::vector<std::string> files = testing::SegmentFiles(dir.path());
  ASSERT_GE(files.size(), 3u);
  std::vector<uint64_t> numbers;
  for (const testing::RawRecord& rec : testing::RawRecords(files[files.size() - 3])) {
    if (rec.type == 1) numbers.push_back(rec.number);
  }
  ASSERT_GE(numbers.size(), 3u);
  const uint64_t cut = numbers[1];
  ASSERT_OK((*s)->TruncateAfter(cut));
  const uint64_t hi = cut + 10;
  for (uint64_t n = cut + 1; n <= hi; ++n) ASSERT_OK((*s)->Put(n, Pay(n)));
  std::vector<Block> held;
  for (uint64_t n = 0; n <= hi; n += 3) {
    absl::StatusOr<Block> b = (*s)->Get(n);
    ASSERT_OK(b);
    held.push_back(*std::move(b));
  }
  absl::StatusOr<CompactReport> r = (*s)->Compact();
  ASSERT_OK(r);
  EXPECT_GT(r->dead_records, 0u);
  EXPECT_GT(r->segments_in, 5u);
  for (const Block& b : held) ASSERT_EQ(b.data(), Pay(b.number())) << b.number();
  ExpectExactly(**s, 0, hi, "after compaction");
  ASSERT_OK((*s)->Close());
  ASSERT_OK(RebuildIndex(o, dir.path()));
  auto again = BlockStore::Open(o, dir.path());
  ASSERT_OK(again);
  ExpectExactly(**again, 0, hi, "after rebuild-index");
}

TEST(CompactTest, Throttled) {
  ScratchDir dir;
  Build(dir.path(), 40);
  Options o = Opts(1 << 20);
  o.compaction_bytes_per_second = 1 << 20;
  auto s = BlockStore::Open(o, dir.path());
  ASSERT_OK(s);
  const absl::Time start = absl::Now();
  absl::StatusOr<CompactReport> r = (*s)->Compact();
  ASSERT_OK(r);
  // About 300 KB moved at 1 MiB/s: at least a fifth of a second.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
  ExpectExactly(**s, 0, 39, "after throttled compaction");
}

}  // namespace
}  // namespace segstore
