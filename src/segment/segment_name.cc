#include "segment/segment_name.h"

#include "absl/strings/str_format.h"

namespace segstore::internal {

std::string SegmentFileName(uint64_t segment_id) { return absl::StrFormat("%016x.seg", segment_id); }

std::optional<uint64_t> ParseSegmentFileName(std::string_view name) {
  if (name.size() != 20 || name.substr(16) != ".seg") return std::nullopt;
  uint64_t id = 0;
  for (size_t i = 0; i < 16; ++i) {
    char c = name[i];
    uint64_t d;
    if (c >= '0' && c <= '9') {
      d = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<uint64_t>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
    id = (id << 4) | d;
  }
  return id;
}

}  // namespace segstore::internal
