// The POSIX FileSystem: pread/pwrite, posix_fallocate, fdatasync, and
// read-only shared mappings made with Boost.Interprocess.

#ifndef SEGSTORE_SRC_IO_POSIX_FILE_SYSTEM_H_
#define SEGSTORE_SRC_IO_POSIX_FILE_SYSTEM_H_

#include "segstore/file_system.h"

namespace segstore::internal {

class PosixFileSystem final : public FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  absl::StatusOr<std::shared_ptr<const ReadOnlyMapping>> Map(const std::string& path,
                                                             uint64_t offset,
                                                             uint64_t length) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status Delete(const std::string& path) override;
  absl::Status SyncDir(const std::string& path) override;
  absl::Status CreateDir(const std::string& path) override;
  absl::StatusOr<bool> Exists(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override;
};

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_IO_POSIX_FILE_SYSTEM_H_
