// A writer process for the crash tests (kill_test, recovery_test): opens a
// store, appends blocks whose payloads derive from (seed, number) alone
// (testing::NumberedPayload), and writes each acknowledged number to stdout
// as one line, straight to the descriptor, only after Append returned OK.
// How it ends is chosen by end=:
//   exit  - _exit(0) right after the last append: no Close, no destructors,
//           like a crash of the process (nothing unsynced is made durable)
//   hang  - wait to be killed (SIGKILL from the parent)
//   close - Close() the store and exit normally
//
// Usage: kill_writer dir=DIR [seed=1] [segment_size=65536] [count=N]
//          [min_size=0] [max_size=4000] [sync_every=0] [end=exit|hang|close]
//          [first=0] [shard_blocks=1000] [journal_batch=1024]
//          [kill_at_call=K] [count_calls=0] [put_every=0]
// put_every=K: every K-th write is Put(next number) instead of Append (the
// explicit-number path; acknowledged the same way).
// kill_at_call=K: the process SIGKILLs itself right before its K-th call
// through the segment FileSystem seam (of any kind, Open included), so a
// parent can put a process crash at every such call of a fixed workload.
// count_calls=1: after the last append, print "calls=N" (the calls made).
// Exit status: 0 on success, 2 on bad usage, 3 on a store error (message on
// stderr).

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <memory>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "testutil/test_util.h"

namespace {

[[noreturn]] void Die(int code, const std::string& msg) {
  std::string line = "kill_writer: " + msg + "\n";
  (void)!::write(2, line.data(), line.size());
  ::_exit(code);
}

void WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t r = ::write(fd, s.data() + done, s.size() - done);
    if (r <= 0) Die(3, "write to stdout failed");
    done += static_cast<size_t>(r);
  }
}

uint64_t Num(const std::map<std::string, std::string>& args, const std::string& key, uint64_t def) {
  auto it = args.find(key);
  if (it == args.end()) return def;
  char* end = nullptr;
  unsigned long long v = std::strtoull(it->second.c_str(), &end, 10);
  if (end == nullptr || *end != '\0') Die(2, "bad number for " + key + ": " + it->second);
  return static_cast<uint64_t>(v);
}

// Counts every call through the seam and dies by SIGKILL before call K.
class SelfKillFileSystem final : public segstore::FileSystem {
 public:
  SelfKillFileSystem(std::shared_ptr<segstore::FileSystem> base, uint64_t kill_at)
      : base_(std::move(base)), kill_at_(kill_at) {}
  void Tick() {
    const uint64_t n = calls_.fetch_add(1) + 1;
    if (kill_at_ != 0 && n == kill_at_) ::raise(SIGKILL);
  }
  uint64_t calls() const { return calls_.load(); }

  absl::StatusOr<std::unique_ptr<segstore::File>> Open(const std::string& path, segstore::OpenMode mode) override;
  absl::StatusOr<std::shared_ptr<const segstore::ReadOnlyMapping>> Map(const std::string& path, uint64_t offset,
                                                                       uint64_t length) override {
    Tick();
    return base_->Map(path, offset, length);
  }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    Tick();
    return base_->Rename(from, to);
  }
  absl::Status Delete(const std::string& path) override {
    Tick();
    return base_->Delete(path);
  }
  absl::Status SyncDir(const std::string& path) override {
    Tick();
    return base_->SyncDir(path);
  }
  absl::Status CreateDir(const std::string& path) override {
    Tick();
    return base_->CreateDir(path);
  }
  absl::StatusOr<bool> Exists(const std::string& path) override {
    Tick();
    return base_->Exists(path);
  }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    Tick();
    return base_->ListDir(path);
  }

 private:
  std::shared_ptr<segstore::FileSystem> base_;
  const uint64_t kill_at_;
  std::atomic<uint64_t> calls_{0};
};

class SelfKillFile final : public segstore::File {
 public:
  SelfKillFile(SelfKillFileSystem* fs, std::unique_ptr<segstore::File> base) : fs_(fs), base_(std::move(base)) {}
  absl::StatusOr<size_t> Read(uint64_t offset, char* dst, size_t n) override {
    fs_->Tick();
    return base_->Read(offset, dst, n);
  }
  absl::Status Write(uint64_t offset, std::string_view data) override {
    fs_->Tick();
    return base_->Write(offset, data);
  }
  absl::Status Allocate(uint64_t offset, uint64_t length) override {
    fs_->Tick();
    return base_->Allocate(offset, length);
  }
  absl::Status Truncate(uint64_t size) override {
    fs_->Tick();
    return base_->Truncate(size);
  }
  absl::Status Sync() override {
    fs_->Tick();
    return base_->Sync();
  }
  absl::StatusOr<uint64_t> Size() override {
    fs_->Tick();
    return base_->Size();
  }

 private:
  SelfKillFileSystem* const fs_;
  std::unique_ptr<segstore::File> base_;
};

absl::StatusOr<std::unique_ptr<segstore::File>> SelfKillFileSystem::Open(const std::string& path,
                                                                         segstore::OpenMode mode) {
  Tick();
  absl::StatusOr<std::unique_ptr<segstore::File>> f = base_->Open(path, mode);
  if (!f.ok()) return f;
  return std::unique_ptr<segstore::File>(new SelfKillFile(this, *std::move(f)));
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    size_t eq = a.find('=');
    if (eq == std::string::npos) Die(2, "arguments are key=value, got " + a);
    args[a.substr(0, eq)] = a.substr(eq + 1);
  }
  if (args.count("dir") == 0) Die(2, "dir= is required");
  const std::string dir = args["dir"];
  const uint64_t seed = Num(args, "seed", 1);
  const uint64_t count = Num(args, "count", 1'000'000);
  const size_t min_size = static_cast<size_t>(Num(args, "min_size", 0));
  const size_t max_size = static_cast<size_t>(Num(args, "max_size", 4000));
  const uint64_t sync_every = Num(args, "sync_every", 0);
  const uint64_t put_every = Num(args, "put_every", 0);
  const std::string end = args.count("end") != 0 ? args["end"] : "exit";
  if (end != "exit" && end != "hang" && end != "close") Die(2, "end= must be exit, hang or close");

  segstore::Options o = segstore::testing::SmallOptions(Num(args, "segment_size", 64 << 10));
  o.first_block_number = Num(args, "first", 0);
  o.journal_shard_blocks = Num(args, "shard_blocks", o.journal_shard_blocks);
  o.journal_batch_blocks = static_cast<size_t>(Num(args, "journal_batch", o.journal_batch_blocks));
  auto fs = std::make_shared<SelfKillFileSystem>(segstore::DefaultFileSystem(), Num(args, "kill_at_call", 0));
  o.file_system = fs;

  absl::StatusOr<std::unique_ptr<segstore::BlockStore>> opened = segstore::BlockStore::Open(o, dir);
  if (!opened.ok()) Die(3, "open: " + opened.status().ToString());
  // Leaked on purpose for end=exit/hang: its destructor would Close().
  segstore::BlockStore* store = opened->release();

  for (uint64_t i = 0; i < count; ++i) {
    std::optional<segstore::BlockNumber> highest = store->HighestNumber();
    const segstore::BlockNumber want = highest ? *highest + 1 : o.first_block_number;
    std::string payload = segstore::testing::NumberedPayload(seed, want, min_size, max_size);
    segstore::WriteOptions wo;
    wo.sync = sync_every != 0 && (i + 1) % sync_every == 0;
    absl::StatusOr<segstore::BlockNumber> n = want;
    if (put_every != 0 && (i + 1) % put_every == 0) {
      absl::Status put = store->Put(want, payload, wo);
      if (!put.ok()) Die(3, "put: " + put.ToString());
    } else {
      n = store->Append(payload, wo);
      if (!n.ok()) Die(3, "append: " + n.status().ToString());
    }
    if (*n != want) Die(3, "append returned " + std::to_string(*n) + ", expected " + std::to_string(want));
    WriteAll(1, std::to_string(*n) + "\n");
  }
  if (Num(args, "count_calls", 0) != 0) WriteAll(1, "calls=" + std::to_string(fs->calls()) + "\n");
  if (end == "exit") ::_exit(0);
  if (end == "hang") {
    while (true) ::pause();
  }
  absl::Status s = store->Close();
  if (!s.ok()) Die(3, "close: " + s.ToString());
  delete store;
  return 0;
}
