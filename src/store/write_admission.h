// WriteAdmission: the counting semaphore behind Options::max_concurrent_writes.
// A writer holds one permit from before it reserves space until its write is
// acknowledged; the rest wait in a queue whose depth drives backpressure.
// The limit can be changed at run time (ScalingManager::ReconfigureLimits).

#ifndef SEGSTORE_SRC_STORE_WRITE_ADMISSION_H_
#define SEGSTORE_SRC_STORE_WRITE_ADMISSION_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "util/mutex.h"

namespace segstore::internal {

struct AdmissionStats {
  size_t limit = 0;
  size_t active = 0;      // permits held now
  size_t waiting = 0;     // writers queued for a permit now
  size_t max_active = 0;  // most permits ever held at once
  uint64_t admitted = 0;
  uint64_t waited = 0;    // admissions that had to queue
  uint64_t rejected = 0;  // deadline passed, or refused at critical depth
};

class WriteAdmission {
 public:
  explicit WriteAdmission(size_t limit) : limit_(std::max<size_t>(limit, 1)) {}
  WriteAdmission(const WriteAdmission&) = delete;
  WriteAdmission& operator=(const WriteAdmission&) = delete;

  // Waits for a permit. With a deadline: DeadlineExceeded once it passes,
  // and ResourceExhausted at once if `critical_depth` writers already wait
  // (backpressure: fail fast rather than queue without bound).
  absl::Status Acquire(std::optional<absl::Time> deadline, size_t critical_depth) {
    MutexLock lock(&mu_);
    if (active_ < limit_ && waiting_ == 0) return AdmitLocked();
    if (deadline && waiting_ >= critical_depth) {
      ++rejected_;
      return absl::ResourceExhaustedError(absl::StrCat("write queue is at its critical depth (", waiting_,
                                                       " writers waiting for ", limit_,
                                                       " write slots); retry later or raise max_concurrent_writes"));
    }
    ++waiting_;
    ++waited_;
    while (active_ >= limit_) {
      if (!deadline) {
        cv_.Wait(&mu_);
      } else if (!cv_.WaitUntil(&mu_, *deadline) && active_ >= limit_) {
        --waiting_;
        ++rejected_;
        return absl::DeadlineExceededError(absl::StrCat("deadline passed while waiting for one of ", limit_,
                                                        " write slots (", waiting_, " other writers waiting)"));
      }
    }
    --waiting_;
    return AdmitLocked();
  }

  void Release() {
    MutexLock lock(&mu_);
    --active_;
    cv_.SignalAll();
  }

  void SetLimit(size_t limit) {
    MutexLock lock(&mu_);
    limit_ = std::max<size_t>(limit, 1);
    cv_.SignalAll();
  }

  AdmissionStats stats() {
    MutexLock lock(&mu_);
    return {limit_, active_, waiting_, max_active_, admitted_, waited_, rejected_};
  }

 private:
  absl::Status AdmitLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++active_;
    ++admitted_;
    max_active_ = std::max(max_active_, active_);
    return absl::OkStatus();
  }

  Mutex mu_;
  CondVar cv_;
  size_t limit_ ABSL_GUARDED_BY(mu_);
  size_t active_ ABSL_GUARDED_BY(mu_) = 0;
  size_t waiting_ ABSL_GUARDED_BY(mu_) = 0;
  size_t max_active_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t admitted_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t waited_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t rejected_ ABSL_GUARDED_BY(mu_) = 0;
};

// Holds one permit until Release() or destruction.
class AdmissionPermit {
 public:
  explicit AdmissionPermit(WriteAdmission* a) : a_(a) {}
  AdmissionPermit(const AdmissionPermit&) = delete;
  AdmissionPermit& operator=(const AdmissionPermit&) = delete;
  ~AdmissionPermit() { Release(); }
  void Release() {
    if (a_ != nullptr) a_->Release();
    a_ = nullptr;
  }

 private:
  WriteAdmission* a_;
};

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_STORE_WRITE_ADMISSION_H_
