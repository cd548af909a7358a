// A std::mutex with clang thread-safety annotations. Debian's Abseil is not
// built with TSan, so absl::Mutex is invisible to it; std::mutex is seen by
// TSan and these attributes keep clang's -Wthread-safety checking.

#ifndef SEGSTORE_SRC_UTIL_MUTEX_H_
#define SEGSTORE_SRC_UTIL_MUTEX_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "absl/time/time.h"

#include "absl/base/thread_annotations.h"

namespace segstore::internal {

// Contention counters of one Mutex (ScalingMetrics::locks). Lock() counts
// an acquisition; when the mutex is held by another thread it counts a
// contended acquisition and the nanoseconds spent waiting (a steady clock is
// read only then). Re-locks inside CondVar waits are not counted.
struct LockCounters {
  std::atomic<uint64_t> acquisitions{0};
  std::atomic<uint64_t> contended{0};
  std::atomic<uint64_t> wait_nanos{0};
};

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  // Counts into *counters, which must outlive the mutex.
  explicit Mutex(LockCounters* counters) : counters_(counters) {}
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    if (counters_ == nullptr) {
      mu_.lock();
      return;
    }
    counters_->acquisitions.fetch_add(1, std::memory_order_relaxed);
    if (mu_.try_lock()) return;
    const auto start = std::chrono::steady_clock::now();
    mu_.lock();
    const auto waited = std::chrono::steady_clock::now() - start;
    counters_->contended.fetch_add(1, std::memory_order_relaxed);
    counters_->wait_nanos.fetch_add(
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(waited).count()),
        std::memory_order_relaxed);
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    if (counters_ != nullptr) counters_->acquisitions.fetch_add(1, std::memory_order_relaxed);
    return mu_.try_lock();
  }
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
  LockCounters* const counters_ = nullptr;
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

// A condition variable for Mutex (std::condition_variable, so TSan sees it).
class CondVar {
 public:
  void Wait(Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu->native(), std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // Returns false if the deadline passed (the mutex is held again either way).
  bool WaitUntil(Mutex* mu, absl::Time deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu->native(), std::adopt_lock);
    const bool signalled = cv_.wait_until(lock, absl::ToChronoTime(deadline)) == std::cv_status::no_timeout;
    lock.release();
    return signalled;
  }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

// A writer-preferring shared/exclusive gate built on Mutex and CondVar (so
// TSan sees it, and an exclusive waiter is never starved by a stream of
// shared holders, as it can be with glibc's reader-preferring rwlock).
class ABSL_LOCKABLE SharedGate {
 public:
  SharedGate() = default;
  SharedGate(const SharedGate&) = delete;
  SharedGate& operator=(const SharedGate&) = delete;

  void LockShared() ABSL_SHARED_LOCK_FUNCTION() {
    MutexLock lock(&mu_);
    while (exclusive_ || exclusive_waiting_ > 0) cv_.Wait(&mu_);
    ++shared_;
  }
  void UnlockShared() ABSL_UNLOCK_FUNCTION() {
    MutexLock lock(&mu_);
    if (--shared_ == 0) cv_.SignalAll();
  }
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    MutexLock lock(&mu_);
    ++exclusive_waiting_;
    while (exclusive_ || shared_ > 0) cv_.Wait(&mu_);
    --exclusive_waiting_;
    exclusive_ = true;
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    MutexLock lock(&mu_);
    exclusive_ = false;
    cv_.SignalAll();
  }

 private:
  Mutex mu_;
  CondVar cv_;
  size_t shared_ ABSL_GUARDED_BY(mu_) = 0;
  size_t exclusive_waiting_ ABSL_GUARDED_BY(mu_) = 0;
  bool exclusive_ ABSL_GUARDED_BY(mu_) = false;
};

class ABSL_SCOPED_LOCKABLE SharedLock {
 public:
  explicit SharedLock(SharedGate* gate) ABSL_SHARED_LOCK_FUNCTION(gate) : gate_(gate) { gate_->LockShared(); }
  SharedLock(const SharedLock&) = delete;
  SharedLock& operator=(const SharedLock&) = delete;
  ~SharedLock() ABSL_UNLOCK_FUNCTION() { gate_->UnlockShared(); }

 private:
  SharedGate* const gate_;
};

class ABSL_SCOPED_LOCKABLE ExclusiveLock {
 public:
  explicit ExclusiveLock(SharedGate* gate) ABSL_EXCLUSIVE_LOCK_FUNCTION(gate) : gate_(gate) { gate_->Lock(); }
  ExclusiveLock(const ExclusiveLock&) = delete;
  ExclusiveLock& operator=(const ExclusiveLock&) = delete;
  ~ExclusiveLock() ABSL_UNLOCK_FUNCTION() { gate_->Unlock(); }

 private:
  SharedGate* const gate_;
};

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_UTIL_MUTEX_H_
