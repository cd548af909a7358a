// Copyright segstore authors.
//
// Offline maintenance: rebuild a store's metadata (STORE/meta/) from its
// segment files alone, and check a store against its files.

#ifndef SEGSTORE_INCLUDE_SEGSTORE_REBUILD_H_
#define SEGSTORE_INCLUDE_SEGSTORE_REBUILD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "segstore/options.h"
#include "segstore/recovery_report.h"

namespace segstore {

struct RebuildReport {
  uint64_t segment_files = 0;     // *.seg files found
  uint64_t sealed = 0;            // of which sealed (footer and trailer intact)
  uint64_t resealed = 0;          // sealed ones whose footer or trailer was rewritten
  uint64_t blocks = 0;            // blocks indexed
  uint64_t dropped_by_truncation = 0;  // records removed by TruncateAfter markers
  uint64_t bytes_read = 0;        // of segment files
  uint64_t pruned_before = 0;     // prune point (segments/PRUNE, or the old meta/)
  uint64_t dropped_by_prune = 0;  // records below it left out
  uint64_t superseded = 0;        // old inputs of a compaction, ignored (newer generation kept)
  std::vector<SkippedRange> skipped;
  std::vector<DamagedBlock> damaged;   // indexed; Get() of them is DataLoss
  std::vector<std::string> ignored;    // files left alone, with the reason
  std::vector<std::string> repaired;   // segment files whose header was rewritten
  // Whether anything was found damaged or left out: `segstore rebuild-index`
  // exits 1 then.
  bool problems() const { return !skipped.empty() || !damaged.empty() || !ignored.empty() || !repaired.empty(); }
  uint64_t ignored_segments = 0;       // *.seg files not used (counted in segment_files)
  uint64_t cold_segments = 0;          // indexed from their copy in the backing store (cold tier)
  // Copies that lost to a newer valid generation of the same segment (a move
  // between tiers was interrupted): deleted once the new meta/ is in place.
  std::vector<std::string> stale_copies_deleted;
  std::string old_meta;                // where the previous meta/ was moved ("" if none)
  std::string ToString() const;
};

// Rebuilds all of dir/meta/ (segments, tiers, journal, keys) from the
// segment files. The old meta/ is moved aside to meta.old-<UTC timestamp>
// only once the new one is complete and durable. Works when meta/ is missing
// or corrupt. Takes the store's LOCK (fails if the store is open). Uses
// options.key_extractor (to rebuild the keys) and, when meta/ is unreadable,
// options.first_block_number and options.journal_shard_blocks.
absl::StatusOr<RebuildReport> RebuildIndex(const Options& options, const std::string& dir);

}  // namespace segstore

#endif  // SEGSTORE_INCLUDE_SEGSTORE_REBUILD_H_
