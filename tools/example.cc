// segstore_example: appends blocks, reads every one back, reopens the store
// in the middle, and prints a summary. The smallest end-to-end use of the
// library.
//
//   segstore_example [--dir DIR] [--mib N] [--block-kib K] [--keep]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "segstore/segstore.h"

namespace {

std::string PayloadFor(uint64_t n, size_t size) {
  std::string s(size, '\0');
  std::mt19937_64 rng(n);
  for (size_t i = 0; i + 8 <= size; i += 8) {
    uint64_t v = rng();
    std::memcpy(s.data() + i, &v, 8);
  }
  return s;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int Fail(const char* what, const absl::Status& s) {
  std::fprintf(stderr, "segstore_example: %s: %s\n", what, s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/segstore-example";
  uint64_t mib = 1024;
  uint64_t block_kib = 64;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "segstore_example: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--dir") {
      dir = next();
    } else if (a == "--mib") {
      mib = std::strtoull(next(), nullptr, 10);
    } else if (a == "--block-kib") {
      block_kib = std::strtoull(next(), nullptr, 10);
    } else if (a == "--keep") {
      keep = true;
    } else {
      std::fprintf(stderr, "usage: segstore_example [--dir DIR] [--mib N] [--block-kib K] [--keep]\n");
      return 2;
    }
  }
  if (mib == 0 || block_kib == 0 || block_kib > 32 * 1024) {
    std::fprintf(stderr, "segstore_example: --mib and --block-kib must be positive (block at most 32 MiB)\n");
    return 2;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);

  segstore::Options options;
  options.create_if_missing = true;
  const size_t block = static_cast<size_t>(block_kib) << 10;
  const uint64_t blocks = (mib << 20) / block;
  const uint64_t half = blocks / 2;

  auto store_or = segstore::BlockStore::Open(options, dir);
  if (!store_or.ok()) return Fail("open", store_or.status());
  std::unique_ptr<segstore::BlockStore> store = *std::move(store_or);

  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t n = 0; n < blocks; ++n) {
    if (n == half) {  // reopen in the middle: Close makes everything durable
      if (absl::Status s = store->Close(); !s.ok()) return Fail("close", s);
      store.reset();
      store_or = segstore::BlockStore::Open(options, dir);
      if (!store_or.ok()) return Fail("reopen", store_or.status());
      store = *std::move(store_or);
    }
    absl::StatusOr<segstore::BlockNumber> got = store->Append(PayloadFor(n, block));
    if (!got.ok()) return Fail("append", got.status());
    if (*got != n) {
      std::fprintf(stderr, "segstore_example: append returned %llu, expected %llu\n",
                   static_cast<unsigned long long>(*got), static_cast<unsigned long long>(n));
      return 1;
    }
  }
  if (absl::Status s = store->Sync(); !s.ok()) return Fail("sync", s);
  const double write_s = Seconds(t0);

  auto t1 = std::chrono::steady_clock::now();
  for (uint64_t n = 0; n < blocks; ++n) {
    absl::StatusOr<segstore::Block> b = store->Get(n);
    if (!b.ok()) return Fail("get", b.status());
    if (b->data() != PayloadFor(n, block)) {
      std::fprintf(stderr, "segstore_example: block %llu reads back different bytes\n",
                   static_cast<unsigned long long>(n));
      return 1;
    }
  }
  const double read_s = Seconds(t1);
  segstore::StoreStats st = store->GetStats();
  if (absl::Status s = store->Close(); !s.ok()) return Fail("close", s);

  const double mb = static_cast<double>(blocks * block) / 1e6;
  std::printf("segstore_example: %s\n", dir.c_str());
  std::printf("  wrote %llu blocks of %zu bytes (%.0f MB) in %.2f s: %.0f MB/s (reopened at block %llu)\n",
              static_cast<unsigned long long>(blocks), block, mb, write_s, mb / write_s,
              static_cast<unsigned long long>(half));
  std::printf("  read back and checked every block in %.2f s: %.0f MB/s\n", read_s, mb / read_s);
  std::printf("  segments: %llu (%llu sealed), live journal shards: %llu\n",
              static_cast<unsigned long long>(st.segments), static_cast<unsigned long long>(st.sealed_segments),
              static_cast<unsigned long long>(st.live_journal_shards));
  if (!keep) std::filesystem::remove_all(dir, ec);
  return 0;
}
