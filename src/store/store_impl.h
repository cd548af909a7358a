// StoreImpl: the one place that orders locks, segment I/O and metadata.
//
// Lock order (never the reverse): write_mu_ -> state_mu_ -> cache mutexes.
//  - write_mu_ serializes writers (Put, Append, TruncateAfter, Sync, Close)
//    and is held across their I/O, like LevelDB's writer queue; readers
//    never take it.
//  - state_mu_ guards the in-memory index that readers consult. It is held
//    only for in-memory work: never across I/O, a mapping call or a RocksDB
//    call.
// A block becomes visible to readers (is published under state_mu_) only
// after its record is written and journaled, so every acknowledged block is
// readable by every thread.
//
// Where a block is found: the active segment's blocks are in active_index_
// (the in-memory mirror of the journal, so reads of recent blocks make no
// RocksDB call); sealed segments' blocks are in their footer tables (the
// manifest cache). The segment directory (segments_) costs one small entry
// per segment, not per block.

#ifndef SEGSTORE_SRC_STORE_STORE_IMPL_H_
#define SEGSTORE_SRC_STORE_STORE_IMPL_H_

#include <atomic>
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
#include "segstore/block_store.h"
#include "segstore/file_system.h"
#include "store/store_lock.h"
#include "util/mutex.h"

namespace segstore::internal {

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
  SealedFooter footer;   // sealed only (footer.trimmed false: tail not yet trimmed)
};

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
  absl::Status Sync() override;
  absl::Status Close() override;
  absl::Status Health() override;
  absl::StatusOr<VerifyReport> Verify(bool deep) override;
  const RecoveryReport& LastRecoveryReport() const override { return report_; }
  StoreStats GetStats() override;

 private:
  StoreImpl(const Options& options, std::string dir);

  // --- open ---
  absl::Status OpenImpl();
  absl::Status LoadManifest();
  absl::Status LoadSegments();
  absl::Status RemovePendingAndOrphans();
  // A file under the segment id holding only this store's header and zeros.
  bool IsEmptySegmentFile(uint64_t id);
  absl::Status RecoverActiveTail();

  // --- writers (REQUIRES write_mu_) ---
  absl::Status CheckWritable() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status PutLocked(BlockNumber n, std::string_view payload, const WriteOptions& options)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Makes sure the active segment can take a record of record_bytes (plus
  // room for the footer), sealing and creating segments as needed.
  absl::Status EnsureRoom(uint64_t record_bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status SealActive() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status CreateActive() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status SyncLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status RetireShardsThrough(uint64_t last_sealed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Enters the failed read-only state and returns the status that says so.
  absl::Status Fail(const absl::Status& cause) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  proto::SegmentMeta ActiveMeta(const SegmentInfo& info) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
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

  // --- readers ---
  struct Location {
    SegmentInfo info;
    IndexEntry entry;
    std::shared_ptr<const ReadOnlyMapping> map;  // set if the segment is mapped
  };
  // NotFound if n is absent. May read a footer (I/O) without locks held.
  absl::StatusOr<Location> Locate(BlockNumber n);
  absl::StatusOr<Block> ReadAt(const Location& loc, const ReadOptions& options);
  absl::StatusOr<std::shared_ptr<const BlockTable>> SealedTable(const SegmentInfo& info);
  absl::StatusOr<std::shared_ptr<File>> SealedFile(uint64_t id);
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

  // Fixed after Open.
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

  Mutex write_mu_ ABSL_ACQUIRED_BEFORE(state_mu_);
  std::unique_ptr<File> active_file_ ABSL_GUARDED_BY(write_mu_);
  uint64_t active_synced_ ABSL_GUARDED_BY(write_mu_) = 0;
  uint32_t active_epoch_ ABSL_GUARDED_BY(write_mu_) = 1;
  std::vector<uint64_t> active_markers_ ABSL_GUARDED_BY(write_mu_);
  uint64_t next_segment_id_ ABSL_GUARDED_BY(write_mu_) = 1;
  std::string scratch_ ABSL_GUARDED_BY(write_mu_);
  bool closed_ ABSL_GUARDED_BY(write_mu_) = false;

  mutable Mutex state_mu_;
  std::vector<SegmentInfo> segments_ ABSL_GUARDED_BY(state_mu_);  // id order == block order
  std::vector<IndexEntry> active_index_ ABSL_GUARDED_BY(state_mu_);
  std::shared_ptr<const ReadOnlyMapping> active_map_ ABSL_GUARDED_BY(state_mu_);
  uint64_t total_count_ ABSL_GUARDED_BY(state_mu_) = 0;
  uint64_t sealed_count_ ABSL_GUARDED_BY(state_mu_) = 0;
  absl::Status failed_ ABSL_GUARDED_BY(state_mu_);

  // Keyed by where a record is, not by block number: a place in a segment
  // file is written once, while a number can be rewritten after TruncateAfter.
  struct RecordPlace {
    uint64_t segment_id;
    uint64_t offset;
    bool operator==(const RecordPlace&) const = default;
  };
  struct RecordPlaceHash {
    size_t operator()(const RecordPlace& p) const { return std::hash<uint64_t>()(p.segment_id * 0x9E3779B97F4A7C15ull ^ p.offset); }
  };
  BoundedCache<RecordPlace, std::shared_ptr<const std::string>, RecordPlaceHash> block_cache_;
  BoundedCache<uint64_t, std::shared_ptr<const BlockTable>> footer_cache_;
  BoundedCache<uint64_t, std::shared_ptr<const ReadOnlyMapping>> hot_maps_;
  BoundedCache<uint64_t, std::shared_ptr<File>> open_files_;
};

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_STORE_STORE_IMPL_H_
