// PruneBefore: pruned blocks are NotFound at once, after reopen and after
// rebuild-index; every other block stays byte-identical; whole segments
// below the prune point are deleted; a crash at any file-system call leaves
// the prune done or not done, never half.

#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "segstore/rebuild.h"
#include "store/prune_file.h"
#include "testutil/fault_file_system.h"
#include "testutil/test_util.h"

namespace segstore {
namespace {

using testing::FaultFileSystem;
using testing::NumberedPayload;
using testing::PowerLoss;
using testing::ScratchDir;

constexpr uint64_t kSeed = 4242;
std::string Pay(uint64_t n) { return NumberedPayload(kSeed, n, 200, 3000); }

Options Opts(std::shared_ptr<FileSystem> fs = nullptr) {
  Options o = testing::SmallOptions(64 << 10);
  o.file_system = std::move(fs);
  return o;
}

void Fill(BlockStore& s, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) ASSERT_OK(s.Append(Pay(i)));
}

// Blocks [lo, hi] are present and byte-identical, the others in [0, end) absent.
void ExpectExactly(BlockStore& s, uint64_t lo, uint64_t hi, uint64_t end) {
  for (uint64_t n = 0; n < end; ++n) {
    absl::StatusOr<Block> b = s.Get(n);
    if (n >= lo && n <= hi) {
      ASSERT_TRUE(b.ok()) << "block " << n << ": " << b.status();
      ASSERT_EQ(b->data(), Pay(n)) << "block " << n;
      ASSERT_TRUE(s.Contains(n));
    } else {
      ASSERT_TRUE(absl::IsNotFound(b.status())) << "block " << n << ": " << b.status();
      ASSERT_FALSE(s.Contains(n)) << n;
    }
  }
  EXPECT_EQ(s.BlockCount(), hi - lo + 1);
  EXPECT_EQ(s.LowestNumber(), lo);
  EXPECT_EQ(s.HighestNumber(), hi);
  absl::StatusOr<std::vector<Block>> r = s.GetRange(0, end);
  ASSERT_OK(r);
  ASSERT_FALSE(r->empty());
  EXPECT_EQ(r->front().number(), lo);
  for (size_t i = 1; i < r->size(); ++i) EXPECT_EQ((*r)[i].number(), (*r)[i - 1].number() + 1);
  absl::StatusOr<VerifyReport> v = s.Verify(/*deep=*/true);
  ASSERT_OK(v);
  EXPECT_TRUE(v->ok()) << v->problems[0].file << ": " << v->problems[0].what;
}

TEST(PruneTest, PruneReopenRebuild) {
  ScratchDir dir;
  const uint64_t total = 400;
  const uint64_t p = 217;
  size_t files_before;
  {
    auto s = BlockStore::Open(Opts(), dir.path());
    ASSERT_OK(s);
    Fill(**s, total);
    files_before = testing::SegmentFiles(dir.path()).size();
    ASSERT_GE(files_before, 6u);
    ASSERT_CODE((*s)->PruneBefore(total), absl::StatusCode::kInvalidArgument);
    ASSERT_OK((*s)->PruneBefore(p));
    ExpectExactly(**s, p, total - 1, total);
    EXPECT_EQ((*s)->GetStats().pruned_before, p);
    EXPECT_LT(testing::SegmentFiles(dir.path()).size(), files_before - 2);
    EXPECT_TRUE(std::filesystem::exists(dir.Sub("segments/PRUNE")));
    ASSERT_OK((*s)->PruneBefore(p - 10));  // below the prune point: nothing to do
    ASSERT_CODE((*s)->TruncateAfter(p - 1), absl::StatusCode::kFailedPrecondition);
    ASSERT_OK((*s)->Close());
  }
  {
    auto s = BlockStore::Open(Opts(), dir.path());
    ASSERT_OK(s);
    ASSERT_TRUE((*s)->LastRecoveryReport().clean);
    ExpectExactly(**s, p, total - 1, total);
    ASSERT_OK((*s)->Close());
  }
  absl::StatusOr<RebuildReport> rr = RebuildIndex(Opts(), dir.path());
  ASSERT_OK(rr);
  EXPECT_EQ(rr->pruned_before, p);
  {
    auto s = BlockStore::Open(Opts(), dir.path());
    ASSERT_OK(s);
    ExpectExactly(**s, p, total - 1, total);
    // The store keeps working: truncate above the prune point, append, prune more.
    ASSERT_OK((*s)->TruncateAfter(300));
    for (uint64_t n = 301; n < 330; ++n) ASSERT_OK((*s)->Put(n, Pay(n)));
    ASSERT_OK((*s)->PruneBefore(250));
    ExpectExactly(**s, 250, 329, 400);
    ASSERT_OK((*s)->Close());
  }
  ASSERT_OK(RebuildIndex(Opts(), dir.path()));
  auto s = BlockStore::Open(Opts(), dir.path());
  ASSERT_OK(s);
  ExpectExactly(**s, 250, 329, 400);
}

TEST(PruneTest, PruneInsideTheActiveSegment) {
  ScratchDir dir;
  {
    auto s = BlockStore::Open(Opts(), dir.path());
    ASSERT_OK(s);
    Fill(**s, 10);
    ASSERT_OK((*s)->PruneBefore(9));
    ExpectExactly(**s, 9, 9, 10);
    ASSERT_OK((*s)->Append(Pay(10)));
    ExpectExactly(**s, 9, 10, 11);
  }
  {
    auto s = BlockStore::Open(Opts(), dir.path());
    ASSERT_OK(s);
    ExpectExactly(**s, 9, 10, 11);
  }
  ASSERT_OK(RebuildIndex(Opts(), dir.path()));
  auto s = BlockStore::Open(Opts(), dir.path());
  ASSERT_OK(s);
  ExpectExactly(**s, 9, 10, 11);
}

TEST(PruneTest, DamagedOrTooHighPruneFileIsAClearError) {
  ScratchDir dir;
  {
    auto s = BlockStore::Open(Opts(), dir.path());
    ASSERT_OK(s);
    Fill(**s, 100);
    ASSERT_OK((*s)->PruneBefore(50));
  }
  const std::string prune = dir.Sub("segments/PRUNE");
  const std::string good = testing::ReadFile(prune);
  const size_t files = testing::SegmentFiles(dir.path()).size();
  auto refused = [&](absl::StatusCode code, const std::string& why) {
    absl::StatusOr<RebuildReport> rr = RebuildIndex(Opts(), dir.path());
    EXPECT_EQ(rr.status().code(), code) << why << ": " << rr.status();
    EXPECT_NE(rr.status().message().find("PRUNE"), std::string_view::npos) << why << ": " << rr.status();
    EXPECT_EQ(BlockStore::Open(Opts(), dir.path()).status().code(), absl::StatusCode::kDataLoss) << why;
    EXPECT_EQ(testing::SegmentFiles(dir.path()).size(), files) << why;
    EXPECT_FALSE(std::filesystem::exists(dir.Sub("meta.rebuild"))) << why;
  };
  testing::FlipByte(prune, 40, 0x01);  // a hex digit of the store UUID
  refused(absl::StatusCode::kDataLoss, "a flipped byte");

  testing::WriteFile(prune, good);
  absl::StatusOr<std::optional<internal::PrunePoint>> point = internal::ReadPruneFile(*DefaultFileSystem(), dir.Sub("segments"));
  ASSERT_OK(point);
  ASSERT_TRUE(point->has_value());
  EXPECT_EQ((*point)->before, 50u);
  // Spellings WritePruneFile never writes are refused even with a checksum
  // that matches the number they spell.
  const std::string uuid = good.substr(17, 32);
  const std::string sum = good.substr(good.size() - 17, 16);
  for (const std::string& number : {std::string("+50"), std::string("050"), std::string(" 50")}) {
    testing::WriteFile(prune, absl::StrCat("segstore-prune 2 ", uuid, " ", number, " ", sum, "\n"));
    refused(absl::StatusCode::kDataLoss, "number spelled " + number);
  }
  std::string upper = good;
  for (size_t i = 17; i < 49; ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  if (upper != good) {
    testing::WriteFile(prune, upper);
    refused(absl::StatusCode::kDataLoss, "upper-case UUID");
  }
  testing::WriteFile(prune, "segstore-prune 1 50 0123456789abcdef\n");
  refused(absl::StatusCode::kDataLoss, "format 1, without the store's UUID");

  // A valid PRUNE file of another store: refused as not this store's.
  testing::WriteFile(dir.Sub("segments/PRUNE.tmp"), "");
  {
    testing::WriteFile(prune, good);
    auto s = BlockStore::Open(Opts(), dir.path());
    ASSERT_OK(s);
  }
  {
    ScratchDir other;
    auto s = BlockStore::Open(Opts(), other.path());
    ASSERT_OK(s);
    Fill(**s, 60);
    ASSERT_OK((*s)->PruneBefore(10));
    testing::WriteFile(prune, testing::ReadFile(other.Sub("segments/PRUNE")));
  }
  refused(absl::StatusCode::kDataLoss, "another store's PRUNE");
  EXPECT_NE(BlockStore::Open(Opts(), dir.path()).status().message().find("another store"), std::string_view::npos);

  // This store's own UUID but a prune point above the highest block: refused.
  ASSERT_OK(internal::WritePruneFile(*DefaultFileSystem(), dir.Sub("segments"), (*point)->store, 1000));
  {
    absl::StatusOr<RebuildReport> rr = RebuildIndex(Opts(), dir.path());
    ASSERT_CODE(rr, absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(testing::SegmentFiles(dir.path()).size(), files);
    EXPECT_FALSE(std::filesystem::exists(dir.Sub("meta.rebuild")));
  }
  testing::WriteFile(prune, good);
  auto s = BlockStore::Open(Opts(), dir.path());
  ASSERT_OK(s);
  ExpectExactly(**s, 50, 99, 100);
}

TEST(PruneTest, CrashAtEveryFileSystemCall) {
  const uint64_t total = 300, p = 180;
  uint64_t calls = 0;
  {
    ScratchDir dir;
    auto fs = std::make_shared<FaultFileSystem>(DefaultFileSystem());
    auto s = BlockStore::Open(Opts(fs), dir.path());
    ASSERT_OK(s);
    Fill(**s, total);
    fs->CrashAtCall(UINT64_MAX, PowerLoss::kDropAll, 0);
    ASSERT_OK((*s)->PruneBefore(p));
    calls = fs->total_calls();
  }
  ASSERT_GT(calls, 4u);
  uint64_t done = 0, not_done = 0;
  for (uint64_t k = 1; k <= calls + 1; ++k) {
    ScratchDir dir;
    auto fs = std::make_shared<FaultFileSystem>(DefaultFileSystem());
    bool ok = false;
    {
      auto s = BlockStore::Open(Opts(fs), dir.path());
      ASSERT_OK(s);
      Fill(**s, total);
      ASSERT_OK((*s)->Sync());
      fs->CrashAtCall(k, static_cast<PowerLoss>(k % 3), k);
      ok = (*s)->PruneBefore(p).ok();
      if (!fs->crashed()) fs->Crash(static_cast<PowerLoss>(k % 3), k);
    }
    fs->Restart();
    bool pruned;
    {
      auto s = BlockStore::Open(Opts(fs), dir.path());
      ASSERT_TRUE(s.ok()) << "crash at call " << k << ": " << s.status();
      pruned = !(*s)->Contains(0);
      if (ok) {
        ASSERT_TRUE(pruned) << "crash at call " << k << ": a prune that returned OK was lost";
      }
      ExpectExactly(**s, pruned ? p : 0, total - 1, total);
      if (::testing::Test::HasFatalFailure()) return;
      (pruned ? done : not_done)++;
    }
    ASSERT_OK(RebuildIndex(Opts(fs), dir.path()));
    auto s = BlockStore::Open(Opts(fs), dir.path());
    ASSERT_OK(s);
    ExpectExactly(**s, pruned ? p : 0, total - 1, total);
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GT(done, 0u);
  EXPECT_GT(not_done, 0u);
  std::printf("crash points: %llu of %llu calls of a prune (%llu pruned, %llu not)\n",
              static_cast<unsigned long long>(calls + 1), static_cast<unsigned long long>(calls),
              static_cast<unsigned long long>(done), static_cast<unsigned long long>(not_done));
}

}  // namespace
}  // namespace segstore

namespace segstore {
namespace {

// A PRUNE file from another store (valid checksum, prune point above this
// store's highest block) must not be applied: Open refuses with DataLoss and
// deletes nothing. So must this store's own file with a point above the
// highest block (PruneBefore never prunes the highest block).
TEST(PruneTest, APrunePointAboveTheHighestBlockIsRefusedAtOpen) {
  ScratchDir a, b;
  {
    auto s = BlockStore::Open(Opts(), a.path());
    ASSERT_OK(s);
    for (uint64_t n = 0; n < 200; ++n) ASSERT_OK((*s)->Append(Pay(n)));
    ASSERT_OK((*s)->PruneBefore(150));
    ASSERT_OK((*s)->Close());
  }
  {
    auto s = BlockStore::Open(Opts(), b.path());
    ASSERT_OK(s);
    for (uint64_t n = 0; n < 60; ++n) ASSERT_OK((*s)->Append(Pay(n)));
    ASSERT_OK((*s)->Close());
  }
  const std::vector<std::string> files = testing::SegmentFiles(b.path());
  std::filesystem::copy_file(a.path() + "/segments/PRUNE", b.path() + "/segments/PRUNE");
  absl::StatusOr<std::unique_ptr<BlockStore>> s = BlockStore::Open(Opts(), b.path());
  ASSERT_CODE(s, absl::StatusCode::kDataLoss);
  EXPECT_NE(s.status().message().find("PRUNE"), std::string::npos) << s.status();
  EXPECT_EQ(testing::SegmentFiles(b.path()), files) << "a segment file was deleted";
  std::filesystem::remove(b.path() + "/segments/PRUNE");
  {
    auto own = BlockStore::Open(Opts(), b.path());  // writes no PRUNE: nothing pruned
    ASSERT_OK(own);
    ASSERT_OK((*own)->PruneBefore(5));
  }
  absl::StatusOr<std::optional<internal::PrunePoint>> point =
      internal::ReadPruneFile(*DefaultFileSystem(), b.path() + "/segments");
  ASSERT_OK(point);
  ASSERT_TRUE(point->has_value());
  ASSERT_OK(internal::WritePruneFile(*DefaultFileSystem(), b.path() + "/segments", (*point)->store, 150));
  s = BlockStore::Open(Opts(), b.path());
  ASSERT_CODE(s, absl::StatusCode::kDataLoss);
  EXPECT_NE(s.status().message().find("above the highest block"), std::string::npos) << s.status();
  EXPECT_EQ(testing::SegmentFiles(b.path()), files) << "a segment file was deleted";
  ASSERT_OK(internal::WritePruneFile(*DefaultFileSystem(), b.path() + "/segments", (*point)->store, 5));
  s = BlockStore::Open(Opts(), b.path());
  ASSERT_OK(s);
  ASSERT_EQ((*s)->BlockCount(), 55u);
  for (uint64_t n = 5; n < 60; ++n) ASSERT_TRUE(testing::ExpectBlockEq(**s, n, Pay(n)));
}

}  // namespace
}  // namespace segstore
