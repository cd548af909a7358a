#include "io/posix_file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <cerrno>
#include <limits>

#include "absl/strings/str_cat.h"
#include "util/status_util.h"

namespace segstore {
namespace internal {
namespace {

namespace bip = boost::interprocess;

class PosixFile final : public File {
 public:
  PosixFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixFile() override { ::close(fd_); }

  absl::StatusOr<size_t> Read(uint64_t offset, char* dst, size_t n) override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, dst + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, "pread", path_);
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    return done;
  }

  absl::Status Write(uint64_t offset, std::string_view data) override {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t r = ::pwrite(fd_, data.data() + done, data.size() - done,
                           static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, "pwrite", path_);
      }
      done += static_cast<size_t>(r);
    }
    return absl::OkStatus();
  }

  absl::Status Allocate(uint64_t offset, uint64_t length) override {
    int err = ::posix_fallocate(fd_, static_cast<off_t>(offset), static_cast<off_t>(length));
    if (err != 0) return ErrnoStatus(err, "posix_fallocate", path_);
    return absl::OkStatus();
  }

  absl::Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return ErrnoStatus(errno, "ftruncate", path_);
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (::fdatasync(fd_) != 0) return ErrnoStatus(errno, "fdatasync", path_);
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoStatus(errno, "fstat", path_);
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  const std::string path_;
  const int fd_;
};

class BoostMapping final : public ReadOnlyMapping {
 public:
  explicit BoostMapping(bip::mapped_region region) : region_(std::move(region)) {}
  const char* data() const override { return static_cast<const char*>(region_.get_address()); }
  uint64_t size() const override { return region_.get_size(); }

 private:
  bip::mapped_region region_;
};

// Mapping a zero-length range is an error for mmap; this stands in for it.
class EmptyMapping final : public ReadOnlyMapping {
 public:
  const char* data() const override { return ""; }
  uint64_t size() const override { return 0; }
};

}  // namespace

absl::StatusOr<std::unique_ptr<File>> PosixFileSystem::Open(const std::string& path,
                                                            OpenMode mode) {
  int flags = O_CLOEXEC;
  switch (mode) {
    case OpenMode::kRead: flags |= O_RDONLY; break;
    case OpenMode::kReadWrite: flags |= O_RDWR; break;
    case OpenMode::kCreateNew: flags |= O_RDWR | O_CREAT | O_EXCL; break;
  }
  int fd;
  do {
    fd = ::open(path.c_str(), flags, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoStatus(errno, "open", path);
  return std::unique_ptr<File>(new PosixFile(path, fd));
}

absl::StatusOr<std::shared_ptr<const ReadOnlyMapping>> PosixFileSystem::Map(
    const std::string& path, uint64_t offset, uint64_t length) {
  if (length == 0) return std::shared_ptr<const ReadOnlyMapping>(std::make_shared<EmptyMapping>());
  if (length > std::numeric_limits<size_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat("mapping too large: ", path));
  }
  try {
    // The file_mapping's descriptor is closed when it goes out of scope; the
    // region stays mapped, so mappings do not hold descriptors.
    bip::file_mapping file(path.c_str(), bip::read_only);
    bip::mapped_region region(file, bip::read_only, static_cast<bip::offset_t>(offset),
                              static_cast<size_t>(length));
    return std::shared_ptr<const ReadOnlyMapping>(std::make_shared<BoostMapping>(std::move(region)));
  } catch (const bip::interprocess_exception& e) {
    int err = e.get_native_error();
    if (err != 0) return ErrnoStatus(err, "mmap", path);
    return absl::InternalError(absl::StrCat("mmap: ", path, ": ", e.what()));
  }
}

absl::Status PosixFileSystem::Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus(errno, "rename to " + to, from);
  return absl::OkStatus();
}

absl::Status PosixFileSystem::Delete(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return ErrnoStatus(errno, "unlink", path);
  return absl::OkStatus();
}

absl::Status PosixFileSystem::SyncDir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open directory", path);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus(err, "fsync directory", path);
  return absl::OkStatus();
}

absl::Status PosixFileSystem::CreateDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoStatus(errno, "mkdir", path);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "stat", path);
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " exists and is not a directory"));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> PosixFileSystem::Exists(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT || errno == ENOTDIR) return false;
  return ErrnoStatus(errno, "stat", path);
}

absl::StatusOr<std::vector<std::string>> PosixFileSystem::ListDir(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return ErrnoStatus(errno, "opendir", path);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return ErrnoStatus(err, "readdir", path);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace internal

std::shared_ptr<FileSystem> DefaultFileSystem() {
  static const auto* fs = new std::shared_ptr<FileSystem>(std::make_shared<internal::PosixFileSystem>());
  return *fs;
}

}  // namespace segstore
