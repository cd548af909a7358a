#include "segment/footer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "schema/segstore.pb.h"
#include "segment/format.h"
#include "segment/record.h"
#include "util/status_util.h"

namespace segstore::internal {

const IndexEntry* BlockTable::Find(uint64_t n) const {
  size_t i = LowerBound(n);
  if (i == entries_.size() || entries_[i].number != n) return nullptr;
  return &entries_[i];
}

size_t BlockTable::LowerBound(uint64_t n) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), n,
                             [](const IndexEntry& e, uint64_t v) { return e.number < v; });
  return static_cast<size_t>(it - entries_.begin());
}

std::string EncodeFooter(uint64_t segment_id, uint64_t generation,
                         const std::vector<IndexEntry>& entries,
                         const std::vector<uint64_t>& truncated_after) {
  proto::SegmentFooter f;
  f.set_segment_id(segment_id);
  f.set_generation(generation);
  f.set_record_count(entries.size());
  if (!entries.empty()) f.set_first_block(entries.front().number);
  uint64_t prev_n = entries.empty() ? 0 : entries.front().number;
  uint64_t prev_off = 0;
  for (const IndexEntry& e : entries) {
    f.add_number_deltas(e.number - prev_n);
    f.add_offset_deltas(e.offset - prev_off);
    f.add_lengths(e.length);
    prev_n = e.number;
    prev_off = e.offset;
  }
  for (uint64_t t : truncated_after) f.add_truncated_after(t);
  return f.SerializeAsString();
}

absl::StatusOr<FooterContents> DecodeFooter(std::string_view payload, uint64_t file_size,
                                            std::string_view where) {
  proto::SegmentFooter f;
  // protobuf sizes are int; the check makes the cast exact.
  if (payload.size() > INT32_MAX || !f.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return absl::DataLossError(absl::StrCat(AV(where), ": footer does not parse"));
  }
  // Repeated-field sizes are int, so every index below fits the int casts.
  const size_t count = static_cast<size_t>(f.number_deltas_size());
  if (f.offset_deltas_size() != f.number_deltas_size() || f.lengths_size() != f.number_deltas_size() ||
      f.record_count() != count) {
    return absl::DataLossError(absl::StrCat(AV(where), ": footer table sizes disagree"));
  }
  if (f.first_block() > (uint64_t{1} << 63) - 1) {
    return absl::DataLossError(absl::StrCat(AV(where), ": footer's first block is out of range"));
  }
  std::vector<IndexEntry> entries;
  entries.reserve(count);
  uint64_t n = f.first_block();
  uint64_t off = 0;
  for (size_t i = 0; i < count; ++i) {
    uint64_t dn = f.number_deltas(static_cast<int>(i));
    uint64_t doff = f.offset_deltas(static_cast<int>(i));
    uint64_t len = f.lengths(static_cast<int>(i));
    if ((i > 0 && dn == 0) || dn > ((uint64_t{1} << 63) - 1) - n ||
        doff > file_size - off || len > file_size) {
      return absl::DataLossError(absl::StrCat(AV(where), ": footer entry ", i, " is out of range"));
    }
    n += dn;
    off += doff;
    if (off < kSegmentHeaderSize || RecordSize(len) > file_size - off) {
      return absl::DataLossError(
          absl::StrCat(AV(where), ": footer entry ", i, " points outside the file"));
    }
    entries.push_back({n, off, len});
  }
  FooterContents out;
  out.segment_id = f.segment_id();
  out.generation = f.generation();
  out.table = BlockTable(std::move(entries));
  out.truncated_after.assign(f.truncated_after().begin(), f.truncated_after().end());
  return out;
}

uint64_t FooterReserve(uint64_t records) {
  // Per entry at most three 10-byte varints; plus fixed fields, the footer
  // record header and padding, and the trailer.
  return 30 * records + 128 + kRecordHeaderSize + 8 + kTrailerSize;
}

}  // namespace segstore::internal
