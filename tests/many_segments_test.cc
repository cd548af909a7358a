// A store of 20,000 segments (the smallest segment_size, one block in each)
// opens and reads any block with a bounded number of descriptors and
// mappings: at most Options::max_open_files sealed segment files,
// Options::meta_max_open_files RocksDB table files and a few more, and
// Options::hot_segments + 1 segment mappings, however many segments there
// are. Descriptors are counted in /proc/self/fd and mappings in
// /proc/self/maps: right after writing (store still open), after a reopen,
// while reading a random sample of blocks and after it; after Close, none of
// the store's are left. The same store, reopened with tighter options, stays
// within a correspondingly tighter bound.
//
// SEGSTORE_MANY_SEGMENTS sets the number of segments (default 20,000).

#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "testutil/test_util.h"

namespace segstore {
namespace {

using testing::ExpectBlockEq;
using testing::NumberedPayload;
using testing::ScratchDir;

constexpr uint64_t kSegmentSize = 64 << 10;  // the smallest allowed
// Two of these never fit one 64 KiB segment: one block per segment.
constexpr size_t kMinPayload = 36 << 10;
constexpr size_t kMaxPayload = 40 << 10;
constexpr uint64_t kSeed = 20'000;
constexpr BlockNumber kFirstNumber = 1'000;
constexpr size_t kRandomReads = 2'000;
// Descriptors besides the two LRU-bounded kinds: the process's own (stdio,
// gtest), RocksDB's WAL, MANIFEST, LOCK, LOG and directories, the store's
// lock file and active segment.
constexpr size_t kFdSlack = 64;
// Mappings of store files besides the hot tier and the active segment.
constexpr size_t kMapSlack = 16;

uint64_t SegmentCount() {
  const char* env = std::getenv("SEGSTORE_MANY_SEGMENTS");
  if (env == nullptr || *env == '\0') return 20'000;
  return std::max<uint64_t>(std::strtoull(env, nullptr, 10), 2);
}

std::string Want(BlockNumber n) { return NumberedPayload(kSeed, n, kMinPayload, kMaxPayload); }

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

struct Counts {
  size_t fds = 0;         // entries of /proc/self/fd
  size_t store_fds = 0;   // of them, files under the store directory
  size_t maps = 0;        // lines of /proc/self/maps
  size_t store_maps = 0;  // of them, files under the store directory

  void Max(const Counts& o) {
    fds = std::max(fds, o.fds);
    store_fds = std::max(store_fds, o.store_fds);
    maps = std::max(maps, o.maps);
    store_maps = std::max(store_maps, o.store_maps);
  }
};

bool Under(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
}

// Targets of the open descriptors (without the one reading /proc/self/fd).
std::vector<std::string> FdTargets() {
  std::vector<std::string> out;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) {
    ADD_FAILURE() << "opendir /proc/self/fd";
    return out;
  }
  const std::string self = std::to_string(::dirfd(d));
  while (struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == ".." || name == self) continue;
    std::error_code ec;
    std::filesystem::path target = std::filesystem::read_symlink("/proc/self/fd/" + name, ec);
    out.push_back(ec ? "?" : target.string());
  }
  ::closedir(d);
  return out;
}

// The path column of each /proc/self/maps line ("" for anonymous ones).
std::vector<std::string> MapPaths() {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/maps");
  std::string line;
  while (std::getline(in, line)) {
    const size_t slash = line.find('/');
    out.push_back(slash == std::string::npos ? "" : line.substr(slash));
  }
  return out;
}

Counts Sample(const std::string& dir) {
  Counts c;
  for (const std::string& t : FdTargets()) {
    ++c.fds;
    if (Under(t, dir)) ++c.store_fds;
  }
  for (const std::string& p : MapPaths()) {
    ++c.maps;
    if (Under(p, dir)) ++c.store_maps;
  }
  return c;
}

// What the store holds open, grouped, for a failure message.
std::string Describe(const std::string& dir) {
  std::map<std::string, size_t> fds, maps;
  auto group = [&](const std::string& p) {
    const std::string rel = p.substr(dir.size() + 1);
    return rel.rfind("segments/", 0) == 0 ? std::string("segments/*.seg") : rel;
  };
  for (const std::string& t : FdTargets()) {
    fds[Under(t, dir) ? group(t) : "(outside the store) " + t]++;
  }
  for (const std::string& p : MapPaths()) {
    if (Under(p, dir)) maps[group(p)]++;
  }
  std::string s = "descriptors:\n";
  for (const auto& [k, v] : fds) s += "  " + std::to_string(v) + " x " + k + "\n";
  s += "store mappings:\n";
  for (const auto& [k, v] : maps) s += "  " + std::to_string(v) + " x " + k + "\n";
  return s;
}

struct Variant {
  const char* name;
  size_t max_open_files;
  int meta_max_open_files;
  size_t hot_segments;

  Options MakeOptions() const {
    Options o;
    o.create_if_missing = true;
    o.segment_size = kSegmentSize;
    o.first_block_number = kFirstNumber;
    o.max_open_files = max_open_files;
    o.meta_max_open_files = meta_max_open_files;
    o.hot_segments = hot_segments;
    return o;
  }
  size_t FdBound() const { return max_open_files + static_cast<size_t>(meta_max_open_files) + kFdSlack; }
  size_t MapBound() const { return hot_segments + 1 + kMapSlack; }
};

void Report(const Variant& v, const char* when, const Counts& c) {
  std::printf("many_segments[%s] %-30s fds %4zu (store %4zu)  store maps %3zu  all maps %4zu\n", v.name, when,
              c.fds, c.store_fds, c.store_maps, c.maps);
  std::fflush(stdout);
}

void Check(const Variant& v, const std::string& dir, const char* when, const Counts& c) {
  Report(v, when, c);
  EXPECT_LT(c.fds, v.FdBound()) << v.name << ", " << when << "\n" << Describe(dir);
  EXPECT_LT(c.store_maps, v.MapBound()) << v.name << ", " << when << "\n" << Describe(dir);
}

void CheckClosed(const Variant& v, const std::string& dir) {
  const Counts closed = Sample(dir);
  Report(v, "after close", closed);
  EXPECT_EQ(closed.store_fds, 0u) << v.name << "\n" << Describe(dir);
  EXPECT_EQ(closed.store_maps, 0u) << v.name << "\n" << Describe(dir);
}

// Opens the store and appends blocks [from, to], one segment each, checking
// the bounds while writing and right after (the store still open).
void Write(const Variant& v, const std::string& dir, BlockNumber from, BlockNumber to) {
  const auto t0 = std::chrono::steady_clock::now();
  auto opened = BlockStore::Open(v.MakeOptions(), dir);
  ASSERT_OK(opened);
  BlockStore& store = **opened;
  ASSERT_LT(store.MaxPayloadSize(), 2 * kMinPayload);
  ASSERT_GE(store.MaxPayloadSize(), kMaxPayload);
  Counts writing;
  for (BlockNumber n = from; n <= to; ++n) {
    absl::StatusOr<BlockNumber> got = store.Append(Want(n));
    ASSERT_TRUE(got.ok() && *got == n) << n << ": " << got.status();
    if ((n - from) % 100 == 99) writing.Max(Sample(dir));
  }
  const double write_s = Seconds(t0);
  const StoreStats st = store.GetStats();
  EXPECT_EQ(st.segments, to - kFirstNumber + 1);
  EXPECT_EQ(st.sealed_segments, to - kFirstNumber);
  Check(v, dir, "max while writing", writing);
  Check(v, dir, "(a) after writing, still open", Sample(dir));
  std::printf("many_segments[%s] write (open + %llu appends, non-sync): %.2f s\n", v.name,
              static_cast<unsigned long long>(to - from + 1), write_s);
  ASSERT_OK(store.Close());
  opened->reset();
  CheckClosed(v, dir);
}

// Reopens the store of blocks [kFirstNumber, last] (one per segment) and
// reads the first, the last and kRandomReads random blocks.
void ReopenAndRead(const Variant& v, const std::string& dir, BlockNumber last) {
  const uint64_t segments = last - kFirstNumber + 1;
  auto t0 = std::chrono::steady_clock::now();
  auto reopened = BlockStore::Open(v.MakeOptions(), dir);
  ASSERT_OK(reopened);
  const double open_s = Seconds(t0);
  BlockStore& store = **reopened;
  std::printf("many_segments[%s] reopen of %llu segments: %.3f s\n", v.name,
              static_cast<unsigned long long>(segments), open_s);
  Check(v, dir, "(b) after reopen", Sample(dir));
  EXPECT_TRUE(store.LastRecoveryReport().clean) << store.LastRecoveryReport().ToString();
  EXPECT_EQ(store.LastRecoveryReport().segments_scanned, 1u);
  EXPECT_EQ(store.BlockCount(), segments);
  EXPECT_EQ(store.LowestNumber(), std::optional<BlockNumber>(kFirstNumber));
  EXPECT_EQ(store.HighestNumber(), std::optional<BlockNumber>(last));
  EXPECT_FALSE(store.Contains(last + 1));
  EXPECT_FALSE(store.Contains(kFirstNumber - 1));
  {
    const StoreStats st = store.GetStats();
    EXPECT_EQ(st.segments, segments);
    EXPECT_EQ(st.sealed_segments, segments - 1);
    EXPECT_EQ(st.block_count, segments);
  }

  std::vector<BlockNumber> sample = {kFirstNumber, last};
  std::mt19937_64 rng(kSeed + last);
  std::uniform_int_distribution<BlockNumber> pick(kFirstNumber, last);
  for (size_t i = 0; i < kRandomReads; ++i) sample.push_back(pick(rng));
  t0 = std::chrono::steady_clock::now();
  Counts reading;
  size_t bad = 0;
  for (size_t i = 0; i < sample.size(); ++i) {
    if (!ExpectBlockEq(store, sample[i], Want(sample[i])) && ++bad >= 10) FAIL() << "too many bad blocks";
    if (i % 50 == 25) reading.Max(Sample(dir));
  }
  const double read_s = Seconds(t0);
  Check(v, dir, "(d) max while reading", reading);
  Check(v, dir, "(c) after reading", Sample(dir));
  {
    const StoreStats st = store.GetStats();
    std::printf("many_segments[%s] read %zu blocks (first, last, %zu random; every byte compared): %.3f s; "
                "stats: open_segment_files %llu, mapped_segments %llu\n",
                v.name, sample.size(), kRandomReads, read_s, static_cast<unsigned long long>(st.open_segment_files),
                static_cast<unsigned long long>(st.mapped_segments));
    EXPECT_LE(st.open_segment_files, v.max_open_files);
    EXPECT_LE(st.mapped_segments, v.hot_segments + 1);
  }

  // Verify reads every segment file; it too must stay within the bounds.
  t0 = std::chrono::steady_clock::now();
  absl::StatusOr<VerifyReport> report = store.Verify(/*deep=*/false);
  const double verify_s = Seconds(t0);
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok()) << report->problems.size() << " problems, first: "
                            << (report->problems.empty() ? "" : report->problems[0].what);
  EXPECT_EQ(report->segments, segments);
  EXPECT_EQ(report->blocks_checked, segments);
  std::printf("many_segments[%s] Verify(false): %.3f s, %llu bytes read\n", v.name, verify_s,
              static_cast<unsigned long long>(report->bytes_read));
  Check(v, dir, "after Verify(false)", Sample(dir));

  ASSERT_OK(store.Close());
  reopened->reset();
  CheckClosed(v, dir);
}

// One test, so that the 20,000 segments are written once (each seal costs a
// few fsyncs, which dominate the run time): written and read with the
// default options, then more written and everything read with tighter ones.
TEST(ManySegmentsTest, DescriptorsAndMappingsStayBoundedByTheOptions) {
  const uint64_t segments = SegmentCount();
  constexpr uint64_t kTightExtra = 100;
  const Options defaults;
  const Variant normal{"default", defaults.max_open_files, defaults.meta_max_open_files, defaults.hot_segments};
  const Variant tight{"tight", 32, 16, 1};
  ScratchDir scratch;
  // /proc shows resolved paths.
  const std::string dir = std::filesystem::weakly_canonical(scratch.path()).string();
  for (const Variant* v : {&normal, &tight}) {
    std::printf("many_segments[%s] max_open_files %zu, meta_max_open_files %d, hot_segments %zu: "
                "bounds fds < %zu, store maps < %zu\n",
                v->name, v->max_open_files, v->meta_max_open_files, v->hot_segments, v->FdBound(), v->MapBound());
  }
  Report(normal, "before open", Sample(dir));

  const BlockNumber last = kFirstNumber + segments - 1;
  {
    SCOPED_TRACE("default options");
    ASSERT_NO_FATAL_FAILURE(Write(normal, dir, kFirstNumber, last));
    ASSERT_EQ(testing::SegmentFiles(dir).size(), segments);
    ASSERT_NO_FATAL_FAILURE(ReopenAndRead(normal, dir, last));
  }
  {
    SCOPED_TRACE("tight options");
    ASSERT_NO_FATAL_FAILURE(Write(tight, dir, last + 1, last + kTightExtra));
    ASSERT_EQ(testing::SegmentFiles(dir).size(), segments + kTightExtra);
    ASSERT_NO_FATAL_FAILURE(ReopenAndRead(tight, dir, last + kTightExtra));
  }
}

}  // namespace
}  // namespace segstore
