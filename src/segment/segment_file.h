// File-level operations on one segment: create (preallocate, header, sync
// file and directory), append a record, seal (footer, trailer, trim), and
// read back the header and footer. All I/O goes through the FileSystem seam.

#ifndef SEGSTORE_SRC_SEGMENT_SEGMENT_FILE_H_
#define SEGSTORE_SRC_SEGMENT_SEGMENT_FILE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "segment/footer.h"
#include "segment/record.h"
#include "segstore/file_system.h"

namespace segstore::internal {

// Creates dir/<id>.seg with the full capacity preallocated, so that writes
// into it cannot hit ENOSPC, and makes file and directory entry durable
// before returning. On failure nothing is left behind.
absl::StatusOr<std::unique_ptr<File>> CreateSegmentFile(FileSystem& fs, const std::string& dir,
                                                        const SegmentHeader& header);

absl::StatusOr<SegmentHeader> ReadSegmentHeader(File& file, std::string_view where);

// Writes one record at offset. scratch is reused to send small records in
// one write.
absl::Status WriteRecord(File& file, uint64_t offset, uint64_t seed, const RecordHeader& header,
                         std::string_view payload, std::string* scratch);

struct SealedFooter {
  uint64_t footer_offset = 0;
  uint64_t footer_length = 0;
  uint64_t footer_checksum = 0;
  uint64_t file_size = 0;  // after trimming
  bool trimmed = true;     // false: the preallocated tail is still there
};

// Writes the footer record at `end` and the trailer after it, syncs, trims
// the preallocated tail and syncs again. The caller guarantees that nothing
// maps or reads the file beyond the trailer (records all lie before it).
absl::StatusOr<SealedFooter> SealSegmentFile(File& file, uint64_t end, uint64_t seed,
                                             uint32_t epoch, std::string_view footer_payload);

// Reads and decodes the footer at the given place, checking its checksum.
absl::StatusOr<FooterContents> ReadFooter(File& file, std::string_view where, uint64_t seed,
                                          const SealedFooter& footer);

// Finds the footer of a sealed file from its trailer (offline tools).
absl::StatusOr<SealedFooter> LocateFooter(File& file, std::string_view where);

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_SEGMENT_SEGMENT_FILE_H_
