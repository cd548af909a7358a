// BlockStore::Compact: sealed segments rewritten without dead records
// (pruned, or cut by TruncateAfter) and consecutive underfull ones merged.
//
// A group of consecutive sealed segments [a, b] becomes one segment with id a
// (so that id order stays block order) and a generation above all of
// theirs. Steps, each durable before the next:
//  1. The new file is written as segments/<a>.seg.compact from the live
//     blocks (read through the store, checksums checked), sealed (footer
//     listing the ids it replaces, trailer, trim), synced, directory synced.
//     A crash here leaves a stray .compact file that Open deletes.
//  2. Commit: one synced RocksDB batch puts the new SegmentMeta of a,
//     deletes the metadata of the others and records a in pending_installs
//     and the others in pending_deletions.
//  3. <a>.seg.compact is renamed over <a>.seg and the directory synced
//     (Open redoes this for every id in pending_installs whose .compact
//     file still exists, before anything reads a segment).
//  4. The in-memory view switches; the old files of the others are deleted;
//     pending_installs / pending_deletions are cleared (synced).
// rebuild-index never reads .compact files; when it finds both the new <a>
// and an old input still on disk, the new footer's `replaces` list and its
// higher generation decide: the inputs are ignored (and deleted on the
// next Open). So every live block is indexed exactly once at every point.
//
// Locks: maintenance_mu_ for the whole run (serializes with PruneBefore and
// TruncateAfter); state_mu_ only for the switch of the in-memory view.
// Readers and writers go on. A reader that raced the switch of a file (its
// read failed while layout_epoch_ changed) retries with the new view; one
// that holds a Block keeps its mapping or copy (unlinked files stay
// readable through them); cached descriptors, footers and mappings are keyed
// by (id, generation), so the old generation's are never used again.

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "segment/format.h"
#include "segment/segment_name.h"
#include "store/store_impl.h"
#include "util/checksum.h"
#include "util/status_util.h"

namespace segstore::internal {
namespace {

std::string CompactPath(const std::string& segment_path) { return segment_path + ".compact"; }

}  // namespace

absl::Status StoreImpl::FinishInstallsAtOpen() {
  const bool ro = options_.read_only;
  if (manifest_.pending_installs_size() > 0) {
    if (ro) {
      return absl::FailedPreconditionError(absl::StrCat(
          dir_, " has an interrupted compaction: open it read-write once to finish it"));
    }
    for (uint64_t id : manifest_.pending_installs()) {
      const std::string path = SegmentPath(id);
      ASSIGN_OR_RETURN(bool exists, fs_->Exists(CompactPath(path)));
      if (exists) RETURN_IF_ERROR(fs_->Rename(CompactPath(path), path));
    }
    RETURN_IF_ERROR(fs_->SyncDir(segments_dir_));
    report_.clean = false;
    Log(absl::StrCat("finished installing ", manifest_.pending_installs_size(), " compacted segment(s)"));
    manifest_.clear_pending_installs();
    MetaStore::Batch b;
    b.PutManifest(manifest_);
    RETURN_IF_ERROR(meta_->Write(b, /*sync=*/true));
  }
  if (ro) return absl::OkStatus();
  // Output of a compaction that did not commit.
  ASSIGN_OR_RETURN(bool seg_dir, fs_->Exists(segments_dir_));
  if (!seg_dir) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->ListDir(segments_dir_));
  bool removed = false;
  for (const std::string& name : names) {
    if (!name.ends_with(".seg.compact")) continue;
    RETURN_IF_ERROR(fs_->Delete(segments_dir_ + "/" + name));
    removed = true;
  }
  if (removed) {
    report_.clean = false;
    RETURN_IF_ERROR(fs_->SyncDir(segments_dir_));
  }
  return absl::OkStatus();
}

absl::StatusOr<CompactReport> StoreImpl::Compact(const CompactOptions& options) {
  RETURN_IF_ERROR(CheckOpen());
  MutexLock maintenance(&maintenance_mu_);
  if (!options.dry_run) {
    SharedLock gate(&gate_);
    RETURN_IF_ERROR(CheckWritable());
  }
  // The sealed segments as they are now; rollover only adds segments after
  // them, and nothing else changes them while maintenance_mu_ is held.
  std::vector<SegmentInfo> sealed;
  {
    MutexLock lock(&state_mu_);
    for (const SegmentInfo& s : segments_) {
      // Cold segments are not compacted: only the local sealed segments
      // after the newest cold one (so that each group stays consecutive).
      if (s.cold) {
        sealed.clear();
      } else if (s.sealed) {
        sealed.push_back(s);
      }
    }
  }
  struct Input {
    SegmentInfo info;
    std::vector<IndexEntry> live;
    std::vector<uint64_t> markers;
    uint64_t live_bytes = 0;
    uint64_t dead = 0, dead_bytes = 0;
  };
  std::vector<Input> inputs;
  for (const SegmentInfo& s : sealed) {
    Input in;
    in.info = s;
    SegmentInfo cur = s;
    ASSIGN_OR_RETURN(std::shared_ptr<File> f, SealedFile(&cur));
    ASSIGN_OR_RETURN(FooterContents fc, ReadFooter(*f, SegmentWhere(cur), Seed(s.id), cur.footer));
    in.markers = fc.truncated_after;
    for (const IndexEntry& e : fc.table.entries()) {
      if (s.has_blocks && e.number >= s.first && e.number <= s.last) {
        in.live.push_back(e);
        in.live_bytes += RecordSize(e.length);
      } else {
        ++in.dead;
        in.dead_bytes += RecordSize(e.length);
      }
    }
    inputs.push_back(std::move(in));
  }
  const uint64_t capacity = segment_size_.load(std::memory_order_relaxed);
  auto need = [](uint64_t bytes, uint64_t records) { return kSegmentHeaderSize + bytes + FooterReserve(records); };
  // Greedy groups of consecutive segments that fit one new segment.
  std::vector<std::pair<size_t, size_t>> groups;  // [begin, end) in inputs
  for (size_t i = 0; i < inputs.size();) {
    size_t j = i + 1;
    uint64_t bytes = inputs[i].live_bytes, records = inputs[i].live.size();
    uint64_t dead = inputs[i].dead;
    while (j < inputs.size() && records + inputs[j].live.size() <= kMaxRecordsPerSegment &&
           need(bytes + inputs[j].live_bytes, records + inputs[j].live.size()) <= capacity) {
      bytes += inputs[j].live_bytes;
      records += inputs[j].live.size();
      dead += inputs[j].dead;
      ++j;
    }
    if (j - i >= 2 || dead > 0) groups.emplace_back(i, j);
    i = j;
  }

  CompactReport report;
  const uint64_t bps = options_.compaction_bytes_per_second;
  const absl::Time start = absl::Now();
  uint64_t copied = 0;
  std::string scratch;
  for (const auto& group : groups) {
    // Plain variables, not a structured binding: clang 14 cannot capture
    // those in the lambda below.
    const size_t gb = group.first;
    const size_t ge = group.second;
    const SegmentInfo& head = inputs[gb].info;
    uint64_t generation = 0;
    std::vector<uint64_t> markers, replaces;
    uint64_t records = 0, before = 0, dead = 0, dead_bytes = 0;
    for (size_t k = gb; k < ge; ++k) {
      generation = std::max(generation, inputs[k].info.generation);
      for (uint64_t m : inputs[k].markers) markers.push_back(m);
      replaces.push_back(inputs[k].info.id);
      records += inputs[k].live.size();
      before += inputs[k].info.used;
      dead += inputs[k].dead;
      dead_bytes += inputs[k].dead_bytes;
    }
    ++generation;
    // The new layout: records back to back after the header.
    std::vector<IndexEntry> entries;
    entries.reserve(records);
    uint64_t at = kSegmentHeaderSize;
    for (size_t k = gb; k < ge; ++k) {
      for (const IndexEntry& e : inputs[k].live) {
        entries.push_back({e.number, at, e.length});
        at += RecordSize(e.length);
      }
    }
    std::string footer = EncodeFooter(head.id, generation, entries, markers);
    {
      proto::SegmentFooter f;
      if (!f.ParseFromString(footer)) return absl::InternalError("cannot re-read an encoded footer");
      for (uint64_t id : replaces) f.add_replaces(id);
      footer = f.SerializeAsString();
    }
    const uint64_t after = at + RecordSize(footer.size()) + kTrailerSize;
    report.segments_in += ge - gb;
    report.segments_out += 1;
    report.blocks_moved += records;
    report.dead_records += dead;
    report.dead_record_bytes += dead_bytes;
    report.bytes_before += before;
    report.bytes_after += after;
    if (options.dry_run) continue;

    // 1. The new file, complete and durable under its temporary name.
    const std::string path = SegmentPath(head.id);
    const std::string tmp = CompactPath(path);
    ASSIGN_OR_RETURN(bool stale, fs_->Exists(tmp));
    if (stale) RETURN_IF_ERROR(fs_->Delete(tmp));
    SegmentHeader h;
    h.store_uuid = uuid_;
    h.segment_id = head.id;
    h.generation = generation;
    h.created_unix_micros = absl::ToUnixMicros(absl::Now());
    h.capacity = std::max(kMinSegmentSize, after);
    SealedFooter sf;
    {
      ASSIGN_OR_RETURN(std::unique_ptr<File> out, fs_->Open(tmp, OpenMode::kCreateNew));
      auto write_all = [&]() -> absl::Status {
        RETURN_IF_ERROR(out->Allocate(0, h.capacity));
        RETURN_IF_ERROR(out->Write(0, EncodeSegmentHeader(h)));
        size_t idx = 0;
        for (size_t k = gb; k < ge; ++k) {
          for (const IndexEntry& e : inputs[k].live) {
            Location loc;
            loc.info = inputs[k].info;
            loc.entry = e;
            ASSIGN_OR_RETURN(Block b, ReadAt(loc, ReadOptions{/*verify_checksum=*/true, /*fill_cache=*/false}));
            RecordHeader rh;
            rh.type = RecordType::kBlock;
            rh.number = e.number;
            rh.length = e.length;
            rh.payload_checksum = Checksum64(b.data());
            rh.epoch = 1;
            RETURN_IF_ERROR(WriteRecord(*out, entries[idx++].offset, Seed(head.id), rh, b.data(), &scratch));
            copied += RecordSize(e.length);
            if (bps > 0) {
              const absl::Time due = start + absl::Seconds(static_cast<double>(copied) / static_cast<double>(bps));
              const absl::Time now = absl::Now();
              if (due > now) absl::SleepFor(due - now);
            }
          }
        }
        ASSIGN_OR_RETURN(sf, SealSegmentFile(*out, at, Seed(head.id), 1, footer));
        return absl::OkStatus();
      };
      absl::Status ws = write_all();
      if (!ws.ok()) {
        out.reset();
        (void)fs_->Delete(tmp);
        return Annotate(ws, absl::StrCat("compacting into ", tmp));
      }
    }
    RETURN_IF_ERROR(fs_->SyncDir(segments_dir_));

    // 2. Commit.
    SegmentInfo info;
    info.id = head.id;
    info.sealed = true;
    info.capacity = h.capacity;
    info.generation = generation;
    info.has_blocks = !entries.empty();
    info.first = entries.empty() ? head.first : entries.front().number;
    info.last = entries.empty() ? 0 : entries.back().number;
    info.count = entries.size();
    info.used = sf.file_size;
    info.footer = sf;
    std::vector<uint64_t> others(replaces.begin() + 1, replaces.end());
    MetaStore::Batch batch;
    batch.PutSegment(SealedMeta(info));
    for (uint64_t id : others) {
      batch.DeleteSegment(id);
      manifest_.add_pending_deletions(id);
    }
    manifest_.add_pending_installs(head.id);
    batch.PutManifest(manifest_);
    absl::Status cs = meta_->Write(batch, /*sync=*/true);
    if (!cs.ok()) {
      manifest_.clear_pending_installs();
      manifest_.clear_pending_deletions();
      (void)fs_->Delete(tmp);
      return cs;
    }
    // 3. Install. Readers that fail while the file changes retry.
    layout_epoch_.fetch_add(1, std::memory_order_acq_rel);
    absl::Status rs = fs_->Rename(tmp, path);
    if (rs.ok()) rs = fs_->SyncDir(segments_dir_);
    // 4. The new view, then the old files go.
    {
      MutexLock lock(&state_mu_);
      uint64_t old_count = 0;
      for (size_t k = gb; k < ge; ++k) old_count += inputs[k].info.has_blocks ? inputs[k].info.count : 0;
      for (SegmentInfo& s : segments_) {
        if (s.id == head.id) s = info;
      }
      segments_.erase(std::remove_if(segments_.begin(), segments_.end(),
                                     [&](const SegmentInfo& s) {
                                       return std::find(others.begin(), others.end(), s.id) != others.end();
                                     }),
                      segments_.end());
      sealed_count_ -= others.size();
      total_count_ = total_count_ - old_count + info.count;
    }
    layout_epoch_.fetch_add(1, std::memory_order_acq_rel);
    for (size_t k = gb; k < ge; ++k) {
      const uint64_t key = SegmentCacheKey(inputs[k].info.id, inputs[k].info.generation);
      footer_cache_.Erase(key);
      hot_maps_.Erase(key);
      open_files_.Erase(key);
    }
    if (!rs.ok()) return Fail(rs);  // Open finishes the install
    RETURN_IF_ERROR(DeleteSegmentFiles(others));
    manifest_.clear_pending_installs();
    manifest_.clear_pending_deletions();
    MetaStore::Batch done;
    done.PutManifest(manifest_);
    RETURN_IF_ERROR(meta_->Write(done, /*sync=*/true));
    Log(absl::StrCat("compacted ", ge - gb, " segment(s) into ", SegmentFileName(head.id), " (generation ", generation,
                     "): ", records, " blocks, ", before, " -> ", after, " bytes"));
  }
  report.bytes_reclaimed = report.bytes_before > report.bytes_after ? report.bytes_before - report.bytes_after : 0;
  return report;
}

}  // namespace segstore::internal
