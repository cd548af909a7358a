// ScalingManager: metrics, run-time limits and backpressure (segstore/scaling.h).
// Writers are held inside their record write by a BlockingFileSystem, so
// admission and queue depth are observed exactly; every wait is a bounded
// poll of the metrics, never a sleep used as an assertion.

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "segstore/scaling.h"
#include "testutil/blocking_file_system.h"
#include "testutil/prometheus_text.h"
#include "testutil/test_util.h"

namespace segstore {
namespace {

using testing::BlockingFileSystem;
using testing::Payload;
using testing::ScratchDir;

// Polls pred every millisecond for up to 30 s.
bool Eventually(const std::function<bool()>& pred) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    if (pred()) return true;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return pred();
}

std::unique_ptr<BlockStore> OpenOrDie(const Options& o, const std::string& dir) {
  absl::StatusOr<std::unique_ptr<BlockStore>> s = BlockStore::Open(o, dir);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

// Appenders started on threads; each keeps its result.
class Writers {
 public:
  explicit Writers(BlockStore* store) : store_(store) {}
  ~Writers() { Join(); }
  void Start(size_t n, std::optional<absl::Time> deadline = std::nullopt) {
    for (size_t i = 0; i < n; ++i) {
      auto result = std::make_shared<absl::Status>();
      results_.push_back(result);
      const uint64_t seed = 1000 + results_.size();
      threads_.emplace_back([this, result, seed, deadline] {
        WriteOptions w;
        w.deadline = deadline;
        *result = store_->Append(Payload(seed, 1000), w).status();
      });
    }
  }
  void Join() {
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }
  const std::vector<std::shared_ptr<absl::Status>>& results() const { return results_; }

 private:
  BlockStore* store_;
  std::vector<std::thread> threads_;
  std::vector<std::shared_ptr<absl::Status>> results_;
};

TEST(ScalingTest, InitialLimitsComeFromOptions) {
  ScratchDir dir;
  Options o = testing::SmallOptions(64 << 10);
  o.max_concurrent_writes = 3;
  o.write_queue_warning_depth = 5;
  o.write_queue_critical_depth = 7;
  auto store = OpenOrDie(o, dir.path());
  ASSERT_NE(store, nullptr);
  ScalingLimits l = store->Scaling().CurrentLimits();
  EXPECT_EQ(l.block_cache_entries, o.block_cache_entries);
  EXPECT_EQ(l.block_cache_bytes, o.block_cache_bytes);
  EXPECT_EQ(l.manifest_cache_entries, o.manifest_cache_entries);
  EXPECT_EQ(l.manifest_cache_bytes, o.manifest_cache_bytes);
  EXPECT_EQ(l.max_concurrent_writes, 3u);
  EXPECT_EQ(l.segment_size, uint64_t{64} << 10);
  EXPECT_EQ(l.hot_segments, o.hot_segments);
  EXPECT_EQ(l.write_queue_warning_depth, 5u);
  EXPECT_EQ(l.write_queue_critical_depth, 7u);
  EXPECT_EQ(store->Scaling().CurrentBackpressureState(), BackpressureState::kNormal);
  // 0 writers means the hardware threads, reported as the number.
  l.max_concurrent_writes = 0;
  ASSERT_OK(store->Scaling().ReconfigureLimits(l));
  EXPECT_GE(store->Scaling().CurrentLimits().max_concurrent_writes, 1u);
}

// (a) Shrinking the block cache evicts at once, visible in the metrics; so
// does shrinking the hot segment count.
TEST(ScalingTest, ShrinkingCachesEvictsNow) {
  ScratchDir dir;
  Options o = testing::SmallOptions(64 << 10);
  o.hot_segments = 0;  // every sealed segment is read with pread + block cache
  o.block_cache_entries = 1000;
  o.block_cache_bytes = 8 << 20;
  auto store = OpenOrDie(o, dir.path());
  ASSERT_NE(store, nullptr);
  ScalingManager& scaling = store->Scaling();
  constexpr uint64_t kBlocks = 80;
  for (uint64_t i = 0; i < kBlocks; ++i) ASSERT_OK(store->Append(Payload(i, 4000)));
  const StoreStats st = store->GetStats();
  ASSERT_GE(st.sealed_segments, 3u);

  ScalingMetrics m = scaling.GetScalingMetrics();
  EXPECT_EQ(m.block_count, kBlocks);
  EXPECT_EQ(m.segments_hot, 1u);  // the active segment only
  EXPECT_EQ(m.segments_warm, st.sealed_segments);
  EXPECT_EQ(m.segments_cold, 0u);
  EXPECT_EQ(m.block_cache.entries, 0u);

  for (uint64_t i = 0; i < kBlocks; ++i) ASSERT_TRUE(testing::ExpectBlockEq(*store, i, Payload(i, 4000)));
  m = scaling.GetScalingMetrics();
  const uint64_t cached = m.block_cache.entries;
  ASSERT_GE(cached, 40u);  // the blocks of the sealed segments
  EXPECT_EQ(m.block_cache.misses, cached);
  EXPECT_EQ(m.block_cache.evictions, 0u);
  EXPECT_GE(m.block_cache.bytes, cached * 4000);
  EXPECT_DOUBLE_EQ(m.block_cache.hit_rate, 0.0);
  for (uint64_t i = 0; i < kBlocks; ++i) ASSERT_TRUE(store->Get(i).ok());
  m = scaling.GetScalingMetrics();
  EXPECT_EQ(m.block_cache.hits, cached);
  EXPECT_DOUBLE_EQ(m.block_cache.hit_rate, 0.5);

  ScalingLimits l = scaling.CurrentLimits();
  l.block_cache_entries = 8;
  ASSERT_OK(scaling.ReconfigureLimits(l));
  m = scaling.GetScalingMetrics();
  EXPECT_LE(m.block_cache.entries, 8u);
  EXPECT_GE(m.block_cache.evictions, cached - 8);
  EXPECT_EQ(m.block_cache.entries + m.block_cache.evictions, cached);
  EXPECT_EQ(scaling.CurrentLimits().block_cache_entries, 8u);

  // Reads still work and refill at most up to the new bound.
  for (uint64_t i = 0; i < kBlocks; ++i) ASSERT_TRUE(testing::ExpectBlockEq(*store, i, Payload(i, 4000)));
  EXPECT_LE(scaling.GetScalingMetrics().block_cache.entries, 8u);

  // Byte bound: well below one block per shard, so nothing stays.
  l.block_cache_entries = 1000;
  l.block_cache_bytes = 4096;
  ASSERT_OK(scaling.ReconfigureLimits(l));
  m = scaling.GetScalingMetrics();
  EXPECT_LE(m.block_cache.bytes, 4096u);
  EXPECT_EQ(m.block_cache.entries, 0u);

  // Raising it again takes effect for the next reads.
  l.block_cache_bytes = 8 << 20;
  ASSERT_OK(scaling.ReconfigureLimits(l));
  for (uint64_t i = 0; i < kBlocks; ++i) ASSERT_TRUE(store->Get(i).ok());
  EXPECT_EQ(scaling.GetScalingMetrics().block_cache.entries, cached);

  // The manifest cache too.
  EXPECT_GE(scaling.GetScalingMetrics().manifest_cache.entries, 1u);
  l.manifest_cache_entries = 0;
  ASSERT_OK(scaling.ReconfigureLimits(l));
  m = scaling.GetScalingMetrics();
  EXPECT_EQ(m.manifest_cache.entries, 0u);
  EXPECT_GE(m.manifest_cache.evictions, 1u);
  for (uint64_t i = 0; i < kBlocks; ++i) ASSERT_TRUE(store->Get(i).ok());  // footers read again, not kept

  // Hot segments: raise, read the newest sealed ones (now mapped), shrink.
  l.manifest_cache_entries = 100;
  l.hot_segments = 2;
  ASSERT_OK(scaling.ReconfigureLimits(l));
  for (uint64_t i = 0; i < kBlocks; ++i) ASSERT_TRUE(testing::ExpectBlockEq(*store, i, Payload(i, 4000)));
  m = scaling.GetScalingMetrics();
  EXPECT_EQ(m.segments_hot, 3u);
  EXPECT_EQ(m.segments_warm, st.sealed_segments - 2);
  EXPECT_EQ(store->GetStats().mapped_segments, 3u);
  l.hot_segments = 0;
  ASSERT_OK(scaling.ReconfigureLimits(l));
  EXPECT_EQ(scaling.GetScalingMetrics().segments_hot, 1u);
  for (uint64_t i = 0; i < kBlocks; ++i) ASSERT_TRUE(testing::ExpectBlockEq(*store, i, Payload(i, 4000)));
  EXPECT_EQ(scaling.GetScalingMetrics().segments_hot, 1u);
}

// (b) Raising max_concurrent_writes admits queued writers at once.
TEST(ScalingTest, RaisingMaxConcurrentWritesAdmitsQueuedWriters) {
  ScratchDir dir;
  auto fs = std::make_shared<BlockingFileSystem>(DefaultFileSystem());
  Options o = testing::SmallOptions(1 << 20);  // room for every record: no rollover while held
  o.file_system = fs;
  o.max_concurrent_writes = 2;
  auto store = OpenOrDie(o, dir.path());
  ASSERT_NE(store, nullptr);
  ScalingManager& scaling = store->Scaling();
  ASSERT_OK(store->Append("first"));  // creates the active segment
  fs->Arm();
  Writers writers(store.get());
  writers.Start(8);
  ASSERT_TRUE(fs->WaitForBlocked(2));
  ASSERT_TRUE(Eventually([&] { return scaling.GetScalingMetrics().append_queue_depth == 6; }));
  ScalingMetrics m = scaling.GetScalingMetrics();
  EXPECT_EQ(m.writers_active, 2u);
  EXPECT_EQ(m.max_writers_active, 2u);
  EXPECT_EQ(fs->blocked(), 2u);  // exactly two are inside their record write

  ScalingLimits l = scaling.CurrentLimits();
  l.max_concurrent_writes = 6;
  ASSERT_OK(scaling.ReconfigureLimits(l));
  ASSERT_TRUE(fs->WaitForBlocked(6));
  ASSERT_TRUE(Eventually([&] { return scaling.GetScalingMetrics().append_queue_depth == 2; }));
  m = scaling.GetScalingMetrics();
  EXPECT_EQ(m.writers_active, 6u);
  EXPECT_EQ(m.max_writers_active, 6u);
  EXPECT_EQ(scaling.CurrentLimits().max_concurrent_writes, 6u);

  fs->Release();
  writers.Join();
  for (const auto& r : writers.results()) EXPECT_OK(*r);
  m = scaling.GetScalingMetrics();
  EXPECT_EQ(m.block_count, 9u);
  EXPECT_EQ(m.append_queue_depth, 0u);
  EXPECT_EQ(m.writers_active, 0u);
  EXPECT_EQ(m.writes_admitted, 9u);
  EXPECT_EQ(m.writes_queued, 6u);
  EXPECT_EQ(m.writes_rejected, 0u);
  // Every lock figure is a real count from the write path.
  ASSERT_EQ(m.locks.size(), 5u);  // commit, state, tier:hot, tier:warm, tier:cold
  for (const LockMetrics& lk : m.locks) {
    EXPECT_GT(lk.acquisitions, 0u) << lk.name;
    EXPECT_LE(lk.contended, lk.acquisitions) << lk.name;
  }
}

// (c) Backpressure: normal -> warning -> critical and back; at critical a
// write with a deadline fails at once, below it a deadline that passes is
// DeadlineExceeded.
TEST(ScalingTest, BackpressureStatesAndFailFast) {
  ScratchDir dir;
  auto fs = std::make_shared<BlockingFileSystem>(DefaultFileSystem());
  Options o = testing::SmallOptions(1 << 20);
  o.file_system = fs;
  o.max_concurrent_writes = 1;
  o.write_queue_warning_depth = 2;
  o.write_queue_critical_depth = 3;
  auto store = OpenOrDie(o, dir.path());
  ASSERT_NE(store, nullptr);
  ScalingManager& scaling = store->Scaling();
  ASSERT_OK(store->Append("first"));
  auto depth = [&] { return scaling.GetScalingMetrics().append_queue_depth; };

  fs->Arm();
  Writers writers(store.get());
  writers.Start(1);  // admitted, held in its write
  ASSERT_TRUE(fs->WaitForBlocked(1));
  EXPECT_EQ(scaling.CurrentBackpressureState(), BackpressureState::kNormal);
  writers.Start(1);
  ASSERT_TRUE(Eventually([&] { return depth() == 1; }));
  EXPECT_EQ(scaling.CurrentBackpressureState(), BackpressureState::kNormal);

  // Below the critical depth a deadline write queues, and its deadline passes.
  WriteOptions soon;
  soon.deadline = absl::Now() + absl::Milliseconds(50);
  ASSERT_CODE(store->Append("late", soon), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(depth(), 1u);

  writers.Start(1);
  ASSERT_TRUE(Eventually([&] { return depth() == 2; }));
  EXPECT_EQ(scaling.CurrentBackpressureState(), BackpressureState::kWarning);
  EXPECT_EQ(scaling.GetScalingMetrics().backpressure, BackpressureState::kWarning);
  writers.Start(1);
  ASSERT_TRUE(Eventually([&] { return depth() == 3; }));
  EXPECT_EQ(scaling.CurrentBackpressureState(), BackpressureState::kCritical);
  EXPECT_EQ(scaling.GetScalingMetrics().backpressure, BackpressureState::kCritical);

  // At critical: ResourceExhausted at once (the deadline is an hour away).
  WriteOptions later;
  later.deadline = absl::Now() + absl::Hours(1);
  ASSERT_CODE(store->Append("refused", later), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(depth(), 3u);
  EXPECT_EQ(scaling.GetScalingMetrics().writes_rejected, 2u);

  // The thresholds apply at once: raised, the same queue is only a warning
  // and a deadline write queues (and times out) instead of failing fast.
  ScalingLimits l = scaling.CurrentLimits();
  l.write_queue_warning_depth = 3;
  l.write_queue_critical_depth = 10;
  ASSERT_OK(scaling.ReconfigureLimits(l));
  EXPECT_EQ(scaling.CurrentBackpressureState(), BackpressureState::kWarning);
  soon.deadline = absl::Now() + absl::Milliseconds(50);
  ASSERT_CODE(store->Append("late", soon), absl::StatusCode::kDeadlineExceeded);
  l.write_queue_warning_depth = 2;
  l.write_queue_critical_depth = 3;
  ASSERT_OK(scaling.ReconfigureLimits(l));
  EXPECT_EQ(scaling.CurrentBackpressureState(), BackpressureState::kCritical);

  fs->Release();
  writers.Join();
  for (const auto& r : writers.results()) EXPECT_OK(*r);
  EXPECT_EQ(depth(), 0u);
  EXPECT_EQ(scaling.CurrentBackpressureState(), BackpressureState::kNormal);
  const ScalingMetrics m = scaling.GetScalingMetrics();
  EXPECT_EQ(m.block_count, 5u);
  EXPECT_EQ(m.writes_rejected, 3u);
  // And a deadline write goes through again.
  ASSERT_OK(store->Append("accepted", later));
}

uint64_t NewestSegmentFileSize(const std::string& dir) {
  std::vector<std::string> files = testing::SegmentFiles(dir);
  return files.empty() ? 0 : testing::FileSize(files.back());
}

// (d) A new segment size applies to the next segment; MaxPayloadSize
// follows it, and a payload too big for the active segment rolls over.
TEST(ScalingTest, SegmentSizeAppliesToTheNextSegment) {
  ScratchDir dir;
  Options o = testing::SmallOptions(64 << 10);
  auto store = OpenOrDie(o, dir.path());
  ASSERT_NE(store, nullptr);
  ScalingManager& scaling = store->Scaling();
  for (uint64_t i = 0; i < 5; ++i) ASSERT_OK(store->Append(Payload(i, 1000)));
  const size_t small_max = store->MaxPayloadSize();
  EXPECT_EQ(NewestSegmentFileSize(dir.path()), uint64_t{64} << 10);

  ScalingLimits l = scaling.CurrentLimits();
  l.segment_size = 256 << 10;
  ASSERT_OK(scaling.ReconfigureLimits(l));
  EXPECT_EQ(store->MaxPayloadSize(), small_max + (192 << 10));
  // The active segment keeps its size.
  EXPECT_EQ(NewestSegmentFileSize(dir.path()), uint64_t{64} << 10);
  EXPECT_EQ(store->GetStats().segments, 1u);

  // Bigger than the active segment could ever hold: rolls over into a new,
  // bigger one.
  const std::string big = Payload(99, 200 << 10);
  ASSERT_LT(small_max, big.size());
  absl::StatusOr<BlockNumber> n = store->Append(big);
  ASSERT_OK(n);
  EXPECT_EQ(*n, 5u);
  StoreStats st = store->GetStats();
  EXPECT_EQ(st.segments, 2u);
  EXPECT_EQ(st.sealed_segments, 1u);
  EXPECT_EQ(NewestSegmentFileSize(dir.path()), uint64_t{256} << 10);
  ASSERT_TRUE(testing::ExpectBlockEq(*store, 5, big));

  // Shrunk again: the big payload no longer fits, and the next segment is small.
  l.segment_size = 64 << 10;
  ASSERT_OK(scaling.ReconfigureLimits(l));
  EXPECT_EQ(store->MaxPayloadSize(), small_max);
  ASSERT_CODE(store->Append(big), absl::StatusCode::kInvalidArgument);
  uint64_t i = 100;
  while (store->GetStats().segments < 3) ASSERT_OK(store->Append(Payload(i++, 4000)));
  EXPECT_EQ(NewestSegmentFileSize(dir.path()), uint64_t{64} << 10);

  // Everything reads back, also after reopening.
  ASSERT_TRUE(testing::ExpectBlockEq(*store, 5, big));
  ASSERT_OK(store->Close());
  store.reset();
  store = OpenOrDie(o, dir.path());
  ASSERT_NE(store, nullptr);
  for (uint64_t k = 0; k < 5; ++k) ASSERT_TRUE(testing::ExpectBlockEq(*store, k, Payload(k, 1000)));
  ASSERT_TRUE(testing::ExpectBlockEq(*store, 5, big));
  absl::StatusOr<VerifyReport> v = store->Verify(true);
  ASSERT_OK(v);
  EXPECT_TRUE(v->ok());
}

// (e) Invalid limits are rejected whole: nothing changes.
TEST(ScalingTest, InvalidLimitsChangeNothing) {
  ScratchDir dir;
  Options o = testing::SmallOptions(64 << 10);
  auto store = OpenOrDie(o, dir.path());
  ASSERT_NE(store, nullptr);
  ScalingManager& scaling = store->Scaling();
  const ScalingLimits before = scaling.CurrentLimits();
  const size_t max_payload = store->MaxPayloadSize();

  std::vector<ScalingLimits> bad;
  ScalingLimits l = before;
  l.block_cache_entries = 1;  // valid on its own: must not be applied either
  l.segment_size = (64 << 10) - 1;
  bad.push_back(l);
  l.segment_size = (uint64_t{1} << 40) + 1;
  bad.push_back(l);
  l.segment_size = 0;
  bad.push_back(l);
  l = before;
  l.max_concurrent_writes = 100;
  l.write_queue_warning_depth = 11;
  l.write_queue_critical_depth = 10;
  bad.push_back(l);
  for (const ScalingLimits& b : bad) {
    absl::Status s = scaling.ReconfigureLimits(b);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_NE(s.message().find("ScalingLimits::"), std::string_view::npos) << s;
    EXPECT_TRUE(scaling.CurrentLimits() == before);
    EXPECT_EQ(store->MaxPayloadSize(), max_payload);
  }
  // The edges of the range are accepted.
  l = before;
  l.segment_size = 64 << 10;
  EXPECT_OK(scaling.ReconfigureLimits(l));
  l.segment_size = uint64_t{1} << 40;
  l.write_queue_warning_depth = l.write_queue_critical_depth = 4;
  EXPECT_OK(scaling.ReconfigureLimits(l));
  EXPECT_TRUE(scaling.CurrentLimits() == l);

  // Open applies the same ranges to Options.
  Options bad_options = o;
  bad_options.write_queue_warning_depth = 9;
  bad_options.write_queue_critical_depth = 8;
  ScratchDir other;
  ASSERT_CODE(BlockStore::Open(bad_options, other.path()), absl::StatusCode::kInvalidArgument);
}

// (f) The Prometheus text is well-formed and carries the metrics.
TEST(ScalingTest, PrometheusTextIsWellFormed) {
  ScratchDir dir;
  Options o = testing::SmallOptions(64 << 10);
  o.hot_segments = 1;
  auto store = OpenOrDie(o, dir.path());
  ASSERT_NE(store, nullptr);
  for (uint64_t i = 0; i < 60; ++i) {
    WriteOptions w;
    w.sync = i % 10 == 0;
    ASSERT_OK(store->Append(Payload(i, 4000), w));
  }
  for (uint64_t i = 0; i < 60; ++i) ASSERT_TRUE(store->Get(i).ok());
  const std::string text = store->Scaling().PrometheusText();
  testing::PrometheusParse p = testing::ParsePrometheus(text);
  for (const std::string& problem : p.problems) ADD_FAILURE() << problem;
  const ScalingMetrics m = store->Scaling().GetScalingMetrics();
  EXPECT_EQ(p.samples["segstore_blocks"], 60);
  EXPECT_EQ(p.samples["segstore_highest_block_number"], 59);
  EXPECT_EQ(p.samples["segstore_segments{tier=\"hot\"}"], 2);
  EXPECT_EQ(p.samples["segstore_segments{tier=\"warm\"}"], static_cast<double>(m.segments_warm));
  EXPECT_EQ(p.samples["segstore_segments{tier=\"cold\"}"], 0);
  EXPECT_EQ(p.samples["segstore_block_cache_misses_total"], static_cast<double>(m.block_cache.misses));
  EXPECT_GT(p.samples["segstore_block_cache_misses_total"], 0);
  EXPECT_EQ(p.samples["segstore_sync_rounds_total"], static_cast<double>(m.sync_rounds));
  EXPECT_GT(p.samples["segstore_sync_rounds_total"], 0);
  EXPECT_GT(p.samples["segstore_lock_acquisitions_total{lock=\"commit\"}"], 0);
  EXPECT_EQ(p.samples.count("segstore_lock_wait_seconds_total{lock=\"state\"}"), 1u);
  EXPECT_EQ(p.samples["segstore_backpressure_state"], 0);
  EXPECT_EQ(p.types["segstore_segments"], "gauge");
  EXPECT_EQ(p.types["segstore_journal_writes_total"], "counter");

  // The checker itself catches what it must.
  EXPECT_FALSE(testing::ParsePrometheus("segstore_x 1\n").problems.empty());                        // no TYPE
  EXPECT_FALSE(testing::ParsePrometheus("# HELP segstore_x h\n# TYPE segstore_x counter\nsegstore_x 1\n")
                   .problems.empty());                                                               // _total
  EXPECT_FALSE(testing::ParsePrometheus("# HELP segstore_x h\n# TYPE segstore_x gauge\nsegstore_x one\n")
                   .problems.empty());                                                               // value
  EXPECT_TRUE(testing::ParsePrometheus("# HELP segstore_x h\n# TYPE segstore_x gauge\nsegstore_x{a=\"b\"} 1\n")
                  .problems.empty());

  // An empty store and a read-only open format too.
  ScratchDir empty;
  auto e = OpenOrDie(testing::SmallOptions(), empty.path());
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(testing::ParsePrometheus(e->Scaling().PrometheusText()).problems.empty());
}

// Limits changed over and over while writers and readers run (for TSan).
TEST(ScalingTest, ReconfigureWhileWritingAndReading) {
  ScratchDir dir;
  Options o = testing::SmallOptions(64 << 10);
  o.max_concurrent_writes = 2;
  auto store = OpenOrDie(o, dir.path());
  ASSERT_NE(store, nullptr);
  constexpr int kWriters = 4;
  constexpr int kPerWriter = 150;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        WriteOptions wo;
        wo.sync = i % 50 == 0;
        const uint64_t seed = static_cast<uint64_t>(w) * 100000 + static_cast<uint64_t>(i);
        absl::StatusOr<BlockNumber> n = store->Append(Payload(seed, 500 + static_cast<size_t>(i) * 13 % 3000), wo);
        if (!n.ok()) ++failures;
      }
    });
  }
  threads.emplace_back([&] {
    uint64_t k = 0;
    while (!done.load()) {
      std::optional<BlockNumber> hi = store->HighestNumber();
      if (hi) {
        absl::StatusOr<Block> b = store->Get(k++ % (*hi + 1));
        if (!b.ok()) ++failures;
      }
      (void)store->Scaling().GetScalingMetrics();
    }
  });
  std::thread reconfigure([&] {
    ScalingManager& scaling = store->Scaling();
    for (int round = 0; !done.load(); ++round) {
      ScalingLimits l = scaling.CurrentLimits();
      const size_t r = static_cast<size_t>(round);
      l.block_cache_entries = r % 3 * 20;
      l.block_cache_bytes = (r % 2 + 1) << 20;
      l.manifest_cache_entries = r % 4;
      l.hot_segments = r % 3;
      l.max_concurrent_writes = r % 4 + 1;
      l.segment_size = (r % 2 == 0 ? uint64_t{64} : uint64_t{128}) << 10;
      l.write_queue_warning_depth = r % 5;
      l.write_queue_critical_depth = r % 5 + 1;
      if (!scaling.ReconfigureLimits(l).ok()) ++failures;
      (void)scaling.PrometheusText();
      absl::SleepFor(absl::Microseconds(200));
    }
  });
  for (int w = 0; w < kWriters; ++w) threads[static_cast<size_t>(w)].join();
  done = true;
  threads.back().join();
  reconfigure.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store->BlockCount(), uint64_t{kWriters * kPerWriter});
  absl::StatusOr<VerifyReport> v = store->Verify(true);
  ASSERT_OK(v);
  EXPECT_TRUE(v->ok());
}

}  // namespace
}  // namespace segstore
