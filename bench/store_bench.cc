// segstore side by side with the alternatives a user would otherwise pick
// (issue 6): RocksDB (key = big-endian block number, value = payload,
// default options, WAL on), RocksDB with BlobDB (enable_blob_files,
// min_blob_size = 0), and a plain file written with write() + fdatasync
// (the physical floor; for bulk appends also with its size reserved first,
// "file_fallocate"). Every benchmark runs one whole workload ("row") as one
// manually timed iteration and reports its own counters:
//
//   bytes_per_second, items_per_second   rates over the timed operations
//   p50_us, p99_us, mean_us              per-operation latency
//   write_amp, write_amp_net             bytes written to storage (from
//                                        /proc/self/io) per payload byte
//   syncs_per_sync_point, syncs_per_block, syncs
//                                        fdatasync + fsync calls of the
//                                        whole process (counted below)
//
// Benchmarks are named FAMILY/SYSTEM/PARAM, for example append/segstore/4096
// or get_cold/rocksdb/1048576; bench/compare.sh runs them one per process,
// alternating the systems, and tabulates medians and ratios. Every read is
// compared with the bytes written (a deterministic payload); the comparison
// is outside the timed part of each operation. Run by hand:
//
//   build/bench/store_bench --scale=quick --benchmark_filter='^get_warm/'
//
// Flags (before the Google Benchmark flags): --scale=quick|full (default
// quick), --data_dir=DIR (default /tmp/segstore-bench; read-row datasets are
// built there once and reused; keep it on the disk under test),
// --meta_blocks=N (blocks of the meta_bytes row; default 1,000,000 full,
// 100,000 quick).

#include <benchmark/benchmark.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "segstore/segstore.h"

// Every fdatasync/fsync of this process, from segstore, RocksDB or the
// file floor, is counted: the executable's definitions interpose on libc's
// for the shared libraries too, and issue the system calls themselves.
std::atomic<uint64_t> g_fdatasyncs{0};
std::atomic<uint64_t> g_fsyncs{0};
extern "C" int fdatasync(int fd) {
  g_fdatasyncs.fetch_add(1, std::memory_order_relaxed);
  return static_cast<int>(::syscall(SYS_fdatasync, fd));
}
extern "C" int fsync(int fd) {
  g_fsyncs.fetch_add(1, std::memory_order_relaxed);
  return static_cast<int>(::syscall(SYS_fsync, fd));
}

namespace {

using bench::Clock;
using bench::Fail;
using bench::Latencies;
using bench::PayloadPool;

// ---------------------------------------------------------------------------
// Sizes

struct Scale {
  uint64_t append_bytes;        // per bulk-append row
  uint64_t append_max_blocks;   // cap for small payloads
  uint64_t durable64_blocks;    // 4 KiB blocks, sync every 64
  uint64_t durable1_blocks;     // 4 KiB blocks, sync every block
  uint64_t thread_blocks;       // total per thread-count row
  uint64_t read_bytes;          // dataset per read row
  uint64_t warm_gets;           // random gets per warm/cached row (4 KiB)
  uint64_t warm_gets_large;     // ... of 1 MiB
  uint64_t cold_gets;           // distinct blocks per cold row (4 KiB)
  uint64_t cold_gets_large;     // ... of 1 MiB
  uint64_t scan_passes;
  uint64_t open_clean_samples;
  uint64_t open_crash_samples;
  uint64_t rebuild_bytes;
  uint64_t meta_blocks;
};

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

const Scale kFull = {
    /*append_bytes=*/kGiB,       /*append_max_blocks=*/1'000'000,
    /*durable64_blocks=*/32768,  /*durable1_blocks=*/2000,
    /*thread_blocks=*/4000,      /*read_bytes=*/256 * kMiB,
    /*warm_gets=*/200'000,       /*warm_gets_large=*/2000,
    /*cold_gets=*/4000,          /*cold_gets_large=*/256,
    /*scan_passes=*/4,           /*open_clean_samples=*/21,
    /*open_crash_samples=*/11,   /*rebuild_bytes=*/kGiB,
    /*meta_blocks=*/1'000'000,
};
const Scale kQuick = {
    /*append_bytes=*/64 * kMiB,  /*append_max_blocks=*/100'000,
    /*durable64_blocks=*/4096,   /*durable1_blocks=*/200,
    /*thread_blocks=*/400,       /*read_bytes=*/32 * kMiB,
    /*warm_gets=*/20'000,        /*warm_gets_large=*/200,
    /*cold_gets=*/1000,          /*cold_gets_large=*/32,
    /*scan_passes=*/2,           /*open_clean_samples=*/7,
    /*open_crash_samples=*/5,    /*rebuild_bytes=*/128 * kMiB,
    /*meta_blocks=*/100'000,
};

Scale g_scale = kQuick;
std::string g_scale_name = "quick";
std::string g_data_dir = "/tmp/segstore-bench";
std::string g_self;  // path of this executable, for the crash child

// ---------------------------------------------------------------------------
// Error plumbing

void Must(const absl::Status& s, const std::string& what) {
  if (!s.ok()) Fail(what + ": " + s.ToString());
}
template <typename T>
T Must(absl::StatusOr<T> s, const std::string& what) {
  if (!s.ok()) Fail(what + ": " + s.status().ToString());
  return *std::move(s);
}
void Must(const rocksdb::Status& s, const std::string& what) {
  if (!s.ok()) Fail(what + ": " + s.ToString());
}
void MustSys(bool ok, const std::string& what) {
  if (!ok) Fail(what + ": " + std::strerror(errno));
}

std::string BigEndian(uint64_t n) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i) {
    k[static_cast<size_t>(i)] = static_cast<char>(n & 0xff);
    n >>= 8;
  }
  return k;
}
uint64_t FromBigEndian(const rocksdb::Slice& s) {
  if (s.size() != 8) Fail("malformed key");
  uint64_t n = 0;
  for (size_t i = 0; i < 8; ++i) n = (n << 8) | static_cast<unsigned char>(s[i]);
  return n;
}

// ---------------------------------------------------------------------------
// The systems

// kFilePrealloc: the file floor with the file's whole size reserved first
// (posix_fallocate), as segstore does for each segment; bulk appends only.
enum class Kind { kSegstore, kRocksDB, kBlobDB, kFile, kFilePrealloc };

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kSegstore: return "segstore";
    case Kind::kRocksDB: return "rocksdb";
    case Kind::kBlobDB: return "blobdb";
    case Kind::kFile: return "file";
    case Kind::kFilePrealloc: return "file_fallocate";
  }
  return "?";
}

// What a read leaves behind; the returned view points into it.
struct ReadHandle {
  segstore::Block block;
  rocksdb::PinnableSlice pinned;
  std::string buf;
};

struct SystemOptions {
  // segstore
  size_t hot_segments = 4;
  size_t block_cache_entries = 100'000;
  size_t block_cache_bytes = size_t{256} << 20;
  uint64_t segment_size = uint64_t{64} << 20;
  bool verify_checksum = true;
  bool fill_cache = true;
  // rocksdb / blobdb: 0 = RocksDB's default block cache (8 MiB)
  size_t rocks_cache_bytes = 0;
  // file: fixed payload size, so block n is at n * payload (reads only)
  size_t file_payload = 0;
  // file: bytes to reserve with posix_fallocate when opening (0: none)
  uint64_t file_prealloc = 0;
};

class System {
 public:
  virtual ~System() = default;
  // Block n (the next number) with this payload.
  virtual void Append(uint64_t n, std::string_view payload, bool sync) = 0;
  virtual void Sync() = 0;
  // Untimed: whatever the system does in the background after a burst of
  // writes (RocksDB: memtable flush and compactions), so write amplification
  // counts it.
  virtual void Settle() {}
  virtual void Close() = 0;
  virtual std::string_view Get(uint64_t n, ReadHandle& h) = 0;
  // Sequential read of blocks [0, count): calls check(n, view) for every
  // block, returns the seconds spent fetching (check excluded).
  virtual double Scan(uint64_t count, const std::function<void(uint64_t, std::string_view)>& check) = 0;
  // Files whose page cache a "cold" read drops.
  virtual std::string DataDir() const = 0;
};

class SegstoreSystem final : public System {
 public:
  SegstoreSystem(const std::string& dir, const SystemOptions& so) : dir_(dir) {
    segstore::Options o;
    o.create_if_missing = true;
    o.hot_segments = so.hot_segments;
    o.block_cache_entries = so.block_cache_entries;
    o.block_cache_bytes = so.block_cache_bytes;
    o.segment_size = so.segment_size;
    ro_.verify_checksum = so.verify_checksum;
    ro_.fill_cache = so.fill_cache;
    store_ = Must(segstore::BlockStore::Open(o, dir), "segstore open " + dir);
  }
  ~SegstoreSystem() override {
    if (store_) (void)store_->Close();
  }
  void Append(uint64_t n, std::string_view payload, bool sync) override {
    segstore::BlockNumber got = Must(store_->Append(payload, {.sync = sync}), "segstore append");
    if (got != n) Fail("segstore appended block " + std::to_string(got) + ", expected " + std::to_string(n));
  }
  void Sync() override { Must(store_->Sync(), "segstore sync"); }
  void Close() override {
    Must(store_->Close(), "segstore close");
    store_.reset();
  }
  std::string_view Get(uint64_t n, ReadHandle& h) override {
    h.block = Must(store_->Get(n, ro_), "segstore get " + std::to_string(n));
    return h.block.data();
  }
  double Scan(uint64_t count, const std::function<void(uint64_t, std::string_view)>& check) override {
    double fetch = 0;
    uint64_t next = 0;
    while (next < count) {
      auto t0 = Clock::now();
      std::vector<segstore::Block> blocks =
          Must(store_->GetRange(next, std::min<uint64_t>(256, count - next), ro_), "segstore range");
      auto t1 = Clock::now();
      fetch += bench::Seconds(t0, t1);
      if (blocks.empty()) Fail("segstore range returned nothing at " + std::to_string(next));
      for (const segstore::Block& b : blocks) {
        if (b.number() != next) Fail("segstore range skipped block " + std::to_string(next));
        check(next++, b.data());
      }
    }
    return fetch;
  }
  std::string DataDir() const override { return dir_ + "/segments"; }
  segstore::BlockStore& store() { return *store_; }

 private:
  std::string dir_;
  std::unique_ptr<segstore::BlockStore> store_;
  segstore::ReadOptions ro_;
};

void WaitForRocksIdle(rocksdb::DB* db) {
  for (;;) {
    uint64_t pending = 0, compactions = 0, flushes = 0;
    db->GetIntProperty(rocksdb::DB::Properties::kCompactionPending, &pending);
    db->GetIntProperty(rocksdb::DB::Properties::kNumRunningCompactions, &compactions);
    db->GetIntProperty(rocksdb::DB::Properties::kNumRunningFlushes, &flushes);
    if (pending == 0 && compactions == 0 && flushes == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

class RocksSystem final : public System {
 public:
  RocksSystem(const std::string& dir, bool blob, const SystemOptions& so) : dir_(dir) {
    rocksdb::Options o;
    o.create_if_missing = true;
    if (blob) {
      o.enable_blob_files = true;
      o.min_blob_size = 0;
    }
    if (so.rocks_cache_bytes > 0) {
      rocksdb::BlockBasedTableOptions t;
      // One shard: with the default 64 shards a 1 MiB block would not fit
      // a shard's share of the budget.
      t.block_cache = rocksdb::NewLRUCache(so.rocks_cache_bytes, /*num_shard_bits=*/0);
      o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
      if (blob) o.blob_cache = rocksdb::NewLRUCache(so.rocks_cache_bytes, /*num_shard_bits=*/0);
    }
    rocksdb::DB* db = nullptr;
    Must(rocksdb::DB::Open(o, dir, &db), "rocksdb open " + dir);
    db_.reset(db);
  }
  ~RocksSystem() override {
    if (db_) (void)db_->Close();
  }
  void Append(uint64_t n, std::string_view payload, bool sync) override {
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    Must(db_->Put(wo, BigEndian(n), rocksdb::Slice(payload.data(), payload.size())), "rocksdb put");
  }
  void Sync() override { Must(db_->SyncWAL(), "rocksdb sync wal"); }
  void Settle() override {
    Must(db_->Flush(rocksdb::FlushOptions()), "rocksdb flush");
    WaitForRocksIdle(db_.get());
  }
  void Close() override {
    Must(db_->Close(), "rocksdb close");
    db_.reset();
  }
  std::string_view Get(uint64_t n, ReadHandle& h) override {
    h.pinned.Reset();
    Must(db_->Get(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), BigEndian(n), &h.pinned),
         "rocksdb get " + std::to_string(n));
    return std::string_view(h.pinned.data(), h.pinned.size());
  }
  double Scan(uint64_t count, const std::function<void(uint64_t, std::string_view)>& check) override {
    // Every Seek/Next is timed on its own (two clock reads, ~50 ns, per
    // block) so that the comparison with the payload is not counted.
    uint64_t ns = 0;
    auto t0 = Clock::now();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    ns += bench::Nanos(t0, Clock::now());
    uint64_t n = 0;
    for (; n < count; ++n) {
      if (!it->Valid()) break;
      if (FromBigEndian(it->key()) != n) Fail("rocksdb scan skipped block " + std::to_string(n));
      check(n, std::string_view(it->value().data(), it->value().size()));
      auto a = Clock::now();
      it->Next();
      ns += bench::Nanos(a, Clock::now());
    }
    Must(it->status(), "rocksdb iterator");
    if (n != count) Fail("rocksdb scan ended at " + std::to_string(n));
    return static_cast<double>(ns) / 1e9;
  }
  std::string DataDir() const override { return dir_; }

 private:
  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
};

class FileSystemFloor final : public System {
 public:
  FileSystemFloor(const std::string& dir, const SystemOptions& so) : dir_(dir), payload_(so.file_payload) {
    std::filesystem::create_directories(dir);
    path_ = dir + "/data";
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    MustSys(fd_ >= 0, "open " + path_);
    off_t end = ::lseek(fd_, 0, SEEK_END);
    MustSys(end >= 0, "lseek");
    end_ = static_cast<uint64_t>(end);
    if (so.file_prealloc > 0) {
      errno = ::posix_fallocate(fd_, 0, static_cast<off_t>(so.file_prealloc));
      MustSys(errno == 0, "posix_fallocate");
    }
  }
  ~FileSystemFloor() override {
    if (fd_ >= 0) ::close(fd_);
  }
  void Append(uint64_t, std::string_view payload, bool sync) override {
    WriteAll(payload);
    if (sync) Sync();
  }
  // Concurrent appends: each writer reserves its range, then pwrite+fdatasync.
  void AppendConcurrent(std::string_view payload, bool sync) {
    uint64_t at = atomic_end_.fetch_add(payload.size());
    size_t done = 0;
    while (done < payload.size()) {
      ssize_t r = ::pwrite(fd_, payload.data() + done, payload.size() - done, static_cast<off_t>(at + done));
      if (r < 0 && errno == EINTR) continue;
      MustSys(r > 0, "pwrite");
      done += static_cast<size_t>(r);
    }
    if (sync) Sync();
  }
  void Sync() override { MustSys(::fdatasync(fd_) == 0, "fdatasync"); }
  void Close() override {
    MustSys(::close(fd_) == 0, "close");
    fd_ = -1;
  }
  std::string_view Get(uint64_t n, ReadHandle& h) override {
    if (h.buf.size() < payload_) h.buf.resize(payload_);
    ReadAt(n * payload_, h.buf.data(), payload_);
    return std::string_view(h.buf.data(), payload_);
  }
  double Scan(uint64_t count, const std::function<void(uint64_t, std::string_view)>& check) override {
    const size_t per = std::max<size_t>(1, kMiB / payload_);
    std::string buf(per * payload_, '\0');
    double fetch = 0;
    if (::lseek(fd_, 0, SEEK_SET) != 0) Fail("lseek");
    for (uint64_t n = 0; n < count;) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(per, count - n)) * payload_;
      auto t0 = Clock::now();
      size_t got = 0;
      while (got < want) {
        ssize_t r = ::read(fd_, buf.data() + got, want - got);
        if (r < 0 && errno == EINTR) continue;
        MustSys(r > 0, "read");
        got += static_cast<size_t>(r);
      }
      fetch += bench::Seconds(t0, Clock::now());
      for (size_t k = 0; k < want / payload_; ++k, ++n) {
        check(n, std::string_view(buf.data() + k * payload_, payload_));
      }
    }
    return fetch;
  }
  std::string DataDir() const override { return dir_; }

 private:
  void WriteAll(std::string_view p) {
    size_t done = 0;
    while (done < p.size()) {
      ssize_t r = ::write(fd_, p.data() + done, p.size() - done);
      if (r < 0 && errno == EINTR) continue;
      MustSys(r > 0, "write");
      done += static_cast<size_t>(r);
    }
    end_ += p.size();
  }
  void ReadAt(uint64_t off, char* dst, size_t n) {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, dst + done, n - done, static_cast<off_t>(off + done));
      if (r < 0 && errno == EINTR) continue;
      MustSys(r > 0, "pread");
      done += static_cast<size_t>(r);
    }
  }

  std::string dir_;
  std::string path_;
  size_t payload_;
  int fd_ = -1;
  uint64_t end_ = 0;
  std::atomic<uint64_t> atomic_end_{0};
};

std::unique_ptr<System> OpenSystem(Kind k, const std::string& dir, const SystemOptions& so = {}) {
  switch (k) {
    case Kind::kSegstore: return std::make_unique<SegstoreSystem>(dir, so);
    case Kind::kRocksDB: return std::make_unique<RocksSystem>(dir, false, so);
    case Kind::kBlobDB: return std::make_unique<RocksSystem>(dir, true, so);
    case Kind::kFile:
    case Kind::kFilePrealloc: return std::make_unique<FileSystemFloor>(dir, so);
  }
  Fail("unknown system");
}

std::string WorkDir(const std::string& name) {
  std::string d = g_data_dir + "/work-" + name;
  bench::RemoveTree(d);
  std::filesystem::create_directories(g_data_dir);
  return d;
}

// ---------------------------------------------------------------------------
// Result reporting

struct Result {
  double seconds = 0;        // the manual time of the iteration
  double bytes = 0;          // payload bytes processed in `seconds`
  double items = 0;
  std::optional<Latencies> lat;
  std::map<std::string, double> extra;
};

void Report(benchmark::State& state, Result& r) {
  state.SetIterationTime(std::max(r.seconds, 1e-9));
  if (r.bytes > 0) state.counters["bytes_per_second"] = r.bytes / r.seconds;
  if (r.items > 0) state.counters["items_per_second"] = r.items / r.seconds;
  if (r.lat && r.lat->size() > 0) {
    state.counters["p50_us"] = r.lat->PercentileUs(0.50);
    state.counters["p99_us"] = r.lat->PercentileUs(0.99);
    state.counters["mean_us"] = r.lat->MeanUs();
  }
  for (auto& [k, v] : r.extra) state.counters[k] = v;
}

void Run(benchmark::State& state, const std::function<Result()>& body) {
  // Write back what earlier runs left dirty, so that it does not land on
  // this run's syncs.
  ::sync();
  for (auto _ : state) {
    try {
      Result r = body();
      Report(state, r);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      break;
    }
  }
}

// ---------------------------------------------------------------------------
// Appends

// Untimed work after the writes, then write amplification over the whole
// life of the system's directory. segstore's settling is a reopen (RocksDB
// replays and flushes the journal's WAL then); the others flush and compact.
void SettleAndMeasure(Kind k, std::unique_ptr<System>& sys, const std::string& dir,
                      const bench::IoCounters& io0, double payload_bytes, Result& r) {
  sys->Settle();
  sys->Close();
  sys.reset();
  if (k == Kind::kSegstore) OpenSystem(k, dir)->Close();
  bench::IoCounters io1 = bench::ReadIo();
  // Gross: every byte dirtied for the disk. Net: minus dirty pages dropped
  // before writeback (a WAL deleted after its memtable was flushed, within
  // the kernel's 30 s writeback delay); a run longer than that would write them.
  r.extra["write_amp"] = static_cast<double>(io1.write_bytes - io0.write_bytes) / payload_bytes;
  r.extra["write_amp_net"] = static_cast<double>(io1.Written() - io0.Written()) / payload_bytes;
  r.extra["space_amp"] = static_cast<double>(bench::TreeBytes(dir)) / payload_bytes;
}

Result BulkAppend(Kind k, size_t payload) {
  const PayloadPool& pool = PayloadPool::Get();
  uint64_t blocks = std::max<uint64_t>(1, std::min(g_scale.append_bytes / payload, g_scale.append_max_blocks));
  const std::string dir = WorkDir("append");
  bench::IoCounters io0 = bench::ReadIo();
  SystemOptions so;
  if (k == Kind::kFilePrealloc) so.file_prealloc = blocks * payload;
  std::unique_ptr<System> sys = OpenSystem(k, dir, so);
  Latencies lat(blocks);
  const uint64_t syncs0 = g_fdatasyncs.load() + g_fsyncs.load();
  auto t0 = Clock::now();
  for (uint64_t n = 0; n < blocks; ++n) {
    auto a = Clock::now();
    sys->Append(n, pool.Payload(n, payload), false);
    lat.Add(bench::Nanos(a, Clock::now()));
  }
  sys->Sync();
  auto t1 = Clock::now();
  Result r;
  r.extra["syncs"] = static_cast<double>(g_fdatasyncs.load() + g_fsyncs.load() - syncs0);
  r.seconds = bench::Seconds(t0, t1);
  r.bytes = static_cast<double>(blocks * payload);
  r.items = static_cast<double>(blocks);
  r.lat = std::move(lat);
  r.extra["blocks"] = static_cast<double>(blocks);
  SettleAndMeasure(k, sys, dir, io0, r.bytes, r);
  bench::RemoveTree(dir);
  return r;
}

Result DurableAppend(Kind k, size_t payload, uint64_t sync_every, uint64_t blocks) {
  const PayloadPool& pool = PayloadPool::Get();
  const std::string dir = WorkDir("durable");
  bench::IoCounters io0 = bench::ReadIo();
  std::unique_ptr<System> sys = OpenSystem(k, dir);
  Latencies lat(blocks);
  const uint64_t syncs0 = g_fdatasyncs.load() + g_fsyncs.load();
  auto t0 = Clock::now();
  for (uint64_t n = 0; n < blocks; ++n) {
    auto a = Clock::now();
    sys->Append(n, pool.Payload(n, payload), (n + 1) % sync_every == 0);
    lat.Add(bench::Nanos(a, Clock::now()));
  }
  sys->Sync();  // a no-op when the last block synced
  auto t1 = Clock::now();
  Result r;
  r.extra["syncs_per_sync_point"] = static_cast<double>(g_fdatasyncs.load() + g_fsyncs.load() - syncs0) /
                                    static_cast<double>((blocks + sync_every - 1) / sync_every);
  r.seconds = bench::Seconds(t0, t1);
  r.bytes = static_cast<double>(blocks * payload);
  r.items = static_cast<double>(blocks);
  r.lat = std::move(lat);
  SettleAndMeasure(k, sys, dir, io0, r.bytes, r);
  bench::RemoveTree(dir);
  return r;
}

// `threads` writers, each appending its share of blocks, all with sync =
// true (group commit) or all without (parallel appenders; 10x the blocks).
Result ThreadedAppend(Kind k, size_t payload, int threads, bool sync) {
  const PayloadPool& pool = PayloadPool::Get();
  const uint64_t total = sync ? g_scale.thread_blocks : 10 * g_scale.thread_blocks;
  const uint64_t per = std::max<uint64_t>(1, total / static_cast<uint64_t>(threads));
  const std::string dir = WorkDir("threads");
  std::unique_ptr<System> sys = OpenSystem(k, dir);
  std::vector<Latencies> lats(static_cast<size_t>(threads));
  for (auto& l : lats) l.Reserve(per);
  std::atomic<uint64_t> next_key{0};
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::string> errors(static_cast<size_t>(threads));
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      try {
        for (uint64_t i = 0; i < per; ++i) {
          const uint64_t key = next_key.fetch_add(1);
          std::string_view p = pool.Payload(key, payload);
          auto a = Clock::now();
          switch (k) {
            case Kind::kSegstore:
              Must(static_cast<SegstoreSystem&>(*sys).store().Append(p, {.sync = sync}), "segstore append");
              break;
            case Kind::kFile:
              static_cast<FileSystemFloor&>(*sys).AppendConcurrent(p, sync);
              break;
            default:
              sys->Append(key, p, sync);
          }
          lats[static_cast<size_t>(t)].Add(bench::Nanos(a, Clock::now()));
        }
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(t)] = e.what();
      }
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  const uint64_t syncs0 = g_fdatasyncs.load() + g_fsyncs.load();
  auto t0 = Clock::now();
  go.store(true);
  for (auto& th : ts) th.join();
  auto t1 = Clock::now();
  const uint64_t syncs = g_fdatasyncs.load() + g_fsyncs.load() - syncs0;
  for (const std::string& e : errors) {
    if (!e.empty()) Fail(e);
  }
  Result r;
  r.seconds = bench::Seconds(t0, t1);
  r.items = static_cast<double>(per * static_cast<uint64_t>(threads));
  r.bytes = r.items * static_cast<double>(payload);
  r.extra["syncs_per_block"] = static_cast<double>(syncs) / r.items;
  Latencies all;
  for (auto& l : lats) all.Append(l);
  r.lat = std::move(all);
  if (k == Kind::kSegstore) {
    uint64_t count = static_cast<SegstoreSystem&>(*sys).store().BlockCount();
    if (count != per * static_cast<uint64_t>(threads)) Fail("segstore holds " + std::to_string(count) + " blocks");
  }
  sys->Close();
  sys.reset();
  bench::RemoveTree(dir);
  return r;
}

// ---------------------------------------------------------------------------
// Read datasets: built once in g_data_dir, reused by every read row.

uint64_t DatasetBlocks(size_t payload) { return std::max<uint64_t>(1, g_scale.read_bytes / payload); }

std::string DatasetDir(Kind k, size_t payload, uint64_t blocks) {
  return g_data_dir + "/data-" + KindName(k) + "-" + std::to_string(payload) + "-" + std::to_string(blocks);
}

// Appends 1 MiB filler blocks after the dataset until the segment holding
// its last block is sealed, so that every dataset block is in a sealed
// segment (which may be unmapped, and is read through the block cache).
void SealDataset(segstore::BlockStore& store, uint64_t first_filler) {
  const uint64_t sealed = store.GetStats().sealed_segments;
  const PayloadPool& pool = PayloadPool::Get();
  for (uint64_t n = first_filler; store.GetStats().sealed_segments == sealed; ++n) {
    Must(store.Append(pool.Payload(n, kMiB)), "segstore filler append");
  }
}

std::string EnsureDataset(Kind k, size_t payload) {
  const uint64_t blocks = DatasetBlocks(payload);
  const std::string dir = DatasetDir(k, payload, blocks);
  if (std::filesystem::exists(dir + "/READY")) return dir;
  bench::RemoveTree(dir);
  std::filesystem::create_directories(dir);
  const std::string data = dir + "/db";
  const PayloadPool& pool = PayloadPool::Get();
  SystemOptions so;
  so.file_payload = payload;
  std::unique_ptr<System> sys = OpenSystem(k, data, so);
  for (uint64_t n = 0; n < blocks; ++n) sys->Append(n, pool.Payload(n, payload), false);
  if (k == Kind::kSegstore) SealDataset(static_cast<SegstoreSystem&>(*sys).store(), blocks);
  sys->Sync();
  sys->Settle();
  sys->Close();
  std::ofstream(dir + "/READY") << blocks << "\n";
  return dir;
}

// Reads every block once (untimed) to map segments and fill caches.
void WarmPass(System& sys, uint64_t blocks, size_t payload) {
  const PayloadPool& pool = PayloadPool::Get();
  ReadHandle h;
  for (uint64_t n = 0; n < blocks; ++n) bench::Check(n, sys.Get(n, h), pool.Payload(n, payload));
}

enum class ReadMode { kWarm, kCached, kCold, kWarmNoVerify };

Result RandomGet(Kind k, size_t payload, ReadMode mode) {
  const PayloadPool& pool = PayloadPool::Get();
  const std::string dir = EnsureDataset(k, payload) + "/db";
  const uint64_t blocks = DatasetBlocks(payload);
  SystemOptions so;
  so.file_payload = payload;
  switch (mode) {
    case ReadMode::kWarm:
    case ReadMode::kWarmNoVerify:
      so.hot_segments = 1 << 20;  // every segment mapped
      so.verify_checksum = mode == ReadMode::kWarm;
      break;
    case ReadMode::kCached:
      so.hot_segments = 0;  // sealed segments read with pread, kept in the block cache
      // Twice the dataset, as RocksDB's cache gets: segstore's cache has 16
      // shards with strict shares, so a cache sized to the dataset exactly
      // evicts in its fuller shards (1 MiB hits fell to 0.27x RocksDB).
      so.block_cache_entries = 2 * blocks + 16;
      so.block_cache_bytes = 2 * (blocks + 16) * (payload + 256);
      so.rocks_cache_bytes = 2 * blocks * payload + (64 << 20);
      break;
    case ReadMode::kCold:
      so.hot_segments = 0;
      break;
  }
  std::unique_ptr<System> sys = OpenSystem(k, dir, so);
  std::vector<uint64_t> order;
  uint64_t gets;
  if (mode == ReadMode::kCold) {
    // Distinct blocks in random order, so that none is served from a cache
    // an earlier get of this run filled.
    gets = std::min<uint64_t>(blocks, payload >= kMiB ? g_scale.cold_gets_large : g_scale.cold_gets);
    order.resize(blocks);
    std::iota(order.begin(), order.end(), uint64_t{0});
    for (uint64_t i = 0; i < gets; ++i) {
      uint64_t j = i + bench::SplitMix64(i + 99) % (blocks - i);
      std::swap(order[i], order[j]);
    }
    order.resize(gets);
    bench::DropTreeCache(sys->DataDir());
  } else {
    gets = payload >= kMiB ? g_scale.warm_gets_large : g_scale.warm_gets;
    order.resize(gets);
    for (uint64_t i = 0; i < gets; ++i) order[i] = bench::SplitMix64(i + 12345) % blocks;
    WarmPass(*sys, blocks, payload);
  }
  segstore::StoreStats before;
  if (k == Kind::kSegstore) before = static_cast<SegstoreSystem&>(*sys).store().GetStats();
  Latencies lat(gets);
  ReadHandle h;
  for (uint64_t n : order) {
    auto a = Clock::now();
    std::string_view got = sys->Get(n, h);
    lat.Add(bench::Nanos(a, Clock::now()));
    bench::Check(n, got, pool.Payload(n, payload));
  }
  Result r;
  r.seconds = lat.TotalSeconds();
  r.items = static_cast<double>(gets);
  r.bytes = static_cast<double>(gets * payload);
  r.extra["blocks"] = static_cast<double>(blocks);
  if (k == Kind::kSegstore) {
    segstore::StoreStats after = static_cast<SegstoreSystem&>(*sys).store().GetStats();
    r.extra["mapped_segments"] = static_cast<double>(after.mapped_segments);
    r.extra["block_cache_hits"] = static_cast<double>(after.block_cache_hits - before.block_cache_hits);
    r.extra["block_cache_misses"] = static_cast<double>(after.block_cache_misses - before.block_cache_misses);
  }
  r.lat = std::move(lat);
  h = ReadHandle();  // a pinned RocksDB block must go before its DB
  sys->Close();
  return r;
}

Result SequentialScan(Kind k, size_t payload) {
  const PayloadPool& pool = PayloadPool::Get();
  const std::string dir = EnsureDataset(k, payload) + "/db";
  const uint64_t blocks = DatasetBlocks(payload);
  SystemOptions so;
  so.file_payload = payload;
  so.hot_segments = 1 << 20;
  std::unique_ptr<System> sys = OpenSystem(k, dir, so);
  auto check = [&](uint64_t n, std::string_view got) { bench::Check(n, got, pool.Payload(n, payload)); };
  sys->Scan(blocks, check);  // warm-up pass
  double fetch = 0;
  for (uint64_t p = 0; p < g_scale.scan_passes; ++p) fetch += sys->Scan(blocks, check);
  Result r;
  r.seconds = fetch;
  r.items = static_cast<double>(blocks * g_scale.scan_passes);
  r.bytes = r.items * static_cast<double>(payload);
  sys->Close();
  return r;
}

// ---------------------------------------------------------------------------
// Open after a clean close and after a crash (segstore only).

constexpr uint64_t kOpenSegmentSize = 64 << 10;  // the smallest allowed
constexpr size_t kOpenPayload = 4096;

segstore::Options OpenOptions() {
  segstore::Options o;
  o.create_if_missing = true;
  o.segment_size = kOpenSegmentSize;
  return o;
}

std::string EnsureOpenDataset(uint64_t segments) {
  const std::string dir = g_data_dir + "/open-" + std::to_string(segments);
  if (std::filesystem::exists(dir + "/READY")) return dir;
  bench::RemoveTree(dir);
  std::filesystem::create_directories(dir);
  auto store = Must(segstore::BlockStore::Open(OpenOptions(), dir + "/store"), "open");
  const PayloadPool& pool = PayloadPool::Get();
  uint64_t n = 0;
  // Fill until the wanted number of segments exists, plus a few blocks in
  // the last (active) one.
  while (store->GetStats().segments < segments) Must(store->Append(pool.Payload(n++, kOpenPayload)), "append");
  for (int i = 0; i < 3; ++i) Must(store->Append(pool.Payload(n++, kOpenPayload)), "append");
  if (store->GetStats().segments != segments) Fail("open dataset: segment count overshot");
  Must(store->Close(), "close");
  std::ofstream(dir + "/READY") << n << "\n";
  return dir;
}

void VerifyOpenStore(segstore::BlockStore& store) {
  const PayloadPool& pool = PayloadPool::Get();
  std::optional<segstore::BlockNumber> hi = store.HighestNumber();
  if (!hi) Fail("store is empty after open");
  for (uint64_t n : {uint64_t{0}, *hi / 2, *hi}) {
    segstore::Block b = Must(store.Get(n), "get after open");
    bench::Check(n, b.data(), pool.Payload(n, kOpenPayload));
  }
}

Result OpenClean(uint64_t segments) {
  const std::string dir = EnsureOpenDataset(segments) + "/store";
  Latencies lat(g_scale.open_clean_samples);
  for (uint64_t i = 0; i < g_scale.open_clean_samples; ++i) {
    auto a = Clock::now();
    auto store = Must(segstore::BlockStore::Open(OpenOptions(), dir), "open");
    auto b = Clock::now();
    if (i > 0) lat.Add(bench::Nanos(a, b));  // the first open is a warm-up
    VerifyOpenStore(*store);
    if (store->GetStats().segments != segments) Fail("segment count changed");
    Must(store->Close(), "close");
  }
  Result r;
  r.seconds = lat.TotalSeconds();
  r.items = static_cast<double>(lat.size());
  r.lat = std::move(lat);
  r.extra["segments"] = static_cast<double>(segments);
  return r;
}

// The crash child: opens the store, appends blocks (acknowledged, not
// synced), then kills itself with SIGKILL.
[[noreturn]] void CrashChild(const std::string& dir, uint64_t blocks) {
  try {
    auto store = Must(segstore::BlockStore::Open(OpenOptions(), dir), "crash child open");
    uint64_t n = store->HighestNumber().value_or(0) + 1;
    const PayloadPool& pool = PayloadPool::Get();
    for (uint64_t i = 0; i < blocks; ++i, ++n) {
      Must(store->Put(n, pool.Payload(n, kOpenPayload)), "crash child put");
    }
    ::raise(SIGKILL);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crash child: %s\n", e.what());
  }
  ::_exit(3);
}

void RunCrashChild(const std::string& dir, uint64_t blocks) {
  pid_t pid = ::fork();
  MustSys(pid >= 0, "fork");
  if (pid == 0) {
    std::string a1 = "--crash_child=" + dir, a2 = "--crash_blocks=" + std::to_string(blocks);
    char* argv[] = {g_self.data(), a1.data(), a2.data(), nullptr};
    ::execv(g_self.c_str(), argv);
    ::_exit(4);
  }
  int status = 0;
  MustSys(::waitpid(pid, &status, 0) == pid, "waitpid");
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) Fail("crash child did not die by SIGKILL");
}

Result OpenCrash(uint64_t segments) {
  const std::string src = EnsureOpenDataset(segments) + "/store";
  const std::string dir = WorkDir("open-crash") + "/store";
  std::filesystem::create_directories(std::filesystem::path(dir).parent_path());
  std::filesystem::copy(src, dir, std::filesystem::copy_options::recursive);
  constexpr uint64_t kCrashBlocks = 5;
  const PayloadPool& pool = PayloadPool::Get();
  Latencies lat(g_scale.open_crash_samples);
  double scanned = 0, clean = 0;
  uint64_t before_segments = 0;
  for (uint64_t i = 0; i < g_scale.open_crash_samples; ++i) {
    uint64_t hi;
    {
      auto s = Must(segstore::BlockStore::Open(OpenOptions(), dir), "open");
      hi = *s->HighestNumber();
      before_segments = s->GetStats().segments;
      Must(s->Close(), "close");
    }
    RunCrashChild(dir, kCrashBlocks);
    auto a = Clock::now();
    auto store = Must(segstore::BlockStore::Open(OpenOptions(), dir), "open after crash");
    auto b = Clock::now();
    if (i > 0) lat.Add(bench::Nanos(a, b));
    const segstore::RecoveryReport& rep = store->LastRecoveryReport();
    scanned += static_cast<double>(rep.bytes_scanned);
    clean += rep.clean ? 1 : 0;
    // Acknowledged blocks survive kill -9.
    if (store->HighestNumber() != hi + kCrashBlocks) Fail("blocks lost in the crash");
    for (uint64_t n = hi + 1; n <= hi + kCrashBlocks; ++n) {
      segstore::Block blk = Must(store->Get(n), "get after crash");
      bench::Check(n, blk.data(), pool.Payload(n, kOpenPayload));
    }
    VerifyOpenStore(*store);
    Must(store->Close(), "close");
  }
  Result r;
  r.seconds = lat.TotalSeconds();
  r.items = static_cast<double>(lat.size());
  r.lat = std::move(lat);
  r.extra["segments"] = static_cast<double>(before_segments);
  r.extra["recovery_bytes_scanned"] = scanned / static_cast<double>(g_scale.open_crash_samples);
  r.extra["reports_clean"] = clean;
  bench::RemoveTree(std::filesystem::path(dir).parent_path().string());
  return r;
}

// ---------------------------------------------------------------------------
// rebuild-index against reading the segment files like `cat`.

constexpr size_t kRebuildPayload = 64 << 10;

std::string EnsureRebuildDataset() {
  const uint64_t blocks = g_scale.rebuild_bytes / kRebuildPayload;
  const std::string dir = g_data_dir + "/rebuild-" + std::to_string(blocks);
  if (std::filesystem::exists(dir + "/READY")) return dir;
  bench::RemoveTree(dir);
  std::filesystem::create_directories(dir);
  SystemOptions so;
  SegstoreSystem sys(dir + "/store", so);
  const PayloadPool& pool = PayloadPool::Get();
  for (uint64_t n = 0; n < blocks; ++n) sys.Append(n, pool.Payload(n, kRebuildPayload), false);
  sys.Close();
  std::ofstream(dir + "/READY") << blocks << "\n";
  return dir;
}

std::vector<std::string> SegmentFiles(const std::string& store) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(store + "/segments")) {
    if (e.path().extension() == ".seg") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

uint64_t CatFiles(const std::vector<std::string>& files) {
  std::vector<char> buf(128 << 10);  // cat's buffer size
  uint64_t total = 0;
  for (const std::string& f : files) {
    int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
    MustSys(fd >= 0, "open " + f);
    for (;;) {
      ssize_t r = ::read(fd, buf.data(), buf.size());
      if (r < 0 && errno == EINTR) continue;
      MustSys(r >= 0, "read " + f);
      if (r == 0) break;
      total += static_cast<uint64_t>(r);
    }
    ::close(fd);
  }
  return total;
}

Result Rebuild(bool segstore_rebuild, bool cold) {
  const std::string store = EnsureRebuildDataset() + "/store";
  const uint64_t blocks = g_scale.rebuild_bytes / kRebuildPayload;
  std::vector<std::string> files = SegmentFiles(store);
  uint64_t bytes = 0;
  for (const std::string& f : files) bytes += std::filesystem::file_size(f);
  for (const auto& e : std::filesystem::directory_iterator(store)) {
    if (e.path().filename().string().rfind("meta.old-", 0) == 0) bench::RemoveTree(e.path().string());
  }
  if (cold) {
    bench::DropTreeCache(store);
  } else {
    CatFiles(files);  // warm the page cache
  }
  Result r;
  auto t0 = Clock::now();
  if (segstore_rebuild) {
    segstore::Options o;
    segstore::RebuildReport rep = Must(segstore::RebuildIndex(o, store), "rebuild-index");
    r.seconds = bench::Seconds(t0, Clock::now());
    if (rep.blocks < blocks) Fail("rebuild-index found " + std::to_string(rep.blocks) + " blocks");
    r.extra["rebuild_bytes_read"] = static_cast<double>(rep.bytes_read);
    if (!rep.old_meta.empty()) bench::RemoveTree(rep.old_meta);
    // The rebuilt index must find the right bytes.
    auto s = Must(segstore::BlockStore::Open(o, store), "open after rebuild");
    const PayloadPool& pool = PayloadPool::Get();
    for (uint64_t i = 0; i < 64; ++i) {
      uint64_t n = i == 0 ? blocks - 1 : bench::SplitMix64(i) % blocks;
      segstore::Block b = Must(s->Get(n), "get after rebuild");
      bench::Check(n, b.data(), pool.Payload(n, kRebuildPayload));
    }
    Must(s->Close(), "close");
  } else {
    uint64_t got = CatFiles(files);
    r.seconds = bench::Seconds(t0, Clock::now());
    if (got != bytes) Fail("cat read " + std::to_string(got) + " of " + std::to_string(bytes) + " bytes");
  }
  r.bytes = static_cast<double>(bytes);
  r.extra["segment_files"] = static_cast<double>(files.size());
  return r;
}

// ---------------------------------------------------------------------------
// Metadata bytes per block after many small blocks, once sealed.

Result MetaBytes(size_t payload) {
  const PayloadPool& pool = PayloadPool::Get();
  const uint64_t blocks = g_scale.meta_blocks;
  const std::string dir = WorkDir("meta");
  SystemOptions so;
  auto sys = std::make_unique<SegstoreSystem>(dir, so);
  auto t0 = Clock::now();
  for (uint64_t n = 0; n < blocks; ++n) sys->Append(n, pool.Payload(n, payload), false);
  auto t1 = Clock::now();
  SealDataset(sys->store(), blocks);
  segstore::StoreStats st = sys->store().GetStats();
  sys->Close();
  sys.reset();
  auto meta_bytes = [&](const std::string& kind) {
    return static_cast<double>(bench::TreeBytes(dir + "/meta", [&](const std::string& name) {
      if (name.rfind("LOG", 0) == 0) return true;  // RocksDB's info log
      if (kind == "all") return false;
      auto ends = [&](const char* suf) {
        return name.size() >= std::strlen(suf) && name.compare(name.size() - std::strlen(suf), std::string::npos, suf) == 0;
      };
      if (kind == "sst") return !ends(".sst");
      if (kind == "wal") return !ends(".log");
      return ends(".sst") || ends(".log");  // "other": MANIFEST, OPTIONS, CURRENT, ...
    }));
  };
  Result r;
  r.seconds = bench::Seconds(t0, t1);
  r.items = static_cast<double>(blocks);
  r.bytes = static_cast<double>(blocks * payload);
  const double b = static_cast<double>(blocks);
  r.extra["meta_bytes_per_block"] = meta_bytes("all") / b;
  r.extra["meta_sst_per_block"] = meta_bytes("sst") / b;
  r.extra["meta_wal_per_block"] = meta_bytes("wal") / b;
  r.extra["meta_other_per_block"] = meta_bytes("other") / b;
  r.extra["sealed_segments"] = static_cast<double>(st.sealed_segments);
  r.extra["live_journal_shards"] = static_cast<double>(st.live_journal_shards);
  // Reopen: RocksDB replays its WAL into a table file and starts a new WAL.
  {
    SegstoreSystem again(dir, so);
    ReadHandle h;
    for (uint64_t n : {uint64_t{0}, blocks / 2, blocks - 1}) bench::Check(n, again.Get(n, h), pool.Payload(n, payload));
    again.Close();
  }
  r.extra["meta_bytes_per_block_reopened"] = meta_bytes("all") / b;
  r.extra["meta_sst_per_block_reopened"] = meta_bytes("sst") / b;
  r.extra["meta_wal_per_block_reopened"] = meta_bytes("wal") / b;
  bench::RemoveTree(dir);
  return r;
}

// ---------------------------------------------------------------------------
// Registration

void Register(const std::string& name, std::function<Result()> body) {
  benchmark::RegisterBenchmark(name.c_str(), [body](benchmark::State& st) { Run(st, body); })
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

void RegisterAll() {
  const Kind all[] = {Kind::kSegstore, Kind::kRocksDB, Kind::kBlobDB, Kind::kFile};
  for (size_t payload : {size_t{256}, size_t{4096}, size_t{64} << 10, size_t{1} << 20}) {
    for (Kind k : {Kind::kSegstore, Kind::kRocksDB, Kind::kBlobDB, Kind::kFile, Kind::kFilePrealloc}) {
      Register(std::string("append/") + KindName(k) + "/" + std::to_string(payload),
               [k, payload] { return BulkAppend(k, payload); });
    }
  }
  for (Kind k : all) {
    Register(std::string("durable64/") + KindName(k) + "/4096",
             [k] { return DurableAppend(k, 4096, 64, g_scale.durable64_blocks); });
    Register(std::string("durable1/") + KindName(k) + "/4096",
             [k] { return DurableAppend(k, 4096, 1, g_scale.durable1_blocks); });
  }
  for (int t : {1, 2, 4, 8}) {
    for (Kind k : all) {
      Register(std::string("threads/") + KindName(k) + "/" + std::to_string(t),
               [k, t] { return ThreadedAppend(k, 4096, t, /*sync=*/true); });
      Register(std::string("threads_nosync/") + KindName(k) + "/" + std::to_string(t),
               [k, t] { return ThreadedAppend(k, 4096, t, /*sync=*/false); });
    }
  }
  for (size_t payload : {size_t{4096}, size_t{1} << 20}) {
    for (Kind k : all) {
      const std::string p = "/" + std::string(KindName(k)) + "/" + std::to_string(payload);
      Register("get_warm" + p, [k, payload] { return RandomGet(k, payload, ReadMode::kWarm); });
      Register("get_cold" + p, [k, payload] { return RandomGet(k, payload, ReadMode::kCold); });
      if (k != Kind::kFile) {
        Register("get_cached" + p, [k, payload] { return RandomGet(k, payload, ReadMode::kCached); });
      }
    }
    Register("get_warm_noverify/segstore/" + std::to_string(payload),
             [payload] { return RandomGet(Kind::kSegstore, payload, ReadMode::kWarmNoVerify); });
  }
  for (Kind k : all) {
    Register(std::string("scan/") + KindName(k) + "/4096", [k] { return SequentialScan(k, 4096); });
  }
  for (uint64_t s : {uint64_t{1}, uint64_t{100}, uint64_t{1000}}) {
    Register("open_clean/segstore/" + std::to_string(s), [s] { return OpenClean(s); });
    Register("open_crash/segstore/" + std::to_string(s), [s] { return OpenCrash(s); });
  }
  Register("rebuild/segstore/warm", [] { return Rebuild(true, false); });
  Register("rebuild/cat/warm", [] { return Rebuild(false, false); });
  Register("rebuild/segstore/cold", [] { return Rebuild(true, true); });
  Register("rebuild/cat/cold", [] { return Rebuild(false, true); });
  Register("meta_bytes/segstore/256", [] { return MetaBytes(256); });
  // Builds every read dataset (untimed by the comparison script).
  Register("prepare/all/0", [] {
    for (Kind k : {Kind::kSegstore, Kind::kRocksDB, Kind::kBlobDB, Kind::kFile}) {
      EnsureDataset(k, 4096);
      EnsureDataset(k, kMiB);
    }
    for (uint64_t s : {uint64_t{1}, uint64_t{100}, uint64_t{1000}}) EnsureOpenDataset(s);
    EnsureRebuildDataset();
    Result r;
    r.seconds = 1e-9;
    return r;
  });
}

}  // namespace

int main(int argc, char** argv) {
  g_self = "/proc/self/exe";
  {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) g_self.assign(buf, static_cast<size_t>(n));
  }
  std::vector<char*> rest = {argv[0]};
  std::string crash_dir;
  uint64_t crash_blocks = 0;
  uint64_t meta_blocks = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> std::optional<std::string> {
      std::string f = std::string(flag) + "=";
      if (a.rfind(f, 0) == 0) return a.substr(f.size());
      return std::nullopt;
    };
    if (auto v = value("--scale")) {
      if (*v == "full") {
        g_scale = kFull;
      } else if (*v == "quick") {
        g_scale = kQuick;
      } else {
        std::fprintf(stderr, "--scale must be quick or full\n");
        return 2;
      }
      g_scale_name = *v;
    } else if (auto v2 = value("--data_dir")) {
      g_data_dir = *v2;
    } else if (auto vm = value("--meta_blocks")) {
      meta_blocks = std::strtoull(vm->c_str(), nullptr, 10);
    } else if (auto v3 = value("--crash_child")) {
      crash_dir = *v3;
    } else if (auto v4 = value("--crash_blocks")) {
      crash_blocks = std::strtoull(v4->c_str(), nullptr, 10);
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (meta_blocks > 0) g_scale.meta_blocks = meta_blocks;
  if (!crash_dir.empty()) CrashChild(crash_dir, crash_blocks);
  int rargc = static_cast<int>(rest.size());
  benchmark::Initialize(&rargc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rargc, rest.data())) return 2;
  benchmark::AddCustomContext("scale", g_scale_name);
  benchmark::AddCustomContext("data_dir", g_data_dir);
  RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
