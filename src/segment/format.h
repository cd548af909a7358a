// On-disk constants of a segment file. Everything here is little-endian.
//
//   [segment header, kSegmentHeaderSize bytes]
//   [record]* each: record header (kRecordHeaderSize) + payload, padded to 8
//   (sealed only) [footer record: type kFooter, payload = SegmentFooter proto]
//                 [trailer, kTrailerSize bytes]; the file ends here
//   (active only) zeros up to the preallocated capacity
//
// Segment header: magic u64 | format_version u32 | header_size u32 |
//   store_uuid [16] | segment_id u64 | generation u64 | created_unix_micros
//   i64 | capacity u64 | reserved [56] | checksum u64 (XXH3-64 of bytes 0..120)
// Record header: magic u32 | type u32 | number u64 | length u64 |
//   payload_checksum u64 | epoch u32 | header_checksum u32 (low 32 bits of
//   XXH3-64 of bytes 0..36)
// Trailer: magic u64 | footer_offset u64 | footer_length u64 | checksum u64
//   (XXH3-64 of bytes 0..24)

#ifndef SEGSTORE_SRC_SEGMENT_FORMAT_H_
#define SEGSTORE_SRC_SEGMENT_FORMAT_H_

#include <cstdint>

namespace segstore::internal {

inline constexpr uint32_t kFormatVersion = 1;

inline constexpr uint64_t kSegmentMagic = 0x3147455354534753ull;  // "SGSTSEG1"
inline constexpr uint64_t kSegmentHeaderSize = 128;
inline constexpr uint64_t kSegmentHeaderChecksumOffset = 120;

inline constexpr uint32_t kRecordMagic = 0x4b4c4253u;  // "SBLK"
inline constexpr uint64_t kRecordHeaderSize = 40;
inline constexpr uint64_t kRecordHeaderChecksummed = 36;

inline constexpr uint64_t kTrailerMagic = 0x31444e4554534753ull;  // "SGSTEND1"
inline constexpr uint64_t kTrailerSize = 32;

enum class RecordType : uint32_t {
  kBlock = 1,
  kTruncate = 2,  // number = n of TruncateAfter(n): earlier blocks above n are gone
  kFooter = 3,    // payload = SegmentFooter; the last record of a sealed file
};

// A segment is sealed once it holds this many records, so that its footer
// (at most 30 bytes a record) stays far below protobuf's 2 GiB message limit.
inline constexpr uint64_t kMaxRecordsPerSegment = uint64_t{1} << 24;

inline constexpr uint64_t kMinSegmentSize = uint64_t{64} << 10;
inline constexpr uint64_t kMaxSegmentSize = uint64_t{1} << 40;

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_SEGMENT_FORMAT_H_
