// Segment file names: 16 lower-case hex digits of the id plus ".seg". The id
// is derived from the name, never read from metadata into a path.

#ifndef SEGSTORE_SRC_SEGMENT_SEGMENT_NAME_H_
#define SEGSTORE_SRC_SEGMENT_SEGMENT_NAME_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace segstore::internal {

std::string SegmentFileName(uint64_t segment_id);
// nullopt unless name is exactly 16 lower-case hex digits + ".seg".
std::optional<uint64_t> ParseSegmentFileName(std::string_view name);

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_SEGMENT_SEGMENT_NAME_H_
