// Checksums of segment data: XXH3-64 from libxxhash.

#ifndef SEGSTORE_SRC_UTIL_CHECKSUM_H_
#define SEGSTORE_SRC_UTIL_CHECKSUM_H_

#include <cstdint>
#include <string_view>

namespace segstore::internal {

uint64_t Checksum64(std::string_view data);
uint64_t Checksum64Seeded(std::string_view data, uint64_t seed);

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_UTIL_CHECKSUM_H_
