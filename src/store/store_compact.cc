// BlockStore::Compact: see below.

#include "absl/strings/str_cat.h"
#include "store/store_impl.h"
#include "util/status_util.h"

namespace segstore::internal {

absl::Status StoreImpl::FinishInstallsAtOpen() { return absl::OkStatus(); }

absl::StatusOr<CompactReport> StoreImpl::Compact(const CompactOptions&) {
  return absl::UnimplementedError("Compact is not implemented yet");
}

}  // namespace segstore::internal
