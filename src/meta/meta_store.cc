#include "meta/meta_store.h"

#include <algorithm>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "util/coding.h"
#include "util/hex.h"
#include "util/status_util.h"

namespace segstore::internal {
namespace {

constexpr char kManifestKey[] = "manifest";
constexpr char kSegmentsCf[] = "segments";
constexpr char kTiersCf[] = "tiers";
constexpr char kKeysCf[] = "keys";
constexpr char kJournalPrefix[] = "journal.";

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat("meta/ (RocksDB) ", AV(what), ": ", s.ToString());
  if (s.IsNoSpace()) return absl::ResourceExhaustedError(absl::StrCat(msg, " (free disk space)"));
  if (s.IsCorruption()) {
    return absl::DataLossError(absl::StrCat(msg, " (run `segstore rebuild-index` to rebuild meta/)"));
  }
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return absl::UnavailableError(msg);
  if (s.IsNotSupported()) return absl::FailedPreconditionError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  return absl::InternalError(msg);
}

std::optional<uint64_t> ParseShardName(const std::string& name) {
  std::string_view prefix = kJournalPrefix;
  if (name.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  return ParseHex16(std::string_view(name).substr(prefix.size()));
}

template <typename Message>
absl::Status ParseValue(const rocksdb::Slice& value, std::string_view cf, std::string_view key,
                        Message* out) {
  // protobuf sizes are int; the check makes the cast exact.
  if (value.size() > INT32_MAX || !out->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(absl::StrCat("meta/ column family ", AV(cf), " key ", AV(key),
                                            ": value does not parse (run `segstore rebuild-index`)"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string JournalShardName(uint64_t shard) { return absl::StrFormat("%s%016x", kJournalPrefix, shard); }

namespace {
std::mutex test_fs_mu;
std::shared_ptr<rocksdb::FileSystem>& TestFs() {
  static auto* fs = new std::shared_ptr<rocksdb::FileSystem>();
  return *fs;
}
}  // namespace

void SetMetaFileSystemForTesting(std::shared_ptr<rocksdb::FileSystem> fs) {
  std::lock_guard<std::mutex> lock(test_fs_mu);
  TestFs() = std::move(fs);
}

struct MetaStore::Shared {
  rocksdb::DBOptions db_options;
  rocksdb::ColumnFamilyOptions cf_options;
  std::unique_ptr<rocksdb::Env> env;  // set only by SetMetaFileSystemForTesting
};

absl::StatusOr<std::unique_ptr<MetaStore>> MetaStore::Open(const std::string& path,
                                                           const MetaOptions& options) {
  auto shared = std::make_shared<Shared>();
  rocksdb::DBOptions& dbo = shared->db_options;
  dbo.create_if_missing = options.create_if_missing && !options.read_only;
  dbo.create_missing_column_families = !options.read_only;
  dbo.max_open_files = options.max_open_files;
  dbo.keep_log_file_num = 4;
  dbo.max_log_file_size = 4 << 20;
  dbo.max_manifest_file_size = 16 << 20;
  dbo.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(options.memtable_bytes);
  // A small column family (segments, keys) written rarely would otherwise
  // pin every WAL file since its oldest unflushed write: past this total,
  // RocksDB flushes the column families that hold the oldest WAL back.
  dbo.max_total_wal_size = std::max<uint64_t>(options.memtable_bytes, uint64_t{16} << 20);
  {
    std::lock_guard<std::mutex> lock(test_fs_mu);
    if (TestFs()) {
      shared->env = rocksdb::NewCompositeEnv(TestFs());
      dbo.env = shared->env.get();
    }
  }
  rocksdb::ColumnFamilyOptions& cfo = shared->cf_options;
  cfo.write_buffer_size = std::max<size_t>(options.memtable_bytes / 4, 1 << 20);
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(8 << 20);
  cfo.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  std::vector<std::string> names;
  rocksdb::Status ls = rocksdb::DB::ListColumnFamilies(dbo, path, &names);
  if (!ls.ok()) {
    if (!options.create_if_missing || options.read_only) {
      return absl::NotFoundError(absl::StrCat("meta/ at ", path, " cannot be opened (", ls.ToString(),
                                              "); if the segment files exist, run `segstore rebuild-index`"));
    }
    names = {rocksdb::kDefaultColumnFamilyName};
  }
  for (const char* required : {kSegmentsCf, kTiersCf, kKeysCf}) {
    if (std::find(names.begin(), names.end(), required) == names.end()) {
      if (options.read_only) {
        return absl::DataLossError(absl::StrCat("meta/ at ", path, " lacks column family ", required,
                                                " (run `segstore rebuild-index`)"));
      }
      names.push_back(required);
    }
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) {
    if (name != rocksdb::kDefaultColumnFamilyName && name != kSegmentsCf && name != kTiersCf &&
        name != kKeysCf && !ParseShardName(name)) {
      return absl::DataLossError(absl::StrCat("meta/ at ", path, " has an unknown column family '",
                                              name, "' (not written by segstore?)"));
    }
    descriptors.emplace_back(name, cfo);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options.read_only) {
    s = rocksdb::DB::OpenForReadOnly(dbo, path, descriptors, &handles, &raw);
  } else {
    s = rocksdb::DB::Open(dbo, path, descriptors, &handles, &raw);
  }
  RETURN_IF_ERROR(FromRocks(s, "open " + path));
  std::unique_ptr<MetaStore> meta(new MetaStore());
  meta->path_ = path;
  meta->read_only_ = options.read_only;
  meta->db_.reset(raw);
  meta->shared_ = std::move(shared);
  MutexLock lock(&meta->mu_);
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == rocksdb::kDefaultColumnFamilyName) {
      meta->default_cf_ = handles[i];
    } else if (names[i] == kSegmentsCf) {
      meta->segments_cf_ = handles[i];
    } else if (names[i] == kTiersCf) {
      meta->tiers_cf_ = handles[i];
    } else if (names[i] == kKeysCf) {
      meta->keys_cf_ = handles[i];
    } else {
      meta->shards_[*ParseShardName(names[i])] = handles[i];
    }
  }
  return meta;
}

MetaStore::~MetaStore() { (void)Close(); }

absl::Status MetaStore::Close() {
  if (!db_) return absl::OkStatus();
  std::vector<rocksdb::ColumnFamilyHandle*> handles = {default_cf_, segments_cf_, tiers_cf_, keys_cf_};
  {
    MutexLock lock(&mu_);
    for (auto& [shard, h] : shards_) handles.push_back(h);
    shards_.clear();
  }
  absl::Status result;
  if (!read_only_) {
    result = FromRocks(db_->SyncWAL(), "sync WAL on close");
  }
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    if (h != nullptr) db_->DestroyColumnFamilyHandle(h);
  }
  rocksdb::Status s = db_->Close();
  if (result.ok()) result = FromRocks(s, "close");
  db_.reset();
  return result;
}

absl::StatusOr<std::optional<proto::StoreManifest>> MetaStore::ReadManifest() {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), default_cf_, kManifestKey, &value);
  if (s.IsNotFound()) return std::optional<proto::StoreManifest>();
  RETURN_IF_ERROR(FromRocks(s, "read manifest"));
  proto::StoreManifest m;
  RETURN_IF_ERROR(ParseValue(value, "default", kManifestKey, &m));
  return std::optional<proto::StoreManifest>(std::move(m));
}

absl::StatusOr<std::vector<proto::SegmentMeta>> MetaStore::ReadSegments() {
  std::vector<proto::SegmentMeta> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), segments_cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    uint64_t id;
    std::string key_text = it->key().ToString(true);
    if (!DecodeBigEndian64(std::string_view(it->key().data(), it->key().size()), &id)) {
      return absl::DataLossError(absl::StrCat("meta/ column family segments: malformed key ", key_text,
                                              " (run `segstore rebuild-index`)"));
    }
    proto::SegmentMeta m;
    RETURN_IF_ERROR(ParseValue(it->value(), kSegmentsCf, key_text, &m));
    if (m.segment_id() != id) {
      return absl::DataLossError(absl::StrCat("meta/ column family segments key ", key_text,
                                              " holds segment ", m.segment_id(),
                                              " (run `segstore rebuild-index`)"));
    }
    out.push_back(std::move(m));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "read segments"));
  return out;
}

rocksdb::ColumnFamilyHandle* MetaStore::ShardHandle(uint64_t shard) {
  MutexLock lock(&mu_);
  auto it = shards_.find(shard);
  return it == shards_.end() ? nullptr : it->second;
}

absl::StatusOr<std::vector<std::pair<uint64_t, proto::BlockLocation>>> MetaStore::ReadJournal(
    uint64_t shard) {
  std::vector<std::pair<uint64_t, proto::BlockLocation>> out;
  rocksdb::ColumnFamilyHandle* h = ShardHandle(shard);
  if (h == nullptr) return out;
  const std::string cf = JournalShardName(shard);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), h));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    uint64_t n;
    std::string key_text = it->key().ToString(true);
    if (!DecodeBigEndian64(std::string_view(it->key().data(), it->key().size()), &n)) {
      return absl::DataLossError(absl::StrCat("meta/ column family ", cf, ": malformed key ", key_text,
                                              " (run `segstore rebuild-index`)"));
    }
    proto::BlockLocation loc;
    RETURN_IF_ERROR(ParseValue(it->value(), cf, key_text, &loc));
    out.emplace_back(n, std::move(loc));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "read " + cf));
  return out;
}

absl::StatusOr<std::optional<uint64_t>> MetaStore::GetKey(std::string_view key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), keys_cf_, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<uint64_t>();
  RETURN_IF_ERROR(FromRocks(s, "read keys"));
  uint64_t n;
  if (!DecodeBigEndian64(value, &n)) {
    return absl::DataLossError("meta/ column family keys: malformed value (run `segstore rebuild-index`)");
  }
  return std::optional<uint64_t>(n);
}

std::vector<uint64_t> MetaStore::LiveShards() {
  MutexLock lock(&mu_);
  std::vector<uint64_t> out;
  for (const auto& [shard, h] : shards_) out.push_back(shard);
  return out;
}

uint64_t MetaStore::LiveColumnFamilies() {
  MutexLock lock(&mu_);
  return 4 + shards_.size();
}

absl::Status MetaStore::EnsureShard(uint64_t shard) {
  if (ShardHandle(shard) != nullptr) return absl::OkStatus();
  if (read_only_) return absl::FailedPreconditionError("store is open read-only");
  rocksdb::ColumnFamilyHandle* h = nullptr;
  RETURN_IF_ERROR(FromRocks(db_->CreateColumnFamily(shared_->cf_options, JournalShardName(shard), &h),
                            "create " + JournalShardName(shard)));
  MutexLock lock(&mu_);
  shards_[shard] = h;
  return absl::OkStatus();
}

absl::Status MetaStore::DropShard(uint64_t shard) {
  rocksdb::ColumnFamilyHandle* h = ShardHandle(shard);
  if (h == nullptr) return absl::OkStatus();
  RETURN_IF_ERROR(FromRocks(db_->DropColumnFamily(h), "drop " + JournalShardName(shard)));
  {
    MutexLock lock(&mu_);
    shards_.erase(shard);
  }
  return FromRocks(db_->DestroyColumnFamilyHandle(h), "release " + JournalShardName(shard));
}

void MetaStore::Batch::PutManifest(const proto::StoreManifest& m) {
  ops_.push_back({Target::kManifest, 0, 0, m.SerializeAsString()});
}
void MetaStore::Batch::PutSegment(const proto::SegmentMeta& m) {
  ops_.push_back({Target::kSegment, 0, m.segment_id(), m.SerializeAsString()});
}
void MetaStore::Batch::DeleteSegment(uint64_t segment_id) {
  ops_.push_back({Target::kSegment, 0, segment_id, std::nullopt});
}
void MetaStore::Batch::PutJournal(uint64_t shard, uint64_t n, const proto::BlockLocation& loc) {
  ops_.push_back({Target::kJournal, shard, n, loc.SerializeAsString()});
}
void MetaStore::Batch::DeleteJournal(uint64_t shard, uint64_t n) {
  ops_.push_back({Target::kJournal, shard, n, std::nullopt});
}
void MetaStore::Batch::PutTier(std::string_view tier, uint64_t segment_id) {
  Op op{Target::kTier, 0, segment_id, std::string()};
  op.key_bytes = std::string(tier) + "/" + EncodeBigEndian64(segment_id);
  ops_.push_back(std::move(op));
}
void MetaStore::Batch::DeleteTier(std::string_view tier, uint64_t segment_id) {
  Op op{Target::kTier, 0, segment_id, std::nullopt};
  op.key_bytes = std::string(tier) + "/" + EncodeBigEndian64(segment_id);
  ops_.push_back(std::move(op));
}
void MetaStore::Batch::PutKey(std::string_view key, uint64_t n) {
  Op op{Target::kKey, 0, n, EncodeBigEndian64(n)};
  op.key_bytes = std::string(key);
  ops_.push_back(std::move(op));
}
void MetaStore::Batch::DeleteJournalRange(uint64_t shard, uint64_t from, uint64_t to) {
  ops_.push_back({Target::kJournal, shard, from, std::nullopt, to, true});
}
bool MetaStore::Batch::empty() const { return ops_.empty(); }

absl::Status MetaStore::Write(Batch& batch, bool sync) {
  if (read_only_) return absl::FailedPreconditionError("store is open read-only");
  rocksdb::WriteBatch wb;
  for (const Batch::Op& op : batch.ops_) {
    rocksdb::ColumnFamilyHandle* h = nullptr;
    std::string key;
    switch (op.target) {
      case Batch::Target::kManifest:
        h = default_cf_;
        key = kManifestKey;
        break;
      case Batch::Target::kSegment:
        h = segments_cf_;
        key = EncodeBigEndian64(op.key);
        break;
      case Batch::Target::kKey:
        h = keys_cf_;
        key = op.key_bytes;
        break;
      case Batch::Target::kTier:
        h = tiers_cf_;
        key = op.key_bytes;
        break;
      case Batch::Target::kJournal:
        h = ShardHandle(op.shard);
        if (h == nullptr) {
          if (!op.value) continue;  // deleting from a retired shard: nothing there
          return absl::InternalError(absl::StrCat("journal shard ", op.shard, " does not exist"));
        }
        key = EncodeBigEndian64(op.key);
        break;
    }
    rocksdb::Status s;
    if (op.range) {
      // [key, key_end] inclusive; key_end + 1 cannot overflow: numbers < 2^63.
      s = wb.DeleteRange(h, key, EncodeBigEndian64(op.key_end + 1));
    } else {
      s = op.value ? wb.Put(h, key, *op.value) : wb.Delete(h, key);
    }
    RETURN_IF_ERROR(FromRocks(s, "batch"));
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  rocksdb::Status s = db_->Write(wo, &wb);
  if (s.IsNoSpace() || (s.IsIOError() && !sync)) {
    // A full disk stops RocksDB's writes until Resume(); try once so the
    // store is usable again as soon as space is freed.
    (void)db_->Resume();
  }
  return FromRocks(s, "write");
}

}  // namespace segstore::internal
