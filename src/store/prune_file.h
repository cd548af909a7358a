// segments/PRUNE: the prune point of a store, where the offline tools find it
// without meta/. One line, "segstore-prune 1 <number> <xxh3-64 hex>\n", the
// checksum covering "segstore-prune 1 <number>". Replaced atomically: written
// to PRUNE.tmp, synced, renamed over PRUNE, and the directory synced.

#ifndef SEGSTORE_SRC_STORE_PRUNE_FILE_H_
#define SEGSTORE_SRC_STORE_PRUNE_FILE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "segstore/file_system.h"

namespace segstore::internal {

inline constexpr char kPruneFileName[] = "PRUNE";
inline constexpr char kPruneTempName[] = "PRUNE.tmp";

// nullopt if there is no PRUNE file; DataLoss naming the file if it is damaged.
absl::StatusOr<std::optional<uint64_t>> ReadPruneFile(FileSystem& fs, const std::string& segments_dir);
// Makes "blocks below n are pruned" durable in segments_dir/PRUNE.
absl::Status WritePruneFile(FileSystem& fs, const std::string& segments_dir, uint64_t n);

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_STORE_PRUNE_FILE_H_
