// Encoding and validation of the fixed little-endian structs of a segment
// file: the segment header, record headers and the trailer.

#ifndef SEGSTORE_SRC_SEGMENT_RECORD_H_
#define SEGSTORE_SRC_SEGMENT_RECORD_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "segment/format.h"

namespace segstore::internal {

using StoreUuid = std::array<char, 16>;

struct SegmentHeader {
  uint32_t format_version = kFormatVersion;
  StoreUuid store_uuid{};
  uint64_t segment_id = 0;
  uint64_t generation = 0;
  int64_t created_unix_micros = 0;
  uint64_t capacity = 0;
};

std::string EncodeSegmentHeader(const SegmentHeader& h);
// DataLoss naming `where` (the file) if the bytes are not a valid header.
absl::StatusOr<SegmentHeader> DecodeSegmentHeader(std::string_view bytes, std::string_view where);

struct RecordHeader {
  RecordType type = RecordType::kBlock;
  uint64_t number = 0;
  uint64_t length = 0;
  uint64_t payload_checksum = 0;
  uint32_t epoch = 0;
};

// Bytes a record with this payload length occupies (8-byte aligned).
// REQUIRES: length <= kMaxSegmentSize.
inline constexpr uint64_t RecordSize(uint64_t length) {
  return (kRecordHeaderSize + length + 7) & ~uint64_t{7};
}

// The header checksum is seeded per segment (RecordSeed), so a record copied
// from another segment or store, or embedded in a payload, never validates.
uint64_t RecordSeed(const StoreUuid& uuid, uint64_t segment_id);

void EncodeRecordHeader(const RecordHeader& h, uint64_t seed, char* dst);  // kRecordHeaderSize bytes
// nullopt unless magic, header checksum and type are right. Does not look at
// the payload. REQUIRES: bytes.size() >= kRecordHeaderSize.
std::optional<RecordHeader> DecodeRecordHeader(std::string_view bytes, uint64_t seed);

struct Trailer {
  uint64_t footer_offset = 0;
  uint64_t footer_length = 0;
};
std::string EncodeTrailer(const Trailer& t);
std::optional<Trailer> DecodeTrailer(std::string_view bytes);  // kTrailerSize bytes

// "segments/000000000000002a.seg offset 4096" style location text.
std::string Where(std::string_view file, uint64_t offset);

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_SEGMENT_RECORD_H_
