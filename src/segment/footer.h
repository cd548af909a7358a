// The block table of a sealed segment: built from the in-memory index when
// the segment is sealed, decoded from the footer record when it is read.

#ifndef SEGSTORE_SRC_SEGMENT_FOOTER_H_
#define SEGSTORE_SRC_SEGMENT_FOOTER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace segstore::internal {

// Where one block's record is inside its segment file.
struct IndexEntry {
  uint64_t number = 0;
  uint64_t offset = 0;  // of the record header
  uint64_t length = 0;  // payload bytes
};

// A sorted (by number, strictly increasing) table of a segment's blocks.
class BlockTable {
 public:
  BlockTable() = default;
  explicit BlockTable(std::vector<IndexEntry> entries) : entries_(std::move(entries)) {}

  const std::vector<IndexEntry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  // nullptr if n is not in the table.
  const IndexEntry* Find(uint64_t n) const;
  // Index of the first entry with number >= n (size() if none).
  size_t LowerBound(uint64_t n) const;
  // Approximate heap bytes, for cache accounting.
  size_t MemoryBytes() const { return sizeof(*this) + entries_.capacity() * sizeof(IndexEntry); }

 private:
  std::vector<IndexEntry> entries_;
};

struct FooterContents {
  uint64_t segment_id = 0;
  uint64_t generation = 0;
  BlockTable table;
  std::vector<uint64_t> truncated_after;
};

// Serialized SegmentFooter. REQUIRES: entries sorted by number and offset.
std::string EncodeFooter(uint64_t segment_id, uint64_t generation,
                         const std::vector<IndexEntry>& entries,
                         const std::vector<uint64_t>& truncated_after);

// DataLoss naming `where` if the payload does not parse or is inconsistent
// (numbers not increasing, offsets past file_size, counts that disagree).
absl::StatusOr<FooterContents> DecodeFooter(std::string_view payload, uint64_t file_size,
                                            std::string_view where);

// Upper bound of the encoded footer size for `records` entries, so that a
// segment always keeps room to be sealed.
uint64_t FooterReserve(uint64_t records);

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_SEGMENT_FOOTER_H_
