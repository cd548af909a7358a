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


// --- Helpers for the recovery, kill and concurrency tests -------------------

// The payload of block n of a store whose blocks were all written with this
// seed: its size in [min_size, max_size] and its bytes derive from
// (seed, n) alone, so any process can recheck any block.
std::string NumberedPayload(uint64_t seed, uint64_t n, size_t min_size, size_t max_size);

// One record found by walking a segment file's record headers from the
// segment header on (no checksum checks: it only locates records so that a
// test can damage one). Stops at the first offset without a record magic.
struct RawRecord {
  uint64_t offset = 0;  // of the record header
  uint32_t type = 0;    // 1 block, 2 truncation marker, 3 footer
  uint64_t number = 0;
  uint64_t length = 0;  // payload bytes; the payload starts at offset + 40
};
std::vector<RawRecord> RawRecords(const std::string& segment_path);

// Overwrites [offset, offset + length) of a file with zeros.
void ZeroRange(const std::string& path, uint64_t offset, uint64_t length);

// A child process started with fork + exec, its stdout on a pipe.
struct Child {
  int pid = -1;
  int out_fd = -1;  // read end of the child's stdout
};
// argv[0] is the program path. Returns pid -1 on failure (and ADD_FAILUREs).
Child SpawnChild(const std::vector<std::string>& argv);
// Reads one '\n'-terminated line from fd into *line (without the '\n');
// false at end of file. buf carries bytes read past the line between calls.
bool ReadLine(int fd, std::string* buf, std::string* line);
// Waits for the child; returns the raw waitpid status.
int WaitChild(Child& child);
// Runs the program to completion; returns its stdout and, in *status, the raw
// waitpid status.
std::string RunChild(const std::vector<std::string>& argv, int* status);

// Asserts (gtest, non-fatal to the caller's control flow) that block n of
// the store holds exactly `want`; returns whether it did.
bool ExpectBlockEq(BlockStore& store, BlockNumber n, std::string_view want);

}  // namespace segstore::testing

#endif  // SEGSTORE_TESTS_TESTUTIL_TEST_UTIL_H_
