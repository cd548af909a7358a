// Checks shared by Options validation (BlockStore::Open) and
// ScalingManager::ReconfigureLimits, so both accept the same ranges.

#ifndef SEGSTORE_SRC_STORE_SCALING_MANAGER_H_
#define SEGSTORE_SRC_STORE_SCALING_MANAGER_H_

#include <string_view>

#include "absl/status/status.h"
#include "segstore/scaling.h"

namespace segstore::internal {

// InvalidArgument naming the first field out of range; `owner` prefixes the
// field names in the message ("Options" or "ScalingLimits").
absl::Status ValidateScalingLimits(const ScalingLimits& limits, std::string_view owner);

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_STORE_SCALING_MANAGER_H_
