// Helpers shared by the benchmark programs: deterministic payloads, timing
// and percentiles, /proc/self/{io,status} readers, page-cache dropping.
// Header-only; benchmarks only.

#ifndef SEGSTORE_BENCH_BENCH_UTIL_H_
#define SEGSTORE_BENCH_BENCH_UTIL_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

// A failed operation inside a benchmark: the harness turns it into
// SkipWithError (or exit 1 in plain programs).
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void Fail(const std::string& what) { throw Failure(what); }

inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A fixed pool of pseudo-random (incompressible) bytes. The payload of block
// n with a given size is a window of it starting at an offset derived from
// n, so every reader can check what it got without keeping a copy, and no
// two neighbouring blocks are equal.
class PayloadPool {
 public:
  static constexpr size_t kWindow = size_t{8} << 20;      // distinct start offsets
  static constexpr size_t kMaxPayload = size_t{4} << 20;  // largest payload served

  static const PayloadPool& Get() {
    static const PayloadPool* pool = new PayloadPool();
    return *pool;
  }

  std::string_view Payload(uint64_t n, size_t size) const {
    if (size > kMaxPayload) Fail("payload larger than the pool");
    const size_t off = static_cast<size_t>(SplitMix64(n * 0x2545F4914F6CDD1Dull + 7) % kWindow);
    return std::string_view(bytes_.data() + off, size);
  }

 private:
  PayloadPool() : bytes_(kWindow + kMaxPayload, '\0') {
    uint64_t s = 0x5eed;
    for (size_t i = 0; i + 8 <= bytes_.size(); i += 8) {
      uint64_t v = SplitMix64(s++);
      std::memcpy(bytes_.data() + i, &v, 8);
    }
  }
  std::string bytes_;
};

// Block sizes of the memory benchmark: 64..512 bytes, deterministic in n.
inline size_t SmallSize(uint64_t n) { return 64 + static_cast<size_t>(SplitMix64(n ^ 0xabcdef) % 449); }

inline void Check(uint64_t n, std::string_view got, std::string_view want) {
  if (got.size() != want.size() || std::memcmp(got.data(), want.data(), want.size()) != 0) {
    Fail("block " + std::to_string(n) + ": read back " + std::to_string(got.size()) +
         " bytes that differ from the " + std::to_string(want.size()) + " bytes written");
  }
}

using Clock = std::chrono::steady_clock;
inline double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
inline uint64_t Nanos(Clock::time_point a, Clock::time_point b) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}

// Per-operation latencies in nanoseconds. Reserve (and touch) the storage
// before timing so that the first touch of fresh pages is not measured.
class Latencies {
 public:
  explicit Latencies(size_t expected = 0) { Reserve(expected); }
  void Reserve(size_t n) {
    ns_.resize(n);
    std::fill(ns_.begin(), ns_.end(), 0);
    ns_.clear();
  }
  void Add(uint64_t ns) { ns_.push_back(ns); }
  void Append(const Latencies& o) { ns_.insert(ns_.end(), o.ns_.begin(), o.ns_.end()); }
  size_t size() const { return ns_.size(); }
  // q in [0, 1]; nearest-rank percentile, in microseconds.
  double PercentileUs(double q) {
    if (ns_.empty()) return 0;
    if (!sorted_) {
      std::sort(ns_.begin(), ns_.end());
      sorted_ = true;
    }
    size_t rank = static_cast<size_t>(q * static_cast<double>(ns_.size()));
    if (rank >= ns_.size()) rank = ns_.size() - 1;
    return static_cast<double>(ns_[rank]) / 1000.0;
  }
  double MeanUs() const {
    if (ns_.empty()) return 0;
    return static_cast<double>(std::accumulate(ns_.begin(), ns_.end(), uint64_t{0})) /
           static_cast<double>(ns_.size()) / 1000.0;
  }
  double TotalSeconds() const {
    return static_cast<double>(std::accumulate(ns_.begin(), ns_.end(), uint64_t{0})) / 1e9;
  }

 private:
  std::vector<uint64_t> ns_;
  bool sorted_ = false;
};

// /proc/self/io: bytes this process (all threads) caused to be written to
// the storage layer, minus those cancelled by truncating dirty pages.
struct IoCounters {
  uint64_t write_bytes = 0;
  uint64_t cancelled_write_bytes = 0;
  uint64_t read_bytes = 0;
  uint64_t Written() const { return write_bytes - std::min(write_bytes, cancelled_write_bytes); }
};

inline IoCounters ReadIo() {
  IoCounters c;
  std::ifstream f("/proc/self/io");
  std::string key;
  uint64_t v;
  while (f >> key >> v) {
    if (key == "write_bytes:") c.write_bytes = v;
    if (key == "cancelled_write_bytes:") c.cancelled_write_bytes = v;
    if (key == "read_bytes:") c.read_bytes = v;
  }
  return c;
}

// /proc/self/status fields in KiB (RssAnon, RssFile, RssShmem, VmRSS, VmHWM).
inline std::map<std::string, uint64_t> ReadStatus() {
  std::map<std::string, uint64_t> out;
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    if (key != "RssAnon" && key != "RssFile" && key != "RssShmem" && key != "VmRSS" && key != "VmHWM") continue;
    out[key] = std::strtoull(line.c_str() + colon + 1, nullptr, 10);
  }
  return out;
}

// Writes back and drops the page cache of a file (the data must be clean to
// be dropped, so it is fdatasync'ed first). Pages that some mapping still
// has resident are left alone by the kernel.
inline void DropFileCache(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

inline void DropTreeCache(const std::string& dir) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) DropFileCache(it->path().string());
  }
}

// Sum of regular file sizes under dir, optionally skipping names for which
// skip(name) is true.
template <typename Skip>
uint64_t TreeBytes(const std::string& dir, Skip skip) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    if (skip(it->path().filename().string())) continue;
    total += it->file_size(ec);
  }
  return total;
}
inline uint64_t TreeBytes(const std::string& dir) {
  return TreeBytes(dir, [](const std::string&) { return false; });
}

inline void RemoveTree(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

inline std::string HumanBytes(double b) {
  char buf[64];
  if (b >= 1 << 30) {
    std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1 << 30));
  } else if (b >= 1 << 20) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1 << 20));
  } else {
    std::snprintf(buf, sizeof buf, "%.0f KiB", b / 1024);
  }
  return buf;
}

}  // namespace bench

#endif  // SEGSTORE_BENCH_BENCH_UTIL_H_
