#include "util/checksum.h"

#include <xxhash.h>

namespace segstore::internal {

uint64_t Checksum64(std::string_view data) { return XXH3_64bits(data.data(), data.size()); }

}  // namespace segstore::internal

namespace segstore::internal {

uint64_t Checksum64Seeded(std::string_view data, uint64_t seed) {
  return XXH3_64bits_withSeed(data.data(), data.size(), seed);
}

}  // namespace segstore::internal
