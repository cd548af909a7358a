// The read path of a cold segment: a read-only File over one BackingStore
// object, so that the existing segment code (ReadSegmentHeader,
// LocateFooter, ReadFooter) works on it unchanged, and a one-ranged-read
// fetch of one block record.
//
// A cold Get is then: footer from the manifest cache, or ReadFooter() on
// OpenColdSegment() (one ranged read of the footer record, using the footer
// location recorded in SegmentMeta); then ReadRecord() of the entry: one
// ranged read of exactly header + payload. Nothing else of the object is
// fetched. No lock may be held around these calls (they may block on a
// remote store).

#ifndef SEGSTORE_SRC_TIER_COLD_SEGMENT_H_
#define SEGSTORE_SRC_TIER_COLD_SEGMENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "segment/footer.h"
#include "segstore/backing_store.h"
#include "segstore/file_system.h"

namespace segstore::internal {

// A File reading object `name` of store. Read() is one ReadAt; Size() asks
// the store once (known_size > 0 skips even that: the file_size recorded in
// SegmentMeta). Write/Allocate/Truncate/Sync are FailedPrecondition.
// Errors name the object and the store. Thread-safe like any File.
std::unique_ptr<File> OpenColdSegment(std::shared_ptr<BackingStore> store, std::string name,
                                      uint64_t known_size = 0);

// One record of a segment in one read of header + payload at entry.offset:
// DataLoss naming `where` unless the record header validates under seed, is
// a block record with entry's number and length, and (verify_checksum) the
// payload matches its checksum. Returns the payload.
absl::StatusOr<std::string> ReadRecord(File& file, std::string_view where, uint64_t seed,
                                       const IndexEntry& entry, bool verify_checksum = true);

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_TIER_COLD_SEGMENT_H_
