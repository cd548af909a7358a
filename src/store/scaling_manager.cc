// ScalingManager: validates limits and forwards to the narrow StoreImpl
// accessors (CollectScalingMetrics, ApplyLimits, CurrentLimits,
// CurrentBackpressure), which own the locking.

#include "store/scaling_manager.h"

#include "absl/strings/str_cat.h"
#include "segment/format.h"
#include "store/store_impl.h"
#include "util/status_util.h"

namespace segstore {

std::string_view BackpressureStateName(BackpressureState state) {
  switch (state) {
    case BackpressureState::kNormal:
      return "normal";
    case BackpressureState::kWarning:
      return "warning";
    case BackpressureState::kCritical:
      return "critical";
  }
  return "unknown";
}

BackpressureState ClassifyBackpressure(size_t queue_depth, size_t warning_depth, size_t critical_depth) {
  if (queue_depth >= critical_depth) return BackpressureState::kCritical;
  if (queue_depth >= warning_depth) return BackpressureState::kWarning;
  return BackpressureState::kNormal;
}

ScalingMetrics ScalingManager::GetScalingMetrics() { return store_->CollectScalingMetrics(); }

absl::Status ScalingManager::ReconfigureLimits(const ScalingLimits& limits) {
  absl::Status s = internal::ValidateScalingLimits(limits, "ScalingLimits");
  if (!s.ok()) return s;
  store_->ApplyLimits(limits);
  return absl::OkStatus();
}

ScalingLimits ScalingManager::CurrentLimits() { return store_->CurrentLimits(); }

BackpressureState ScalingManager::CurrentBackpressureState() { return store_->CurrentBackpressure(); }

std::string ScalingManager::PrometheusText() {
  // Stats first: the metrics' counters are then at least as new as the sizes.
  const StoreStats stats = store_->GetStats();
  return FormatPrometheus(store_->CollectScalingMetrics(), stats);
}

namespace internal {

absl::Status ValidateScalingLimits(const ScalingLimits& l, std::string_view owner) {
  if (l.segment_size < kMinSegmentSize || l.segment_size > kMaxSegmentSize) {
    return absl::InvalidArgumentError(absl::StrCat(AV(owner), "::segment_size ", l.segment_size, " is outside [",
                                                   kMinSegmentSize, ", ", kMaxSegmentSize, "]"));
  }
  if (l.write_queue_warning_depth > l.write_queue_critical_depth) {
    return absl::InvalidArgumentError(absl::StrCat(AV(owner), "::write_queue_warning_depth ", l.write_queue_warning_depth,
                                                   " is above write_queue_critical_depth ",
                                                   l.write_queue_critical_depth));
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace segstore
