// Copyright segstore authors.
//
// What opening a store did to bring it back to a consistent state.

#ifndef SEGSTORE_INCLUDE_SEGSTORE_RECOVERY_REPORT_H_
#define SEGSTORE_INCLUDE_SEGSTORE_RECOVERY_REPORT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace segstore {

// A byte range of a segment file that held no valid record although it lay
// in the durable part of the file (bit rot). Records after it were kept.
struct SkippedRange {
  uint64_t segment_id = 0;
  uint64_t begin = 0;  // file offsets, [begin, end)
  uint64_t end = 0;
  std::string reason;
};

// A block whose record header is intact but whose payload fails its
// checksum. Get() of it is DataLoss naming the segment and offset.
struct DamagedBlock {
  uint64_t segment_id = 0;
  uint64_t offset = 0;
  uint64_t number = 0;
};

// "; skipped damaged bytes [b, e) of segment s: why" and "; block n at
// segment s offset o is damaged ..." for each entry (reports share it).
std::string DescribeDamage(const std::vector<SkippedRange>& skipped, const std::vector<DamagedBlock>& damaged,
                           std::string_view damaged_note);

struct RecoveryReport {
  bool clean = true;                   // nothing was repaired or cut
  uint64_t segments_scanned = 0;       // unsealed segments read on open
  uint64_t bytes_scanned = 0;
  uint64_t blocks_kept = 0;            // valid blocks in the unsealed tail
  uint64_t journal_entries_added = 0;  // written, not journaled: now journaled
  uint64_t journal_entries_dropped = 0;  // journaled, but torn or missing
  uint64_t tail_offset = 0;            // where the active segment's data ends
  uint64_t bytes_cut = 0;              // of journaled records past that end
  bool sealed_interrupted_seal = false;  // a footer was found, the seal finished
  uint64_t orphan_files_removed = 0;   // half-created or already-deleted segments
  std::vector<std::string> ignored_files;  // segment files not in meta/, left alone
  std::vector<SkippedRange> skipped;
  std::vector<DamagedBlock> damaged;

  // One human-readable paragraph.
  std::string ToString() const;
};

}  // namespace segstore

#endif  // SEGSTORE_INCLUDE_SEGSTORE_RECOVERY_REPORT_H_
