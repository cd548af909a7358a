#include "segment/segment_name.h"

#include "absl/strings/str_format.h"
#include "util/hex.h"

namespace segstore::internal {

std::string SegmentFileName(uint64_t segment_id) { return absl::StrFormat("%016x.seg", segment_id); }

std::optional<uint64_t> ParseSegmentFileName(std::string_view name) {
  if (name.size() != 20 || name.substr(16) != ".seg") return std::nullopt;
  return ParseHex16(name.substr(0, 16));
}

}  // namespace segstore::internal
