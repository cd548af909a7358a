// A real limit on mappings: with the address space capped (RLIMIT_AS) so
// that no new 64 MiB segment can be mapped, a rollover fails with
// ResourceExhausted, the process survives, every acknowledged block stays
// readable (sealed segments fall back to pread), and appends resume once
// the limit is lifted, without reopening. Normal build only: sanitizer
// runtimes reserve terabytes of address space.

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "testutil/test_util.h"

namespace segstore {
namespace {

using testing::Payload;
using testing::ScratchDir;

uint64_t VmSizeBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmSize:", 0) == 0) return std::stoull(line.substr(7)) * 1024;  // kB
  }
  return 0;
}

TEST(MapLimitTest, RunningOutOfAddressSpaceFailsCleanlyAndRecovers) {
  constexpr size_t kBlock = 4 << 20;
  ScratchDir dir;
  Options o = testing::SmallOptions(64 << 20);
  o.block_cache_entries = 0;
  auto opened = BlockStore::Open(o, dir.path());
  ASSERT_OK(opened);
  BlockStore& store = **opened;
  uint64_t acked = 0;
  for (; acked < 4; ++acked) ASSERT_OK(store.Append(Payload(acked, kBlock)));

  struct rlimit old;
  ASSERT_EQ(::getrlimit(RLIMIT_AS, &old), 0);
  const uint64_t vm = VmSizeBytes();
  ASSERT_GT(vm, 0u);
  struct rlimit tight = old;
  tight.rlim_cur = static_cast<rlim_t>(vm + (24 << 20));  // room for small allocations, not for a segment
  ASSERT_EQ(::setrlimit(RLIMIT_AS, &tight), 0);
  absl::Status failure;
  for (int i = 0; i < 40 && failure.ok(); ++i) {
    absl::StatusOr<BlockNumber> n = store.Append(Payload(acked, kBlock));
    if (n.ok()) {
      ++acked;
    } else {
      failure = n.status();
    }
  }
  // Reads while the limit holds: nothing acknowledged is lost.
  uint64_t readable = 0;
  for (uint64_t i = 0; i < acked; ++i) {
    absl::StatusOr<Block> b = store.Get(i);
    if (b.ok() && b->data() == Payload(i, kBlock)) ++readable;
  }
  ASSERT_EQ(::setrlimit(RLIMIT_AS, &old), 0);
  ASSERT_FALSE(failure.ok()) << "the address-space limit was never hit";
  EXPECT_EQ(failure.code(), absl::StatusCode::kResourceExhausted) << failure;
  EXPECT_EQ(readable, acked);
  std::printf("out of address space after %llu blocks: %s\n", static_cast<unsigned long long>(acked),
              failure.ToString().c_str());
  ASSERT_OK(store.Health());

  // The limit is gone: appends go on in the same open store.
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<BlockNumber> n = store.Append(Payload(acked, kBlock));
    ASSERT_OK(n);
    ASSERT_EQ(*n, acked);
    ++acked;
  }
  ASSERT_OK(store.Close());
  auto reopened = BlockStore::Open(o, dir.path());
  ASSERT_OK(reopened);
  ASSERT_EQ((*reopened)->BlockCount(), acked);
  for (uint64_t i = 0; i < acked; ++i) ASSERT_TRUE(testing::ExpectBlockEq(**reopened, i, Payload(i, kBlock)));
  absl::StatusOr<VerifyReport> v = (*reopened)->Verify(/*deep=*/true);
  ASSERT_OK(v);
  EXPECT_TRUE(v->ok()) << v->problems[0].what;
}

}  // namespace
}  // namespace segstore
