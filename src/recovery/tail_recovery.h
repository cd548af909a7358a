// Open-time recovery of the active (unsealed) segment: scan its records,
// apply truncation markers, and reconcile the result with the journal.
// Pure logic over the file's bytes, so it is tested (and fuzzed) without a
// store; StoreImpl applies the plan.

#ifndef SEGSTORE_SRC_RECOVERY_TAIL_RECOVERY_H_
#define SEGSTORE_SRC_RECOVERY_TAIL_RECOVERY_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "schema/segstore.pb.h"
#include "segment/footer.h"
#include "segment/scanner.h"

namespace segstore::internal {

struct TailRecoveryInput {
  std::string_view file;   // the whole segment file
  uint64_t segment_id = 0;
  uint64_t seed = 0;       // RecordSeed of the segment
  uint64_t synced_offset = 0;  // durable part: damage below it is bit rot
  uint64_t capacity = 0;       // the segment's preallocated size
  uint32_t epoch = 0;      // the epoch recorded in the segment's metadata
  // Journal entries that point into this segment, by block number.
  std::vector<std::pair<uint64_t, proto::BlockLocation>> journal;
};

struct TailRecoveryPlan {
  std::vector<IndexEntry> live;        // the blocks of the segment, in order
  std::vector<uint64_t> damaged;       // numbers of live blocks whose payload is bad
  std::vector<uint64_t> markers;       // TruncateAfter markers, in file order
  std::vector<IndexEntry> journal_add; // live blocks the journal lacks or has wrong
  std::vector<uint64_t> journal_drop;  // journaled numbers that are not live
  // Where the next record goes: past the last valid record and past the
  // extent of every damaged record that stays indexed, 8-byte aligned, so
  // that new writes never land inside a damaged range.
  uint64_t end = 0;
  uint64_t bytes_cut = 0;              // bytes of dropped journaled records past end
  uint32_t next_epoch = 1;             // epoch for records written from now on
  // Epochs are used up (a hostile or absurd value reached 2^32 - 1): the
  // segment takes no more records; the store seals it and starts a new one.
  bool epochs_exhausted = false;
  std::vector<ScannedGap> skipped;
  std::optional<ScannedRecord> footer;  // the segment was sealed (seal interrupted)
  std::string end_reason;
};

TailRecoveryPlan PlanTailRecovery(const TailRecoveryInput& in);

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_RECOVERY_TAIL_RECOVERY_H_
