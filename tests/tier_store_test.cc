// The store's tiers: sealed segments move to the cold tier (a backing
// store) as they age, are read from there on demand, survive reopen,
// truncation and a crash at every file-system call of a move, and a cold
// read parked inside the backing store holds up neither appends nor hot
// reads.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "segment/segment_name.h"
#include "testutil/fault_file_system.h"
#include "testutil/test_util.h"

namespace segstore {
namespace {

using testing::FaultFileSystem;
using testing::Payload;
using testing::PowerLoss;
using testing::ScratchDir;

constexpr size_t kBlock = 3000;

std::unique_ptr<BlockStore> OpenOrDie(const Options& o, const std::string& dir) {
  absl::StatusOr<std::unique_ptr<BlockStore>> s = BlockStore::Open(o, dir);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}  // about 21 blocks per 64 KiB segment

Options TierOptions(size_t warm) {
  Options o = testing::SmallOptions(64 << 10);
  o.hot_segments = 1;
  o.warm_segments = warm;
  o.block_cache_entries = 0;  // every cold read goes to the backing store
  return o;
}

std::set<uint64_t> Ids(const std::string& dir) {
  std::set<uint64_t> out;
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (std::optional<uint64_t> id = internal::ParseSegmentFileName(e.path().filename().string())) out.insert(*id);
  }
  return out;
}

void ExpectAll(BlockStore& store, uint64_t count, uint64_t seed = 0) {
  for (uint64_t n = 0; n < count; ++n) {
    if (!testing::ExpectBlockEq(store, n, Payload(seed + n, kBlock))) return;
  }
}

TEST(TierStoreTest, OldSegmentsGoColdAndReadBackExactly) {
  ScratchDir dir;
  constexpr uint64_t kBlocks = 300;
  {
    auto store = OpenOrDie(TierOptions(2), dir.path());
    for (uint64_t n = 0; n < kBlocks; ++n) ASSERT_OK(store->Append(Payload(n, kBlock)));
    ScalingMetrics m = store->Scaling().GetScalingMetrics();
    EXPECT_EQ(m.segments_hot, 2u);  // the active segment and one sealed
    EXPECT_EQ(m.segments_warm, 2u);
    EXPECT_GT(m.segments_cold, 8u);
    // Exactly one copy of every segment: cold ones only in the backing store.
    const std::set<uint64_t> local = Ids(dir.path() + "/segments");
    const std::set<uint64_t> cold = Ids(dir.path() + "/cold");
    EXPECT_EQ(cold.size(), m.segments_cold);
    for (uint64_t id : cold) EXPECT_EQ(local.count(id), 0u) << "segment " << id << " is in both tiers";
    EXPECT_EQ(local.size(), 4u);
    ExpectAll(*store, kBlocks);
    absl::StatusOr<std::vector<Block>> range = store->GetRange(0, kBlocks);
    ASSERT_OK(range);
    ASSERT_EQ(range->size(), kBlocks);
    for (uint64_t n = 0; n < kBlocks; ++n) EXPECT_TRUE((*range)[n].data() == Payload(n, kBlock)) << n;
    absl::StatusOr<VerifyReport> v = store->Verify(/*deep=*/true);
    ASSERT_OK(v);
    EXPECT_TRUE(v->ok()) << v->problems[0].what;
    EXPECT_EQ(v->segments, local.size() + cold.size());
    ASSERT_OK(store->Close());
  }
  {
    // Reopen: the cold tier is found from meta/, nothing is moved back.
    auto store = OpenOrDie(TierOptions(2), dir.path());
    EXPECT_TRUE(store->LastRecoveryReport().clean) << store->LastRecoveryReport().ToString();
    EXPECT_GT(store->Scaling().GetScalingMetrics().segments_cold, 8u);
    ExpectAll(*store, kBlocks);
    // A truncation into the cold tier: the straddling cold segment keeps its
    // prefix, the cold segments above go from the backing store.
    ASSERT_OK(store->TruncateAfter(70));
    EXPECT_EQ(store->BlockCount(), 71u);
    ExpectAll(*store, 71);
    ASSERT_CODE(store->Get(71), absl::StatusCode::kNotFound);
    for (uint64_t n = 71; n < 200; ++n) ASSERT_OK(store->Append(Payload(1000 + n, kBlock)));
    ASSERT_OK(store->Close());
  }
  auto store = OpenOrDie(TierOptions(2), dir.path());
  ExpectAll(*store, 71);
  for (uint64_t n = 71; n < 200; ++n) ASSERT_TRUE(testing::ExpectBlockEq(*store, n, Payload(1000 + n, kBlock)));
  absl::StatusOr<VerifyReport> v = store->Verify(/*deep=*/true);
  ASSERT_OK(v);
  EXPECT_TRUE(v->ok()) << v->problems[0].what;
  const std::set<uint64_t> local = Ids(dir.path() + "/segments");
  for (uint64_t id : Ids(dir.path() + "/cold")) EXPECT_EQ(local.count(id), 0u) << "segment " << id;
}

TEST(TierStoreTest, RebuildIndexFindsTheColdTier) {
  ScratchDir dir;
  constexpr uint64_t kBlocks = 200;
  uint64_t cold = 0;
  {
    auto store = OpenOrDie(TierOptions(1), dir.path());
    for (uint64_t n = 0; n < kBlocks; ++n) ASSERT_OK(store->Append(Payload(n, kBlock)));
    ASSERT_OK(store->TruncateAfter(150));  // a marker that must bind cold segments too
    cold = store->Scaling().GetScalingMetrics().segments_cold;
    ASSERT_OK(store->Close());
  }
  ASSERT_GT(cold, 3u);
  std::filesystem::remove_all(dir.path() + "/meta");
  absl::StatusOr<RebuildReport> r = RebuildIndex(TierOptions(1), dir.path());
  ASSERT_OK(r);
  EXPECT_EQ(r->cold_segments, cold) << r->ToString();
  auto store = OpenOrDie(TierOptions(1), dir.path());
  EXPECT_EQ(store->BlockCount(), 151u);
  EXPECT_EQ(store->Scaling().GetScalingMetrics().segments_cold, cold);
  ExpectAll(*store, 151);
  ASSERT_CODE(store->Get(151), absl::StatusCode::kNotFound);
  absl::StatusOr<VerifyReport> v = store->Verify(/*deep=*/true);
  ASSERT_OK(v);
  EXPECT_TRUE(v->ok()) << v->problems[0].what;
}

// Pruning into the cold tier deletes the cold objects below the prune
// point; compaction leaves cold segments alone and merges the local ones;
// reopen and rebuild-index keep all of it.
TEST(TierStoreTest, PruneAndCompactWithAColdTier) {
  ScratchDir dir;
  constexpr uint64_t kBlocks = 300;
  Options o = TierOptions(6);
  {
    auto store = OpenOrDie(o, dir.path());
    for (uint64_t n = 0; n < kBlocks; ++n) ASSERT_OK(store->Append(Payload(n, kBlock)));
    const uint64_t cold_before = store->Scaling().GetScalingMetrics().segments_cold;
    ASSERT_GT(cold_before, 4u);
    const size_t objects_before = Ids(dir.path() + "/cold").size();
    ASSERT_OK(store->PruneBefore(50));
    EXPECT_LT(Ids(dir.path() + "/cold").size(), objects_before) << "no cold object below the prune point went";
    ASSERT_CODE(store->Get(49), absl::StatusCode::kNotFound);
    for (uint64_t n = 50; n < kBlocks; ++n) ASSERT_TRUE(testing::ExpectBlockEq(*store, n, Payload(n, kBlock)));
    absl::StatusOr<CompactReport> c = store->Compact();
    ASSERT_OK(c);
    for (uint64_t n = 50; n < kBlocks; ++n) ASSERT_TRUE(testing::ExpectBlockEq(*store, n, Payload(n, kBlock)));
    absl::StatusOr<VerifyReport> v = store->Verify(/*deep=*/true);
    ASSERT_OK(v);
    EXPECT_TRUE(v->ok()) << v->problems[0].what;
    ASSERT_OK(store->Close());
  }
  std::filesystem::remove_all(dir.path() + "/meta");
  ASSERT_OK(RebuildIndex(o, dir.path()));
  auto store = OpenOrDie(o, dir.path());
  EXPECT_EQ(store->LowestNumber(), 50u);
  EXPECT_EQ(store->BlockCount(), kBlocks - 50);
  ASSERT_CODE(store->Get(0), absl::StatusCode::kNotFound);
  for (uint64_t n = 50; n < kBlocks; ++n) ASSERT_TRUE(testing::ExpectBlockEq(*store, n, Payload(n, kBlock)));
  const std::set<uint64_t> local = Ids(dir.path() + "/segments");
  for (uint64_t id : Ids(dir.path() + "/cold")) EXPECT_EQ(local.count(id), 0u) << "segment " << id;
}

// Found by an adversarial review: the cold tier must never delete what is
// not an interrupted move's copy of this store's own segment, and
// rebuild-index must not drop a cold tier it cannot see.
TEST(TierStoreTest, TheColdTierNeverDeletesWhatIsNotItsOwn) {
  ScratchDir dir;
  // cold_path naming the store's own segments/ is refused, nothing deleted.
  {
    auto store = OpenOrDie(TierOptions(SIZE_MAX), dir.path());
    for (uint64_t n = 0; n < 100; ++n) ASSERT_OK(store->Append(Payload(n, kBlock)));
    ASSERT_OK(store->Close());
  }
  const std::set<uint64_t> files = Ids(dir.path() + "/segments");
  Options bad = TierOptions(1);
  bad.cold_path = dir.path() + "/segments";
  ASSERT_CODE(BlockStore::Open(bad, dir.path()), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ids(dir.path() + "/segments"), files);

  // Two stores sharing one cold directory: opening one leaves the other's
  // objects alone.
  ScratchDir other;
  Options shared = TierOptions(1);
  shared.cold_path = dir.path() + "/shared-cold";
  {
    auto a = OpenOrDie(shared, dir.path());
    ASSERT_OK(a->Rebalance());
    ASSERT_GE(a->Scaling().GetScalingMetrics().segments_cold, 2u);
    ASSERT_OK(a->Close());
  }
  const std::set<uint64_t> a_objects = Ids(dir.path() + "/shared-cold");
  { auto b = OpenOrDie(shared, other.path()); }
  EXPECT_EQ(Ids(dir.path() + "/shared-cold"), a_objects);
  {
    auto a = OpenOrDie(shared, dir.path());
    ExpectAll(*a, 100);
  }

  // rebuild-index with the cold tier out of sight changes nothing.
  std::filesystem::rename(dir.path() + "/shared-cold", dir.path() + "/away");
  ASSERT_CODE(RebuildIndex(shared, dir.path()), absl::StatusCode::kFailedPrecondition);
  std::filesystem::rename(dir.path() + "/away", dir.path() + "/shared-cold");
  auto a = OpenOrDie(shared, dir.path());
  ExpectAll(*a, 100);
}

// A backing store that damages what it stores: the move's byte-for-byte
// check refuses the copy, and the local file stays.
class DamagingBackingStore final : public BackingStore {
 public:
  // The first `intact_puts` objects are stored as given.
  explicit DamagingBackingStore(std::shared_ptr<BackingStore> base, int intact_puts = 0)
      : base_(std::move(base)), intact_puts_(intact_puts) {}
  absl::Status Put(const std::string& name, ObjectSource& source) override {
    if (puts_++ < intact_puts_) return base_->Put(name, source);
    class Flip final : public ObjectSource {
     public:
      explicit Flip(ObjectSource& s) : s_(s) {}
      uint64_t size() const override { return s_.size(); }
      absl::StatusOr<size_t> ReadAt(uint64_t offset, char* dst, size_t n) override {
        absl::StatusOr<size_t> got = s_.ReadAt(offset, dst, n);
        constexpr uint64_t kAt = 1000;  // inside the first record's payload
        if (got.ok() && offset <= kAt && kAt < offset + *got) dst[kAt - offset] ^= 0x20;
        return got;
      }
     private:
      ObjectSource& s_;
    } flip(source);
    return base_->Put(name, flip);
  }
  absl::StatusOr<size_t> ReadAt(const std::string& name, uint64_t offset, size_t n, char* dst) override {
    return base_->ReadAt(name, offset, n, dst);
  }
  absl::StatusOr<uint64_t> Size(const std::string& name) override { return base_->Size(name); }
  absl::StatusOr<bool> Exists(const std::string& name) override { return base_->Exists(name); }
  absl::Status Delete(const std::string& name) override { return base_->Delete(name); }
  absl::StatusOr<std::vector<std::string>> List() override { return base_->List(); }
  std::string Describe() const override { return "damaging " + base_->Describe(); }

 private:
  std::shared_ptr<BackingStore> base_;
  const int intact_puts_;
  int puts_ = 0;
};

// `count` blocks in a store whose sealed segments all stayed local (warm).
void WriteBlocksAllWarm(const std::string& dir, uint64_t count) {
  auto store = OpenOrDie(TierOptions(SIZE_MAX), dir);
  ASSERT_NE(store, nullptr);
  for (uint64_t n = 0; n < count; ++n) ASSERT_OK(store->Append(Payload(n, kBlock)));
  ASSERT_OK(store->Close());
}

TEST(TierStoreTest, AMoveThatDamagesPayloadsIsRefused) {
  ScratchDir dir;
  ASSERT_NO_FATAL_FAILURE(WriteBlocksAllWarm(dir.path(), 100));
  Options o = TierOptions(0);
  o.backing_store = std::make_shared<DamagingBackingStore>(LocalDirectoryBackingStore(dir.path() + "/cold"));
  auto store = OpenOrDie(o, dir.path());
  absl::StatusOr<uint64_t> moved = store->Rebalance();
  ASSERT_CODE(moved, absl::StatusCode::kDataLoss);
  EXPECT_EQ(store->Scaling().GetScalingMetrics().segments_cold, 0u);
  EXPECT_TRUE(Ids(dir.path() + "/cold").empty()) << "an unverified copy was left behind";
  ExpectAll(*store, 100);
}

// A rebalance that fails part-way keeps the moves before the failure and
// says how many there were.
TEST(TierStoreTest, ARebalanceThatFailsPartWaySaysWhatItMoved) {
  ScratchDir dir;
  ASSERT_NO_FATAL_FAILURE(WriteBlocksAllWarm(dir.path(), 100));
  Options o = TierOptions(0);
  o.backing_store =
      std::make_shared<DamagingBackingStore>(LocalDirectoryBackingStore(dir.path() + "/cold"), /*intact_puts=*/2);
  auto store = OpenOrDie(o, dir.path());
  absl::StatusOr<uint64_t> moved = store->Rebalance();
  ASSERT_CODE(moved, absl::StatusCode::kDataLoss);
  EXPECT_NE(moved.status().message().find("2 segment(s) had moved to the cold tier before this one"),
            std::string_view::npos)
      << moved.status();
  EXPECT_EQ(store->Scaling().GetScalingMetrics().segments_cold, 2u);
  EXPECT_EQ(Ids(dir.path() + "/cold").size(), 2u);
  ExpectAll(*store, 100);
}

// Parks ReadAt of one object until released.
class ParkingBackingStore final : public BackingStore {
 public:
  explicit ParkingBackingStore(std::shared_ptr<BackingStore> base) : base_(std::move(base)) {}
  void Park(std::string name) {
    std::lock_guard<std::mutex> l(mu_);
    park_ = std::move(name);
  }
  void Release() {
    std::lock_guard<std::mutex> l(mu_);
    park_.clear();
    cv_.notify_all();
  }
  bool AwaitParked() {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(60), [&] { return parked_ > 0; });
  }
  absl::Status Put(const std::string& name, ObjectSource& source) override { return base_->Put(name, source); }
  absl::StatusOr<size_t> ReadAt(const std::string& name, uint64_t offset, size_t n, char* dst) override {
    {
      std::unique_lock<std::mutex> l(mu_);
      if (!park_.empty() && name == park_) {
        ++parked_;
        cv_.notify_all();
        cv_.wait(l, [&] { return park_.empty(); });
      }
    }
    return base_->ReadAt(name, offset, n, dst);
  }
  absl::StatusOr<uint64_t> Size(const std::string& name) override { return base_->Size(name); }
  absl::StatusOr<bool> Exists(const std::string& name) override { return base_->Exists(name); }
  absl::Status Delete(const std::string& name) override { return base_->Delete(name); }
  absl::StatusOr<std::vector<std::string>> List() override { return base_->List(); }
  std::string Describe() const override { return "parking " + base_->Describe(); }

 private:
  std::shared_ptr<BackingStore> base_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string park_;
  int parked_ = 0;
};

TEST(TierStoreTest, AParkedColdReadHoldsUpNeitherAppendsNorHotReads) {
  ScratchDir dir;
  auto parking = std::make_shared<ParkingBackingStore>(LocalDirectoryBackingStore(dir.path() + "/cold"));
  Options o = TierOptions(0);
  o.backing_store = parking;
  o.manifest_cache_entries = 0;  // the cold read fetches its footer too
  auto store = OpenOrDie(o, dir.path());
  for (uint64_t n = 0; n < 100; ++n) ASSERT_OK(store->Append(Payload(n, kBlock)));
  ASSERT_GT(store->Scaling().GetScalingMetrics().segments_cold, 0u);
  parking->Park(internal::SegmentFileName(1));  // segment 1 holds block 0

  absl::StatusOr<Block> cold = absl::UnknownError("not run");
  std::thread reader([&] { cold = store->Get(0); });
  ASSERT_TRUE(parking->AwaitParked());
  // Meanwhile: appends (durable ones too, within the active segment) and
  // reads of hot blocks complete.
  const uint64_t highest = *store->HighestNumber();
  for (uint64_t i = 0; i < 10; ++i) {
    WriteOptions wo;
    wo.sync = i % 3 == 0;
    absl::StatusOr<BlockNumber> n = store->Append(Payload(5000 + i, 500), wo);
    ASSERT_OK(n);
    EXPECT_EQ(*n, highest + 1 + i);
  }
  for (uint64_t n = highest + 1; n <= highest + 10; ++n) {
    ASSERT_TRUE(testing::ExpectBlockEq(*store, n, Payload(5000 + n - highest - 1, 500)));
  }
  ASSERT_TRUE(testing::ExpectBlockEq(*store, highest, Payload(highest, kBlock)));
  parking->Release();
  reader.join();
  ASSERT_OK(cold);
  EXPECT_TRUE(cold->data() == Payload(0, kBlock));
}

// A crash (power loss of the file systems under segments/ and cold/) right
// before each file-system call of moving three segments to the cold tier.
// After each, the store reopens with every block byte-identical and every
// segment in exactly one place.
TEST(TierStoreTest, CrashAtEveryCallOfAMoveLeavesOneAuthoritativeCopy) {
  constexpr uint64_t kBlocks = 120;  // 5 sealed segments of 21 blocks, an active one
  auto build = [&](const std::string& path, std::shared_ptr<FaultFileSystem> fs) {
    Options o = TierOptions(SIZE_MAX);
    o.file_system = fs;
    o.backing_store = LocalDirectoryBackingStore(path + "/cold", fs);
    auto store = OpenOrDie(o, path);
    for (uint64_t n = 0; n < kBlocks; ++n) ASSERT_OK(store->Append(Payload(n, kBlock)));
    ASSERT_OK(store->Close());
  };
  auto options = [](const std::string& path, std::shared_ptr<FaultFileSystem> fs, size_t warm) {
    Options o = TierOptions(warm);
    o.file_system = fs;
    o.backing_store = LocalDirectoryBackingStore(path + "/cold", fs);
    return o;
  };
  // How many calls the whole move makes, and what it moves.
  uint64_t total = 0;
  size_t segments = 0;
  uint64_t to_move = 0;
  {
    ScratchDir dir;
    auto fs = std::make_shared<FaultFileSystem>(DefaultFileSystem());
    ASSERT_NO_FATAL_FAILURE(build(dir.path(), fs));
    segments = Ids(dir.path() + "/segments").size();
    auto store = OpenOrDie(options(dir.path(), fs, 1), dir.path());
    fs->CrashAtCall(0, PowerLoss::kDropAll, 0);  // no crash: counts calls from here
    absl::StatusOr<uint64_t> moved = store->Rebalance();
    ASSERT_OK(moved);
    to_move = *moved;
    total = fs->total_calls();
  }
  ASSERT_EQ(segments, 6u);
  ASSERT_EQ(to_move, 3u);  // 5 sealed: 1 hot, 1 warm, 3 to the cold tier
  ASSERT_GT(total, 20u);
  // SEGSTORE_CRASH_POINT_STRIDE (default 3 here; 1 = every call) thins the
  // crash points for CI, offset so that every call is covered over runs of
  // different strides.
  const char* stride_env = std::getenv("SEGSTORE_CRASH_POINT_STRIDE");
  const uint64_t stride = std::max<uint64_t>(1, stride_env ? std::strtoull(stride_env, nullptr, 10) : 3);
  uint64_t points = 0, some_cold = 0, none_cold = 0, rebuilt_choices = 0;
  for (uint64_t k = 1; k <= total; k += stride) {
    ScratchDir dir;
    auto fs = std::make_shared<FaultFileSystem>(DefaultFileSystem());
    ASSERT_NO_FATAL_FAILURE(build(dir.path(), fs));
    {
      auto store = OpenOrDie(options(dir.path(), fs, 1), dir.path());
      fs->CrashAtCall(k, static_cast<PowerLoss>(k % 3), k);
      (void)store->Rebalance();
      ASSERT_TRUE(fs->crashed()) << "no crash at call " << k << " of " << total;
    }
    fs->Restart();
    if (k % 2 == 1) {
      // Every other point: rebuild-index from the files first, which must
      // pick the newest valid copy of each segment by itself.
      absl::StatusOr<RebuildReport> r = RebuildIndex(options(dir.path(), fs, SIZE_MAX), dir.path());
      ASSERT_OK(r);
      rebuilt_choices += r->stale_copies_deleted.size();
    }
    auto store = OpenOrDie(options(dir.path(), fs, SIZE_MAX), dir.path());
    ASSERT_NE(store, nullptr) << "crash at call " << k;
    ExpectAll(*store, kBlocks);
    const std::set<uint64_t> local = Ids(dir.path() + "/segments");
    const std::set<uint64_t> cold = Ids(dir.path() + "/cold");
    for (uint64_t id : cold) EXPECT_EQ(local.count(id), 0u) << "segment " << id << " in both, crash at call " << k;
    EXPECT_EQ(local.size() + cold.size(), segments) << "crash at call " << k;
    ++(cold.empty() ? none_cold : some_cold);
    absl::StatusOr<VerifyReport> v = store->Verify(/*deep=*/true);
    ASSERT_OK(v);
    ASSERT_TRUE(v->ok()) << "crash at call " << k << ": " << v->problems[0].what;
    // And the move can be finished afterwards.
    ASSERT_OK(store->Close());
    store = OpenOrDie(options(dir.path(), fs, 1), dir.path());
    ASSERT_OK(store->Rebalance());
    EXPECT_EQ(store->Scaling().GetScalingMetrics().segments_cold, to_move) << "crash at call " << k;
    ExpectAll(*store, kBlocks);
    ++points;
  }
  // Both sides of the commit point were hit, or the test proves little.
  EXPECT_GT(some_cold, 0u);
  EXPECT_GT(none_cold, 0u);
  EXPECT_GT(rebuilt_choices, 0u) << "rebuild-index never found two copies of a segment";
  std::printf("crash points: %llu of %llu calls of moving segments to the cold tier (%llu after a commit)\n", static_cast<unsigned long long>(points),
              static_cast<unsigned long long>(total), static_cast<unsigned long long>(some_cold));
}

}  // namespace
}  // namespace segstore
