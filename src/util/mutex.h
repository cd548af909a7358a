// A std::mutex with clang thread-safety annotations. Debian's Abseil is not
// built with TSan, so absl::Mutex is invisible to it; std::mutex is seen by
// TSan and these attributes keep clang's -Wthread-safety checking.

#ifndef SEGSTORE_SRC_UTIL_MUTEX_H_
#define SEGSTORE_SRC_UTIL_MUTEX_H_

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace segstore::internal {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }

 private:
  Mutex* const mu_;
};

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_UTIL_MUTEX_H_
