#include "testutil/test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <cstring>
#include <random>

namespace segstore::testing {

ScratchDir::ScratchDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/segstore-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  char* made = ::mkdtemp(buf.data());
  if (made == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  } else {
    path_ = made;
  }
}

ScratchDir::~ScratchDir() {
  if (std::getenv("SEGSTORE_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ScratchDir::Sub(std::string_view name) const { return path_ + "/" + std::string(name); }

std::string Payload(uint64_t seed, size_t size) {
  std::string s(size, '\0');
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + size);
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t v = rng();
    std::memcpy(s.data() + i, &v, 8);
  }
  for (; i < size; ++i) s[i] = static_cast<char>(rng());
  return s;
}

Options SmallOptions(uint64_t segment_size) {
  Options o;
  o.create_if_missing = true;
  o.segment_size = segment_size;
  o.journal_shard_blocks = 1000;
  o.block_cache_entries = 64;
  o.block_cache_bytes = 1 << 20;
  o.hot_segments = 2;
  o.meta_memtable_bytes = 8 << 20;
  return o;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

uint64_t FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

void TruncateFile(const std::string& path, uint64_t size) {
  if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) ADD_FAILURE() << "truncate " << path;
}

void FlipByte(const std::string& path, uint64_t offset, uint8_t mask) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << path;
  char c;
  ASSERT_EQ(::pread(fd, &c, 1, static_cast<off_t>(offset)), 1);
  c = static_cast<char>(c ^ static_cast<char>(mask));
  ASSERT_EQ(::pwrite(fd, &c, 1, static_cast<off_t>(offset)), 1);
  ::close(fd);
}

std::vector<std::string> SegmentFiles(const std::string& store_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(store_dir + "/segments", ec)) {
    if (e.path().extension() == ".seg") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string TestDataDir() {
  const char* d = std::getenv("SEGSTORE_TEST_DATA");
  return d != nullptr ? d : SEGSTORE_TEST_DATA_DIR;  // the CMake cache variable
}

}  // namespace segstore::testing

// --- Helpers for the recovery, kill and concurrency tests -------------------

#include <sys/wait.h>

#include <cerrno>

namespace segstore::testing {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t LoadLe(const std::string& s, size_t at, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v |= uint64_t{static_cast<unsigned char>(s[at + i])} << (8 * i);
  return v;
}

}  // namespace

std::string NumberedPayload(uint64_t seed, uint64_t n, size_t min_size, size_t max_size) {
  const uint64_t h = SplitMix64(SplitMix64(seed) ^ n);
  const size_t span = max_size >= min_size ? max_size - min_size + 1 : 1;
  const size_t size = min_size + static_cast<size_t>(h % span);
  return Payload(h, size);
}

std::vector<RawRecord> RawRecords(const std::string& segment_path) {
  constexpr uint64_t kHeader = 128, kRecordHeader = 40;
  constexpr uint32_t kMagic = 0x4b4c4253u;  // "SBLK"
  const std::string file = ReadFile(segment_path);
  std::vector<RawRecord> out;
  uint64_t pos = kHeader;
  while (pos + kRecordHeader <= file.size()) {
    if (LoadLe(file, pos, 4) != kMagic) break;
    RawRecord r;
    r.offset = pos;
    r.type = static_cast<uint32_t>(LoadLe(file, pos + 4, 4));
    r.number = LoadLe(file, pos + 8, 8);
    r.length = LoadLe(file, pos + 16, 8);
    if (r.length > file.size()) break;
    out.push_back(r);
    pos += (kRecordHeader + r.length + 7) & ~uint64_t{7};
  }
  return out;
}

void ZeroRange(const std::string& path, uint64_t offset, uint64_t length) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << path;
  std::string zeros(length, '\0');
  ASSERT_EQ(::pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(offset)),
            static_cast<ssize_t>(zeros.size()));
  ::close(fd);
}

Child SpawnChild(const std::vector<std::string>& argv) {
  Child c;
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int fds[2];
  if (::pipe(fds) != 0) {
    ADD_FAILURE() << "pipe failed";
    return c;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork failed";
    ::close(fds[0]);
    ::close(fds[1]);
    return c;
  }
  if (pid == 0) {  // only async-signal-safe calls until exec
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  c.pid = pid;
  c.out_fd = fds[0];
  return c;
}

bool ReadLine(int fd, std::string* buf, std::string* line) {
  while (true) {
    size_t nl = buf->find('\n');
    if (nl != std::string::npos) {
      *line = buf->substr(0, nl);
      buf->erase(0, nl + 1);
      return true;
    }
    char chunk[4096];
    ssize_t r = ::read(fd, chunk, sizeof(chunk));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf->append(chunk, static_cast<size_t>(r));
  }
}

int WaitChild(Child& child) {
  int status = 0;
  if (child.pid > 0) {
    while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (child.out_fd >= 0) ::close(child.out_fd);
  child.pid = -1;
  child.out_fd = -1;
  return status;
}

std::string RunChild(const std::vector<std::string>& argv, int* status) {
  Child c = SpawnChild(argv);
  std::string out;
  if (c.pid > 0) {
    char chunk[4096];
    while (true) {
      ssize_t r = ::read(c.out_fd, chunk, sizeof(chunk));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      out.append(chunk, static_cast<size_t>(r));
    }
  }
  *status = WaitChild(c);
  return out;
}

bool ExpectBlockEq(BlockStore& store, BlockNumber n, std::string_view want) {
  absl::StatusOr<Block> b = store.Get(n);
  if (!b.ok()) {
    ADD_FAILURE() << "block " << n << ": " << b.status();
    return false;
  }
  if (b->number() != n) {
    ADD_FAILURE() << "Get(" << n << ") returned block " << b->number();
    return false;
  }
  if (b->data().size() != want.size()) {
    ADD_FAILURE() << "block " << n << ": " << b->data().size() << " bytes, want " << want.size();
    return false;
  }
  if (b->data() != want) {
    ADD_FAILURE() << "block " << n << ": bytes differ";
    return false;
  }
  return true;
}

}  // namespace segstore::testing
