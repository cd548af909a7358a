// BlockStore::PruneBefore: blocks below a number become NotFound at once and
// for good; whole segments below it are deleted.
//
// Durable steps, in this order (a crash between any two is finished or
// harmless on the next Open):
//  1. Everything acknowledged is synced (the highest block, which is never
//     pruned, must survive so that numbering goes on above the prune point).
//  2. segments/PRUNE is replaced atomically (PRUNE.tmp written and synced,
//     renamed, directory synced). This is the commit point: from here on the
//     prune happened. Open and rebuild-index read the file; Open takes the
//     larger of it and the manifest's prune point and finishes the rest.
//  3. One synced RocksDB batch: manifest prune_before, the doomed segments'
//     metadata deleted and their ids added to pending_deletions, the
//     straddling sealed segment's first block / count clamped.
//  4. The doomed files are deleted and the directory synced; then
//     pending_deletions is cleared (a lost update only repeats the deletes,
//     which Open does).

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "recovery/tail_recovery.h"
#include "segment/segment_name.h"
#include "store/prune_file.h"
#include "store/store_impl.h"
#include "util/status_util.h"

namespace segstore::internal {

absl::Status StoreImpl::PlanPrune(uint64_t before, PrunePlan* plan) {
  std::vector<SegmentInfo> segments;
  {
    MutexLock lock(&state_mu_);
    segments = segments_;
  }
  plan->before = before;
  for (const SegmentInfo& s : segments) {
    if (!s.sealed) break;  // the active segment is cut in memory only
    if (!s.has_blocks || s.last < before) {
      plan->doomed.push_back(s.id);
      continue;
    }
    if (s.first < before) {
      ASSIGN_OR_RETURN(std::shared_ptr<const BlockTable> table, SealedTable(s));
      const size_t begin = table->LowerBound(before);
      const size_t end = table->LowerBound(s.last + 1);
      if (begin >= end) {
        return absl::DataLossError(absl::StrCat(SegmentPath(s.id), ": footer disagrees with meta/ about its blocks"));
      }
      SegmentInfo c = s;
      c.first = table->entries()[begin].number;
      c.count = end - begin;
      plan->clamped.push_back(c);
    }
    break;
  }
  return absl::OkStatus();
}

absl::Status StoreImpl::ApplyPrune(const PrunePlan& plan, bool persist) {
  absl::Status s;
  if (persist) {
    MetaStore::Batch b;
    manifest_.set_prune_before(std::max(manifest_.prune_before(), plan.before));
    for (uint64_t id : plan.doomed) {
      b.DeleteSegment(id);
      manifest_.add_pending_deletions(id);
    }
    for (const SegmentInfo& c : plan.clamped) b.PutSegment(SealedMeta(c));
    b.PutManifest(manifest_);
    s = meta_->Write(b, /*sync=*/true);
  }
  // The PRUNE file is durable, so the prune has happened whether or not the
  // batch above went through (Open finishes it): the view follows it at once.
  std::vector<uint64_t> evict;
  {
    MutexLock lock(&state_mu_);
    prune_before_.store(std::max(prune_before_.load(), plan.before), std::memory_order_release);
    for (uint64_t id : plan.doomed) {
      auto it = std::find_if(segments_.begin(), segments_.end(), [&](const SegmentInfo& x) { return x.id == id; });
      if (it == segments_.end()) continue;
      total_count_ -= it->has_blocks ? it->count : 0;
      if (it->sealed) --sealed_count_;
      evict.push_back(SegmentCacheKey(it->id, it->generation));
      segments_.erase(it);
    }
    for (const SegmentInfo& c : plan.clamped) {
      for (SegmentInfo& x : segments_) {
        if (x.id == c.id) {
          total_count_ -= x.count - c.count;
          x = c;
        }
      }
    }
    if (!segments_.empty() && !segments_.back().sealed) {
      SegmentInfo& a = segments_.back();
      if (a.has_blocks && a.first < plan.before) {
        auto it = std::lower_bound(active_index_.begin(), active_index_.end(), plan.before,
                                   [](const IndexEntry& e, uint64_t v) { return e.number < v; });
        const uint64_t removed = static_cast<uint64_t>(it - active_index_.begin());
        active_index_.erase(active_index_.begin(), it);
        a.count -= removed;
        total_count_ -= removed;
        if (active_index_.empty()) {
          a.has_blocks = false;
          a.first = plan.before;
        } else {
          a.first = active_index_.front().number;
        }
      }
    }
  }
  for (uint64_t key : evict) {
    footer_cache_.Erase(key);
    hot_maps_.Erase(key);
    open_files_.Erase(key);
  }
  RETURN_IF_ERROR(s);
  if (!persist || plan.doomed.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(DeleteSegmentFiles(plan.doomed));
  manifest_.clear_pending_deletions();
  MetaStore::Batch b;
  b.PutManifest(manifest_);
  return meta_->Write(b, /*sync=*/false);  // a lost update only repeats the deletes
}

absl::Status StoreImpl::PruneBefore(BlockNumber n) {
  if (n > kMaxBlockNumber) {
    return absl::InvalidArgumentError(absl::StrCat("block number ", n, " is above the largest block number"));
  }
  MutexLock maintenance(&maintenance_mu_);
  ExclusiveLock gate(&gate_);  // waits for every admitted writer to finish
  RETURN_IF_ERROR(CheckWritable());
  if (n <= prune_before_.load()) return absl::OkStatus();
  std::optional<BlockNumber> highest;
  {
    MutexLock lock(&state_mu_);
    highest = HighestLocked();
  }
  if (!highest) return absl::FailedPreconditionError("PruneBefore: the store is empty");
  if (n > *highest) {
    return absl::InvalidArgumentError(absl::StrCat("PruneBefore(", n, ") would prune every block (the highest is ",
                                                   *highest, "); the highest block is always kept"));
  }
  uint64_t target;
  {
    MutexLock lock(&commit_mu_);
    target = published_end_;
  }
  RETURN_IF_ERROR(SyncTo(target, /*flush_journal=*/true));
  PrunePlan plan;
  RETURN_IF_ERROR(PlanPrune(n, &plan));
  RETURN_IF_ERROR(WritePruneFile(*fs_, segments_dir_, uuid_, n));
  RETURN_IF_ERROR(ApplyPrune(plan, /*persist=*/true));
  Log(absl::StrCat("pruned blocks below ", n, ": removed ", plan.doomed.size(), " segment(s)"));
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> StoreImpl::LoadPrunePoint() {
  ASSIGN_OR_RETURN(std::optional<PrunePoint> file, ReadPruneFile(*fs_, segments_dir_));
  if (file) RETURN_IF_ERROR(CheckPruneFileOwner(*file, uuid_, segments_dir_));
  const uint64_t file_point = file ? file->before : 0;
  prune_before_.store(std::max(manifest_.prune_before(), file_point), std::memory_order_release);
  return file_point;
}

void StoreImpl::DropPrunedFromTail(TailRecoveryPlan* plan) const {
  const uint64_t p = prune_before_.load(std::memory_order_acquire);
  if (p == 0) return;
  auto below = [p](const IndexEntry& e) { return e.number < p; };
  plan->live.erase(std::remove_if(plan->live.begin(), plan->live.end(), below), plan->live.end());
  plan->journal_add.erase(std::remove_if(plan->journal_add.begin(), plan->journal_add.end(), below),
                          plan->journal_add.end());
  plan->damaged.erase(std::remove_if(plan->damaged.begin(), plan->damaged.end(), [p](uint64_t n) { return n < p; }),
                      plan->damaged.end());
}

absl::Status StoreImpl::FinishPruneAtOpen(uint64_t file_point) {
  const uint64_t p = prune_before_.load();
  if (p == 0) return absl::OkStatus();
  std::optional<BlockNumber> highest;
  {
    MutexLock lock(&state_mu_);
    highest = HighestLocked();
  }
  if (!highest || *highest < p) {
    // PruneBefore never prunes the highest block, so this prune point is not
    // this store's (a hand edit; another store's PRUNE file was already
    // refused by its UUID): applying it would delete everything. Nothing is
    // changed.
    return absl::DataLossError(absl::StrCat(
        "the prune point ", p, " (", segments_dir_ + "/PRUNE", " or meta/) is above the highest block (",
        highest ? absl::StrCat(*highest) : std::string("none"),
        "), which PruneBefore never prunes: the prune point is not this store's; nothing was changed (restore the "
        "right segments/PRUNE, or remove it if meta/ has no prune point)"));
  }
  const bool ro = options_.read_only;
  if (!ro) {
    // The manifest knows a prune point the file lacks (the file was lost or
    // removed): write it again so that rebuild-index sees it.
    if (file_point < p) RETURN_IF_ERROR(WritePruneFile(*fs_, segments_dir_, uuid_, p));
  }
  PrunePlan plan;
  RETURN_IF_ERROR(PlanPrune(p, &plan));
  if (plan.doomed.empty() && plan.clamped.empty() && manifest_.prune_before() >= p) return absl::OkStatus();
  report_.clean = false;
  Log(absl::StrCat("finishing the prune of blocks below ", p, ": ", plan.doomed.size(), " segment(s) to remove"));
  return ApplyPrune(plan, /*persist=*/!ro);
}

}  // namespace segstore::internal
