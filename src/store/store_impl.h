// StoreImpl: the one place that orders locks, segment I/O and metadata.
//
// Lock order (never the reverse): maintenance_mu_ -> gate_ -> commit_mu_ -> state_mu_ -> cache
// mutexes. limits_mu_ (run-time limits, see ApplyLimits) is taken with none
// of these held, and before the cache and admission mutexes it reconfigures.
//  - maintenance_mu_ serializes PruneBefore, Compact, TruncateAfter,
//    Verify and Rebalance (moves between tiers) with each other (and guards
//    manifest_ after Open). It is the one mutex held across I/O; no reader
//    takes it, and an appender that sealed a segment only tries it (to move
//    segments to the cold tier) and goes on if it is busy.
//  - gate_ is held shared by every writer from reserving its place to being
//    acknowledged, and exclusively by the operations that replace or cut the
//    active segment (rollover, TruncateAfter, Close, recovery). Readers never
//    take it.
//  - commit_mu_ guards the write pipeline: the reservation cursor, the queue
//    of reserved records in number order, the journal buffer and the sync
//    state. It is held only for in-memory work.
//  - state_mu_ guards the in-memory index that readers consult. It too is
//    held only for in-memory work: never across I/O, a mapping call or a
//    RocksDB call.
// The write pipeline: an admitted writer reserves the next offset and number
// under commit_mu_, writes its record with no lock held (in parallel with
// the others), then marks it written; whoever finds the oldest reserved
// records written publishes them, in number order, under state_mu_. A writer
// returns only once its record is published, so every acknowledged block is
// readable by every thread and the acknowledged blocks never have holes.
// Sync writes share syncs: one writer syncs everything published so far
// while the others wait for it (group commit).
//
// Where a block is found: the active segment's blocks are in active_index_
// (the in-memory mirror of the journal, so reads of recent blocks make no
// RocksDB call); sealed segments' blocks are in their footer tables (the
// manifest cache). The segment directory (segments_) costs one small entry
// per segment, not per block.

#ifndef SEGSTORE_SRC_STORE_STORE_IMPL_H_
#define SEGSTORE_SRC_STORE_STORE_IMPL_H_

#include <atomic>
#include <deque>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cache/bounded_cache.h"
#include "meta/meta_store.h"
#include "segment/footer.h"
#include "segment/record.h"
#include "segment/segment_file.h"
#include "segstore/backing_store.h"
#include "segstore/block_store.h"
#include "segstore/file_system.h"
#include "segstore/scaling.h"
#include "store/store_lock.h"
#include "store/write_admission.h"
#include "tier/tier_registry.h"
#include "util/mutex.h"

namespace segstore::internal {

struct TailRecoveryPlan;

struct SegmentInfo {
  uint64_t id = 0;
  bool sealed = false;
  uint64_t capacity = 0;
  uint64_t generation = 1;
  bool has_blocks = false;
  // Non-decreasing along segments_ even for segments without blocks (then
  // the number the next block would at least get), so it can be searched.
  uint64_t first = 0;
  uint64_t last = 0;
  uint64_t count = 0;
  uint64_t used = 0;     // active: end of data; sealed: file size
  bool cold = false;     // sealed only: the authoritative copy is in the backing store
  SealedFooter footer;   // sealed only (footer.trimmed false: tail not yet trimmed)
};

// The SegmentMeta recorded for a sealed segment.
proto::SegmentMeta SealedMeta(const SegmentInfo& s);

// Cache key of a segment's file, footer and mapping: a compacted segment
// keeps its id with a higher generation, and must not meet the old
// generation's cached descriptor, footer or records.
inline uint64_t SegmentCacheKey(uint64_t id, uint64_t generation) {
  return generation <= 1 ? id : id ^ (generation << 48);
}

class StoreImpl final : public BlockStore {
 public:
  static absl::StatusOr<std::unique_ptr<BlockStore>> Open(const Options& options,
                                                          const std::string& dir);
  ~StoreImpl() override;

  absl::Status Put(BlockNumber n, std::string_view payload, const WriteOptions& options) override;
  absl::StatusOr<BlockNumber> Append(std::string_view payload, const WriteOptions& options) override;
  absl::StatusOr<Block> Get(BlockNumber n, const ReadOptions& options) override;
  absl::StatusOr<std::vector<Block>> GetRange(BlockNumber start, uint64_t count,
                                              const ReadOptions& options) override;
  absl::StatusOr<BlockNumber> FindByKey(std::string_view key) override;
  bool Contains(BlockNumber n) override;
  uint64_t BlockCount() override;
  std::optional<BlockNumber> LowestNumber() override;
  std::optional<BlockNumber> HighestNumber() override;
  size_t MaxPayloadSize() const override;
  absl::Status TruncateAfter(BlockNumber n) override;
  absl::StatusOr<uint64_t> Rebalance() override;
  absl::Status PruneBefore(BlockNumber n) override;
  absl::StatusOr<CompactReport> Compact(const CompactOptions& options) override;
  absl::Status Sync() override;
  absl::Status Close() override;
  absl::Status Health() override;
  absl::StatusOr<VerifyReport> Verify(bool deep) override;
  const RecoveryReport& LastRecoveryReport() const override { return report_; }
  StoreStats GetStats() override;
  ScalingManager& Scaling() override { return scaling_; }

  // --- for ScalingManager (src/store/scaling_manager.cc) ---
  ScalingMetrics CollectScalingMetrics();
  // REQUIRES: limits already validated (ValidateScalingLimits).
  void ApplyLimits(const ScalingLimits& limits) ABSL_LOCKS_EXCLUDED(limits_mu_);
  ScalingLimits CurrentLimits() ABSL_LOCKS_EXCLUDED(limits_mu_);
  BackpressureState CurrentBackpressure();

 private:
  StoreImpl(const Options& options, std::string dir);

  // --- open ---
  absl::Status OpenImpl() ABSL_LOCKS_EXCLUDED(gate_);
  absl::Status LoadManifest();
  absl::Status LoadSegments() ABSL_EXCLUSIVE_LOCKS_REQUIRED(gate_);
  absl::Status RemovePendingAndOrphans() ABSL_EXCLUSIVE_LOCKS_REQUIRED(gate_);
  // A file under the segment id holding only this store's header and zeros.
  bool IsEmptySegmentFile(uint64_t id);
  absl::Status RecoverActiveTail() ABSL_EXCLUSIVE_LOCKS_REQUIRED(gate_);

  // --- writers ---
  // A record's reserved place in the active segment, owned by its writer.
  struct Slot {
    BlockNumber number = 0;
    uint64_t offset = 0;
    uint64_t record_bytes = 0;
    uint64_t length = 0;
    uint64_t checksum = 0;
    std::optional<std::string> key;
    bool written = false;    // the writer is done with the file
    bool published = false;  // readers see it (or, with !status.ok(), it failed)
    absl::Status status;
  };
  struct PendingJournal {
    BlockNumber number;
    proto::BlockLocation location;
    std::optional<std::string> key;
  };
  // Put and Append: n is nullopt for Append.
  absl::StatusOr<BlockNumber> Write(std::optional<BlockNumber> n, std::string_view payload,
                                    const WriteOptions& options);
  enum class Attempt { kDone, kNeedRoom };
  // One try under the shared gate; kNeedRoom: the active segment is full.
  // The permit is released once the record is published: a writer waiting
  // for a shared sync no longer holds a write slot, so the slots go to
  // writers that join the group.
  absl::StatusOr<Attempt> TryWrite(std::optional<BlockNumber> n, std::string_view payload,
                                   const WriteOptions& options, AdmissionPermit* permit, BlockNumber* written)
      ABSL_SHARED_LOCKS_REQUIRED(gate_);
  // Put of a number already reserved: equal bytes are OK, other bytes not.
  absl::Status RewriteExisting(BlockNumber n, std::string_view payload, const WriteOptions& options)
      ABSL_SHARED_LOCKS_REQUIRED(gate_);
  bool FitsLocked(uint64_t record_bytes) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_)
      ABSL_SHARED_LOCKS_REQUIRED(gate_);
  // Marks slot written and publishes every written slot at the head of the
  // queue, in order. A failed slot fails the slots queued behind it.
  void FinishSlotLocked(Slot* slot, absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_);
  // Makes everything published up to `target` durable, sharing the sync with
  // concurrent callers. flush_journal: also write buffered journal entries.
  absl::Status SyncTo(uint64_t target, bool flush_journal) ABSL_SHARED_LOCKS_REQUIRED(gate_);
  // Writes buffered journal entries once the buffer is full.
  absl::Status MaybeFlushJournal() ABSL_SHARED_LOCKS_REQUIRED(gate_);
  void AddJournalToBatch(const std::vector<PendingJournal>& entries, bool journal, MetaStore::Batch* batch);
  absl::Status EnsureShardsFor(const std::vector<PendingJournal>& entries);
  // Resets the pipeline to the published state of the active segment.
  void ResetPipeline() ABSL_EXCLUSIVE_LOCKS_REQUIRED(gate_);

  absl::Status CheckWritable() ABSL_SHARED_LOCKS_REQUIRED(gate_);
  // Makes sure the active segment can take a record of record_bytes (plus
  // room for the footer), sealing and creating segments as needed.
  absl::Status EnsureRoom(uint64_t record_bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(gate_);
  absl::Status SealActive() ABSL_EXCLUSIVE_LOCKS_REQUIRED(gate_);
  absl::Status CreateActive() ABSL_EXCLUSIVE_LOCKS_REQUIRED(gate_);
  absl::Status RetireShardsThrough(uint64_t last_sealed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(gate_);
  // Enters the failed read-only state and returns the status that says so.
  absl::Status Fail(const absl::Status& cause);
  proto::SegmentMeta ActiveMeta(const SegmentInfo& info, uint64_t synced_offset, uint32_t epoch);
  absl::Status DeleteSegmentFiles(const std::vector<uint64_t>& ids);

  // What TruncateAfter(n) does to sealed segments: those wholly above n go,
  // the one straddling n keeps its prefix.
  struct SealedCut {
    std::vector<uint64_t> doomed;
    std::vector<SegmentInfo> clamped;
    uint64_t marker = 0;  // the truncation marker to write (n, or lower: see .cc)
  };
  absl::Status PlanSealedCut(BlockNumber n, SealedCut* cut);
  void AddSealedCut(const SealedCut& cut, MetaStore::Batch* batch);
  // Updates the in-memory view and deletes the doomed files.
  absl::Status FinishSealedCut(const SealedCut& cut, bool delete_files);

  // --- pruning (store_prune.cc) ---
  struct PrunePlan {
    uint64_t before = 0;
    std::vector<uint64_t> doomed;         // sealed segments holding only pruned blocks
    std::vector<SegmentInfo> clamped;     // the sealed segment straddling `before`
  };
  absl::Status PlanPrune(uint64_t before, PrunePlan* plan);
  // Records the prune point and the plan in one RocksDB batch (if persist),
  // applies it to the in-memory view and deletes the doomed files.
  absl::Status ApplyPrune(const PrunePlan& plan, bool persist) ABSL_EXCLUSIVE_LOCKS_REQUIRED(gate_);
  // Reads segments/PRUNE; the prune point is the larger of it and the
  // manifest's. Returns the file's point (0 without a file).
  absl::StatusOr<uint64_t> LoadPrunePoint();
  // Finishes a prune that stopped between its durable steps (idempotent);
  // `file_point` is what LoadPrunePoint read from segments/PRUNE.
  absl::Status FinishPruneAtOpen(uint64_t file_point) ABSL_EXCLUSIVE_LOCKS_REQUIRED(gate_);
  void DropPrunedFromTail(TailRecoveryPlan* plan) const;
  // --- compaction (store_compact.cc) ---
  // Renames committed compacted files into place and removes uncommitted ones.
  absl::Status FinishInstallsAtOpen();

  // --- readers ---
  struct Location {
    SegmentInfo info;
    IndexEntry entry;
    std::shared_ptr<const ReadOnlyMapping> map;  // set if the segment is mapped
  };
  // NotFound if n is absent. May read a footer (I/O) without locks held.
  absl::StatusOr<Location> Locate(BlockNumber n);
  absl::StatusOr<Block> ReadAt(const Location& loc, const ReadOptions& options);
  // One try of GetRange (which retries it when a compaction switched files).
  absl::StatusOr<std::vector<Block>> GetRangeOnce(BlockNumber start, uint64_t count, const ReadOptions& options);
  absl::StatusOr<std::shared_ptr<const BlockTable>> SealedTable(const SegmentInfo& info);
  // The file to pread a sealed segment from: its local file, or its cold
  // object. A local file deleted by a move to the cold tier meanwhile is
  // found again through the segment's current state (info is refreshed).
  absl::StatusOr<std::shared_ptr<File>> SealedFile(SegmentInfo* info);
  // "segments/…seg" or "object …seg in <backing store>", for messages.
  std::string SegmentWhere(const SegmentInfo& info) const;

  // --- tiers (src/store/store_tiers.cc) ---
  // Fills the tier registry from segments_ after open.
  void LoadTiers();
  // A segment was just sealed: it joins the hot tier; the oldest hot one
  // moves to warm if the hot tier is over hot_segments.
  void TierAfterSeal(uint64_t id);
  // Sealed local segments beyond the hot and warm tiers' sizes, oldest first.
  std::vector<uint64_t> DemotionCandidates();
  // Copies a sealed local segment to the backing store and switches to the
  // copy; false if the segment changed meanwhile (nothing was switched).
  absl::StatusOr<bool> DemoteSegment(uint64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(maintenance_mu_);
  absl::StatusOr<uint64_t> RebalanceLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(maintenance_mu_);
  // Open: removes local files of segments whose move to cold was recorded
  // but not finished, and objects no segment refers to.
  absl::Status FinishInterruptedMoves();
  std::shared_ptr<const ReadOnlyMapping> HotMapping(const SegmentInfo& info);
  // Index in segments_ of the last segment with blocks whose first <= n.
  std::optional<size_t> SegmentIndexFor(BlockNumber n) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_mu_);
  bool IsHotLocked(size_t index) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_mu_);
  std::optional<BlockNumber> HighestLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_mu_);

  absl::Status CheckOpen() const;
  std::string SegmentPath(uint64_t id) const;
  uint64_t Seed(uint64_t segment_id) const { return RecordSeed(uuid_, segment_id); }
  uint64_t ShardOf(BlockNumber n) const { return n / shard_blocks_; }
  void Log(std::string_view line) const;

  // Fixed after Open (but see the run-time limits below: they override the
  // Options fields of the same names).
  const Options options_;
  const std::string dir_;
  const std::string segments_dir_;
  std::shared_ptr<FileSystem> fs_;
  std::unique_ptr<StoreLock> lock_;
  std::unique_ptr<MetaStore> meta_;
  proto::StoreManifest manifest_;
  StoreUuid uuid_{};
  uint64_t shard_blocks_ = 1;
  RecoveryReport report_;
  proto::SegmentMeta active_meta_on_open_;  // the newest segment's metadata, read once
  std::atomic<bool> closed_for_reads_{false};
  // Blocks below this are pruned. Written under state_mu_ (with the view),
  // read without it.
  std::atomic<uint64_t> prune_before_{0};
  // Bumped before and after Compact switches a segment's file: a read that
  // failed while it changed is retried with the new view.
  std::atomic<uint64_t> layout_epoch_{0};
  Mutex maintenance_mu_ ABSL_ACQUIRED_BEFORE(gate_);

  // Run-time limits. limits_mu_ serializes ApplyLimits and guards the copy
  // CurrentLimits returns; the paths that use a limit read its atomic (or
  // the cache or admission object that holds it) without it.
  Mutex limits_mu_;
  ScalingLimits limits_ ABSL_GUARDED_BY(limits_mu_);
  std::atomic<uint64_t> segment_size_;          // of segments created from now on
  std::atomic<size_t> hot_segments_;            // sealed segments kept mapped
  std::atomic<size_t> queue_warning_depth_;
  std::atomic<size_t> queue_critical_depth_;    // passed to WriteAdmission::Acquire
  LockCounters commit_lock_counters_;
  LockCounters state_lock_counters_;

  WriteAdmission admission_;
  SharedGate gate_ ABSL_ACQUIRED_BEFORE(commit_mu_);
  std::unique_ptr<File> active_file_ ABSL_GUARDED_BY(gate_);
  uint32_t active_epoch_ ABSL_GUARDED_BY(gate_) = 1;
  std::vector<uint64_t> active_markers_ ABSL_GUARDED_BY(gate_);
  uint64_t next_segment_id_ ABSL_GUARDED_BY(gate_) = 1;
  bool closed_ ABSL_GUARDED_BY(gate_) = false;

  Mutex commit_mu_ ABSL_ACQUIRED_BEFORE(state_mu_){&commit_lock_counters_};
  CondVar commit_cv_;
  // Reservation cursor of the active segment (0 capacity: none is open).
  uint64_t active_capacity_ ABSL_GUARDED_BY(commit_mu_) = 0;
  uint64_t reserved_end_ ABSL_GUARDED_BY(commit_mu_) = 0;
  uint64_t reserved_records_ ABSL_GUARDED_BY(commit_mu_) = 0;
  std::optional<BlockNumber> reserved_highest_ ABSL_GUARDED_BY(commit_mu_);
  std::deque<Slot*> queue_ ABSL_GUARDED_BY(commit_mu_);  // reserved, not yet published; number order
  uint64_t published_end_ ABSL_GUARDED_BY(commit_mu_) = 0;
  uint64_t active_synced_ ABSL_GUARDED_BY(commit_mu_) = 0;
  bool syncing_ ABSL_GUARDED_BY(commit_mu_) = false;
  bool flushing_journal_ ABSL_GUARDED_BY(commit_mu_) = false;
  std::vector<PendingJournal> journal_buffer_ ABSL_GUARDED_BY(commit_mu_);
  absl::Status journal_error_ ABSL_GUARDED_BY(commit_mu_);
  uint64_t sync_rounds_ ABSL_GUARDED_BY(commit_mu_) = 0;
  uint64_t sync_requests_ ABSL_GUARDED_BY(commit_mu_) = 0;
  uint64_t journal_writes_ ABSL_GUARDED_BY(commit_mu_) = 0;

  mutable Mutex state_mu_{&state_lock_counters_};
  std::vector<SegmentInfo> segments_ ABSL_GUARDED_BY(state_mu_);  // id order == block order
  std::vector<IndexEntry> active_index_ ABSL_GUARDED_BY(state_mu_);
  std::shared_ptr<const ReadOnlyMapping> active_map_ ABSL_GUARDED_BY(state_mu_);
  uint64_t total_count_ ABSL_GUARDED_BY(state_mu_) = 0;
  uint64_t sealed_count_ ABSL_GUARDED_BY(state_mu_) = 0;
  absl::Status failed_ ABSL_GUARDED_BY(state_mu_);

  // Keyed by where a record is, not by block number: a place in one
  // generation of a segment file is written once, while a number can be
  // rewritten after TruncateAfter (and a segment rewritten with a new
  // generation may hold other records at the same offset).
  struct RecordPlace {
    uint64_t segment_id;
    uint64_t generation;
    uint64_t offset;
    bool operator==(const RecordPlace&) const = default;
  };
  struct RecordPlaceHash {
    size_t operator()(const RecordPlace& p) const {
      return std::hash<uint64_t>()((p.segment_id * 0x9E3779B97F4A7C15ull + p.generation) ^ p.offset);
    }
  };
  BoundedCache<RecordPlace, std::shared_ptr<const std::string>, RecordPlaceHash> block_cache_;
  // Records whose payload checksum was verified lately (TTL): a re-read of
  // a mapped block within the TTL skips hashing its payload again.
  BoundedCache<RecordPlace, bool, RecordPlaceHash> validated_;
  BoundedCache<uint64_t, std::shared_ptr<const BlockTable>> footer_cache_;
  BoundedCache<uint64_t, std::shared_ptr<const ReadOnlyMapping>> hot_maps_;
  BoundedCache<uint64_t, std::shared_ptr<File>> open_files_;

  ScalingManager scaling_{this};

  std::shared_ptr<BackingStore> backing_;  // fixed after Open
  // Serializes changes of tier membership (in memory only), so that a
  // recomputation from segments_ and a concurrent seal or move agree.
  Mutex tier_update_mu_ ABSL_ACQUIRED_BEFORE(state_mu_);
  TierRegistry tiers_;
};

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_STORE_STORE_IMPL_H_
