// Helpers shared by the tests: status assertions (Debian's Abseil has no
// status matchers), scratch directories, deterministic payloads and small
// file-corruption tools.

#ifndef SEGSTORE_TESTS_TESTUTIL_TEST_UTIL_H_
#define SEGSTORE_TESTS_TESTUTIL_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "segstore/segstore.h"

#define ASSERT_OK(expr)                                  \
  do {                                                   \
    const ::absl::Status _s = ::segstore::testing::ToStatus(expr); \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s;         \
  } while (0)
#define EXPECT_OK(expr)                                  \
  do {                                                   \
    const ::absl::Status _s = ::segstore::testing::ToStatus(expr); \
    EXPECT_TRUE(_s.ok()) << #expr << ": " << _s;         \
  } while (0)
#define ASSERT_CODE(expr, want_code)                                          \
  do {                                                                   \
    const ::absl::Status _s = ::segstore::testing::ToStatus(expr);       \
    ASSERT_EQ(_s.code(), (want_code)) << #expr << ": " << _s;                 \
  } while (0)

namespace segstore::testing {

inline absl::Status ToStatus(const absl::Status& s) { return s; }
template <typename T>
absl::Status ToStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

// A fresh directory under $TEST_TMPDIR or /tmp, removed (recursively) when
// the object dies unless SEGSTORE_KEEP_TEST_DIRS is set.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  // path()/name
  std::string Sub(std::string_view name) const;

 private:
  std::string path_;
};

// Deterministic pseudo-random bytes: the same (seed, size) always gives the
// same payload, so a test can recheck any block without keeping it.
std::string Payload(uint64_t seed, size_t size);

// Small segments and caches, so tests roll over and evict quickly.
Options SmallOptions(uint64_t segment_size = 256 << 10);

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, std::string_view data);
uint64_t FileSize(const std::string& path);
void TruncateFile(const std::string& path, uint64_t size);
// XORs mask into the byte at offset.
void FlipByte(const std::string& path, uint64_t offset, uint8_t mask = 0x40);
// Sorted paths of the segment files of a store.
std::vector<std::string> SegmentFiles(const std::string& store_dir);

// Directory of the shared Bitcoin data (SEGSTORE_TEST_DATA).
std::string TestDataDir();

}  // namespace segstore::testing

#endif  // SEGSTORE_TESTS_TESTUTIL_TEST_UTIL_H_
