// segments/PRUNE: the prune point of a store, where the offline tools find it
// without meta/. One line,
//   "segstore-prune 2 <store uuid, 32 hex> <number> <xxh3-64 hex>\n",
// the checksum covering everything before it, so a PRUNE file copied from
// another store is recognised as not this store's. Replaced atomically:
// written to PRUNE.tmp, synced, renamed over PRUNE, and the directory synced.

#ifndef SEGSTORE_SRC_STORE_PRUNE_FILE_H_
#define SEGSTORE_SRC_STORE_PRUNE_FILE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "segment/record.h"
#include "segstore/file_system.h"

namespace segstore::internal {

inline constexpr char kPruneFileName[] = "PRUNE";
inline constexpr char kPruneTempName[] = "PRUNE.tmp";

struct PrunePoint {
  uint64_t before = 0;  // blocks below this number are pruned
  StoreUuid store{};    // the store that wrote the file
};

// The file's whole content for (uuid, n), newline included.
std::string FormatPruneLine(const StoreUuid& uuid, uint64_t n);
// Accepts exactly what FormatPruneLine writes; otherwise DataLoss naming
// `path` and what is wrong.
absl::StatusOr<PrunePoint> ParsePruneLine(std::string_view content, std::string_view path);

// nullopt if there is no PRUNE file; DataLoss naming the file if it is
// damaged or not in this format.
absl::StatusOr<std::optional<PrunePoint>> ReadPruneFile(FileSystem& fs, const std::string& segments_dir);
// DataLoss naming the file unless `point` was written by the store `uuid`:
// another store's prune point could delete this store's blocks.
absl::Status CheckPruneFileOwner(const PrunePoint& point, const StoreUuid& uuid, const std::string& segments_dir);
// Makes "blocks below n are pruned" durable in segments_dir/PRUNE.
absl::Status WritePruneFile(FileSystem& fs, const std::string& segments_dir, const StoreUuid& uuid, uint64_t n);

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_STORE_PRUNE_FILE_H_
