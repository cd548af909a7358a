// A FileSystem wrapper whose File::Write or File::Sync calls can be held on
// a latch, so a test can keep writers inside their record write or a sync
// and look at the store meanwhile (admission, queue depth, backpressure,
// group commit). Everything else goes straight to the base FileSystem.

#ifndef SEGSTORE_TESTS_TESTUTIL_BLOCKING_FILE_SYSTEM_H_
#define SEGSTORE_TESTS_TESTUTIL_BLOCKING_FILE_SYSTEM_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "absl/time/time.h"
#include "segstore/file_system.h"

namespace segstore::testing {

class BlockingFileSystem final : public FileSystem {
 public:
  explicit BlockingFileSystem(std::shared_ptr<FileSystem> base) : base_(std::move(base)) {}

  enum class Hold { kWrite, kSync };
  // From now on every File::Write (or File::Sync) waits, before it reaches
  // the base file, until Release().
  void Arm(Hold what = Hold::kWrite);
  // Lets every waiting and every later call through.
  void Release();
  // Calls waiting on the latch now, and the most there ever were at once.
  size_t blocked();
  size_t max_blocked();
  // Waits until exactly n calls are waiting; false after the timeout.
  bool WaitForBlocked(size_t n, absl::Duration timeout = absl::Seconds(30));
  // File::Sync calls so far (held or not).
  uint64_t syncs() const { return syncs_.load(); }

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  absl::StatusOr<std::shared_ptr<const ReadOnlyMapping>> Map(const std::string& path, uint64_t offset,
                                                             uint64_t length) override {
    return base_->Map(path, offset, length);
  }
  absl::Status Rename(const std::string& from, const std::string& to) override { return base_->Rename(from, to); }
  absl::Status Delete(const std::string& path) override { return base_->Delete(path); }
  absl::Status SyncDir(const std::string& path) override { return base_->SyncDir(path); }
  absl::Status CreateDir(const std::string& path) override { return base_->CreateDir(path); }
  absl::StatusOr<bool> Exists(const std::string& path) override { return base_->Exists(path); }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }

 private:
  friend class BlockingFile;
  void Gate(Hold call);

  std::shared_ptr<FileSystem> base_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_writes_ = false;
  bool hold_syncs_ = false;
  size_t blocked_ = 0;
  size_t max_blocked_ = 0;
  std::atomic<uint64_t> syncs_{0};
};

}  // namespace segstore::testing

#endif  // SEGSTORE_TESTS_TESTUTIL_BLOCKING_FILE_SYSTEM_H_
