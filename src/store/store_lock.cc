#include "store/store_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "util/status_util.h"

namespace segstore::internal {

absl::StatusOr<std::unique_ptr<StoreLock>> StoreLock::Acquire(const std::string& path, bool shared) {
  int fd = ::open(path.c_str(), (shared ? O_RDONLY : O_RDWR | O_CREAT) | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, "open lock file", path);
  if (::flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, " is held by another process", shared ? " for writing" : "",
          "; close it there first", shared ? "" : " (or open read-only once it is closed)"));
    }
    return ErrnoStatus(err, "flock", path);
  }
  return std::unique_ptr<StoreLock>(new StoreLock(fd));
}

StoreLock::~StoreLock() { ::close(fd_); }

}  // namespace segstore::internal
