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
// Exit status: 0 on success, 2 on bad usage, 3 on a store error (message on
// stderr).

#include <unistd.h>

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
  const std::string end = args.count("end") != 0 ? args["end"] : "exit";
  if (end != "exit" && end != "hang" && end != "close") Die(2, "end= must be exit, hang or close");

  segstore::Options o = segstore::testing::SmallOptions(Num(args, "segment_size", 64 << 10));
  o.first_block_number = Num(args, "first", 0);
  o.journal_shard_blocks = Num(args, "shard_blocks", o.journal_shard_blocks);
  o.journal_batch_blocks = static_cast<size_t>(Num(args, "journal_batch", o.journal_batch_blocks));

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
    absl::StatusOr<segstore::BlockNumber> n = store->Append(payload, wo);
    if (!n.ok()) Die(3, "append: " + n.status().ToString());
    if (*n != want) Die(3, "append returned " + std::to_string(*n) + ", expected " + std::to_string(want));
    WriteAll(1, std::to_string(*n) + "\n");
  }
  if (end == "exit") ::_exit(0);
  if (end == "hang") {
    while (true) ::pause();
  }
  absl::Status s = store->Close();
  if (!s.ok()) Die(3, "close: " + s.ToString());
  delete store;
  return 0;
}
