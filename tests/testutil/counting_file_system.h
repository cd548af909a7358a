// A FileSystem wrapper that counts calls and bytes, for tests that bound the
// I/O an operation does (e.g. open must read only the unsealed tail).

#ifndef SEGSTORE_TESTS_TESTUTIL_COUNTING_FILE_SYSTEM_H_
#define SEGSTORE_TESTS_TESTUTIL_COUNTING_FILE_SYSTEM_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "segstore/file_system.h"

namespace segstore::testing {

class CountingFileSystem final : public FileSystem {
 public:
  explicit CountingFileSystem(std::shared_ptr<FileSystem> base) : base_(std::move(base)) {}

  // Bytes returned by File::Read plus bytes of every mapping made.
  uint64_t bytes_read() const { return bytes_read_.load(); }
  uint64_t bytes_mapped() const { return bytes_mapped_.load(); }
  uint64_t bytes_written() const { return bytes_written_.load(); }
  uint64_t opens() const { return opens_.load(); }
  uint64_t syncs() const { return syncs_.load(); }
  void Reset();

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  absl::StatusOr<std::shared_ptr<const ReadOnlyMapping>> Map(const std::string& path, uint64_t offset,
                                                             uint64_t length) override;
  absl::Status Rename(const std::string& from, const std::string& to) override { return base_->Rename(from, to); }
  absl::Status Delete(const std::string& path) override { return base_->Delete(path); }
  absl::Status SyncDir(const std::string& path) override {
    ++syncs_;
    return base_->SyncDir(path);
  }
  absl::Status CreateDir(const std::string& path) override { return base_->CreateDir(path); }
  absl::StatusOr<bool> Exists(const std::string& path) override { return base_->Exists(path); }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }

 private:
  friend class CountingFile;
  std::shared_ptr<FileSystem> base_;
  std::atomic<uint64_t> bytes_read_{0}, bytes_mapped_{0}, bytes_written_{0}, opens_{0}, syncs_{0};
};

}  // namespace segstore::testing

#endif  // SEGSTORE_TESTS_TESTUTIL_COUNTING_FILE_SYSTEM_H_
