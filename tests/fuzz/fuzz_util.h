// Shared by the libFuzzer targets: an invariant check that traps, a reader
// of little-endian control bytes, an exact-size copy of the input (so that
// ASan sees any read past its end), a read-only in-memory File and checksum
// fix-ups that let mutated
// headers validate, so that the fuzzer explores past the checksums.

#ifndef SEGSTORE_TESTS_FUZZ_FUZZ_UTIL_H_
#define SEGSTORE_TESTS_FUZZ_FUZZ_UTIL_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "segment/format.h"
#include "segment/record.h"
#include "segstore/file_system.h"
#include "util/checksum.h"
#include "util/coding.h"

// Prints the failed condition, then traps (libFuzzer reports a crash and
// saves the input).
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::fflush(stderr);                                                              \
      __builtin_trap();                                                                 \
    }                                                                                   \
  } while (0)

namespace segstore::fuzz {

// SEGSTORE_FUZZ_VERBOSE=1: each target prints what it did with an input
// (to see what a corpus file exercises).
inline bool Verbose() {
  static const bool v = std::getenv("SEGSTORE_FUZZ_VERBOSE") != nullptr;
  return v;
}

// Findings already reported (tests/fuzz/crashes/README.md) that the checks
// let pass when SEGSTORE_FUZZ_KNOWN names them (comma-separated ids, or
// "all"), so that a long run can go on past them until they are fixed. By
// default every check is on.
inline bool Known(std::string_view id) {
  static const char* env = std::getenv("SEGSTORE_FUZZ_KNOWN");
  if (env == nullptr) return false;
  std::string_view list(env);
  if (list == "all") return true;
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (list.substr(0, comma) == id) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// Consumes control bytes from the front of the input; missing bytes are 0.
class Control {
 public:
  Control(const uint8_t* data, size_t size) : p_(data), n_(size) {}
  uint8_t U8() {
    uint8_t v = 0;
    if (n_ > 0) {
      v = *p_;
      ++p_;
      --n_;
    }
    return v;
  }
  uint32_t U32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{U8()} << (8 * i);
    return v;
  }
  uint64_t U64() {
    uint64_t lo = U32();
    return lo | (uint64_t{U32()} << 32);
  }
  // Everything not consumed yet.
  const uint8_t* rest() const { return p_; }
  size_t rest_size() const { return n_; }

 private:
  const uint8_t* p_;
  size_t n_;
};

// A heap copy of exactly n bytes: unlike std::string (capacity, SSO), any
// read at or past the end is an ASan report.
class ExactBuffer {
 public:
  // new char[0] is a valid pointer to nothing: every read is an error.
  ExactBuffer(const uint8_t* data, size_t n) : n_(n), buf_(new char[n]) {
    if (n > 0) std::memcpy(buf_.get(), data, n);
  }
  char* data() { return buf_.get(); }
  size_t size() const { return n_; }
  std::string_view view() const { return std::string_view(buf_.get(), n_); }

 private:
  size_t n_;
  std::unique_ptr<char[]> buf_;
};

// A read-only File over bytes in memory (a fuzz input or a built image).
class MemFile : public File {
 public:
  explicit MemFile(std::string_view bytes) : bytes_(bytes) {}
  absl::StatusOr<size_t> Read(uint64_t offset, char* dst, size_t n) override {
    if (offset >= bytes_.size()) return size_t{0};
    size_t got = std::min<uint64_t>(n, bytes_.size() - offset);
    std::memcpy(dst, bytes_.data() + offset, got);
    return got;
  }
  absl::Status Write(uint64_t, std::string_view) override { return absl::PermissionDeniedError("read-only"); }
  absl::Status Allocate(uint64_t, uint64_t) override { return absl::PermissionDeniedError("read-only"); }
  absl::Status Truncate(uint64_t) override { return absl::PermissionDeniedError("read-only"); }
  absl::Status Sync() override { return absl::OkStatus(); }
  absl::StatusOr<uint64_t> Size() override { return bytes_.size(); }

 private:
  std::string_view bytes_;
};

// Deterministic pseudo-random numbers from input bytes (splitmix64).
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t s_;
};

// The record seed of the segment an image's header names (whether or not the
// header is valid: only its uuid and segment id bytes are used).
inline uint64_t SeedOfImage(std::string_view image, uint64_t* segment_id) {
  char hdr[40] = {};
  std::memcpy(hdr, image.data(), image.size() < sizeof(hdr) ? image.size() : sizeof(hdr));
  internal::StoreUuid uuid;
  std::memcpy(uuid.data(), hdr + 16, uuid.size());
  *segment_id = internal::DecodeFixed64(hdr + 32);
  return internal::RecordSeed(uuid, *segment_id);
}

// Makes the record header at p (kRecordHeaderSize bytes readable, payload
// bytes after it up to avail) validate under seed: magic, optionally the
// payload checksum (if the payload fits), then the header checksum.
inline void FixRecordHeader(char* p, size_t avail, uint64_t seed, bool fix_payload) {
  using namespace segstore::internal;
  EncodeFixed32(p, kRecordMagic);
  if (fix_payload) {
    uint64_t len = DecodeFixed64(p + 16);
    if (len <= avail - kRecordHeaderSize) {
      EncodeFixed64(p + 24, Checksum64(std::string_view(p + kRecordHeaderSize, len)));
    }
  }
  uint64_t c = Checksum64Seeded(std::string_view(p, kRecordHeaderChecksummed), seed);
  EncodeFixed32(p + 36, static_cast<uint32_t>(c & 0xffffffffu));
}

}  // namespace segstore::fuzz

#endif  // SEGSTORE_TESTS_FUZZ_FUZZ_UTIL_H_
