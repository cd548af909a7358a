// The STORE/LOCK file: flock'd exclusively by the one process that writes a
// store, shared by read-only openers. flock locks belong to the open file
// description, so a second open in the same process conflicts too.

#ifndef SEGSTORE_SRC_STORE_STORE_LOCK_H_
#define SEGSTORE_SRC_STORE_STORE_LOCK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace segstore::internal {

class StoreLock {
 public:
  // FailedPrecondition naming the store if another holder conflicts.
  static absl::StatusOr<std::unique_ptr<StoreLock>> Acquire(const std::string& path, bool shared);
  ~StoreLock();
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

 private:
  explicit StoreLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_STORE_STORE_LOCK_H_
