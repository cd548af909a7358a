// Copyright segstore authors.
//
// The file-system seam. Every open, preallocation, write, mapping, sync,
// rename, directory sync and delete of a segment file goes through a
// FileSystem, so that a test can wrap it to count calls, inject errors and
// drop whatever was not synced (a simulated power loss). RocksDB's own files
// in meta/ do not go through it.
//
// Thread safety: implementations must allow concurrent calls on distinct
// objects and concurrent Read()/Map() on the same File. Writes to one File
// are issued by one thread at a time.

#ifndef SEGSTORE_INCLUDE_SEGSTORE_FILE_SYSTEM_H_
#define SEGSTORE_INCLUDE_SEGSTORE_FILE_SYSTEM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace segstore {

// A read-only shared mapping of a byte range of a file. Unmapped when the
// last reference goes away.
class ReadOnlyMapping {
 public:
  virtual ~ReadOnlyMapping() = default;
  virtual const char* data() const = 0;
  virtual uint64_t size() const = 0;
};

class File {
 public:
  virtual ~File() = default;
  // Reads up to n bytes at offset into dst; returns the count read, which is
  // less than n only at end of file.
  virtual absl::StatusOr<size_t> Read(uint64_t offset, char* dst, size_t n) = 0;
  // Writes all of data at offset (pwrite semantics).
  virtual absl::Status Write(uint64_t offset, std::string_view data) = 0;
  // Reserves disk space for [offset, offset + length) (posix_fallocate), so
  // that later writes into it cannot fail with ENOSPC.
  virtual absl::Status Allocate(uint64_t offset, uint64_t length) = 0;
  virtual absl::Status Truncate(uint64_t size) = 0;
  // Makes every completed Write durable (fdatasync). The one durability
  // point of segment data. After it fails, nothing written may be trusted.
  virtual absl::Status Sync() = 0;
  virtual absl::StatusOr<uint64_t> Size() = 0;
};

enum class OpenMode {
  kRead,       // existing file, read only
  kReadWrite,  // existing file
  kCreateNew,  // must not exist yet; opened read-write
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  virtual absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) = 0;
  // Maps [offset, offset + length) of the file read-only and shared, so
  // that completed writes to the file are visible through it at once.
  virtual absl::StatusOr<std::shared_ptr<const ReadOnlyMapping>> Map(const std::string& path,
                                                                     uint64_t offset,
                                                                     uint64_t length) = 0;
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;
  virtual absl::Status Delete(const std::string& path) = 0;
  // Makes the directory's entries (created, renamed, deleted files) durable.
  virtual absl::Status SyncDir(const std::string& path) = 0;
  // Creates the directory if it does not exist.
  virtual absl::Status CreateDir(const std::string& path) = 0;
  virtual absl::StatusOr<bool> Exists(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory, sorted.
  virtual absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) = 0;
};

// The POSIX implementation: pread/pwrite/posix_fallocate/fdatasync, and
// Boost.Interprocess mappings. Shared by every store that does not set
// Options::file_system.
std::shared_ptr<FileSystem> DefaultFileSystem();

}  // namespace segstore

#endif  // SEGSTORE_INCLUDE_SEGSTORE_FILE_SYSTEM_H_
