// A real full disk: a small tmpfs mounted for the test (needs root, as CI
// runs). Appends fail with ResourceExhausted, the process survives,
// everything acknowledged is readable, and appends resume once space is
// freed, without reopening.

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "testutil/test_util.h"

namespace segstore {
namespace {

using testing::Payload;
using testing::ScratchDir;

class SmallDisk {
 public:
  explicit SmallDisk(const std::string& dir, const char* size) : dir_(dir) {
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, (std::string("size=") + size).c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

TEST(DiskFullTest, AppendsFailCleanlyAndResumeAfterSpaceIsFreed) {
  ScratchDir scratch;
  const std::string mnt = scratch.Sub("disk");
  std::filesystem::create_directories(mnt);
  SmallDisk disk(mnt, "12m");
  if (!disk.mounted()) {
    ASSERT_NE(::geteuid(), 0u) << "mount tmpfs failed as root: " << disk.error();
    GTEST_SKIP() << "mounting a tmpfs needs root (" << disk.error() << ")";
  }
  // Something to free later.
  testing::WriteFile(mnt + "/ballast", std::string(3 << 20, 'b'));
  Options o = testing::SmallOptions(1 << 20);
  auto opened = BlockStore::Open(o, mnt + "/store");
  ASSERT_OK(opened);
  BlockStore& store = **opened;
  uint64_t acked = 0;
  absl::Status failure;
  for (uint64_t i = 0; i < 100'000; ++i) {
    absl::StatusOr<BlockNumber> n = store.Append(Payload(i, 20'000));
    if (!n.ok()) {
      failure = n.status();
      break;
    }
    ++acked;
  }
  ASSERT_FALSE(failure.ok()) << "the disk never filled";
  EXPECT_EQ(failure.code(), absl::StatusCode::kResourceExhausted) << failure;
  EXPECT_GT(acked, 100u);
  // Everything acknowledged is there.
  for (uint64_t i = 0; i < acked; ++i) {
    absl::StatusOr<Block> b = store.Get(i);
    ASSERT_TRUE(b.ok() && b->data() == Payload(i, 20'000)) << i << ": " << b.status();
  }
  // Free space; appends resume without reopening.
  std::filesystem::remove(mnt + "/ballast");
  absl::Status resumed;
  for (int attempt = 0; attempt < 3; ++attempt) {
    absl::StatusOr<BlockNumber> n = store.Append(Payload(acked, 20'000));
    resumed = n.status();
    if (n.ok()) {
      EXPECT_EQ(*n, acked);
      ++acked;
      break;
    }
  }
  ASSERT_OK(resumed);
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK(store.Append(Payload(acked, 20'000)));
    ++acked;
  }
  ASSERT_OK(store.Sync());
  ASSERT_OK(store.Close());
  auto again = BlockStore::Open(o, mnt + "/store");
  ASSERT_OK(again);
  EXPECT_EQ((*again)->BlockCount(), acked);
  for (uint64_t i = 0; i < acked; ++i) {
    absl::StatusOr<Block> b = (*again)->Get(i);
    ASSERT_TRUE(b.ok() && b->data() == Payload(i, 20'000)) << i << ": " << b.status();
  }
}

}  // namespace
}  // namespace segstore
