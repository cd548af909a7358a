// MetaStore: the RocksDB database in STORE/meta/ behind one class. Column
// families (DESIGN.md): "default" (the store manifest), "segments" (one
// SegmentMeta per segment), "tiers", and one "journal.<shard>" per block
// range of the unsealed tail. Every value is a protobuf message from
// schema/segstore.proto; a value that does not parse is DataLoss naming the
// column family and key, and a hint to run `segstore rebuild-index`.
//
// Thread safety: all methods are thread-safe. RocksDB headers stay in the
// .cc so that including this costs little.

#ifndef SEGSTORE_SRC_META_META_STORE_H_
#define SEGSTORE_SRC_META_META_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "schema/segstore.pb.h"
#include "util/mutex.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class FileSystem;
}  // namespace rocksdb

namespace segstore::internal {

struct MetaOptions {
  bool create_if_missing = false;
  bool read_only = false;
  int max_open_files = 64;
  size_t memtable_bytes = size_t{64} << 20;
};

class MetaStore {
 public:
  static absl::StatusOr<std::unique_ptr<MetaStore>> Open(const std::string& path,
                                                         const MetaOptions& options);
  ~MetaStore();
  MetaStore(const MetaStore&) = delete;
  MetaStore& operator=(const MetaStore&) = delete;

  absl::Status Close();

  // nullopt for a database without a manifest (a new store).
  absl::StatusOr<std::optional<proto::StoreManifest>> ReadManifest();
  // All segments, in id order.
  absl::StatusOr<std::vector<proto::SegmentMeta>> ReadSegments();
  // The entries of one journal shard, in block order (empty if no such shard).
  absl::StatusOr<std::vector<std::pair<uint64_t, proto::BlockLocation>>> ReadJournal(uint64_t shard);

  // The block number stored for a secondary key, if any.
  absl::StatusOr<std::optional<uint64_t>> GetKey(std::string_view key);

  std::vector<uint64_t> LiveShards();
  uint64_t LiveColumnFamilies();
  // Creates journal.<shard> if it does not exist.
  absl::Status EnsureShard(uint64_t shard);
  absl::Status DropShard(uint64_t shard);

  // A group of changes applied atomically by Write().
  class Batch {
   public:
    void PutManifest(const proto::StoreManifest& m);
    void PutSegment(const proto::SegmentMeta& m);
    void DeleteSegment(uint64_t segment_id);
    // REQUIRES: the shard was made to exist with EnsureShard().
    void PutJournal(uint64_t shard, uint64_t n, const proto::BlockLocation& loc);
    void DeleteJournal(uint64_t shard, uint64_t n);
    void PutKey(std::string_view key, uint64_t n);
    // Membership of a segment in a tier (tiers CF key "<tier>/<id>").
    void PutTier(std::string_view tier, uint64_t segment_id);
    void DeleteTier(std::string_view tier, uint64_t segment_id);
    // Deletes journal entries [from, to] of a shard (one range tombstone).
    void DeleteJournalRange(uint64_t shard, uint64_t from, uint64_t to);
    bool empty() const;

   private:
    friend class MetaStore;
    // Column families are bound in MetaStore::Write, so that a batch can be
    // built without RocksDB headers.
    enum class Target { kManifest, kSegment, kJournal, kKey, kTier };
    struct Op {
      Target target;
      uint64_t shard;  // kJournal only
      uint64_t key;    // segment id or block number (kKey: the number)
      std::optional<std::string> value;  // nullopt: delete
      uint64_t key_end = 0;  // range deletes (kJournal): last number, inclusive
      bool range = false;
      std::string key_bytes = {};  // kKey only
    };
    std::vector<Op> ops_;
  };
  // sync: make the batch (and everything written before it) durable.
  absl::Status Write(Batch& batch, bool sync);

 private:
  MetaStore() = default;
  rocksdb::ColumnFamilyHandle* ShardHandle(uint64_t shard);

  std::string path_;
  bool read_only_ = false;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* segments_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* tiers_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* keys_cf_ = nullptr;
  struct Shared;  // options that must outlive the DB
  std::shared_ptr<Shared> shared_;

  Mutex mu_;
  std::map<uint64_t, rocksdb::ColumnFamilyHandle*> shards_ ABSL_GUARDED_BY(mu_);
};

std::string JournalShardName(uint64_t shard);

// Tests only: RocksDB files of every MetaStore opened from now on go through
// fs (nullptr: the default). Lets crash tests drop RocksDB's unsynced data.
void SetMetaFileSystemForTesting(std::shared_ptr<rocksdb::FileSystem> fs);

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_META_META_STORE_H_
