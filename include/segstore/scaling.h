// Copyright segstore authors.
//
// Run-time scaling of a store: what it is doing (ScalingMetrics), the limits
// it works within (ScalingLimits), changing those limits without reopening
// (ReconfigureLimits), and backpressure from the depth of the write queue.
//
//   segstore::ScalingManager& scaling = store->Scaling();
//   segstore::ScalingLimits l = scaling.CurrentLimits();
//   l.block_cache_bytes = 1 << 30;
//   l.max_concurrent_writes = 16;
//   absl::Status s = scaling.ReconfigureLimits(l);   // in effect on return
//   std::string text = scaling.PrometheusText();     // for a /metrics handler
//
// Thread safety: every method may be called from any thread at any time
// while the store is open, concurrently with reads and writes.
//
// Tiers: "hot" is the active segment plus the hot_segments newest sealed
// ones (mapped), "warm" the other sealed segments on local disk (read with
// pread through the block cache), "cold" the sealed segments moved to the
// backing store (Options::warm_segments, BlockStore::Rebalance). Lock
// figures are given per lock: "commit" (the write pipeline), "state" (the
// in-memory index) and "tier:hot", "tier:warm", "tier:cold" (each tier's
// membership).

#ifndef SEGSTORE_INCLUDE_SEGSTORE_SCALING_H_
#define SEGSTORE_INCLUDE_SEGSTORE_SCALING_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "segstore/block_store.h"

namespace segstore {

namespace internal {
class StoreImpl;
}  // namespace internal

// From the depth of the write queue (writers waiting for admission) against
// ScalingLimits::write_queue_warning_depth and write_queue_critical_depth:
// kCritical once depth >= critical, else kWarning once depth >= warning.
// At kCritical a write with a deadline fails at once with ResourceExhausted
// instead of queueing; writes without a deadline still queue. (A depth of 0
// makes its state permanent: 0 writers waiting is already "at" it.)
enum class BackpressureState { kNormal = 0, kWarning = 1, kCritical = 2 };

// "normal", "warning", "critical".
std::string_view BackpressureStateName(BackpressureState state);
BackpressureState ClassifyBackpressure(size_t queue_depth, size_t warning_depth, size_t critical_depth);

struct CacheMetrics {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;  // entries dropped to respect a limit (also by ReconfigureLimits)
  uint64_t entries = 0;    // now
  uint64_t bytes = 0;      // now: payload bytes (block cache), decoded footer bytes (manifest cache)
  double hit_rate = 0;     // hits / (hits + misses) since open; 0 before the first lookup
};

// One mutex of the write path, counted since open. An acquisition is a lock
// call (re-locks inside a condition wait are not counted); a contended one
// found the mutex held and waited wait_nanos in total for it.
struct LockMetrics {
  std::string name;  // "commit", "state", "tier:hot", "tier:warm" or "tier:cold" (see the top)
  uint64_t acquisitions = 0;
  uint64_t contended = 0;
  uint64_t wait_nanos = 0;
};

struct ScalingMetrics {
  uint64_t block_count = 0;
  // Segments per tier (see the top of this file): hot + warm + cold = all.
  uint64_t segments_hot = 0;
  uint64_t segments_warm = 0;
  uint64_t segments_cold = 0;
  CacheMetrics block_cache;
  CacheMetrics manifest_cache;  // decoded footers (block tables) of sealed segments
  CacheMetrics validation_cache;  // records verified lately: a hit is a re-read that skipped hashing
  uint64_t live_journal_shards = 0;
  std::vector<LockMetrics> locks;
  // Write admission (ScalingLimits::max_concurrent_writes).
  uint64_t append_queue_depth = 0;   // writers waiting for admission now
  uint64_t writers_active = 0;       // admitted writers now
  uint64_t max_writers_active = 0;   // most admitted at once since open
  uint64_t writes_admitted = 0;
  uint64_t writes_queued = 0;        // admissions that had to wait
  uint64_t writes_rejected = 0;      // deadline passed, or refused at the critical depth
  // Group commit: syncs asked for, syncs done (one serves many requests),
  // and batched journal writes to RocksDB.
  uint64_t sync_requests = 0;
  uint64_t sync_rounds = 0;
  uint64_t journal_writes = 0;
  BackpressureState backpressure = BackpressureState::kNormal;
};

// The limits ReconfigureLimits can change while the store is open. Each has
// the meaning, default and range of the Options field of the same name.
struct ScalingLimits {
  size_t block_cache_entries = 0;
  size_t block_cache_bytes = 0;
  size_t manifest_cache_entries = 0;
  size_t manifest_cache_bytes = 0;
  // 0 means the number of hardware threads; CurrentLimits reports the
  // resulting number.
  size_t max_concurrent_writes = 0;
  // For segments created from now on; existing ones keep their size.
  // MaxPayloadSize() follows it. Range: [64 KiB, 1 TiB].
  uint64_t segment_size = 0;
  size_t hot_segments = 0;
  // warning <= critical.
  size_t write_queue_warning_depth = 0;
  size_t write_queue_critical_depth = 0;

  bool operator==(const ScalingLimits&) const = default;
};

class ScalableSubsystem {
 public:
  virtual ~ScalableSubsystem() = default;
  virtual ScalingMetrics GetScalingMetrics() = 0;
  // Validates every field first: InvalidArgument (and nothing changed) if
  // any is out of range. Otherwise every limit is in effect on return:
  // caches evict down to their new bounds, queued writers are admitted up to
  // a raised max_concurrent_writes (a lowered one admits no one new until
  // enough writers finish), the next segment gets the new size, and the
  // queue thresholds apply to the next write.
  virtual absl::Status ReconfigureLimits(const ScalingLimits& limits) = 0;
  virtual ScalingLimits CurrentLimits() = 0;
  virtual BackpressureState CurrentBackpressureState() = 0;
};

// The ScalableSubsystem of one store; get it with BlockStore::Scaling(). It
// lives as long as the store.
class ScalingManager final : public ScalableSubsystem {
 public:
  ScalingManager(const ScalingManager&) = delete;
  ScalingManager& operator=(const ScalingManager&) = delete;

  ScalingMetrics GetScalingMetrics() override;
  absl::Status ReconfigureLimits(const ScalingLimits& limits) override;
  ScalingLimits CurrentLimits() override;
  BackpressureState CurrentBackpressureState() override;

  // FormatPrometheus(GetScalingMetrics(), store.GetStats()).
  std::string PrometheusText();

 private:
  friend class internal::StoreImpl;
  explicit ScalingManager(internal::StoreImpl* store) : store_(store) {}
  internal::StoreImpl* const store_;
};

// Prometheus text exposition format (version 0.0.4): a # HELP and a # TYPE
// line per metric, names prefixed segstore_, counters ending in _total,
// segments per tier labelled tier="hot|warm|cold", lock figures labelled
// lock="commit|state", lock waits in seconds. Serve it with Content-Type
// "text/plain; version=0.0.4".
std::string FormatPrometheus(const ScalingMetrics& metrics, const StoreStats& stats);

}  // namespace segstore

#endif  // SEGSTORE_INCLUDE_SEGSTORE_SCALING_H_
