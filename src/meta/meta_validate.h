// Checks of the values the store reads from RocksDB, before anything trusts
// them: a hostile or damaged entry is DataLoss naming it (with the remedy),
// never an out-of-range offset handed to the file code. Shared by the store
// and the fuzz target that feeds them arbitrary values.

#ifndef SEGSTORE_SRC_META_META_VALIDATE_H_
#define SEGSTORE_SRC_META_META_VALIDATE_H_

#include <string_view>

#include "absl/status/status.h"
#include "schema/segstore.pb.h"

namespace segstore::internal {

// A segments-CF entry. where: its segment file name, for the message.
absl::Status ValidateSegmentMeta(const proto::SegmentMeta& m, std::string_view where);

// The store manifest of an existing store (what does not depend on the
// Options it is opened with). dir: the store, for the message.
absl::Status ValidateManifest(const proto::StoreManifest& m, std::string_view dir);

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_META_META_VALIDATE_H_
