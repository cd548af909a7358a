// BlockStore::Verify: every segment file read and compared with the index.

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "segment/format.h"
#include "segment/scanner.h"
#include "segment/segment_name.h"
#include "store/store_impl.h"
#include "tier/cold_segment.h"
#include "util/status_util.h"

namespace segstore::internal {

absl::StatusOr<VerifyReport> StoreImpl::Verify(bool deep) {
  RETURN_IF_ERROR(CheckOpen());
  // Not while Compact or PruneBefore replaces files under it.
  MutexLock maintenance(&maintenance_mu_);
  VerifyReport report;
  std::vector<SegmentInfo> segments;
  std::vector<IndexEntry> active_entries;
  {
    MutexLock lock(&state_mu_);
    segments = segments_;
    active_entries = active_index_;
  }
  for (const SegmentInfo& info : segments) {
    ++report.segments;
    const std::string path = SegmentWhere(info);
    auto problem = [&](uint64_t offset, std::string what) {
      report.problems.push_back({info.id, offset, path, std::move(what)});
    };
    absl::StatusOr<std::unique_ptr<File>> file =
        info.cold ? absl::StatusOr<std::unique_ptr<File>>(
                        OpenColdSegment(backing_, SegmentFileName(info.id), info.footer.file_size))
                  : fs_->Open(path, OpenMode::kRead);
    if (!file.ok()) {
      problem(0, absl::StrCat("cannot open: ", file.status().message()));
      continue;
    }
    absl::StatusOr<uint64_t> size = (*file)->Size();
    if (!size.ok()) {
      problem(0, std::string(size.status().message()));
      continue;
    }
    absl::StatusOr<SegmentHeader> header = ReadSegmentHeader(**file, path);
    if (!header.ok()) {
      problem(0, std::string(header.status().message()));
      continue;
    }
    if (std::memcmp(header->store_uuid.data(), uuid_.data(), uuid_.size()) != 0) {
      problem(0, "segment header carries another store's UUID");
      continue;
    }
    if (header->segment_id != info.id) problem(0, absl::StrCat("segment header says id ", header->segment_id));
    if (header->generation != info.generation) {
      problem(0, absl::StrCat("segment header has generation ", header->generation, ", the index says ",
                              info.generation));
    }
    if (info.sealed && *size != info.used && (info.footer.trimmed || *size < info.used)) {
      problem(0, absl::StrCat("file is ", *size, " bytes, the index says ", info.used));
    }
    // A local file is mapped; a cold object is fetched whole (Verify reads
    // every byte either way).
    std::shared_ptr<const ReadOnlyMapping> map;
    std::string fetched;
    if (info.cold) {
      fetched.resize(static_cast<size_t>(*size));
      absl::StatusOr<size_t> got = (*file)->Read(0, fetched.data(), fetched.size());
      if (!got.ok() || *got != fetched.size()) {
        problem(0, got.ok() ? std::string("object is shorter than its size") : std::string(got.status().message()));
        continue;
      }
    } else {
      absl::StatusOr<std::shared_ptr<const ReadOnlyMapping>> mapped = fs_->Map(path, 0, *size);
      if (!mapped.ok()) {
        problem(0, std::string(mapped.status().message()));
        continue;
      }
      map = *std::move(mapped);
    }
    std::string_view bytes = info.cold ? std::string_view(fetched) : std::string_view(map->data(), map->size());
    report.bytes_read += bytes.size();
    const uint64_t durable_end = info.sealed ? info.footer.footer_offset : info.used;
    ScanResult scan = ScanSegment(bytes, kSegmentHeaderSize, durable_end, Seed(info.id), deep);
    for (const ScannedGap& g : scan.skipped) {
      problem(g.begin, absl::StrCat("damaged bytes up to offset ", g.end, ": ", g.reason));
    }
    if (info.sealed && !scan.footer) problem(scan.end, "sealed segment has no footer record here: " + scan.end_reason);
    if (info.sealed && info.footer.trimmed) {
      std::optional<Trailer> t =
          bytes.size() >= kTrailerSize ? DecodeTrailer(bytes.substr(bytes.size() - kTrailerSize)) : std::nullopt;
      if (!t || t->footer_offset != info.footer.footer_offset || t->footer_length != info.footer.footer_length) {
        problem(bytes.size() >= kTrailerSize ? bytes.size() - kTrailerSize : 0,
                "trailer at the end of the file is damaged or does not point at the footer");
      }
    }

    // What the files hold (after the segment's own truncation markers).
    std::vector<const ScannedRecord*> found = LiveBlocks(scan);
    report.records_scanned += found.size();

    // What the index says.
    std::vector<IndexEntry> indexed;
    if (info.sealed) {
      absl::StatusOr<std::shared_ptr<const BlockTable>> table = SealedTable(info);
      if (!table.ok()) {
        problem(info.footer.footer_offset, std::string(table.status().message()));
        continue;
      }
      indexed = (*table)->entries();
    } else {
      indexed = active_entries;
    }
    const uint64_t last = info.has_blocks ? info.last : 0;
    auto visible = [&](uint64_t n) { return info.has_blocks && n >= info.first && n <= last; };
    size_t j = 0;
    for (const IndexEntry& e : indexed) {
      if (!visible(e.number)) continue;
      ++report.blocks_checked;
      while (j < found.size() && found[j]->offset < e.offset) {
        if (visible(found[j]->number)) {
          problem(found[j]->offset, absl::StrCat("valid record of block ", found[j]->number, " is not indexed"));
        }
        ++j;
      }
      if (j == found.size() || found[j]->offset != e.offset) {
        problem(e.offset, absl::StrCat("block ", e.number, ": no valid record where the index points"));
        continue;
      }
      const ScannedRecord& r = *found[j++];
      if (r.number != e.number || r.length != e.length) {
        problem(e.offset, absl::StrCat("block ", e.number, ": the record there holds block ", r.number, " of ",
                                       r.length, " bytes"));
      } else if (!r.payload_ok) {
        problem(e.offset, absl::StrCat("block ", e.number, ": payload checksum mismatch"));
      }
    }
    for (; j < found.size(); ++j) {
      if (visible(found[j]->number)) {
        problem(found[j]->offset, absl::StrCat("valid record of block ", found[j]->number, " is not indexed"));
      }
    }
  }
  return report;
}

}  // namespace segstore::internal
