// FaultFileSystem: a FileSystem wrapper for crash and error tests.
//
//  - Error injection: fail the Nth call of a kind (open, write, allocate,
//    sync, ...) with a chosen errno, once or forever; every injected fault is
//    counted so a test can assert that it fired.
//  - Power loss: remembers, file by file, what was written since the last
//    Sync() (the original contents of every 4 KiB page touched, and the
//    size), and which new files were never made durable by SyncDir(). A
//    simulated power loss then reverts the unsynced state: all of it, a
//    random subset of the dirty pages, or all but a torn 512-byte sector.
//    After Crash() every call fails, as if the machine were gone, so the
//    store under test can be destroyed without writing anything more.
//  - A negative control: with SetSyncIsNoop(true) a sync makes nothing
//    durable, so a harness that checks durability must notice lost blocks.

#ifndef SEGSTORE_TESTS_TESTUTIL_FAULT_FILE_SYSTEM_H_
#define SEGSTORE_TESTS_TESTUTIL_FAULT_FILE_SYSTEM_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "segstore/file_system.h"
#include "util/mutex.h"

namespace segstore::testing {

enum class FsOp { kOpen, kRead, kWrite, kAllocate, kTruncate, kSync, kMap, kRename, kDelete, kSyncDir, kCount };
const char* FsOpName(FsOp op);

enum class PowerLoss {
  kDropAll,      // every unsynced write is lost
  kRandomPages,  // each dirty 4 KiB page independently kept or lost
  kTornSector,   // everything unsynced lost except a torn prefix of one page
};

class FaultFileSystem final : public FileSystem {
 public:
  explicit FaultFileSystem(std::shared_ptr<FileSystem> base);

  // Fails call number n (1-based, counted from now) of kind op with err;
  // with forever, also every later call of that kind.
  void FailAt(FsOp op, uint64_t n, int err, bool forever = false);
  void ClearFaults();
  uint64_t calls(FsOp op) const;
  uint64_t injected() const;  // faults that fired

  void SetSyncIsNoop(bool noop);

  // The machine dies: from now on every call fails with EIO. Then the
  // unsynced state is reverted on disk according to mode (seed picks pages).
  void Crash(PowerLoss mode, uint64_t seed);
  // Crash(mode, seed) right before the k-th call (of any kind) counted from
  // now is carried out: a crash point at every file-system call.
  void CrashAtCall(uint64_t k, PowerLoss mode, uint64_t seed);
  uint64_t total_calls() const;
  bool crashed() const;
  // Runs at the moment of every crash (e.g. to crash a FaultRocksFs too).
  void SetOnCrash(std::function<void()> f);

  // Back to normal operation (after the store under test was destroyed).
  void Restart();

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  absl::StatusOr<std::shared_ptr<const ReadOnlyMapping>> Map(const std::string& path, uint64_t offset,
                                                             uint64_t length) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status Delete(const std::string& path) override;
  absl::Status SyncDir(const std::string& path) override;
  absl::Status CreateDir(const std::string& path) override { return base_->CreateDir(path); }
  absl::StatusOr<bool> Exists(const std::string& path) override { return base_->Exists(path); }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }

 private:
  friend class FaultFile;
  struct Dirty {
    uint64_t durable_size = 0;
    std::map<uint64_t, std::string> pages;  // page index -> contents at the last sync
  };
  // OK, or the injected error for this call.
  absl::Status Check(FsOp op, const std::string& path);
  // Before a write to [offset, offset + n): saves pages not yet saved.
  void SaveOriginal(const std::string& path, File& base, uint64_t offset, uint64_t n);
  void MarkSynced(const std::string& path, File& base);

  std::shared_ptr<FileSystem> base_;
  mutable internal::Mutex mu_;
  struct Rule {
    uint64_t at = 0;
    int err = 0;
    bool forever = false;
  };
  std::map<FsOp, Rule> rules_ ABSL_GUARDED_BY(mu_);
  uint64_t calls_[static_cast<int>(FsOp::kCount)] ABSL_GUARDED_BY(mu_) = {};
  uint64_t injected_ ABSL_GUARDED_BY(mu_) = 0;
  bool sync_noop_ ABSL_GUARDED_BY(mu_) = false;
  bool crashed_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t total_calls_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t crash_at_ ABSL_GUARDED_BY(mu_) = 0;  // 0: none
  PowerLoss crash_mode_ ABSL_GUARDED_BY(mu_) = PowerLoss::kDropAll;
  uint64_t crash_seed_ ABSL_GUARDED_BY(mu_) = 0;
  std::function<void()> on_crash_ ABSL_GUARDED_BY(mu_);
  void CrashLocked(PowerLoss mode, uint64_t seed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::map<std::string, Dirty> dirty_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> undurable_names_ ABSL_GUARDED_BY(mu_);  // created, dir not synced
};

}  // namespace segstore::testing

#endif  // SEGSTORE_TESTS_TESTUTIL_FAULT_FILE_SYSTEM_H_
