// Bounded memory at scale (issue 6): appends many small blocks (64..512
// bytes, deterministic), then reads a random fraction of them back, checking
// every byte, and samples /proc/self/status (RssAnon, RssFile) as it goes.
// Prints a markdown table of resident memory against blocks written.
//
//   build/bench/memory_bench                  # 10,000,000 blocks, sample every 500,000
//   build/bench/memory_bench --quick          # 1,000,000 blocks, sample every 100,000
//   build/bench/memory_bench --blocks=N --sample_every=K --read_fraction=0.01 --dir=D --keep
//
// The store uses default Options, whose bounds are printed with the table:
// anonymous memory should stay within the caches' budgets plus a fixed
// overhead, file-backed memory within (hot_segments + 1) x segment_size.

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench_util.h"
#include "segstore/segstore.h"

namespace {

using bench::Clock;

struct Sample {
  std::string phase;
  uint64_t blocks = 0;  // written so far (append) or read so far (read)
  double seconds = 0;
  std::map<std::string, uint64_t> status;
  segstore::StoreStats stats;
};

double MiB(uint64_t kib) { return static_cast<double>(kib) / 1024.0; }

}  // namespace

int main(int argc, char** argv) {
  uint64_t blocks = 10'000'000;
  uint64_t sample_every = 500'000;
  double read_fraction = 0.01;
  std::string dir = "/tmp/segstore-memory-bench";
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> std::optional<std::string> {
      std::string f = std::string(flag) + "=";
      if (a.rfind(f, 0) == 0) return a.substr(f.size());
      return std::nullopt;
    };
    if (a == "--quick") {
      blocks = 1'000'000;
      sample_every = 100'000;
    } else if (auto v = value("--blocks")) {
      blocks = std::strtoull(v->c_str(), nullptr, 10);
    } else if (auto v2 = value("--sample_every")) {
      sample_every = std::max<uint64_t>(1, std::strtoull(v2->c_str(), nullptr, 10));
    } else if (auto v3 = value("--read_fraction")) {
      read_fraction = std::strtod(v3->c_str(), nullptr);
    } else if (auto v4 = value("--dir")) {
      dir = *v4;
    } else if (a == "--keep") {
      keep = true;
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--blocks=N] [--sample_every=K] [--read_fraction=F] [--dir=D] [--keep]\n",
                   argv[0]);
      return 2;
    }
  }
  try {
    bench::RemoveTree(dir);
    const bench::PayloadPool& pool = bench::PayloadPool::Get();
    std::vector<Sample> samples;
    Sample base;
    base.phase = "before open";
    base.status = bench::ReadStatus();
    samples.push_back(base);

    segstore::Options o;
    o.create_if_missing = true;
    auto opened = segstore::BlockStore::Open(o, dir);
    if (!opened.ok()) bench::Fail("open: " + opened.status().ToString());
    std::unique_ptr<segstore::BlockStore> store = *std::move(opened);

    auto take = [&](const std::string& phase, uint64_t n, Clock::time_point t0) {
      Sample s;
      s.phase = phase;
      s.blocks = n;
      s.seconds = bench::Seconds(t0, Clock::now());
      s.status = bench::ReadStatus();
      s.stats = store->GetStats();
      samples.push_back(s);
      std::fprintf(stderr, "%s %" PRIu64 ": RssAnon %.1f MiB, RssFile %.1f MiB, %.1f s\n", phase.c_str(), n,
                   MiB(s.status["RssAnon"]), MiB(s.status["RssFile"]), s.seconds);
    };
    auto t0 = Clock::now();
    take("opened", 0, t0);
    uint64_t payload_bytes = 0;
    for (uint64_t n = 0; n < blocks; ++n) {
      std::string_view p = pool.Payload(n, bench::SmallSize(n));
      absl::StatusOr<segstore::BlockNumber> got = store->Append(p);
      if (!got.ok()) bench::Fail("append: " + got.status().ToString());
      if (*got != n) bench::Fail("append returned " + std::to_string(*got));
      payload_bytes += p.size();
      if ((n + 1) % sample_every == 0) take("append", n + 1, t0);
    }
    if (blocks % sample_every != 0) take("append", blocks, t0);
    if (auto s = store->Sync(); !s.ok()) bench::Fail("sync: " + s.ToString());
    const double append_seconds = bench::Seconds(t0, Clock::now());

    const uint64_t reads = static_cast<uint64_t>(static_cast<double>(blocks) * read_fraction);
    const uint64_t read_sample = std::max<uint64_t>(1, reads / 5);
    auto r0 = Clock::now();
    for (uint64_t i = 0; i < reads; ++i) {
      uint64_t n = bench::SplitMix64(i ^ 0x77) % blocks;
      absl::StatusOr<segstore::Block> b = store->Get(n);
      if (!b.ok()) bench::Fail("get " + std::to_string(n) + ": " + b.status().ToString());
      bench::Check(n, b->data(), pool.Payload(n, bench::SmallSize(n)));
      if ((i + 1) % read_sample == 0) take("read", i + 1, r0);
    }
    const double read_seconds = bench::Seconds(r0, Clock::now());
    segstore::StoreStats final_stats = store->GetStats();
    if (auto s = store->Close(); !s.ok()) bench::Fail("close: " + s.ToString());
    store.reset();

    // The table.
    std::printf("memory_bench: %" PRIu64 " blocks of 64..512 B (%.2f GiB of payload), then %" PRIu64
                " random reads (%.2g%%), every read checked\n",
                blocks, static_cast<double>(payload_bytes) / (1 << 30), reads, read_fraction * 100);
    std::printf("appends: %.1f s (%.0f blocks/s); reads: %.2f s (%.0f reads/s)\n", append_seconds,
                static_cast<double>(blocks) / append_seconds, read_seconds,
                reads > 0 ? static_cast<double>(reads) / read_seconds : 0.0);
    std::printf("bounds (default Options): block cache %s, footer cache %s, RocksDB memtables %s, "
                "mapped: %zu hot + 1 active segment of %s = %s\n\n",
                bench::HumanBytes(static_cast<double>(o.block_cache_bytes)).c_str(),
                bench::HumanBytes(static_cast<double>(o.manifest_cache_bytes)).c_str(),
                bench::HumanBytes(static_cast<double>(o.meta_memtable_bytes)).c_str(), o.hot_segments,
                bench::HumanBytes(static_cast<double>(o.segment_size)).c_str(),
                bench::HumanBytes(static_cast<double>((o.hot_segments + 1) * o.segment_size)).c_str());
    std::printf("| phase | blocks | RssAnon MiB | RssFile MiB | VmRSS MiB | segments | mapped | journal shards | block cache entries | s |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    uint64_t max_anon = 0, max_file = 0;
    for (Sample& s : samples) {
      max_anon = std::max(max_anon, s.status["RssAnon"]);
      max_file = std::max(max_file, s.status["RssFile"]);
      std::printf("| %s | %" PRIu64 " | %.1f | %.1f | %.1f | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " | %" PRIu64
                  " | %.1f |\n",
                  s.phase.c_str(), s.blocks, MiB(s.status["RssAnon"]), MiB(s.status["RssFile"]),
                  MiB(s.status["VmRSS"]), s.stats.segments, s.stats.mapped_segments, s.stats.live_journal_shards,
                  s.stats.block_cache_entries, s.seconds);
    }
    // Growth between the first append sample and the last one.
    const Sample* first = nullptr;
    const Sample* last = nullptr;
    for (const Sample& s : samples) {
      if (s.phase != "append") continue;
      if (!first) first = &s;
      last = &s;
    }
    std::printf("\nmax RssAnon %.1f MiB, max RssFile %.1f MiB, VmHWM %.1f MiB; segments %" PRIu64
                ", block cache hits %" PRIu64 " / misses %" PRIu64 ", footer cache hits %" PRIu64
                " / misses %" PRIu64 "\n",
                MiB(max_anon), MiB(max_file), MiB(bench::ReadStatus()["VmHWM"]), final_stats.segments,
                final_stats.block_cache_hits, final_stats.block_cache_misses, final_stats.manifest_cache_hits,
                final_stats.manifest_cache_misses);
    if (first && last && last->blocks > first->blocks) {
      const double per_m = 1e6 / static_cast<double>(last->blocks - first->blocks);
      std::printf("growth from %" PRIu64 " to %" PRIu64 " blocks: RssAnon %+.2f MiB per million blocks, "
                  "RssFile %+.2f MiB per million blocks\n",
                  first->blocks, last->blocks,
                  (MiB(last->status.at("RssAnon")) - MiB(first->status.at("RssAnon"))) * per_m,
                  (MiB(last->status.at("RssFile")) - MiB(first->status.at("RssFile"))) * per_m);
    }
    if (!keep) bench::RemoveTree(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "memory_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
