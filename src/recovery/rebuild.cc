// RebuildIndex: all of meta/ from the segment files alone.
//
// Segments are processed newest first so that a TruncateAfter marker found
// in a later segment can cut the blocks of earlier ones while only one
// segment's records are in memory at a time.

#include "segstore/rebuild.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "meta/meta_store.h"
#include "segment/format.h"
#include "segment/record.h"
#include "segment/scanner.h"
#include "segment/segment_file.h"
#include "segment/segment_name.h"
#include "segstore/file_system.h"
#include "store/prune_file.h"
#include "store/store_lock.h"
#include "tier/cold_segment.h"
#include "tier/segment_mover.h"
#include "util/checksum.h"
#include "util/coding.h"
#include "util/status_util.h"
#include "util/uuid.h"

namespace segstore {

std::string RebuildReport::ToString() const {
  std::string s = absl::StrCat("rebuilt meta/ from ", segment_files - ignored_segments, " of ", segment_files,
                               " segment file(s) (", sealed, " sealed, ", resealed, " resealed): ", blocks,
                               " block(s) indexed, ", bytes_read, " bytes read");
  if (dropped_by_truncation > 0) absl::StrAppend(&s, "; ", dropped_by_truncation, " record(s) removed by TruncateAfter");
  if (superseded > 0) absl::StrAppend(&s, "; ", superseded, " segment file(s) superseded by a compacted one (deleted on next open)");
  if (pruned_before > 0) absl::StrAppend(&s, "; blocks below ", pruned_before, " pruned (", dropped_by_prune, " record(s) left out)");
  absl::StrAppend(&s, DescribeDamage(skipped, damaged, "kept in the index; reading it is DataLoss"));
  for (const std::string& r : repaired) absl::StrAppend(&s, "; repaired ", r);
  for (const std::string& i : ignored) absl::StrAppend(&s, "; ignored ", i);
  if (cold_segments > 0) absl::StrAppend(&s, "; ", cold_segments, " segment(s) indexed from the cold tier");
  for (const std::string& d : stale_copies_deleted) absl::StrAppend(&s, "; deleted stale copy ", d);
  if (!old_meta.empty()) absl::StrAppend(&s, "; previous meta/ kept as ", old_meta);
  return s;
}

namespace internal {
namespace {

struct OldMeta {
  std::optional<proto::StoreManifest> manifest;
  std::map<uint64_t, proto::SegmentMeta> segments;
};

OldMeta ReadOldMeta(const std::string& meta_dir, std::vector<std::string>* notes) {
  OldMeta old;
  if (!std::filesystem::exists(meta_dir + "/CURRENT")) return old;
  MetaOptions mo;
  mo.read_only = true;
  absl::StatusOr<std::unique_ptr<MetaStore>> meta = MetaStore::Open(meta_dir, mo);
  if (!meta.ok()) {
    notes->push_back(absl::StrCat("old meta/ (unreadable: ", meta.status().message(), ")"));
    return old;
  }
  absl::StatusOr<std::optional<proto::StoreManifest>> m = (*meta)->ReadManifest();
  if (m.ok()) old.manifest = *m;
  absl::StatusOr<std::vector<proto::SegmentMeta>> segs = (*meta)->ReadSegments();
  if (segs.ok()) {
    for (proto::SegmentMeta& s : *segs) old.segments[s.segment_id()] = std::move(s);
  }
  (void)(*meta)->Close();
  return old;
}

// Offset just past the last non-zero 8-byte word: without metadata, the
// written part of an unsealed, zero-preallocated segment.
uint64_t WrittenEnd(std::string_view file) {
  uint64_t end = file.size() & ~uint64_t{7};
  while (end > kSegmentHeaderSize) {
    uint64_t w;
    std::memcpy(&w, file.data() + end - 8, 8);
    if (w != 0) break;
    end -= 8;
  }
  return end;
}

struct Candidate {
  uint64_t id;
  std::string path;
  SegmentHeader header;
  bool cold = false;     // indexed from its cold copy (check holds its footer)
  CopyCheck cold_check = {};
};

// The ids a compacted segment replaces (its footer's `replaces`, its own id
// first); empty for any other segment or an unreadable footer.
std::vector<uint64_t> ReplacedIds(FileSystem& fs, const std::string& path, uint64_t seed) {
  absl::StatusOr<std::unique_ptr<File>> f = fs.Open(path, OpenMode::kRead);
  if (!f.ok()) return {};
  absl::StatusOr<SealedFooter> loc = LocateFooter(**f, path);
  if (!loc.ok()) return {};
  std::string head(kRecordHeaderSize, '\0');
  absl::StatusOr<size_t> got = (*f)->Read(loc->footer_offset, head.data(), head.size());
  if (!got.ok() || *got != head.size()) return {};
  std::optional<RecordHeader> rh = DecodeRecordHeader(head, seed);
  if (!rh || rh->type != RecordType::kFooter || rh->length > (uint64_t{1} << 32)) return {};
  std::string payload(rh->length, '\0');
  got = (*f)->Read(loc->footer_offset + kRecordHeaderSize, payload.data(), payload.size());
  if (!got.ok() || *got != payload.size() || Checksum64(payload) != rh->payload_checksum) return {};
  proto::SegmentFooter footer;
  if (!footer.ParseFromString(payload)) return {};
  return std::vector<uint64_t>(footer.replaces().begin(), footer.replaces().end());
}

std::string UtcStamp() { return absl::FormatTime("%Y%m%dT%H%M%SZ", absl::Now(), absl::UTCTimeZone()); }

}  // namespace
}  // namespace internal

absl::StatusOr<RebuildReport> RebuildIndex(const Options& options, const std::string& dir) {
  using namespace internal;  // NOLINT: the implementation's own namespace
  std::shared_ptr<FileSystem> fs = options.file_system ? options.file_system : DefaultFileSystem();
  const std::string seg_dir = dir + "/segments";
  ASSIGN_OR_RETURN(bool has_segments, fs->Exists(seg_dir));
  if (!has_segments) return absl::NotFoundError(absl::StrCat(dir, " has no segments/ directory: not a segstore store"));
  ASSIGN_OR_RETURN(std::unique_ptr<StoreLock> lock, StoreLock::Acquire(dir + "/LOCK", /*shared=*/false));

  // The prune point is read before anything is changed: a damaged PRUNE file
  // stops the rebuild (pruned blocks must not come back).
  ASSIGN_OR_RETURN(std::optional<PrunePoint> prune_file, ReadPruneFile(*fs, seg_dir));

  RebuildReport report;
  OldMeta old = ReadOldMeta(dir + "/meta", &report.ignored);

  // Segment files and their headers.
  ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(seg_dir));
  std::vector<Candidate> found;
  struct DamagedHeader {
    uint64_t id;
    std::string path;
    std::string why;
  };
  std::vector<DamagedHeader> damaged_headers;
  std::map<std::string, int> uuid_votes;
  for (const std::string& name : names) {
    if (name == kPruneFileName || name == kPruneTempName || name.ends_with(".seg.compact")) {
      continue;  // the prune point (read above); an uncommitted or not yet installed compaction output
    }
    std::optional<uint64_t> id = ParseSegmentFileName(name);
    if (!id) {
      report.ignored.push_back(absl::StrCat("segments/", name, " (not a segment file name)"));
      continue;
    }
    ++report.segment_files;
    const std::string path = seg_dir + "/" + name;
    absl::StatusOr<std::unique_ptr<File>> f = fs->Open(path, OpenMode::kRead);
    absl::StatusOr<SegmentHeader> h = f.ok() ? ReadSegmentHeader(**f, path) : f.status();
    if (!h.ok()) {
      // Its records may be intact: tried again once the store's UUID is known.
      damaged_headers.push_back({*id, path, std::string(h.status().message())});
      continue;
    }
    if (h->segment_id != *id) {
      report.ignored.push_back(absl::StrCat(path, " (its header says segment ", h->segment_id, ")"));
      ++report.ignored_segments;
      continue;
    }
    uuid_votes[std::string(h->store_uuid.data(), h->store_uuid.size())]++;
    found.push_back({*id, path, *h});
  }
  std::string uuid;
  if (old.manifest && old.manifest->store_uuid().size() == 16) {
    uuid = old.manifest->store_uuid();
  } else {
    int best = 0;
    for (const auto& [u, votes] : uuid_votes) {
      if (votes > best) {
        best = votes;
        uuid = u;
      }
    }
  }
  std::vector<Candidate> segs;
  for (Candidate& c : found) {
    if (std::string(c.header.store_uuid.data(), c.header.store_uuid.size()) != uuid) {
      report.ignored.push_back(absl::StrCat(c.path, " (belongs to another store: its UUID differs)"));
      ++report.ignored_segments;
      continue;
    }
    segs.push_back(std::move(c));
  }
  StoreUuid store_uuid{};
  if (uuid.size() == 16) {
    std::memcpy(store_uuid.data(), uuid.data(), 16);
    if (prune_file) RETURN_IF_ERROR(CheckPruneFileOwner(*prune_file, store_uuid, seg_dir));
  } else if (prune_file) {
    // No segment and no manifest name the store: the prune point's file does.
    store_uuid = prune_file->store;
    uuid.assign(store_uuid.data(), 16);
  }

  // A segment whose header is damaged keeps its records if they validate
  // under this store's UUID and the id in the file name (record checksums are
  // seeded with both): the header is written again.
  for (const DamagedHeader& d : damaged_headers) {
    bool repaired = false;
    if (uuid.size() == 16) {
      absl::StatusOr<std::unique_ptr<File>> f = fs->Open(d.path, OpenMode::kReadWrite);
      absl::StatusOr<uint64_t> size = f.ok() ? (*f)->Size() : absl::StatusOr<uint64_t>(f.status());
      absl::StatusOr<std::shared_ptr<const ReadOnlyMapping>> map =
          size.ok() && *size > kSegmentHeaderSize ? fs->Map(d.path, 0, *size)
                                                  : absl::StatusOr<std::shared_ptr<const ReadOnlyMapping>>(
                                                        absl::DataLossError("too short"));
      if (map.ok()) {
        std::string_view bytes((*map)->data(), (*map)->size());
        ScanResult scan = ScanSegment(bytes, kSegmentHeaderSize, WrittenEnd(bytes), RecordSeed(store_uuid, d.id));
        if (!scan.records.empty() || scan.footer) {
          SegmentHeader h;
          h.store_uuid = store_uuid;
          h.segment_id = d.id;
          h.generation = 1;
          h.created_unix_micros = absl::ToUnixMicros(absl::Now());
          h.capacity = std::max(*size, kMinSegmentSize);
          map->reset();
          if ((*f)->Write(0, EncodeSegmentHeader(h)).ok() && (*f)->Sync().ok()) {
            report.repaired.push_back(absl::StrCat(d.path, " (header was damaged: ", d.why, "; rewritten)"));
            segs.push_back({d.id, d.path, h});
            repaired = true;
          }
        }
      }
    }
    if (!repaired) {
      report.ignored.push_back(absl::StrCat(d.path, " (", d.why, ")"));
      ++report.ignored_segments;
    }
  }
  std::sort(segs.begin(), segs.end(), [](const Candidate& a, const Candidate& b) { return a.id < b.id; });

  // The cold tier: a segment may have a copy there (a finished move), or two
  // copies, one each side (an interrupted move). The valid copy with the
  // newest generation wins; the loser is deleted after the swap below.
  std::shared_ptr<BackingStore> backing =
      options.backing_store ? options.backing_store
                            : LocalDirectoryBackingStore(options.cold_path.empty() ? dir + "/cold" : options.cold_path, fs);
  std::vector<std::string> stale_local;
  std::vector<std::string> stale_cold;
  if (uuid.size() == 16) {
    ASSIGN_OR_RETURN(std::vector<std::string> objects, backing->List());
    for (const std::string& name : objects) {
      std::optional<uint64_t> id = ParseSegmentFileName(name);
      if (!id) continue;
      const std::string where = absl::StrCat("object ", name, " in ", backing->Describe());
      std::unique_ptr<File> cold = OpenColdSegment(backing, name);
      auto local_it = std::find_if(segs.begin(), segs.end(), [&](const Candidate& c) { return c.id == *id; });
      std::unique_ptr<File> local;
      if (local_it != segs.end()) {
        absl::StatusOr<std::unique_ptr<File>> f = fs->Open(local_it->path, OpenMode::kRead);
        if (f.ok()) local = *std::move(f);
      }
      CopyChoice choice = ChooseAuthoritativeCopy(local.get(), local_it != segs.end() ? local_it->path : "",
                                                  cold.get(), where, store_uuid, *id);
      if (choice.winner != CopySide::kCold) {
        if (choice.winner == CopySide::kLocal) {
          stale_cold.push_back(name);
        } else if (local_it == segs.end()) {
          report.ignored.push_back(absl::StrCat(where, " (", choice.cold.problem.message(), ")"));
        }
        continue;
      }
      Candidate c;
      c.id = *id;
      c.path = where;
      c.header = choice.cold.header;
      c.cold = true;
      c.cold_check = std::move(choice.cold);
      if (local_it != segs.end()) {
        stale_local.push_back(local_it->path);
        *local_it = std::move(c);
      } else {
        segs.push_back(std::move(c));
      }
    }
    std::sort(segs.begin(), segs.end(), [](const Candidate& a, const Candidate& b) { return a.id < b.id; });
  }

  // A compaction that stopped after installing its output but before
  // deleting its inputs leaves both: the newer generation wins, and the
  // inputs it lists are deleted by the next Open.
  std::vector<uint64_t> superseded;
  {
    std::map<uint64_t, uint64_t> generation_of;
    for (const Candidate& c : segs) generation_of[c.id] = c.header.generation;
    for (const Candidate& c : segs) {
      if (c.header.generation <= 1 || c.cold) continue;  // cold copies are never compaction outputs
      std::vector<uint64_t> ids = ReplacedIds(*fs, c.path, RecordSeed(store_uuid, c.id));
      for (uint64_t id : ids) {
        auto g = generation_of.find(id);
        if (id != c.id && g != generation_of.end() && g->second < c.header.generation) superseded.push_back(id);
      }
    }
    std::sort(superseded.begin(), superseded.end());
    superseded.erase(std::unique(superseded.begin(), superseded.end()), superseded.end());
    segs.erase(std::remove_if(segs.begin(), segs.end(),
                              [&](const Candidate& c) {
                                return std::binary_search(superseded.begin(), superseded.end(), c.id);
                              }),
               segs.end());
    report.superseded = superseded.size();
  }

  // A segment the old meta/ has in the cold tier, with no copy found on
  // either side: the backing store is probably not there (an unmounted
  // directory, a missing Options::backing_store). Rebuilding now would
  // drop its blocks from the index, so nothing is changed.
  for (const auto& [id, m] : old.segments) {
    if (m.tier() != proto::TIER_COLD) continue;
    if (std::none_of(segs.begin(), segs.end(), [id = id](const Candidate& c) { return c.id == id; })) {
      return absl::FailedPreconditionError(absl::StrCat(
          "meta/ has segment ", SegmentFileName(id), " in the cold tier, but ", backing->Describe(),
          " has no valid copy of it (nor has segments/): is the cold tier mounted, and Options::cold_path or "
          "backing_store set as when the store was written? Nothing was changed"));
    }
  }

  proto::StoreManifest manifest;
  manifest.set_format_version(kFormatVersion);
  manifest.set_checksum_kind(proto::CHECKSUM_XXH3_64);
  if (uuid.size() != 16) {
    // No segment at all: a fresh UUID for an empty store.
    store_uuid = NewStoreUuid();
    uuid.assign(store_uuid.data(), 16);
  }
  manifest.set_store_uuid(uuid);
  const bool old_ok = old.manifest.has_value() && old.manifest->journal_shard_blocks() > 0;
  manifest.set_first_block_number(old_ok ? old.manifest->first_block_number() : options.first_block_number);
  manifest.set_journal_shard_blocks(old_ok ? old.manifest->journal_shard_blocks() : options.journal_shard_blocks);
  manifest.set_created_unix_micros(old_ok ? old.manifest->created_unix_micros() : absl::ToUnixMicros(absl::Now()));
  const uint64_t shard_blocks = std::max<uint64_t>(manifest.journal_shard_blocks(), 1);
  const uint64_t prune_before = std::max(prune_file ? prune_file->before : 0, old.manifest ? old.manifest->prune_before() : 0);
  manifest.set_prune_before(prune_before);
  for (uint64_t id : superseded) manifest.add_pending_deletions(id);
  report.pruned_before = prune_before;
  std::optional<uint64_t> highest;

  const std::string new_meta = dir + "/meta.rebuild";
  std::error_code ec;
  std::filesystem::remove_all(new_meta, ec);  // a previous rebuild's leftover
  MetaOptions mo;
  mo.create_if_missing = true;
  mo.max_open_files = options.meta_max_open_files;
  mo.memtable_bytes = options.meta_memtable_bytes;
  ASSIGN_OR_RETURN(std::unique_ptr<MetaStore> meta, MetaStore::Open(new_meta, mo));

  uint64_t cut = kMaxBlockNumber;            // min TruncateAfter marker seen in later segments
  std::optional<uint64_t> later_first;       // lowest block of later segments
  // The blocks of one segment's table that stay: not cut by a later
  // TruncateAfter marker, not shadowed by a later segment, not pruned.
  auto keep_live = [&](const std::vector<IndexEntry>& entries) {
    std::vector<IndexEntry> live;
    for (const IndexEntry& e : entries) {
      if (e.number > cut || (later_first && e.number >= *later_first)) {
        ++report.dropped_by_truncation;
        continue;
      }
      if (!highest || e.number > *highest) highest = e.number;
      if (e.number < prune_before) {
        ++report.dropped_by_prune;
        continue;
      }
      live.push_back(e);
    }
    return live;
  };
  for (size_t k = segs.size(); k-- > 0;) {
    const Candidate& c = segs[k];
    const bool newest = k + 1 == segs.size();
    const uint64_t seed = RecordSeed(store_uuid, c.id);
    if (c.cold) {
      // Indexed from its footer alone: the object is not downloaded whole.
      const FooterContents& fc = c.cold_check.contents;
      proto::SegmentMeta m;
      m.set_segment_id(c.id);
      m.set_capacity(std::max(c.header.capacity, kMinSegmentSize));
      m.set_generation(c.header.generation);
      m.set_tier(proto::TIER_COLD);
      m.set_state(proto::SEGMENT_SEALED);
      m.set_footer_offset(c.cold_check.footer.footer_offset);
      m.set_footer_length(c.cold_check.footer.footer_length);
      m.set_footer_checksum(c.cold_check.footer.footer_checksum);
      m.set_file_size(c.cold_check.footer.file_size);
      std::vector<IndexEntry> live = keep_live(fc.table.entries());
      for (uint64_t mk : fc.truncated_after) cut = std::min(cut, mk);
      if (!live.empty()) later_first = std::min(later_first.value_or(UINT64_MAX), live.front().number);
      report.blocks += live.size();
      ++report.sealed;
      ++report.cold_segments;
      m.set_has_blocks(!live.empty());
      if (!live.empty()) {
        m.set_first_block(live.front().number);
        m.set_last_block(live.back().number);
        m.set_record_count(live.size());
      }
      MetaStore::Batch batch;
      if (options.key_extractor) {
        std::unique_ptr<File> cold = OpenColdSegment(backing, SegmentFileName(c.id), m.file_size());
        for (const IndexEntry& e : live) {
          absl::StatusOr<std::string> payload = ReadRecord(*cold, c.path, seed, e, /*verify_checksum=*/true);
          if (!payload.ok()) continue;  // damaged: Get reports it
          if (std::optional<std::string> key = options.key_extractor(*payload)) batch.PutKey(*key, e.number);
        }
      }
      batch.PutSegment(m);
      batch.PutTier("cold", c.id);
      RETURN_IF_ERROR(meta->Write(batch, /*sync=*/false));
      continue;
    }
    ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs->Open(c.path, OpenMode::kReadWrite));
    ASSIGN_OR_RETURN(uint64_t size, file->Size());
    ASSIGN_OR_RETURN(std::shared_ptr<const ReadOnlyMapping> map, fs->Map(c.path, 0, size));
    std::string_view bytes(map->data(), map->size());
    report.bytes_read += size;

    // How much of the file is durable decides what damage means.
    uint64_t durable_end;
    // (value_or: GCC 12 warns maybe-uninitialized through optional's -> here)
    const uint64_t footer_offset =
        size >= kTrailerSize ? DecodeTrailer(bytes.substr(size - kTrailerSize)).value_or(Trailer{size, 0}).footer_offset
                             : size;
    auto it = old.segments.find(c.id);
    if (footer_offset < size) {
      durable_end = footer_offset;
    } else if (it != old.segments.end() && it->second.state() == proto::SEGMENT_ACTIVE) {
      durable_end = std::min(it->second.synced_offset(), size);
    } else {
      durable_end = WrittenEnd(bytes);  // no better knowledge: keep every valid record
    }
    ScanResult scan = ScanSegment(bytes, kSegmentHeaderSize, durable_end, seed);
    for (const ScannedGap& g : scan.skipped) report.skipped.push_back({c.id, g.begin, g.end, g.reason});

    // Blocks of this segment, after its own markers.
    std::vector<IndexEntry> in_segment;
    std::vector<bool> payload_ok;
    std::vector<uint64_t> markers;
    std::vector<const ScannedRecord*> marker_records;
    for (const ScannedRecord* r : LiveBlocks(scan, &marker_records)) {
      in_segment.push_back({r->number, r->offset, r->length});
      payload_ok.push_back(r->payload_ok);
    }
    for (const ScannedRecord* r : marker_records) markers.push_back(r->number);
    // Sealed: keep a readable footer as the index (it also lists blocks whose
    // records are damaged, so reading them is DataLoss rather than NotFound);
    // write a new one from the scan if it is missing or damaged.
    proto::SegmentMeta m;
    m.set_segment_id(c.id);
    m.set_capacity(std::max(c.header.capacity, kMinSegmentSize));
    m.set_generation(c.header.generation);
    m.set_tier(proto::TIER_HOT);
    std::vector<IndexEntry> table = in_segment;
    uint32_t epoch_seen = scan.max_epoch;
    if (it != old.segments.end()) epoch_seen = std::max(epoch_seen, it->second.epoch());
    // A segment whose epochs are used up takes no more records: seal it.
    const bool sealed = scan.footer.has_value() || !newest || epoch_seen == UINT32_MAX;
    if (sealed) {
      SealedFooter loc;
      bool have_footer = false;
      if (scan.footer) {
        loc.footer_offset = scan.footer->offset;
        loc.footer_length = scan.footer->length;
        loc.footer_checksum = scan.footer->payload_checksum;
        const uint64_t trailer_at = loc.footer_offset + RecordSize(loc.footer_length);
        std::optional<Trailer> t = size >= trailer_at + kTrailerSize
                                       ? DecodeTrailer(bytes.substr(trailer_at, kTrailerSize))
                                       : std::nullopt;
        loc.file_size = trailer_at + kTrailerSize;
        absl::StatusOr<FooterContents> fc = ReadFooter(*file, c.path, seed, loc);
        if (t && t->footer_offset == loc.footer_offset && fc.ok() && fc->segment_id == c.id) {
          have_footer = true;
          table = fc->table.entries();
          for (uint64_t mk : fc->truncated_after) {
            if (std::find(markers.begin(), markers.end(), mk) == markers.end()) markers.push_back(mk);
          }
          if (size > loc.file_size) {  // seal crashed before trimming
            map.reset();
            RETURN_IF_ERROR(file->Truncate(loc.file_size));
            RETURN_IF_ERROR(file->Sync());
          }
        }
      }
      if (!have_footer) {
        const uint64_t at = scan.footer ? scan.footer->offset : scan.end;
        map.reset();
        ASSIGN_OR_RETURN(loc, SealSegmentFile(*file, at, seed, std::max<uint32_t>(scan.max_epoch, 1),
                                              EncodeFooter(c.id, c.header.generation, in_segment, markers)));
        ++report.resealed;
        table = in_segment;
      } else {
        ++report.sealed;
      }
      m.set_state(proto::SEGMENT_SEALED);
      m.set_footer_offset(loc.footer_offset);
      m.set_footer_length(loc.footer_length);
      m.set_footer_checksum(loc.footer_checksum);
      m.set_file_size(loc.file_size);
    }

    // Later markers and later segments win over this segment's blocks.
    std::vector<IndexEntry> live = keep_live(table);
    for (size_t i = 0; i < in_segment.size(); ++i) {
      if (!payload_ok[i] && in_segment[i].number <= cut) {
        report.damaged.push_back({c.id, in_segment[i].offset, in_segment[i].number});
      }
    }
    for (uint64_t mk : markers) cut = std::min(cut, mk);
    if (!live.empty()) later_first = std::min(later_first.value_or(UINT64_MAX), live.front().number);
    report.blocks += live.size();

    m.set_has_blocks(!live.empty());
    if (!live.empty()) {
      m.set_first_block(live.front().number);
      m.set_last_block(live.back().number);
      m.set_record_count(live.size());
    }
    MetaStore::Batch batch;
    if (!sealed) {
      RETURN_IF_ERROR(file->Sync());  // what is kept becomes durable
      m.set_state(proto::SEGMENT_ACTIVE);
      m.set_synced_offset(scan.end == 0 ? kSegmentHeaderSize : scan.end);
      m.set_epoch(epoch_seen + 1);
      for (const IndexEntry& e : live) {
        RETURN_IF_ERROR(meta->EnsureShard(e.number / shard_blocks));
        proto::BlockLocation bl;
        bl.set_segment_id(c.id);
        bl.set_offset(e.offset);
        bl.set_length(e.length);
        std::optional<RecordHeader> rh =
            DecodeRecordHeader(std::string_view(bytes.data() + e.offset, kRecordHeaderSize), seed);
        bl.set_checksum(rh ? rh->payload_checksum : 0);
        batch.PutJournal(e.number / shard_blocks, e.number, bl);
      }
    }
    if (options.key_extractor && map) {
      for (const IndexEntry& e : live) {
        if (e.offset + RecordSize(e.length) > bytes.size()) continue;
        std::optional<std::string> key = options.key_extractor(bytes.substr(e.offset + kRecordHeaderSize, e.length));
        if (key) batch.PutKey(*key, e.number);
      }
    } else if (options.key_extractor) {
      // The file was rewritten (resealed or trimmed): read the payloads again.
      for (const IndexEntry& e : live) {
        std::string payload(e.length, '\0');
        ASSIGN_OR_RETURN(size_t got, file->Read(e.offset + kRecordHeaderSize, payload.data(), payload.size()));
        if (got != payload.size()) continue;
        std::optional<std::string> key = options.key_extractor(payload);
        if (key) batch.PutKey(*key, e.number);
      }
    }
    batch.PutSegment(m);
    RETURN_IF_ERROR(meta->Write(batch, /*sync=*/false));
  }
  if (prune_before > 0 && (!highest || *highest < prune_before)) {
    (void)meta->Close();
    meta.reset();
    std::filesystem::remove_all(new_meta, ec);
    return absl::FailedPreconditionError(absl::StrCat(
        "the prune point ", prune_before, " (segments/PRUNE or meta/) is above the highest block in the segment files (",
        highest ? absl::StrCat(*highest) : std::string("none"), "): nothing was changed; if the newest segments were lost, ",
        "restore them, or fix segments/PRUNE"));
  }
  MetaStore::Batch final_batch;
  final_batch.PutManifest(manifest);
  RETURN_IF_ERROR(meta->Write(final_batch, /*sync=*/true));
  RETURN_IF_ERROR(meta->Close());
  meta.reset();

  // Swap in the new meta/; the old one is kept, never deleted.
  ASSIGN_OR_RETURN(bool had_meta, fs->Exists(dir + "/meta"));
  if (had_meta) {
    report.old_meta = dir + "/meta.old-" + UtcStamp();
    for (int i = 2; std::filesystem::exists(report.old_meta); ++i) {
      report.old_meta = absl::StrCat(dir, "/meta.old-", UtcStamp(), "-", i);
    }
    RETURN_IF_ERROR(fs->Rename(dir + "/meta", report.old_meta));
  }
  RETURN_IF_ERROR(fs->Rename(new_meta, dir + "/meta"));
  RETURN_IF_ERROR(fs->SyncDir(dir));
  // Only now, with the new meta/ durable, do the losing copies go.
  for (const std::string& path : stale_local) {
    RETURN_IF_ERROR(fs->Delete(path));
    report.stale_copies_deleted.push_back(path);
  }
  if (!stale_local.empty()) RETURN_IF_ERROR(fs->SyncDir(seg_dir));
  for (const std::string& name : stale_cold) {
    RETURN_IF_ERROR(backing->Delete(name));
    report.stale_copies_deleted.push_back(absl::StrCat("object ", name, " in ", backing->Describe()));
  }
  return report;
}

}  // namespace segstore
