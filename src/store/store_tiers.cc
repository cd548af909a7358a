// StoreImpl's tiers: which sealed segments are hot (mapped), warm (local,
// read with pread) or cold (in the backing store), and the crash-safe move
// of a segment to the cold tier. The protocol is in tier/segment_mover.h:
// copy with generation + 1, sync, verify, one synced RocksDB batch (the
// commit point), then delete the local file. Reopen trusts meta/: a cold
// segment's leftover local file is deleted once its cold copy verifies (or
// taken back if it does not), and an object no segment points at (a move
// that crashed before its commit) is deleted.

#include <set>

#include "absl/strings/str_cat.h"
#include "segment/segment_name.h"
#include "store/store_impl.h"
#include "tier/cold_segment.h"
#include "tier/segment_mover.h"
#include "util/status_util.h"

namespace segstore::internal {

void StoreImpl::LoadTiers() {
  MutexLock update(&tier_update_mu_);
  std::vector<std::pair<uint64_t, TierName>> members;
  {
    MutexLock lock(&state_mu_);
    for (size_t i = 0; i < segments_.size(); ++i) {
      const SegmentInfo& s = segments_[i];
      if (!s.sealed) continue;
      members.emplace_back(s.id, s.cold ? TierName::kCold : IsHotLocked(i) ? TierName::kHot : TierName::kWarm);
    }
  }
  tiers_.Clear();
  for (const auto& [id, t] : members) tiers_.Insert(t, id);
}

void StoreImpl::TierAfterSeal(uint64_t id) {
  MutexLock update(&tier_update_mu_);
  tiers_.Insert(TierName::kHot, id);
  const size_t hot = hot_segments_.load(std::memory_order_relaxed);
  while (tiers_.Count(TierName::kHot) > hot) {
    std::vector<uint64_t> members = tiers_.Members(TierName::kHot);
    tiers_.Move(members.front(), TierName::kHot, TierName::kWarm);
  }
}

std::vector<uint64_t> StoreImpl::DemotionCandidates() {
  std::vector<uint64_t> local;  // sealed, local, not hot; oldest first
  {
    MutexLock lock(&state_mu_);
    for (size_t i = 0; i < segments_.size(); ++i) {
      const SegmentInfo& s = segments_[i];
      if (s.sealed && !s.cold && !IsHotLocked(i)) local.push_back(s.id);
    }
  }
  const size_t keep = std::min(local.size(), options_.warm_segments);
  local.resize(local.size() - keep);
  return local;
}

absl::StatusOr<bool> StoreImpl::DemoteSegment(uint64_t id) {
  auto find = [this](uint64_t want, SegmentInfo* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_mu_) -> size_t {
    for (size_t i = 0; i < segments_.size(); ++i) {
      if (segments_[i].id == want) {
        *out = segments_[i];
        return i;
      }
    }
    return segments_.size();
  };
  SegmentInfo before;
  {
    MutexLock lock(&state_mu_);
    if (find(id, &before) == segments_.size()) return false;
  }
  if (!before.sealed || before.cold) return false;
  // Copy, sync and verify, with no lock held: readers and writers go on.
  ASSIGN_OR_RETURN(MovedSegment moved,
                   CopySegmentToBackingStore(*fs_, SegmentPath(id), uuid_, id, backing_, &before.footer));
  {
    // Exclusive for the switch (one synced RocksDB write and memory): no
    // writer's sync or journal write runs beside it, so RocksDB is never
    // written from two of our threads at once (Debian's librocksdb is not
    // built for TSan, which then cannot see RocksDB's own write ordering),
    // and TruncateAfter and Close are excluded too. Appends wait for one
    // sync at most.
    ExclusiveLock gate(&gate_);
    if (closed_) return absl::FailedPreconditionError("store is closed");
    SegmentInfo now;
    size_t index;
    bool present;
    {
      MutexLock lock(&state_mu_);
      index = find(id, &now);
      present = index != segments_.size();
    }
    if (!present || now.cold || now.generation != before.generation || now.first != before.first || now.last != before.last ||
        now.count != before.count || now.footer.footer_offset != before.footer.footer_offset) {
      // Truncated or compacted meanwhile: the copy is an orphan nothing
      // points at.
      (void)backing_->Delete(moved.object_name);
      return false;
    }
    SegmentInfo cold = now;
    cold.cold = true;
    cold.generation = moved.generation;
    cold.footer = moved.footer();
    cold.used = moved.file_size;
    MetaStore::Batch batch;
    batch.PutSegment(SealedMeta(cold));
    batch.PutTier(TierLabel(TierName::kCold), id);
    // On failure the object stays: the write may still have become durable,
    // and reopen sorts out which copy meta/ names.
    RETURN_IF_ERROR(meta_->Write(batch, /*sync=*/true));
    MutexLock update(&tier_update_mu_);
    {
      MutexLock lock(&state_mu_);
      if (index < segments_.size() && segments_[index].id == id) segments_[index] = cold;
    }
    tiers_.Insert(TierName::kCold, id);
    tiers_.Erase(TierName::kWarm, id);
    tiers_.Erase(TierName::kHot, id);
    // Readers holding a Block keep its mapping or copy; an in-flight pread
    // keeps its descriptor. New reads go to the cold copy.
    hot_maps_.Erase(SegmentCacheKey(id, before.generation));
    open_files_.Erase(SegmentCacheKey(id, before.generation));
  }
  absl::Status d = fs_->Delete(SegmentPath(id));
  if (d.ok()) d = fs_->SyncDir(segments_dir_);
  if (!d.ok() && !absl::IsNotFound(d)) {
    Log(absl::StrCat("moved segment ", SegmentFileName(id), " to the cold tier but could not delete ",
                     SegmentPath(id), " (the next open does): ", d.ToString()));
  }
  Log(absl::StrCat("moved segment ", SegmentFileName(id), " to the cold tier (", backing_->Describe(),
                   "), generation ", moved.generation));
  return true;
}

absl::StatusOr<uint64_t> StoreImpl::Rebalance() {
  MutexLock maintenance(&maintenance_mu_);
  return RebalanceLocked();
}

absl::StatusOr<uint64_t> StoreImpl::RebalanceLocked() {
  RETURN_IF_ERROR(CheckOpen());
  if (options_.read_only) return absl::FailedPreconditionError(absl::StrCat("store ", dir_, " is open read-only"));
  RETURN_IF_ERROR(Health());
  LoadTiers();  // hot/warm follow hot_segments, which may have changed
  uint64_t moved = 0;
  for (uint64_t id : DemotionCandidates()) {
    absl::StatusOr<bool> ok = DemoteSegment(id);
    if (!ok.ok()) {
      // The moves before this one are done and durable: say so, or the
      // caller cannot tell a failed first move from a failed tenth.
      return absl::Status(ok.status().code(), absl::StrCat(ok.status().message(), " (", moved,
                                                           " segment(s) had moved to the cold tier before this one)"));
    }
    if (*ok) ++moved;
  }
  return moved;
}

absl::Status StoreImpl::FinishInterruptedMoves() {
  std::vector<SegmentInfo> segments;
  {
    MutexLock lock(&state_mu_);
    segments = segments_;
  }
  std::set<std::string> cold_names;
  for (SegmentInfo& s : segments) {
    if (!s.cold) continue;
    const std::string name = SegmentFileName(s.id);
    cold_names.insert(name);
    ASSIGN_OR_RETURN(bool local_exists, fs_->Exists(SegmentPath(s.id)));
    if (!local_exists) continue;
    // The move was recorded; its last step, deleting the local file, was
    // not done. Delete it only if the cold copy checks out.
    absl::Status cold_ok = VerifyColdCopy(backing_, uuid_, s.id, s.generation, s.footer);
    if (cold_ok.ok()) {
      // Both copies hold the same records; if not, the cold one is damaged
      // (the move compared them before committing) and the local file wins.
      ASSIGN_OR_RETURN(std::unique_ptr<File> lf, fs_->Open(SegmentPath(s.id), OpenMode::kRead));
      cold_ok = CompareSegmentBodies(*lf, backing_, name, s.footer.footer_offset);
    }
    report_.clean = false;
    if (cold_ok.ok()) {
      RETURN_IF_ERROR(fs_->Delete(SegmentPath(s.id)));
      RETURN_IF_ERROR(fs_->SyncDir(segments_dir_));
      Log(absl::StrCat("finished moving segment ", name, " to the cold tier"));
      continue;
    }
    ASSIGN_OR_RETURN(std::unique_ptr<File> f, fs_->Open(SegmentPath(s.id), OpenMode::kRead));
    CopyCheck check = CheckSealedCopy(*f, SegmentPath(s.id), uuid_, s.id);
    if (!check.valid) {
      Log(absl::StrCat("segment ", name, ": neither the cold copy (", cold_ok.message(), ") nor the local file (",
                       check.problem.message(), ") is valid"));
      continue;
    }
    SegmentInfo local = s;
    local.cold = false;
    local.generation = check.header.generation;
    local.footer = check.footer;
    local.used = check.footer.file_size;
    MetaStore::Batch batch;
    batch.PutSegment(SealedMeta(local));
    batch.DeleteTier(TierLabel(TierName::kCold), s.id);
    RETURN_IF_ERROR(meta_->Write(batch, /*sync=*/true));
    cold_names.erase(name);
    {
      MutexLock lock(&state_mu_);
      for (SegmentInfo& cur : segments_) {
        if (cur.id == s.id) cur = local;
      }
    }
    Log(absl::StrCat("segment ", name, ": the cold copy is not valid (", cold_ok.message(),
                     "); the local file is used again"));
  }
  // Objects no segment points at. Only the copy an interrupted move left
  // is deleted: this store's segment, still local in meta/, one generation
  // newer than the local file. Anything else (another store's objects in a
  // shared directory, an object whose header does not check out, a segment
  // meta/ does not know) is left alone and reported.
  absl::StatusOr<std::vector<std::string>> objects = backing_->List();
  if (!objects.ok()) {
    Log(absl::StrCat("cannot list ", backing_->Describe(), " (", objects.status().ToString(),
                     "); interrupted moves are not cleaned up"));
    LoadTiers();
    return absl::OkStatus();
  }
  for (const std::string& name : *objects) {
    std::optional<uint64_t> id = ParseSegmentFileName(name);
    if (cold_names.count(name) != 0 || !id) continue;
    const SegmentInfo* local = nullptr;
    for (const SegmentInfo& s : segments) {
      if (s.id == *id && !s.cold && s.sealed) local = &s;
    }
    std::unique_ptr<File> object = OpenColdSegment(backing_, name);
    CopyCheck check = CheckSealedCopy(*object, name, uuid_, *id);
    if (local == nullptr || !check.valid || check.header.generation != local->generation + 1) {
      Log(absl::StrCat("left alone: ", name, " in ", backing_->Describe(), " is not a segment of this store's meta/ (",
                       check.valid ? "no such local segment" : std::string(check.problem.message()), ")"));
      report_.ignored_files.push_back(absl::StrCat(backing_->Describe(), "/", name));
      continue;
    }
    RETURN_IF_ERROR(backing_->Delete(name));
    Log(absl::StrCat("deleted ", name, " from ", backing_->Describe(), ": an interrupted move's copy"));
  }
  LoadTiers();
  return absl::OkStatus();
}

}  // namespace segstore::internal
