// Copyright segstore authors.
//
// BlockStore: an ordered sequence of write-once blocks addressed by 64-bit
// block numbers, kept in preallocated segment files with the index in
// RocksDB. See README.md for the durability contract.
//
// Thread safety: every method may be called from any number of threads at
// once. Writers (Put, Append, TruncateAfter, Sync) are serialized among
// themselves; readers never wait for a writer's I/O. Close() (and the
// destructor) must not race with other calls; after Close() they return
// FailedPrecondition, while Blocks already returned stay valid.
//
// Errors are absl::Status values: InvalidArgument for bad input, NotFound for
// an absent block, AlreadyExists / FailedPrecondition for numbering rule
// violations, DataLoss for damaged data (the message names the segment file
// and offset), ResourceExhausted for a full disk, FailedPrecondition once the
// store is read-only or has failed (a failed sync: see Health()).

#ifndef SEGSTORE_INCLUDE_SEGSTORE_BLOCK_STORE_H_
#define SEGSTORE_INCLUDE_SEGSTORE_BLOCK_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "segstore/block.h"
#include "segstore/options.h"
#include "segstore/recovery_report.h"

namespace segstore {

class ScalingManager;  // segstore/scaling.h

// One thing Verify() found wrong, with the place it was found.
struct VerifyProblem {
  uint64_t segment_id = 0;
  uint64_t offset = 0;     // file offset, 0 when it concerns the whole file
  std::string file;        // path of the segment file
  std::string what;
};

struct VerifyReport {
  uint64_t segments = 0;
  uint64_t records_scanned = 0;   // valid records found by reading the files
  uint64_t blocks_checked = 0;    // index entries checked against the files
  uint64_t bytes_read = 0;
  std::vector<VerifyProblem> problems;
  bool ok() const { return problems.empty(); }
};

// Counters and sizes, for monitoring and `segstore stats`.
struct StoreStats {
  uint64_t block_count = 0;
  std::optional<BlockNumber> lowest;
  std::optional<BlockNumber> highest;
  uint64_t segments = 0;
  uint64_t sealed_segments = 0;
  uint64_t segment_bytes = 0;          // bytes used by records in all segments
  uint64_t live_journal_shards = 0;    // journal column families in RocksDB
  uint64_t live_column_families = 0;   // all column families, default included
  uint64_t mapped_segments = 0;
  uint64_t open_segment_files = 0;
  uint64_t block_cache_hits = 0, block_cache_misses = 0, block_cache_entries = 0;
  uint64_t manifest_cache_hits = 0, manifest_cache_misses = 0;
  BlockNumber pruned_before = 0;       // PruneBefore point (0: nothing pruned)
};

struct CompactOptions {
  // Only plan: report what a compaction would rewrite and reclaim, change
  // nothing (works on a read-only store; `segstore stats` uses it).
  bool dry_run = false;
};

// What Compact() did (or, with dry_run, would do). Bytes are sizes of
// segment files on disk.
struct CompactReport {
  uint64_t segments_in = 0;        // sealed segments rewritten
  uint64_t segments_out = 0;       // segments written in their place
  uint64_t blocks_moved = 0;       // live blocks copied
  uint64_t dead_records = 0;       // pruned or truncated-off records dropped
  uint64_t dead_record_bytes = 0;  // their on-disk size (record header + payload + padding)
  uint64_t bytes_before = 0;       // file sizes of the inputs
  uint64_t bytes_after = 0;        // file sizes of the outputs
  uint64_t bytes_reclaimed = 0;    // bytes_before - bytes_after
};

class BlockStore {
 public:
  // Opens (or with create_if_missing, creates) the store in directory dir and
  // recovers its unsealed tail; see LastRecoveryReport(). A second process
  // opening a store held for writing gets FailedPrecondition.
  static absl::StatusOr<std::unique_ptr<BlockStore>> Open(const Options& options,
                                                          const std::string& dir);

  BlockStore(const BlockStore&) = delete;
  BlockStore& operator=(const BlockStore&) = delete;
  // Closes the store if Close() was not called (errors are then logged to
  // info_log only).
  virtual ~BlockStore();

  // Stores payload as block n. REQUIRES: n <= kMaxBlockNumber and
  // payload.size() <= MaxPayloadSize() (else InvalidArgument).
  // n must be above HighestNumber(); gaps are allowed. Putting an existing n
  // again with the same bytes is OK (idempotent re-import); with other bytes
  // it is AlreadyExists; any other n not above the highest is
  // FailedPrecondition.
  virtual absl::Status Put(BlockNumber n, std::string_view payload,
                           const WriteOptions& options = {}) = 0;

  // Stores payload as block HighestNumber() + 1 (first_block_number in an
  // empty store) and returns that number.
  virtual absl::StatusOr<BlockNumber> Append(std::string_view payload,
                                             const WriteOptions& options = {}) = 0;

  // NotFound if block n is absent; DataLoss if it is damaged.
  virtual absl::StatusOr<Block> Get(BlockNumber n, const ReadOptions& options = {}) = 0;

  // The present blocks among [start, start + count), in order, stopping before
  // the total payload would exceed Options::max_range_bytes (at least one
  // block is returned if any is present).
  virtual absl::StatusOr<std::vector<Block>> GetRange(BlockNumber start, uint64_t count,
                                                      const ReadOptions& options = {}) = 0;

  // The number of the block whose Options::key_extractor key is `key`.
  // NotFound if there is none (also after TruncateAfter removed it);
  // FailedPrecondition if the store was opened without a key_extractor.
  virtual absl::StatusOr<BlockNumber> FindByKey(std::string_view key) = 0;

  virtual bool Contains(BlockNumber n) = 0;
  virtual uint64_t BlockCount() = 0;
  virtual std::optional<BlockNumber> LowestNumber() = 0;   // nullopt when empty
  virtual std::optional<BlockNumber> HighestNumber() = 0;  // nullopt when empty

  // The largest payload Put/Append accept: what a new segment of the current
  // segment_size holds (Options::segment_size, or the size last set with
  // ScalingManager::ReconfigureLimits).
  virtual size_t MaxPayloadSize() const = 0;

  // Moves sealed segments between tiers to match the options: the newest
  // hot_segments are mapped, the next warm_segments stay on local disk, the
  // rest go to the cold tier (Options::backing_store). Called by appends
  // that seal a segment; call it yourself after changing the limits. Each
  // move is crash-safe (copy with a new generation, sync, verify, record in
  // meta/, then delete the old copy). Returns the number of segments moved;
  // on an error, the moves before it stay done and the message says how
  // many there were.
  virtual absl::StatusOr<uint64_t> Rebalance() = 0;

  // Durably removes every block above n (a chain reorg); numbers above n may
  // then be written again. Returns once the removal is durable.
  virtual absl::Status TruncateAfter(BlockNumber n) = 0;

  // Durably removes every block below n: they are NotFound from the moment
  // this returns OK (also after reopen and `segstore rebuild-index`), and
  // sealed segments holding only such blocks are deleted; a segment that
  // straddles n keeps its file until Compact() rewrites it. n must not be
  // above HighestNumber() (the highest block is never pruned, so numbering
  // goes on); n at or below the current prune point is a no-op. Makes every
  // acknowledged write durable first. See README, "Pruning and compaction".
  virtual absl::Status PruneBefore(BlockNumber n) = 0;

  // Rewrites sealed segments: consecutive underfull ones are merged into
  // full ones, and segments holding pruned or truncated-off records are
  // rewritten without them. Crash-safe at every step; readers and writers
  // keep working (locks are held only for in-memory work, except a short
  // RocksDB commit). Throttled by Options::compaction_bytes_per_second.
  virtual absl::StatusOr<CompactReport> Compact(const CompactOptions& options = {}) = 0;

  // Makes every acknowledged write durable.
  virtual absl::Status Sync() = 0;

  // Makes every acknowledged write durable and releases the store. The
  // active segment is not sealed: the next Open appends to it. Further calls
  // other than the destructor are FailedPrecondition.
  virtual absl::Status Close() = 0;

  // OK, or the error that put the store into its failed read-only state (an
  // I/O error on sync: retrying fsync is unsafe, so writes stop for good).
  virtual absl::Status Health() = 0;

  // Checks every segment file against the index: headers, footers, that
  // every indexed block is where the index says, and that every valid record
  // in the files is indexed. With deep, every payload's checksum too. Reads
  // every segment file; problems are reported, not repaired (see
  // RebuildIndex in segstore/rebuild.h).
  virtual absl::StatusOr<VerifyReport> Verify(bool deep) = 0;

  // What Open() did to recover.
  virtual const RecoveryReport& LastRecoveryReport() const = 0;

  virtual StoreStats GetStats() = 0;

  // Run-time metrics, limits and backpressure of this store (see
  // segstore/scaling.h): ReconfigureLimits changes cache sizes, write
  // admission, the size of new segments and the hot segment count without
  // reopening. The reference is valid as long as the store.
  virtual ScalingManager& Scaling() = 0;

 protected:
  BlockStore() = default;
};

}  // namespace segstore

#endif  // SEGSTORE_INCLUDE_SEGSTORE_BLOCK_STORE_H_
