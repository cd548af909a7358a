#include "store/store_impl.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "meta/meta_validate.h"
#include "recovery/tail_recovery.h"
#include "tier/cold_segment.h"
#include "segment/format.h"
#include "segment/segment_name.h"
#include "store/block_access.h"
#include "store/scaling_manager.h"
#include "util/checksum.h"
#include "util/status_util.h"
#include "util/uuid.h"

namespace segstore {

absl::StatusOr<std::unique_ptr<BlockStore>> BlockStore::Open(const Options& options,
                                                             const std::string& dir) {
  return internal::StoreImpl::Open(options, dir);
}

BlockStore::~BlockStore() = default;

namespace internal {
namespace {

constexpr char kSegmentsDir[] = "segments";

size_t EffectiveWriters(size_t configured) {
  return configured != 0 ? configured : std::max(1u, std::thread::hardware_concurrency());
}

ScalingLimits LimitsFrom(const Options& o) {
  ScalingLimits l;
  l.block_cache_entries = o.block_cache_entries;
  l.block_cache_bytes = o.block_cache_bytes;
  l.manifest_cache_entries = o.manifest_cache_entries;
  l.manifest_cache_bytes = o.manifest_cache_bytes;
  l.max_concurrent_writes = EffectiveWriters(o.max_concurrent_writes);
  l.segment_size = o.segment_size;
  l.hot_segments = o.hot_segments;
  l.write_queue_warning_depth = o.write_queue_warning_depth;
  l.write_queue_critical_depth = o.write_queue_critical_depth;
  return l;
}

absl::Status ValidateOptions(const Options& o) {
  // The limits that can change at run time: the same ranges as
  // ScalingManager::ReconfigureLimits.
  RETURN_IF_ERROR(ValidateScalingLimits(LimitsFrom(o), "Options"));
  if (o.journal_shard_blocks == 0) {
    return absl::InvalidArgumentError("Options::journal_shard_blocks must be at least 1");
  }
  if (o.first_block_number > kMaxBlockNumber) {
    return absl::InvalidArgumentError(absl::StrCat("Options::first_block_number ", o.first_block_number,
                                                   " is above the largest block number ", kMaxBlockNumber));
  }
  if (o.meta_max_open_files < 16 && o.meta_max_open_files != -1) {
    return absl::InvalidArgumentError("Options::meta_max_open_files must be at least 16");
  }
  if (o.max_open_files == 0) return absl::InvalidArgumentError("Options::max_open_files must be at least 1");
  if (o.journal_batch_blocks == 0 || o.journal_batch_blocks > 1'000'000) {
    return absl::InvalidArgumentError(absl::StrCat("Options::journal_batch_blocks ", o.journal_batch_blocks,
                                                   " is outside [1, 1000000]"));
  }
  return absl::OkStatus();
}

absl::Status NumberInRange(BlockNumber n) {
  if (n > kMaxBlockNumber) {
    return absl::InvalidArgumentError(
        absl::StrCat("block number ", n, " is above the largest block number ", kMaxBlockNumber, " (2^63-1)"));
  }
  return absl::OkStatus();
}

// The largest payload a segment of this capacity can hold as its only block.
uint64_t MaxPayloadFor(uint64_t capacity) {
  uint64_t overhead = kSegmentHeaderSize + kRecordHeaderSize + 8 + FooterReserve(1);
  return capacity > overhead ? capacity - overhead : 0;
}

SegmentInfo FromMeta(const proto::SegmentMeta& m) {
  SegmentInfo s;
  s.id = m.segment_id();
  s.sealed = m.state() == proto::SEGMENT_SEALED;
  s.capacity = m.capacity();
  s.generation = m.generation();
  s.has_blocks = m.has_blocks();
  s.first = m.first_block();
  s.last = m.last_block();
  s.count = m.record_count();
  s.used = s.sealed ? m.file_size() : m.synced_offset();
  s.footer = {m.footer_offset(), m.footer_length(), m.footer_checksum(), m.file_size(), !m.untrimmed()};
  s.cold = s.sealed && m.tier() == proto::TIER_COLD;
  return s;
}



}  // namespace

proto::SegmentMeta SealedMeta(const SegmentInfo& s) {
  proto::SegmentMeta m;
  m.set_segment_id(s.id);
  m.set_state(proto::SEGMENT_SEALED);
  m.set_capacity(s.capacity);
  m.set_generation(s.generation);
  m.set_has_blocks(s.has_blocks);
  m.set_first_block(s.first);
  m.set_last_block(s.last);
  m.set_record_count(s.count);
  m.set_footer_offset(s.footer.footer_offset);
  m.set_footer_length(s.footer.footer_length);
  m.set_footer_checksum(s.footer.footer_checksum);
  m.set_file_size(s.footer.file_size);
  m.set_untrimmed(!s.footer.trimmed);
  // Persisted is where the bytes are: cold, or on local disk (hot and warm
  // are a matter of recency, recomputed on open).
  m.set_tier(s.cold ? proto::TIER_COLD : proto::TIER_HOT);
  return m;
}

StoreImpl::StoreImpl(const Options& options, std::string dir)
    : options_(options),
      dir_(std::move(dir)),
      segments_dir_(dir_ + "/" + kSegmentsDir),
      fs_(options.file_system ? options.file_system : DefaultFileSystem()),
      limits_(LimitsFrom(options)),
      segment_size_(options.segment_size),
      hot_segments_(options.hot_segments),
      queue_warning_depth_(options.write_queue_warning_depth),
      queue_critical_depth_(options.write_queue_critical_depth),
      admission_(EffectiveWriters(options.max_concurrent_writes)),
      block_cache_(options.block_cache_entries, options.block_cache_bytes, /*shards=*/16),
      validated_(options.validation_cache_entries, std::numeric_limits<size_t>::max(), /*shards=*/16,
                 options.validation_cache_ttl),
      // Few shards: a shard keeps footers up to its share of the byte cap,
      // and a full 64 MiB segment of small blocks has a footer of megabytes.
      footer_cache_(options.manifest_cache_entries, options.manifest_cache_bytes, /*shards=*/4),
      hot_maps_(options.hot_segments, std::numeric_limits<size_t>::max(), /*shards=*/1),
      open_files_(options.max_open_files, std::numeric_limits<size_t>::max(), /*shards=*/1) {}

StoreImpl::~StoreImpl() {
  absl::Status s = Close();
  if (!s.ok()) Log(absl::StrCat("close on destruction failed: ", s.ToString()));
}

void StoreImpl::Log(std::string_view line) const {
  if (options_.info_log) options_.info_log(line);
}

std::string StoreImpl::SegmentPath(uint64_t id) const {
  return segments_dir_ + "/" + SegmentFileName(id);
}

absl::StatusOr<std::unique_ptr<BlockStore>> StoreImpl::Open(const Options& options,
                                                            const std::string& dir) {
  RETURN_IF_ERROR(ValidateOptions(options));
  if (dir.empty()) return absl::InvalidArgumentError("store directory is empty");
  std::unique_ptr<StoreImpl> store(new StoreImpl(options, dir));
  RETURN_IF_ERROR(store->OpenImpl());
  return std::unique_ptr<BlockStore>(std::move(store));
}

absl::Status StoreImpl::OpenImpl() {
  ExclusiveLock gate(&gate_);
  const bool ro = options_.read_only;
  ASSIGN_OR_RETURN(bool dir_exists, fs_->Exists(dir_));
  if (!dir_exists) {
    if (!options_.create_if_missing || ro) {
      return absl::NotFoundError(absl::StrCat("store ", dir_, " does not exist",
                                              ro ? "" : " (set Options::create_if_missing to create it)"));
    }
    RETURN_IF_ERROR(fs_->CreateDir(dir_));
  }
  ASSIGN_OR_RETURN(bool lock_exists, fs_->Exists(dir_ + "/LOCK"));
  if (ro && !lock_exists) {
    return absl::NotFoundError(absl::StrCat(dir_, " is not a segstore store (no LOCK file)"));
  }
  ASSIGN_OR_RETURN(lock_, StoreLock::Acquire(dir_ + "/LOCK", ro));
  if (!ro) RETURN_IF_ERROR(fs_->CreateDir(segments_dir_));

  const std::string meta_dir = dir_ + "/meta";
  ASSIGN_OR_RETURN(bool meta_exists, fs_->Exists(meta_dir + "/CURRENT"));
  if (!meta_exists) {
    ASSIGN_OR_RETURN(bool seg_dir, fs_->Exists(segments_dir_));
    if (seg_dir) {
      ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->ListDir(segments_dir_));
      for (const std::string& name : names) {
        if (ParseSegmentFileName(name)) {
          return absl::FailedPreconditionError(absl::StrCat(
              dir_, " has segment files but no meta/: run `segstore rebuild-index ", dir_, "`"));
        }
      }
    }
    if (!options_.create_if_missing || ro) {
      return absl::NotFoundError(absl::StrCat(dir_, " is not a segstore store (no meta/)",
                                              ro ? "" : "; set Options::create_if_missing to create one"));
    }
  }
  if (!options_.backing_store && !options_.cold_path.empty()) {
    // The cold tier's directory must be its own: never the store, its
    // segments/ or meta/ (the tier treats unknown files there as objects).
    std::error_code ec;
    const std::filesystem::path cold = std::filesystem::weakly_canonical(options_.cold_path, ec);
    for (const std::string& own : {dir_, segments_dir_, dir_ + "/meta"}) {
      std::error_code ec2;
      if (!ec && cold == std::filesystem::weakly_canonical(own, ec2) && !ec2) {
        return absl::InvalidArgumentError(absl::StrCat("Options::cold_path ", options_.cold_path, " is ", own,
                                                       "; the cold tier needs a directory of its own"));
      }
    }
  }
  backing_ = options_.backing_store
                 ? options_.backing_store
                 : LocalDirectoryBackingStore(options_.cold_path.empty() ? dir_ + "/cold" : options_.cold_path, fs_);
  MetaOptions mo;
  mo.create_if_missing = options_.create_if_missing;
  mo.read_only = ro;
  mo.max_open_files = options_.meta_max_open_files;
  mo.memtable_bytes = options_.meta_memtable_bytes;
  ASSIGN_OR_RETURN(meta_, MetaStore::Open(meta_dir, mo));
  RETURN_IF_ERROR(LoadManifest());
  ASSIGN_OR_RETURN(const uint64_t prune_file_point, LoadPrunePoint());
  RETURN_IF_ERROR(LoadSegments());
  RETURN_IF_ERROR(FinishInstallsAtOpen());
  if (!ro) RETURN_IF_ERROR(RemovePendingAndOrphans());
  RETURN_IF_ERROR(RecoverActiveTail());
  RETURN_IF_ERROR(FinishPruneAtOpen(prune_file_point));
  ResetPipeline();
  LoadTiers();
  if (!ro) RETURN_IF_ERROR(FinishInterruptedMoves());
  Log(report_.ToString());
  return absl::OkStatus();
}

absl::Status StoreImpl::LoadManifest() {
  ASSIGN_OR_RETURN(std::optional<proto::StoreManifest> m, meta_->ReadManifest());
  if (!m) {
    if (options_.read_only) {
      return absl::DataLossError(absl::StrCat(dir_, "/meta has no store manifest (run `segstore rebuild-index`)"));
    }
    StoreUuid u = NewStoreUuid();
    manifest_.set_format_version(kFormatVersion);
    manifest_.set_store_uuid(std::string(u.data(), u.size()));
    manifest_.set_checksum_kind(proto::CHECKSUM_XXH3_64);
    manifest_.set_first_block_number(options_.first_block_number);
    manifest_.set_journal_shard_blocks(options_.journal_shard_blocks);
    manifest_.set_created_unix_micros(absl::ToUnixMicros(absl::Now()));
    MetaStore::Batch b;
    b.PutManifest(manifest_);
    RETURN_IF_ERROR(meta_->Write(b, /*sync=*/true));
  } else {
    if (options_.error_if_exists) {
      return absl::AlreadyExistsError(absl::StrCat("store ", dir_, " already exists (Options::error_if_exists)"));
    }
    manifest_ = *std::move(m);
    RETURN_IF_ERROR(ValidateManifest(manifest_, dir_));
    if (manifest_.first_block_number() != options_.first_block_number) {
      return absl::InvalidArgumentError(absl::StrCat(
          dir_, " was created with first_block_number=", manifest_.first_block_number(),
          " but Options::first_block_number is ", options_.first_block_number, "; open it with the same value"));
    }
    if (manifest_.journal_shard_blocks() != options_.journal_shard_blocks) {
      return absl::InvalidArgumentError(absl::StrCat(
          dir_, " was created with journal_shard_blocks=", manifest_.journal_shard_blocks(),
          " but Options::journal_shard_blocks is ", options_.journal_shard_blocks,
          "; open it with the same value"));
    }
  }
  std::memcpy(uuid_.data(), manifest_.store_uuid().data(), uuid_.size());
  shard_blocks_ = manifest_.journal_shard_blocks();
  return absl::OkStatus();
}

absl::Status StoreImpl::LoadSegments() {
  ASSIGN_OR_RETURN(std::vector<proto::SegmentMeta> metas, meta_->ReadSegments());
  std::vector<SegmentInfo> infos;
  uint64_t total = 0;
  uint64_t sealed = 0;
  std::optional<uint64_t> prev_last;
  uint64_t prev_first = 0;
  for (size_t i = 0; i < metas.size(); ++i) {
    const proto::SegmentMeta& m = metas[i];
    const std::string where = SegmentFileName(m.segment_id());
    RETURN_IF_ERROR(ValidateSegmentMeta(m, where));
    if (m.state() == proto::SEGMENT_ACTIVE && i + 1 != metas.size()) {
      return absl::DataLossError(absl::StrCat("meta/ marks segment ", where,
                                              " active but it is not the newest (run `segstore rebuild-index`)"));
    }
    if (m.has_blocks() && ((prev_last && m.first_block() <= *prev_last) || m.first_block() < prev_first)) {
      return absl::DataLossError(absl::StrCat("meta/ block range of segment ", where,
                                              " overlaps an earlier segment (run `segstore rebuild-index`)"));
    }
    SegmentInfo info = FromMeta(m);
    if (m.has_blocks()) {
      prev_last = m.last_block();
      prev_first = m.first_block();
    } else {
      info.first = std::max(m.first_block(), prev_last ? *prev_last + 1 : prev_first);
    }
    total += info.has_blocks ? info.count : 0;
    if (info.sealed) ++sealed;
    infos.push_back(info);
  }
  if (!metas.empty()) active_meta_on_open_ = metas.back();
  next_segment_id_ = infos.empty() ? 1 : infos.back().id + 1;
  MutexLock lock(&state_mu_);
  segments_ = std::move(infos);
  total_count_ = total;
  sealed_count_ = sealed;
  return absl::OkStatus();
}

absl::Status StoreImpl::DeleteSegmentFiles(const std::vector<uint64_t>& ids) {
  for (uint64_t id : ids) {
    absl::Status s = fs_->Delete(SegmentPath(id));
    if (!s.ok() && !absl::IsNotFound(s)) return s;
    // Its cold copy, if it had one (OK if none).
    RETURN_IF_ERROR(backing_->Delete(SegmentFileName(id)));
    MutexLock lock(&tier_update_mu_);
    tiers_.EraseEverywhere(id);
  }
  if (!ids.empty()) RETURN_IF_ERROR(fs_->SyncDir(segments_dir_));
  return absl::OkStatus();
}

bool StoreImpl::IsEmptySegmentFile(uint64_t id) {
  absl::StatusOr<std::unique_ptr<File>> f = fs_->Open(SegmentPath(id), OpenMode::kRead);
  if (!f.ok()) return false;
  absl::StatusOr<SegmentHeader> h = ReadSegmentHeader(**f, SegmentPath(id));
  if (!h.ok() || h->segment_id != id || std::memcmp(h->store_uuid.data(), uuid_.data(), uuid_.size()) != 0) {
    return false;
  }
  std::string after(64 << 10, '\0');
  absl::StatusOr<size_t> n = (*f)->Read(kSegmentHeaderSize, after.data(), after.size());
  if (!n.ok()) return false;
  after.resize(*n);
  return after.find_first_not_of('\0') == std::string::npos;
}

absl::Status StoreImpl::RemovePendingAndOrphans() {
  std::vector<uint64_t> pending(manifest_.pending_deletions().begin(), manifest_.pending_deletions().end());
  const uint64_t next = next_segment_id_;
  // A segment file is created before its metadata; a crash in between leaves
  // a file with a header and no records under the next id: that one goes.
  // Anything else there (records, a damaged header, another store's file)
  // is left alone and its id skipped, so that nothing is ever overwritten.
  for (uint64_t id = next;; ++id) {
    ASSIGN_OR_RETURN(bool exists, fs_->Exists(SegmentPath(id)));
    if (!exists) break;
    if (id == next && IsEmptySegmentFile(id)) {
      pending.push_back(id);
      break;
    }
    Log(absl::StrCat("segment file ", SegmentPath(id), " is not in meta/; left alone (run `segstore rebuild-index` ",
                     "to take it in)"));
    report_.clean = false;
    report_.ignored_files.push_back(SegmentPath(id));
    next_segment_id_ = id + 1;
  }
  // Sealed segments whose trim failed give back their preallocated tail now,
  // while nothing maps them.
  std::vector<SegmentInfo> untrimmed;
  {
    MutexLock lock(&state_mu_);
    for (const SegmentInfo& s : segments_) {
      if (s.sealed && !s.footer.trimmed) untrimmed.push_back(s);
    }
  }
  for (SegmentInfo& s : untrimmed) {
    ASSIGN_OR_RETURN(std::unique_ptr<File> f, fs_->Open(SegmentPath(s.id), OpenMode::kReadWrite));
    RETURN_IF_ERROR(f->Truncate(s.footer.file_size));
    RETURN_IF_ERROR(f->Sync());
    s.footer.trimmed = true;
    MetaStore::Batch b;
    b.PutSegment(SealedMeta(s));
    RETURN_IF_ERROR(meta_->Write(b, /*sync=*/true));
    MutexLock lock(&state_mu_);
    for (SegmentInfo& t : segments_) {
      if (t.id == s.id) t.footer.trimmed = true;
    }
  }
  if (pending.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(DeleteSegmentFiles(pending));
  report_.orphan_files_removed += pending.size();
  report_.clean = false;
  if (manifest_.pending_deletions_size() > 0) {
    manifest_.clear_pending_deletions();
    MetaStore::Batch b;
    b.PutManifest(manifest_);
    RETURN_IF_ERROR(meta_->Write(b, /*sync=*/true));
  }
  return absl::OkStatus();
}

absl::Status StoreImpl::RecoverActiveTail() {
  SegmentInfo info;
  uint64_t prev_highest_plus1 = 0;
  proto::SegmentMeta meta;
  {
    MutexLock lock(&state_mu_);
    if (segments_.empty() || segments_.back().sealed) return absl::OkStatus();
    info = segments_.back();
    for (size_t i = segments_.size() - 1; i-- > 0;) {
      if (segments_[i].has_blocks) {
        prev_highest_plus1 = segments_[i].last + 1;
        break;
      }
    }
  }
  meta = active_meta_on_open_;
  const std::string path = SegmentPath(info.id);
  const bool ro = options_.read_only;
  absl::StatusOr<std::unique_ptr<File>> opened = fs_->Open(path, ro ? OpenMode::kRead : OpenMode::kReadWrite);
  if (absl::IsNotFound(opened.status())) {
    return absl::DataLossError(absl::StrCat("active segment ", path,
                                            " is missing (run `segstore rebuild-index` to rebuild from the others)"));
  }
  RETURN_IF_ERROR(opened.status());
  std::unique_ptr<File> file = *std::move(opened);
  ASSIGN_OR_RETURN(uint64_t size, file->Size());
  ASSIGN_OR_RETURN(SegmentHeader header, ReadSegmentHeader(*file, path));
  if (std::memcmp(header.store_uuid.data(), uuid_.data(), uuid_.size()) != 0) {
    return absl::DataLossError(absl::StrCat(path, " belongs to another store (its UUID differs)"));
  }
  if (header.segment_id != info.id) {
    return absl::DataLossError(absl::StrCat(path, " holds segment id ", header.segment_id, ", expected ", info.id));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const ReadOnlyMapping> map, fs_->Map(path, 0, size));

  TailRecoveryInput in;
  in.file = std::string_view(map->data(), map->size());
  in.segment_id = info.id;
  in.seed = Seed(info.id);
  in.synced_offset = std::min(meta.synced_offset(), size);
  in.epoch = meta.epoch();
  in.capacity = std::max(info.capacity, size);
  // Journal entries of the tail: numbers above the last sealed block.
  for (uint64_t shard : meta_->LiveShards()) {
    if (shard < ShardOf(prev_highest_plus1)) continue;
    ASSIGN_OR_RETURN(auto entries, meta_->ReadJournal(shard));
    for (auto& [n, loc] : entries) {
      if (n >= prev_highest_plus1) in.journal.emplace_back(n, std::move(loc));
    }
  }
  TailRecoveryPlan plan = PlanTailRecovery(in);
  DropPrunedFromTail(&plan);

  report_.segments_scanned = 1;
  report_.bytes_scanned = plan.end;
  report_.blocks_kept = plan.live.size();
  report_.tail_offset = plan.end;
  report_.journal_entries_added = plan.journal_add.size();
  report_.journal_entries_dropped = plan.journal_drop.size();
  report_.bytes_cut = plan.bytes_cut;
  for (const ScannedGap& g : plan.skipped) report_.skipped.push_back({info.id, g.begin, g.end, g.reason});
  for (uint64_t n : plan.damaged) {
    for (const IndexEntry& e : plan.live) {
      if (e.number == n) report_.damaged.push_back({info.id, e.offset, n});
    }
  }
  report_.clean = plan.journal_add.empty() && plan.journal_drop.empty() && plan.skipped.empty() &&
                  plan.damaged.empty() && report_.orphan_files_removed == 0 && report_.ignored_files.empty() &&
                  !plan.footer;

  MetaStore::Batch batch;
  for (uint64_t n : plan.journal_drop) batch.DeleteJournal(ShardOf(n), n);
  if (!ro) {
    for (const IndexEntry& e : plan.journal_add) RETURN_IF_ERROR(meta_->EnsureShard(ShardOf(e.number)));
  }
  for (const IndexEntry& e : plan.journal_add) {
    proto::BlockLocation loc;
    loc.set_segment_id(info.id);
    loc.set_offset(e.offset);
    loc.set_length(e.length);
    char h[kRecordHeaderSize];
    std::memcpy(h, in.file.data() + e.offset, kRecordHeaderSize);
    std::optional<RecordHeader> rh = DecodeRecordHeader(std::string_view(h, kRecordHeaderSize), in.seed);
    loc.set_checksum(rh ? rh->payload_checksum : 0);
    batch.PutJournal(ShardOf(e.number), e.number, loc);
    if (options_.key_extractor) {
      std::string_view payload = in.file.substr(e.offset + kRecordHeaderSize, e.length);
      if (std::optional<std::string> key = options_.key_extractor(payload)) batch.PutKey(*key, e.number);
    }
  }

  // Rebuild the in-memory view of the segment.
  info.has_blocks = !plan.live.empty();
  info.count = plan.live.size();
  if (info.has_blocks) {
    info.first = plan.live.front().number;
    info.last = plan.live.back().number;
  } else {
    info.first = std::max(info.first, prev_highest_plus1);
  }
  info.used = plan.end;

  if (plan.footer) {
    // The seal wrote its footer but did not record it: finish it.
    report_.sealed_interrupted_seal = true;
    const uint64_t trailer_at = plan.footer->offset + RecordSize(plan.footer->length);
    info.sealed = true;
    info.footer = {plan.footer->offset, plan.footer->length, plan.footer->payload_checksum,
                   trailer_at + kTrailerSize, /*trimmed=*/size == trailer_at + kTrailerSize};
    info.used = info.footer.file_size;
    if (info.footer.file_size > size) {
      return absl::DataLossError(absl::StrCat(path, ": footer found but the trailer is missing"));
    }
    if (!ro) {
      // The seal may have stopped between the footer and the trailer.
      if (!DecodeTrailer(in.file.substr(trailer_at, kTrailerSize))) {
        RETURN_IF_ERROR(file->Write(trailer_at, EncodeTrailer({info.footer.footer_offset, info.footer.footer_length})));
      }
      RETURN_IF_ERROR(file->Sync());
      RETURN_IF_ERROR(file->Truncate(info.footer.file_size));
      RETURN_IF_ERROR(file->Sync());
      info.footer.trimmed = true;
      batch.PutSegment(SealedMeta(info));
      RETURN_IF_ERROR(meta_->Write(batch, /*sync=*/true));
    }
    MutexLock lock(&state_mu_);
    const uint64_t old_count = segments_.back().has_blocks ? segments_.back().count : 0;
    segments_.back() = info;
    total_count_ = total_count_ - old_count + info.count;
    ++sealed_count_;
    return absl::OkStatus();
  }

  active_epoch_ = plan.next_epoch;
  active_markers_ = plan.markers;
  {
    MutexLock lock(&commit_mu_);
    active_synced_ = plan.end;
  }
  if (!ro) {
    // Everything kept becomes durable now, and the new epoch is recorded
    // before any record carries it.
    RETURN_IF_ERROR(file->Sync());
    batch.PutSegment(ActiveMeta(info, plan.end, active_epoch_));
    RETURN_IF_ERROR(meta_->Write(batch, /*sync=*/true));
    if (size < info.capacity) {
      // The file was cut short (a damaged tail): reserve its space again so
      // that appends cannot hit ENOSPC, and map all of it.
      RETURN_IF_ERROR(file->Allocate(0, info.capacity));
      ASSIGN_OR_RETURN(map, fs_->Map(path, 0, info.capacity));
    }
    active_file_ = std::move(file);
  }
  {
    MutexLock lock(&state_mu_);
    const uint64_t old_count = segments_.back().has_blocks ? segments_.back().count : 0;
    segments_.back() = info;
    total_count_ = total_count_ - old_count + info.count;
    active_index_ = std::move(plan.live);
    active_map_ = map;
  }
  if (plan.epochs_exhausted && !ro) {
    // No epoch is left to fence what lies past the tail: seal this segment
    // (its footer carries the largest epoch) and write on in a new one.
    Log(absl::StrCat("segment ", path, " has used up its writer epochs; sealing it"));
    RETURN_IF_ERROR(SealActive());
  }
  // A TruncateAfter that wrote its marker but crashed before updating the
  // sealed segments is finished here (idempotent: usually nothing to do).
  for (uint64_t m : plan.markers) {
    SealedCut cut;
    RETURN_IF_ERROR(PlanSealedCut(m, &cut));
    if (cut.doomed.empty() && cut.clamped.empty()) continue;
    report_.clean = false;
    if (!ro) {  // read-only: the view is cut in memory only
      MetaStore::Batch b;
      AddSealedCut(cut, &b);
      RETURN_IF_ERROR(meta_->Write(b, /*sync=*/true));
    }
    RETURN_IF_ERROR(FinishSealedCut(cut, /*delete_files=*/!ro));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Writers

absl::Status StoreImpl::CheckWritable() {
  if (closed_) return absl::FailedPreconditionError("store is closed");
  if (options_.read_only) return absl::FailedPreconditionError(absl::StrCat("store ", dir_, " is open read-only"));
  MutexLock lock(&state_mu_);
  return failed_;
}

absl::Status StoreImpl::Fail(const absl::Status& cause) {
  absl::Status failed(cause.code(), absl::StrCat("store ", dir_, " stopped accepting writes after a failed sync "
                                                  "(retrying fsync is unsafe; reopen after fixing the cause): ",
                                                  cause.message()));
  MutexLock lock(&state_mu_);
  if (failed_.ok()) failed_ = failed;
  return failed_;
}

proto::SegmentMeta StoreImpl::ActiveMeta(const SegmentInfo& s, uint64_t synced_offset, uint32_t epoch) {
  proto::SegmentMeta m;
  m.set_segment_id(s.id);
  m.set_state(proto::SEGMENT_ACTIVE);
  m.set_capacity(s.capacity);
  m.set_generation(s.generation);
  m.set_has_blocks(s.has_blocks);
  m.set_first_block(s.first);
  m.set_last_block(s.last);
  m.set_record_count(s.count);
  m.set_synced_offset(synced_offset);
  m.set_epoch(epoch);
  m.set_tier(proto::TIER_HOT);
  return m;
}

// What a new segment holds, so that a payload too big for the active segment
// rolls over into a new one (EnsureRoom).
size_t StoreImpl::MaxPayloadSize() const {
  return static_cast<size_t>(MaxPayloadFor(segment_size_.load(std::memory_order_relaxed)));
}

absl::Status StoreImpl::Put(BlockNumber n, std::string_view payload, const WriteOptions& options) {
  RETURN_IF_ERROR(NumberInRange(n));
  return Write(n, payload, options).status();
}

absl::StatusOr<BlockNumber> StoreImpl::Append(std::string_view payload, const WriteOptions& options) {
  return Write(std::nullopt, payload, options);
}

absl::StatusOr<BlockNumber> StoreImpl::Write(std::optional<BlockNumber> n, std::string_view payload,
                                             const WriteOptions& options) {
  if (payload.size() > MaxPayloadSize()) {
    return absl::InvalidArgumentError(absl::StrCat(n ? absl::StrCat("block ", *n) : std::string("append"),
                                                   ": payload of ", payload.size(),
                                                   " bytes exceeds MaxPayloadSize() = ", MaxPayloadSize(),
                                                   " (raise the segment size)"));
  }
  RETURN_IF_ERROR(admission_.Acquire(options.deadline, queue_critical_depth_.load(std::memory_order_relaxed)));
  bool rolled_over = false;
  BlockNumber written = 0;
  {
    AdmissionPermit permit(&admission_);
    for (;;) {
      {
        SharedLock gate(&gate_);
        ASSIGN_OR_RETURN(Attempt a, TryWrite(n, payload, options, &permit, &written));
        if (a == Attempt::kDone) break;
      }
      // The active segment is full: roll over with every other writer out.
      ExclusiveLock gate(&gate_);
      RETURN_IF_ERROR(CheckWritable());
      RETURN_IF_ERROR(EnsureRoom(RecordSize(payload.size())));
      rolled_over = true;
    }
  }
  if (rolled_over && options_.warm_segments != SIZE_MAX && maintenance_mu_.TryLock()) {
    // A seal may have pushed a segment out of the warm tier; if maintenance
    // (Compact, PruneBefore, ...) is running, the next seal does it. The
    // block is stored either way: a failed move is logged and retried.
    absl::StatusOr<uint64_t> moved = RebalanceLocked();
    maintenance_mu_.Unlock();
    if (!moved.ok()) Log(absl::StrCat("moving segments to the cold tier failed: ", moved.status().ToString()));
  }
  return written;
}

bool StoreImpl::FitsLocked(uint64_t record_bytes) const {
  if (active_file_ == nullptr || active_capacity_ == 0) return false;
  const uint64_t entries = reserved_records_ + active_markers_.size() + 1;
  const uint64_t need = record_bytes + FooterReserve(entries);
  return reserved_end_ <= active_capacity_ && need <= active_capacity_ - reserved_end_ &&
         entries <= kMaxRecordsPerSegment;
}

absl::StatusOr<StoreImpl::Attempt> StoreImpl::TryWrite(std::optional<BlockNumber> n, std::string_view payload,
                                                       const WriteOptions& options, AdmissionPermit* permit,
                                                       BlockNumber* written) {
  RETURN_IF_ERROR(CheckWritable());
  const uint64_t record_bytes = RecordSize(payload.size());
  Slot slot;
  bool rewrite = false;
  {
    MutexLock lock(&commit_mu_);
    if (journal_buffer_.size() >= 4 * options_.journal_batch_blocks && !journal_error_.ok()) {
      return absl::Status(journal_error_.code(),
                          absl::StrCat("metadata writes are failing, so new writes are refused: ",
                                       journal_error_.message()));
    }
    if (n) {
      slot.number = *n;
      // Not above the highest: only an idempotent re-put is allowed.
      rewrite = reserved_highest_ && *n <= *reserved_highest_;
    } else if (reserved_highest_) {
      if (*reserved_highest_ >= kMaxBlockNumber) {
        return absl::OutOfRangeError(
            absl::StrCat("cannot append after block ", *reserved_highest_, ": it is the largest number"));
      }
      slot.number = *reserved_highest_ + 1;
    } else {
      slot.number = manifest_.first_block_number();
    }
    if (!rewrite) {
      if (!FitsLocked(record_bytes)) return Attempt::kNeedRoom;
      slot.offset = reserved_end_;
      slot.record_bytes = record_bytes;
      reserved_end_ += record_bytes;
      ++reserved_records_;
      reserved_highest_ = slot.number;
      queue_.push_back(&slot);
    }
  }
  if (rewrite) {
    RETURN_IF_ERROR(RewriteExisting(slot.number, payload, options));
    *written = slot.number;
    return Attempt::kDone;
  }

  // With no lock held: checksum, key and the record itself, in parallel with
  // the other admitted writers.
  slot.length = payload.size();
  slot.checksum = Checksum64(payload);
  if (options_.key_extractor) slot.key = options_.key_extractor(payload);
  RecordHeader h;
  h.type = RecordType::kBlock;
  h.number = slot.number;
  h.length = payload.size();
  h.payload_checksum = slot.checksum;
  h.epoch = active_epoch_;
  thread_local std::string scratch;
  uint64_t segment_id;
  {
    MutexLock lock(&state_mu_);
    segment_id = segments_.back().id;
  }
  absl::Status ws = WriteRecord(*active_file_, slot.offset, Seed(segment_id), h, payload, &scratch);
  if (scratch.capacity() > (size_t{128} << 10)) std::string().swap(scratch);

  uint64_t end;
  {
    MutexLock lock(&commit_mu_);
    FinishSlotLocked(&slot, std::move(ws));
    while (!slot.published) commit_cv_.Wait(&commit_mu_);
    RETURN_IF_ERROR(slot.status);
    end = slot.offset + slot.record_bytes;
  }
  permit->Release();
  *written = slot.number;
  if (options.sync) {
    RETURN_IF_ERROR(SyncTo(end, /*flush_journal=*/false));
  } else {
    RETURN_IF_ERROR(MaybeFlushJournal());
  }
  return Attempt::kDone;
}

void StoreImpl::FinishSlotLocked(Slot* slot, absl::Status status) {
  slot->written = true;
  slot->status = std::move(status);
  if (queue_.empty() || !queue_.front()->written) return;  // an older record is still being written
  if (!queue_.front()->status.ok()) {
    // The oldest record is not in the file, so nothing queued behind it can
    // be published (the tail would have a hole). Alone, its place is simply
    // reused; with records written behind it, the store stops taking writes
    // (those records would be found by recovery) until it is reopened.
    Slot* failed = queue_.front();
    const bool alone = queue_.size() == 1;
    absl::Status cause = failed->status;
    for (Slot* s : queue_) {
      if (s != failed) {
        s->status = absl::AbortedError(absl::StrCat("block ", s->number, " was not written: an earlier concurrent "
                                                    "write failed: ", cause.message()));
      }
      s->published = true;
    }
    queue_.clear();
    if (alone) {
      reserved_end_ = failed->offset;
      --reserved_records_;
      MutexLock lock(&state_mu_);
      reserved_highest_ = HighestLocked();
    } else {
      (void)Fail(cause);
    }
    commit_cv_.SignalAll();
    return;
  }
  MutexLock lock(&state_mu_);
  SegmentInfo& active = segments_.back();
  while (!queue_.empty() && queue_.front()->written && queue_.front()->status.ok()) {
    Slot* s = queue_.front();
    queue_.pop_front();
    if (!active.has_blocks) {
      active.has_blocks = true;
      active.first = s->number;
    }
    active.last = s->number;
    ++active.count;
    active.used = s->offset + s->record_bytes;
    active_index_.push_back({s->number, s->offset, s->length});
    ++total_count_;
    published_end_ = active.used;
    PendingJournal j{s->number, {}, std::move(s->key)};
    j.location.set_segment_id(active.id);
    j.location.set_offset(s->offset);
    j.location.set_length(s->length);
    j.location.set_checksum(s->checksum);
    journal_buffer_.push_back(std::move(j));
    s->published = true;
  }
  commit_cv_.SignalAll();
}

absl::Status StoreImpl::RewriteExisting(BlockNumber n, std::string_view payload, const WriteOptions& options) {
  uint64_t end;
  {
    // Wait until block n, if it is being written, is published.
    MutexLock lock(&commit_mu_);
    while (!queue_.empty() && queue_.front()->number <= n) commit_cv_.Wait(&commit_mu_);
    end = published_end_;
  }
  absl::StatusOr<Block> existing = Get(n, ReadOptions{true, false});
  if (existing.ok()) {
    if (existing->data() != payload) {
      return absl::AlreadyExistsError(absl::StrCat("block ", n, " already exists with different bytes (",
                                                   existing->data().size(), " bytes stored, ", payload.size(),
                                                   " given); TruncateAfter(", n - (n > 0 ? 1 : 0),
                                                   ") first to replace it"));
    }
    return options.sync ? SyncTo(end, /*flush_journal=*/false) : absl::OkStatus();
  }
  if (!absl::IsNotFound(existing.status())) return existing.status();
  std::optional<BlockNumber> highest;
  {
    MutexLock lock(&commit_mu_);
    highest = reserved_highest_;
  }
  return absl::FailedPreconditionError(absl::StrCat("block ", n, " is not above the highest block ",
                                                    highest ? *highest : 0,
                                                    ": numbers only grow (TruncateAfter to rewrite)"));
}

absl::Status StoreImpl::EnsureShardsFor(const std::vector<PendingJournal>& entries) {
  std::optional<uint64_t> last_shard;
  for (const PendingJournal& j : entries) {
    const uint64_t shard = ShardOf(j.number);
    if (last_shard == shard) continue;
    RETURN_IF_ERROR(meta_->EnsureShard(shard));
    last_shard = shard;
  }
  return absl::OkStatus();
}

void StoreImpl::AddJournalToBatch(const std::vector<PendingJournal>& entries, bool journal, MetaStore::Batch* batch) {
  for (const PendingJournal& j : entries) {
    if (journal) batch->PutJournal(ShardOf(j.number), j.number, j.location);
    if (j.key) batch->PutKey(*j.key, j.number);
  }
}

absl::Status StoreImpl::MaybeFlushJournal() {
  std::vector<PendingJournal> entries;
  {
    MutexLock lock(&commit_mu_);
    if (journal_buffer_.size() < options_.journal_batch_blocks || flushing_journal_ || syncing_) {
      return absl::OkStatus();
    }
    flushing_journal_ = true;
    entries.swap(journal_buffer_);
  }
  absl::Status s = EnsureShardsFor(entries);
  if (s.ok()) {
    MetaStore::Batch batch;
    AddJournalToBatch(entries, /*journal=*/true, &batch);
    s = meta_->Write(batch, /*sync=*/false);
  }
  MutexLock lock(&commit_mu_);
  flushing_journal_ = false;
  ++journal_writes_;
  if (!s.ok()) {
    // Kept for the next try; the block itself is stored and acknowledged.
    journal_buffer_.insert(journal_buffer_.begin(), std::make_move_iterator(entries.begin()),
                           std::make_move_iterator(entries.end()));
    journal_error_ = s;
  } else {
    journal_error_ = absl::OkStatus();
  }
  commit_cv_.SignalAll();
  return absl::OkStatus();
}

absl::Status StoreImpl::SyncTo(uint64_t target, bool flush_journal) {
  std::vector<PendingJournal> entries;
  uint64_t upto;
  SegmentInfo info;
  {
    MutexLock lock(&commit_mu_);
    ++sync_requests_;
    for (;;) {
      {
        MutexLock state(&state_mu_);
        RETURN_IF_ERROR(failed_);
      }
      if (active_file_ == nullptr) return absl::OkStatus();
      if (active_synced_ >= target && !(flush_journal && !journal_buffer_.empty())) return absl::OkStatus();
      if (!syncing_ && !flushing_journal_) break;
      commit_cv_.Wait(&commit_mu_);  // join the sync in progress, or the next one
    }
    syncing_ = true;
    ++sync_rounds_;
    upto = published_end_;
    entries.swap(journal_buffer_);
    MutexLock state(&state_mu_);
    info = segments_.back();
  }
  // Segment data first, then the journal and the synced offset in one
  // durable RocksDB write: after it, everything up to `upto` survives power
  // loss, and recovery treats damage below it as bit rot.
  absl::Status s;
  bool file_synced = false;
  {
    MutexLock lock(&commit_mu_);
    file_synced = active_synced_ >= upto;
  }
  if (!file_synced) s = active_file_->Sync();
  if (s.ok()) s = EnsureShardsFor(entries);
  if (s.ok()) {
    MetaStore::Batch batch;
    AddJournalToBatch(entries, /*journal=*/true, &batch);
    batch.PutSegment(ActiveMeta(info, upto, active_epoch_));
    s = meta_->Write(batch, /*sync=*/true);
  }
  MutexLock lock(&commit_mu_);
  syncing_ = false;
  commit_cv_.SignalAll();
  if (!s.ok()) return Fail(s);
  active_synced_ = std::max(active_synced_, upto);
  return absl::OkStatus();
}

void StoreImpl::ResetPipeline() {
  MutexLock lock(&commit_mu_);
  MutexLock state(&state_mu_);
  queue_.clear();
  reserved_highest_ = HighestLocked();
  const bool active = !segments_.empty() && !segments_.back().sealed && active_file_ != nullptr;
  active_capacity_ = active ? segments_.back().capacity : 0;
  reserved_end_ = active ? segments_.back().used : 0;
  reserved_records_ = active ? active_index_.size() : 0;
  published_end_ = reserved_end_;
}

absl::Status StoreImpl::EnsureRoom(uint64_t record_bytes) {
  {
    MutexLock lock(&commit_mu_);
    if (FitsLocked(record_bytes)) return absl::OkStatus();
  }
  if (active_file_ != nullptr) {
    SegmentInfo info;
    uint64_t records;
    {
      MutexLock lock(&state_mu_);
      info = segments_.back();
      records = active_index_.size();
    }
    // An empty active segment is replaced only by a bigger one (after the
    // segment size was raised); otherwise the record fits no segment.
    if (records == 0 && active_markers_.empty() && info.used == kSegmentHeaderSize &&
        info.capacity >= segment_size_.load(std::memory_order_relaxed)) {
      return absl::InvalidArgumentError(absl::StrCat("record of ", record_bytes, " bytes does not fit segment ",
                                                     info.id, " of ", info.capacity, " bytes"));
    }
    RETURN_IF_ERROR(SealActive());
  }
  return CreateActive();
}

absl::Status StoreImpl::SealActive() {
  SegmentInfo info;
  std::string footer;
  std::shared_ptr<const BlockTable> table;
  {
    MutexLock lock(&state_mu_);
    info = segments_.back();
    footer = EncodeFooter(info.id, info.generation, active_index_, active_markers_);
    table = std::make_shared<const BlockTable>(active_index_);
  }
  absl::StatusOr<SealedFooter> sealed = SealSegmentFile(*active_file_, info.used, Seed(info.id), active_epoch_, footer);
  if (!sealed.ok()) return Fail(sealed.status());
  info.sealed = true;
  info.footer = *sealed;
  info.used = sealed->file_size;
  std::vector<PendingJournal> entries;
  {
    MutexLock lock(&commit_mu_);
    entries.swap(journal_buffer_);
  }
  MetaStore::Batch batch;
  batch.PutSegment(SealedMeta(info));
  // The footer now says where these blocks are, so their buffered journal
  // entries need not be written; their keys still must.
  AddJournalToBatch(entries, /*journal=*/false, &batch);
  if (info.has_blocks) {
    // Shards wholly below the segment's end are dropped below; the one it
    // ends in forgets these blocks with a single range tombstone, so the
    // journal holds only the unsealed tail.
    const uint64_t shard = ShardOf(info.last);
    const uint64_t shard_first = shard * shard_blocks_;
    if (info.last - shard_first + 1 < shard_blocks_) {
      batch.DeleteJournalRange(shard, std::max(info.first, shard_first), info.last);
    }
  }
  absl::Status s = meta_->Write(batch, /*sync=*/true);
  if (!s.ok()) return Fail(s);
  std::shared_ptr<const ReadOnlyMapping> map;
  {
    MutexLock lock(&state_mu_);
    segments_.back() = info;
    ++sealed_count_;
    active_index_.clear();
    active_index_.shrink_to_fit();
    map = std::move(active_map_);
    active_map_.reset();
  }
  footer_cache_.Insert(info.id, table, table->MemoryBytes());
  // The mapping still spans the preallocated size, but every read through
  // it stays below the footer, so the trim above is harmless to it.
  if (map) hot_maps_.Insert(info.id, std::move(map), 1);
  active_file_.reset();
  active_markers_.clear();
  ResetPipeline();
  TierAfterSeal(info.id);
  Log(absl::StrCat("sealed segment ", SegmentFileName(info.id), ": ", info.count, " blocks, ", info.used, " bytes"));
  if (info.has_blocks) RETURN_IF_ERROR(RetireShardsThrough(info.last));
  return absl::OkStatus();
}

absl::Status StoreImpl::RetireShardsThrough(uint64_t last_sealed) {
  // Every block up to last_sealed now lies in sealed segments with durable
  // footers, so shards wholly at or below it are no longer needed.
  for (uint64_t shard : meta_->LiveShards()) {
    uint64_t range_end = shard * shard_blocks_ + (shard_blocks_ - 1);
    if (range_end > last_sealed || range_end < shard * shard_blocks_) continue;
    RETURN_IF_ERROR(meta_->DropShard(shard));
    Log(absl::StrCat("retired journal shard ", JournalShardName(shard)));
  }
  return absl::OkStatus();
}

absl::Status StoreImpl::CreateActive() {
  SegmentHeader header;
  header.store_uuid = uuid_;
  header.segment_id = next_segment_id_;
  header.generation = 1;
  header.created_unix_micros = absl::ToUnixMicros(absl::Now());
  header.capacity = segment_size_.load(std::memory_order_relaxed);
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, CreateSegmentFile(*fs_, segments_dir_, header));
  const std::string path = SegmentPath(header.segment_id);
  absl::StatusOr<std::shared_ptr<const ReadOnlyMapping>> map = fs_->Map(path, 0, header.capacity);
  if (!map.ok()) {
    file.reset();
    (void)fs_->Delete(path);
    return map.status();
  }
  SegmentInfo info;
  info.id = header.segment_id;
  info.capacity = header.capacity;
  info.generation = header.generation;
  info.used = kSegmentHeaderSize;
  {
    MutexLock lock(&state_mu_);
    std::optional<BlockNumber> highest = HighestLocked();
    info.first = highest ? *highest + 1 : (segments_.empty() ? 0 : segments_.back().first);
  }
  MetaStore::Batch batch;
  batch.PutSegment(ActiveMeta(info, kSegmentHeaderSize, 1));
  absl::Status s = meta_->Write(batch, /*sync=*/true);
  if (!s.ok()) {
    file.reset();
    (void)fs_->Delete(path);
    return s;
  }
  ++next_segment_id_;
  active_file_ = std::move(file);
  active_epoch_ = 1;
  active_markers_.clear();
  {
    MutexLock lock(&state_mu_);
    segments_.push_back(info);
    active_index_.clear();
    active_map_ = *std::move(map);
  }
  ResetPipeline();
  MutexLock lock(&commit_mu_);
  active_synced_ = kSegmentHeaderSize;
  return absl::OkStatus();
}

absl::Status StoreImpl::Sync() {
  SharedLock gate(&gate_);
  if (closed_) return absl::FailedPreconditionError("store is closed");
  if (options_.read_only) return absl::OkStatus();
  uint64_t target;
  {
    MutexLock lock(&commit_mu_);
    target = published_end_;
  }
  return SyncTo(target, /*flush_journal=*/true);
}

absl::Status StoreImpl::PlanSealedCut(BlockNumber n, SealedCut* cut) {
  std::vector<SegmentInfo> segments;
  {
    MutexLock lock(&state_mu_);
    segments = segments_;
  }
  cut->marker = n;
  for (const SegmentInfo& s : segments) {
    if (!s.sealed || !s.has_blocks || s.last <= n) continue;
    if (s.first > n) {
      cut->doomed.push_back(s.id);
      // Markers in a deleted segment still bind the segments before it; carry
      // them forward so that a rebuild from the files cannot resurrect blocks.
      SegmentInfo cur = s;
      ASSIGN_OR_RETURN(std::shared_ptr<File> f, SealedFile(&cur));
      ASSIGN_OR_RETURN(FooterContents fc, ReadFooter(*f, SegmentWhere(cur), Seed(s.id), cur.footer));
      for (uint64_t m : fc.truncated_after) cut->marker = std::min(cut->marker, m);
      continue;
    }
    ASSIGN_OR_RETURN(std::shared_ptr<const BlockTable> table, SealedTable(s));
    SegmentInfo c = s;
    const size_t end = table->LowerBound(n + 1);
    const size_t begin = table->LowerBound(s.first);
    if (end == 0 || end <= begin) {
      return absl::DataLossError(absl::StrCat(SegmentPath(s.id), ": footer disagrees with meta/ about its blocks"));
    }
    c.count = end - begin;
    c.last = table->entries()[end - 1].number;
    cut->clamped.push_back(c);
  }
  return absl::OkStatus();
}

void StoreImpl::AddSealedCut(const SealedCut& cut, MetaStore::Batch* batch) {
  for (const SegmentInfo& c : cut.clamped) batch->PutSegment(SealedMeta(c));
  for (uint64_t id : cut.doomed) {
    batch->DeleteSegment(id);
    batch->DeleteTier("cold", id);
    manifest_.add_pending_deletions(id);
  }
  if (!cut.doomed.empty()) batch->PutManifest(manifest_);
}

absl::Status StoreImpl::FinishSealedCut(const SealedCut& cut, bool delete_files) {
  std::vector<uint64_t> evict;
  {
    MutexLock lock(&state_mu_);
    for (const SegmentInfo& c : cut.clamped) {
      for (SegmentInfo& s : segments_) {
        if (s.id == c.id) {
          total_count_ -= s.count - c.count;
          s = c;
        }
      }
    }
    for (uint64_t id : cut.doomed) {
      auto it = std::find_if(segments_.begin(), segments_.end(), [&](const SegmentInfo& s) { return s.id == id; });
      if (it == segments_.end()) continue;
      total_count_ -= it->has_blocks ? it->count : 0;
      --sealed_count_;
      evict.push_back(SegmentCacheKey(it->id, it->generation));
      segments_.erase(it);
    }
  }
  // The block cache needs nothing: it is keyed by record place, and the
  // places of removed blocks are never read again.
  for (uint64_t key : evict) {
    footer_cache_.Erase(key);
    hot_maps_.Erase(key);
    open_files_.Erase(key);
  }
  if (cut.doomed.empty() || !delete_files) return absl::OkStatus();
  RETURN_IF_ERROR(DeleteSegmentFiles(cut.doomed));
  manifest_.clear_pending_deletions();
  MetaStore::Batch b;
  b.PutManifest(manifest_);
  return meta_->Write(b, /*sync=*/false);  // a lost update only repeats the deletes
}

absl::Status StoreImpl::TruncateAfter(BlockNumber n) {
  RETURN_IF_ERROR(NumberInRange(n));
  MutexLock maintenance(&maintenance_mu_);
  ExclusiveLock gate(&gate_);  // waits for every admitted writer to finish
  RETURN_IF_ERROR(CheckWritable());
  if (n < prune_before_.load()) {
    return absl::FailedPreconditionError(absl::StrCat("TruncateAfter(", n, ") would remove every block left: blocks ",
                                                      "below ", prune_before_.load(), " are pruned"));
  }
  std::optional<BlockNumber> highest;
  {
    MutexLock lock(&state_mu_);
    highest = HighestLocked();
  }
  if (!highest || n >= *highest) return absl::OkStatus();
  SealedCut cut;
  RETURN_IF_ERROR(PlanSealedCut(n, &cut));

  // The marker goes into the active segment and is made durable first: from
  // then on, recovery and rebuild-index both see the truncation.
  RETURN_IF_ERROR(EnsureRoom(RecordSize(0)));
  SegmentInfo active;
  {
    MutexLock lock(&state_mu_);
    active = segments_.back();
  }
  RecordHeader h;
  h.type = RecordType::kTruncate;
  h.number = cut.marker;
  h.payload_checksum = Checksum64({});
  h.epoch = active_epoch_;
  std::string scratch;
  RETURN_IF_ERROR(WriteRecord(*active_file_, active.used, Seed(active.id), h, {}, &scratch));
  absl::Status s = active_file_->Sync();
  if (!s.ok()) return Fail(s);
  active.used += RecordSize(0);
  active_markers_.push_back(cut.marker);

  std::vector<IndexEntry> kept;
  MetaStore::Batch batch;
  {
    MutexLock lock(&state_mu_);
    for (const IndexEntry& e : active_index_) {
      if (e.number <= n) {
        kept.push_back(e);
      } else {
        batch.DeleteJournal(ShardOf(e.number), e.number);
      }
    }
  }
  const uint64_t old_count = active.has_blocks ? active.count : 0;
  active.has_blocks = !kept.empty();
  active.count = kept.size();
  if (active.has_blocks) {
    active.last = kept.back().number;
  } else {
    active.first = n + 1;
    active.last = 0;
  }
  {
    // Buffered journal entries above n go; the rest are written with the cut.
    MutexLock lock(&commit_mu_);
    std::vector<PendingJournal> entries;
    for (PendingJournal& j : journal_buffer_) {
      if (j.number <= n) entries.push_back(std::move(j));
    }
    journal_buffer_.clear();
    RETURN_IF_ERROR(EnsureShardsFor(entries));
    AddJournalToBatch(entries, /*journal=*/true, &batch);
  }
  batch.PutSegment(ActiveMeta(active, active.used, active_epoch_));
  AddSealedCut(cut, &batch);
  s = meta_->Write(batch, /*sync=*/true);
  if (!s.ok()) return Fail(s);  // the durable marker finishes the cut on reopen
  {
    MutexLock lock(&state_mu_);
    segments_.back() = active;
    total_count_ -= old_count - active.count;
    active_index_ = std::move(kept);
  }
  absl::Status finished = FinishSealedCut(cut, /*delete_files=*/true);
  ResetPipeline();
  {
    MutexLock lock(&commit_mu_);
    active_synced_ = active.used;
  }
  RETURN_IF_ERROR(finished);
  Log(absl::StrCat("truncated after block ", n, ": removed ", cut.doomed.size(), " segment(s)"));
  return absl::OkStatus();
}

absl::Status StoreImpl::Close() {
  ExclusiveLock gate(&gate_);  // waits for every admitted writer to finish
  if (closed_) return absl::OkStatus();
  closed_ = true;
  closed_for_reads_.store(true, std::memory_order_release);
  absl::Status s;
  if (!options_.read_only) {
    bool failed;
    {
      MutexLock lock(&state_mu_);
      failed = !failed_.ok();
    }
    if (!failed) {
      uint64_t target;
      {
        MutexLock lock(&commit_mu_);
        target = published_end_;
      }
      s = SyncTo(target, /*flush_journal=*/true);
    }
  }
  active_file_.reset();
  absl::Status ms = meta_ ? meta_->Close() : absl::OkStatus();
  if (s.ok()) s = ms;
  lock_.reset();
  return s;
}

absl::Status StoreImpl::Health() {
  MutexLock lock(&state_mu_);
  return failed_;
}

// ---------------------------------------------------------------------------
// Readers

std::optional<BlockNumber> StoreImpl::HighestLocked() const {
  for (size_t i = segments_.size(); i-- > 0;) {
    if (segments_[i].has_blocks) return segments_[i].last;
  }
  return std::nullopt;
}

std::optional<size_t> StoreImpl::SegmentIndexFor(BlockNumber n) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), n,
                             [](BlockNumber v, const SegmentInfo& s) { return v < s.first; });
  size_t i = static_cast<size_t>(it - segments_.begin());
  while (i > 0) {
    --i;
    if (segments_[i].has_blocks) return i;
  }
  return std::nullopt;
}

bool StoreImpl::IsHotLocked(size_t index) const {
  // segments_ holds sealed_count_ sealed segments, then maybe the active one.
  return index + hot_segments_.load(std::memory_order_relaxed) >= sealed_count_;
}

std::string StoreImpl::SegmentWhere(const SegmentInfo& info) const {
  if (info.cold) return absl::StrCat("object ", SegmentFileName(info.id), " in ", backing_->Describe());
  return SegmentPath(info.id);
}

absl::StatusOr<std::shared_ptr<File>> StoreImpl::SealedFile(SegmentInfo* info) {
  for (int attempt = 0;; ++attempt) {
    const uint64_t key = SegmentCacheKey(info->id, info->generation);
    if (std::optional<std::shared_ptr<File>> f = open_files_.Lookup(key)) return *f;
    absl::StatusOr<std::unique_ptr<File>> file =
        info->cold ? absl::StatusOr<std::unique_ptr<File>>(
                         OpenColdSegment(backing_, SegmentFileName(info->id), info->footer.file_size))
                   : fs_->Open(SegmentPath(info->id), OpenMode::kRead);
    if (absl::IsNotFound(file.status()) && !info->cold && attempt == 0) {
      // Moved to the cold tier since the caller looked: look again.
      MutexLock lock(&state_mu_);
      for (const SegmentInfo& s : segments_) {
        if (s.id == info->id) *info = s;
      }
      if (info->cold) continue;
    }
    RETURN_IF_ERROR(file.status());
    std::shared_ptr<File> shared(*std::move(file));
    open_files_.Insert(key, shared, 1);
    return shared;
  }
}

absl::StatusOr<std::shared_ptr<const BlockTable>> StoreImpl::SealedTable(const SegmentInfo& info) {
  // The table of a segment is the same in every copy of one generation
  // line: a move to the cold tier copies it unchanged, so the key of the
  // generation the caller saw is kept.
  const uint64_t key = SegmentCacheKey(info.id, info.generation);
  if (std::optional<std::shared_ptr<const BlockTable>> t = footer_cache_.Lookup(key)) return *t;
  SegmentInfo cur = info;
  absl::StatusOr<std::shared_ptr<File>> file = SealedFile(&cur);
  const std::string where = SegmentWhere(cur);
  if (absl::IsNotFound(file.status())) {
    return absl::DataLossError(absl::StrCat("segment ", where, " is missing (", file.status().message(), ")"));
  }
  RETURN_IF_ERROR(file.status());
  ASSIGN_OR_RETURN(FooterContents fc, ReadFooter(**file, where, Seed(cur.id), cur.footer));
  if (fc.segment_id != cur.id) {
    return absl::DataLossError(absl::StrCat(where, ": footer names segment ", fc.segment_id));
  }
  auto table = std::make_shared<const BlockTable>(std::move(fc.table));
  footer_cache_.Insert(key, table, table->MemoryBytes());
  return table;
}

std::shared_ptr<const ReadOnlyMapping> StoreImpl::HotMapping(const SegmentInfo& info) {
  const uint64_t key = SegmentCacheKey(info.id, info.generation);
  if (std::optional<std::shared_ptr<const ReadOnlyMapping>> m = hot_maps_.Lookup(key)) return *m;
  absl::StatusOr<std::shared_ptr<const ReadOnlyMapping>> m = fs_->Map(SegmentPath(info.id), 0, info.used);
  if (!m.ok()) return nullptr;  // fall back to pread, which reports the error
  hot_maps_.Insert(key, *m, 1);
  return *m;
}

absl::StatusOr<StoreImpl::Location> StoreImpl::Locate(BlockNumber n) {
  Location loc;
  bool hot = false;
  if (n < prune_before_.load(std::memory_order_acquire)) {
    return absl::NotFoundError(absl::StrCat("block ", n, " was pruned (blocks below ", prune_before_.load(), ")"));
  }
  {
    MutexLock lock(&state_mu_);
    std::optional<size_t> i = SegmentIndexFor(n);
    if (!i || n > segments_[*i].last) return absl::NotFoundError(absl::StrCat("block ", n, " is not in the store"));
    loc.info = segments_[*i];
    if (!loc.info.sealed) {
      auto it = std::lower_bound(active_index_.begin(), active_index_.end(), n,
                                 [](const IndexEntry& e, uint64_t v) { return e.number < v; });
      if (it == active_index_.end() || it->number != n) {
        return absl::NotFoundError(absl::StrCat("block ", n, " is not in the store"));
      }
      loc.entry = *it;
      loc.map = active_map_;
      return loc;
    }
    hot = IsHotLocked(*i);
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const BlockTable> table, SealedTable(loc.info));
  const IndexEntry* e = table->Find(n);
  if (e == nullptr) return absl::NotFoundError(absl::StrCat("block ", n, " is not in the store"));
  loc.entry = *e;
  if (hot && !loc.info.cold) loc.map = HotMapping(loc.info);
  return loc;
}

absl::StatusOr<Block> StoreImpl::ReadAt(const Location& loc, const ReadOptions& options) {
  const IndexEntry& e = loc.entry;
  // The path is built only for an error: a Get that succeeds allocates nothing for it.
  auto damaged = [&](std::string_view what) {
    return absl::DataLossError(
        absl::StrCat("block ", e.number, ": ", Where(SegmentWhere(loc.info), e.offset), ": ", AV(what)));
  };
  const uint64_t limit = loc.info.sealed ? loc.info.used : loc.info.capacity;
  if (e.offset < kSegmentHeaderSize || e.offset > limit || e.length > limit ||
      RecordSize(e.length) > limit - e.offset) {
    return damaged("index points outside the segment file");
  }
  const char* record = nullptr;
  std::shared_ptr<const void> pin;
  if (loc.map && loc.map->size() >= e.offset + RecordSize(e.length)) {
    record = loc.map->data() + e.offset;
    pin = loc.map;
  } else {
    if (std::optional<std::shared_ptr<const std::string>> hit = block_cache_.Lookup({loc.info.id, loc.info.generation, e.offset})) {
      const std::string& r = **hit;
      return BlockAccess::Make(e.number, *hit, r.data() + kRecordHeaderSize, r.size() - kRecordHeaderSize);
    }
    SegmentInfo cur = loc.info;
    ASSIGN_OR_RETURN(std::shared_ptr<File> file, SealedFile(&cur));
    auto buf = std::make_shared<std::string>(kRecordHeaderSize + e.length, '\0');
    ASSIGN_OR_RETURN(size_t got, file->Read(e.offset, buf->data(), buf->size()));
    if (got != buf->size()) return damaged("file ends inside the record");
    record = buf->data();
    pin = buf;
  }
  std::optional<RecordHeader> h = DecodeRecordHeader(std::string_view(record, kRecordHeaderSize), Seed(loc.info.id));
  if (!h) return damaged("record header is damaged");
  if (h->type != RecordType::kBlock || h->number != e.number || h->length != e.length) {
    return damaged(absl::StrCat("record holds block ", h->number, " of ", h->length, " bytes, not what the index says"));
  }
  std::string_view payload(record + kRecordHeaderSize, e.length);
  if (options.verify_checksum) {
    // Below kValidationCacheMinPayload hashing is cheaper than the cache's
    // lookup and insert (a 4 KiB scan ran at 2.2 GB/s through it, against
    // 3.6 GB/s hashing every block), so small payloads are always hashed.
    const RecordPlace place{loc.info.id, loc.info.generation, e.offset};
    const bool remember = e.length >= kValidationCacheMinPayload;
    if (!remember || !validated_.Lookup(place)) {
      if (Checksum64(payload) != h->payload_checksum) return damaged("payload checksum mismatch");
      if (remember) validated_.Insert(place, true, 1);
    }
  }
  if (pin.get() != loc.map.get() && options.fill_cache) {
    block_cache_.Insert({loc.info.id, loc.info.generation, e.offset}, std::static_pointer_cast<const std::string>(pin),
                        kRecordHeaderSize + e.length);
  }
  return BlockAccess::Make(e.number, std::move(pin), payload.data(), payload.size());
}

absl::Status StoreImpl::CheckOpen() const {
  if (closed_for_reads_.load(std::memory_order_acquire)) return absl::FailedPreconditionError("store is closed");
  return absl::OkStatus();
}

absl::StatusOr<Block> StoreImpl::Get(BlockNumber n, const ReadOptions& options) {
  RETURN_IF_ERROR(CheckOpen());
  RETURN_IF_ERROR(NumberInRange(n));
  for (;;) {
    // A read that fails while Compact switches the segment's file is
    // retried with the new view (see layout_epoch_).
    const uint64_t epoch = layout_epoch_.load(std::memory_order_acquire);
    absl::StatusOr<Location> loc = Locate(n);
    absl::StatusOr<Block> b = loc.ok() ? ReadAt(*loc, options) : absl::StatusOr<Block>(loc.status());
    if (b.ok() || layout_epoch_.load(std::memory_order_acquire) == epoch) return b;
  }
}

absl::StatusOr<std::vector<Block>> StoreImpl::GetRange(BlockNumber start, uint64_t count,
                                                       const ReadOptions& options) {
  for (;;) {
    const uint64_t epoch = layout_epoch_.load(std::memory_order_acquire);
    absl::StatusOr<std::vector<Block>> r = GetRangeOnce(start, count, options);
    if (r.ok() || layout_epoch_.load(std::memory_order_acquire) == epoch) return r;
  }
}

absl::StatusOr<std::vector<Block>> StoreImpl::GetRangeOnce(BlockNumber start, uint64_t count,
                                                           const ReadOptions& options) {
  RETURN_IF_ERROR(CheckOpen());
  RETURN_IF_ERROR(NumberInRange(start));
  std::vector<Block> out;
  if (count == 0) return out;
  const BlockNumber last = count - 1 > kMaxBlockNumber - start ? kMaxBlockNumber : start + (count - 1);
  uint64_t bytes = 0;
  BlockNumber cursor = start;
  while (cursor <= last) {
    Location base;
    std::vector<IndexEntry> entries;
    bool hot = false;
    {
      MutexLock lock(&state_mu_);
      std::optional<size_t> i = SegmentIndexFor(cursor);
      size_t idx = i ? *i : 0;
      if (i && segments_[idx].last < cursor) ++idx;
      while (idx < segments_.size() && !segments_[idx].has_blocks) ++idx;
      if (idx >= segments_.size() || segments_[idx].first > last) break;
      base.info = segments_[idx];
      if (!base.info.sealed) {
        auto it = std::lower_bound(active_index_.begin(), active_index_.end(), cursor,
                                   [](const IndexEntry& e, uint64_t v) { return e.number < v; });
        for (; it != active_index_.end() && it->number <= last; ++it) entries.push_back(*it);
        base.map = active_map_;
      } else {
        hot = IsHotLocked(idx);
      }
    }
    if (base.info.sealed) {
      ASSIGN_OR_RETURN(std::shared_ptr<const BlockTable> table, SealedTable(base.info));
      for (size_t k = table->LowerBound(std::max(cursor, base.info.first));
           k < table->size() && table->entries()[k].number <= std::min(last, base.info.last); ++k) {
        entries.push_back(table->entries()[k]);
      }
      if (hot && !base.info.cold) base.map = HotMapping(base.info);
    }
    for (const IndexEntry& e : entries) {
      if (!out.empty() && (e.length > options_.max_range_bytes || bytes > options_.max_range_bytes - e.length)) {
        return out;
      }
      base.entry = e;
      ASSIGN_OR_RETURN(Block b, ReadAt(base, options));
      bytes += e.length;
      out.push_back(std::move(b));
    }
    if (base.info.last >= last) break;
    cursor = base.info.last + 1;
  }
  return out;
}

absl::StatusOr<BlockNumber> StoreImpl::FindByKey(std::string_view key) {
  RETURN_IF_ERROR(CheckOpen());
  if (!options_.key_extractor) {
    return absl::FailedPreconditionError("FindByKey needs Options::key_extractor");
  }
  // Keys of the newest blocks may still be in the journal buffer.
  std::optional<uint64_t> n;
  {
    MutexLock lock(&commit_mu_);
    for (auto it = journal_buffer_.rbegin(); it != journal_buffer_.rend(); ++it) {
      if (it->key && *it->key == key) {
        n = it->number;
        break;
      }
    }
  }
  if (!n) {
    ASSIGN_OR_RETURN(n, meta_->GetKey(key));
  }
  if (!n || *n > kMaxBlockNumber) return absl::NotFoundError("no block has this key");
  // Entries of blocks removed by TruncateAfter are left behind; the block
  // now at that number must still have the key.
  absl::StatusOr<Block> b = Get(*n, ReadOptions{true, false});
  if (absl::IsNotFound(b.status())) return absl::NotFoundError("no block has this key");
  RETURN_IF_ERROR(b.status());
  std::optional<std::string> actual = options_.key_extractor(b->data());
  if (!actual || *actual != key) return absl::NotFoundError("no block has this key");
  return *n;
}

bool StoreImpl::Contains(BlockNumber n) {
  if (n > kMaxBlockNumber || !CheckOpen().ok()) return false;
  for (;;) {
    const uint64_t epoch = layout_epoch_.load(std::memory_order_acquire);
    if (Locate(n).ok()) return true;
    if (layout_epoch_.load(std::memory_order_acquire) == epoch) return false;
  }
}

uint64_t StoreImpl::BlockCount() {
  MutexLock lock(&state_mu_);
  return total_count_;
}

std::optional<BlockNumber> StoreImpl::LowestNumber() {
  MutexLock lock(&state_mu_);
  for (const SegmentInfo& s : segments_) {
    if (s.has_blocks) return s.first;
  }
  return std::nullopt;
}

std::optional<BlockNumber> StoreImpl::HighestNumber() {
  MutexLock lock(&state_mu_);
  return HighestLocked();
}

StoreStats StoreImpl::GetStats() {
  StoreStats st;
  {
    MutexLock lock(&state_mu_);
    st.block_count = total_count_;
    st.highest = HighestLocked();
    for (const SegmentInfo& s : segments_) {
      if (s.has_blocks && !st.lowest) st.lowest = s.first;
      st.segment_bytes += s.used;
    }
    st.segments = segments_.size();
    st.sealed_segments = sealed_count_;
    st.pruned_before = prune_before_.load();
    st.mapped_segments = hot_maps_.stats().entries + (active_map_ ? 1 : 0);
  }
  st.live_journal_shards = meta_->LiveShards().size();
  st.live_column_families = meta_->LiveColumnFamilies();
  st.open_segment_files = open_files_.stats().entries;
  CacheStats bc = block_cache_.stats();
  st.block_cache_hits = bc.hits;
  st.block_cache_misses = bc.misses;
  st.block_cache_entries = bc.entries;
  CacheStats fc = footer_cache_.stats();
  st.manifest_cache_hits = fc.hits;
  st.manifest_cache_misses = fc.misses;
  return st;
}

// ---------------------------------------------------------------------------
// Run-time limits and metrics (ScalingManager)

namespace {

CacheMetrics ToCacheMetrics(const CacheStats& c) {
  CacheMetrics m;
  m.hits = c.hits;
  m.misses = c.misses;
  m.evictions = c.evictions;
  m.entries = c.entries;
  m.bytes = c.charge;
  const uint64_t lookups = c.hits + c.misses;
  m.hit_rate = lookups == 0 ? 0.0 : static_cast<double>(c.hits) / static_cast<double>(lookups);
  return m;
}

LockMetrics ToLockMetrics(std::string name, const LockCounters& c) {
  LockMetrics m;
  m.name = std::move(name);
  m.acquisitions = c.acquisitions.load(std::memory_order_relaxed);
  m.contended = c.contended.load(std::memory_order_relaxed);
  m.wait_nanos = c.wait_nanos.load(std::memory_order_relaxed);
  return m;
}

}  // namespace

ScalingMetrics StoreImpl::CollectScalingMetrics() {
  ScalingMetrics m;
  {
    MutexLock lock(&state_mu_);
    m.block_count = total_count_;
    // hot = the active segment plus the sealed ones of the hot tier.
    m.segments_hot = !segments_.empty() && !segments_.back().sealed ? 1 : 0;
  }
  const TierCounts tc = tiers_.Counts();
  m.segments_hot += tc.hot;
  m.segments_warm = tc.warm;
  m.segments_cold = tc.cold;
  m.block_cache = ToCacheMetrics(block_cache_.stats());
  m.manifest_cache = ToCacheMetrics(footer_cache_.stats());
  m.validation_cache = ToCacheMetrics(validated_.stats());
  m.live_journal_shards = meta_ ? meta_->LiveShards().size() : 0;
  {
    MutexLock lock(&commit_mu_);
    m.sync_requests = sync_requests_;
    m.sync_rounds = sync_rounds_;
    m.journal_writes = journal_writes_;
  }
  // Read after the commit_mu_ section above, so that acquisition counts
  // include it consistently.
  m.locks.push_back(ToLockMetrics("commit", commit_lock_counters_));
  m.locks.push_back(ToLockMetrics("state", state_lock_counters_));
  for (const TierLockStats& t : tiers_.LockStats()) {
    LockMetrics l;
    l.name = "tier:" + t.tier;
    l.acquisitions = t.acquisitions;
    l.contended = t.contended;
    l.wait_nanos = t.wait_nanos;
    m.locks.push_back(std::move(l));
  }
  const AdmissionStats a = admission_.stats();
  m.append_queue_depth = a.waiting;
  m.writers_active = a.active;
  m.max_writers_active = a.max_active;
  m.writes_admitted = a.admitted;
  m.writes_queued = a.waited;
  m.writes_rejected = a.rejected;
  m.backpressure = ClassifyBackpressure(a.waiting, queue_warning_depth_.load(std::memory_order_relaxed),
                                        queue_critical_depth_.load(std::memory_order_relaxed));
  return m;
}

void StoreImpl::ApplyLimits(const ScalingLimits& requested) {
  ScalingLimits l = requested;
  l.max_concurrent_writes = EffectiveWriters(requested.max_concurrent_writes);
  {
    MutexLock lock(&limits_mu_);
    block_cache_.SetLimits(l.block_cache_entries, l.block_cache_bytes);
    footer_cache_.SetLimits(l.manifest_cache_entries, l.manifest_cache_bytes);
    // Readers decide by hot_segments_ which segments to map; hot_maps_
    // bounds how many mappings are kept.
    hot_segments_.store(l.hot_segments, std::memory_order_relaxed);
    hot_maps_.SetLimits(l.hot_segments, std::numeric_limits<size_t>::max());
    segment_size_.store(l.segment_size, std::memory_order_relaxed);
    queue_warning_depth_.store(l.write_queue_warning_depth, std::memory_order_relaxed);
    queue_critical_depth_.store(l.write_queue_critical_depth, std::memory_order_relaxed);
    admission_.SetLimit(l.max_concurrent_writes);
    limits_ = l;
  }
  LoadTiers();  // the hot tier follows hot_segments at once
  Log(absl::StrCat("limits reconfigured: block cache ", l.block_cache_entries, " entries / ", l.block_cache_bytes,
                   " bytes, manifest cache ", l.manifest_cache_entries, " / ", l.manifest_cache_bytes,
                   " bytes, max_concurrent_writes ", l.max_concurrent_writes, ", segment_size ", l.segment_size,
                   ", hot_segments ", l.hot_segments, ", write queue warning/critical depth ",
                   l.write_queue_warning_depth, "/", l.write_queue_critical_depth));
}

ScalingLimits StoreImpl::CurrentLimits() {
  MutexLock lock(&limits_mu_);
  return limits_;
}

BackpressureState StoreImpl::CurrentBackpressure() {
  return ClassifyBackpressure(admission_.stats().waiting, queue_warning_depth_.load(std::memory_order_relaxed),
                              queue_critical_depth_.load(std::memory_order_relaxed));
}

}  // namespace internal
}  // namespace segstore
