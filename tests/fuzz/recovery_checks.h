// Invariants of ScanSegment and PlanTailRecovery results, checked against
// the bytes independently of the code under test (fuzz_scanner and
// fuzz_meta_values share them). Each violation traps.

#ifndef SEGSTORE_TESTS_FUZZ_RECOVERY_CHECKS_H_
#define SEGSTORE_TESTS_FUZZ_RECOVERY_CHECKS_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "recovery/tail_recovery.h"
#include "schema/segstore.pb.h"
#include "segment/footer.h"
#include "segment/format.h"
#include "segment/record.h"
#include "segment/scanner.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace segstore::fuzz {

using namespace segstore::internal;

inline constexpr uint64_t kMaxBlock = (uint64_t{1} << 63) - 1;

struct Extent {
  uint64_t begin;
  uint64_t end;
};

// Checks one record the scan returned against the bytes, independently of
// the scanner.
inline void CheckRecord(std::string_view file, uint64_t seed, bool verify, uint64_t start, uint64_t durable_end,
                 const ScannedRecord& r) {
  const uint64_t size = file.size();
  FUZZ_CHECK(r.offset >= start);
  FUZZ_CHECK(r.offset <= size && size - r.offset >= kRecordHeaderSize);
  FUZZ_CHECK(r.length <= size - r.offset - kRecordHeaderSize);  // payload inside the file
  std::optional<RecordHeader> h = DecodeRecordHeader(file.substr(r.offset, kRecordHeaderSize), seed);
  FUZZ_CHECK(h.has_value());
  FUZZ_CHECK(h->type == r.type && h->number == r.number && h->length == r.length &&
             h->payload_checksum == r.payload_checksum && h->epoch == r.epoch);
  FUZZ_CHECK(r.epoch >= 1);
  const bool sum_ok = Checksum64(file.substr(r.offset + kRecordHeaderSize, r.length)) == r.payload_checksum;
  if (verify) {
    FUZZ_CHECK(r.payload_ok == sum_ok);
  } else {
    FUZZ_CHECK(r.payload_ok);
  }
  // A damaged payload is accepted only in the durable part.
  if (!r.payload_ok) FUZZ_CHECK(r.offset < durable_end);
}

// `contract`: the arguments the store and rebuild pass (records start after
// the header, durable_end inside the file, a file that holds a header).
inline void CheckScan(std::string_view file, uint64_t start, uint64_t durable_end, uint64_t seed, bool verify,
               const ScanResult& s) {
  const uint64_t size = file.size();
  const bool contract = start == kSegmentHeaderSize && size >= kSegmentHeaderSize && durable_end <= size;
  std::vector<Extent> extents;

  std::optional<uint64_t> floor;
  std::vector<uint64_t> live;  // block numbers still live (what LiveBlocks keeps)
  uint32_t epoch = 0;
  uint64_t prev_end = start;
  for (const ScannedRecord& r : s.records) {
    CheckRecord(file, seed, verify, start, durable_end, r);
    FUZZ_CHECK(r.type == RecordType::kBlock || r.type == RecordType::kTruncate);
    FUZZ_CHECK(r.offset >= prev_end);  // file order, no overlap
    FUZZ_CHECK(r.epoch >= epoch);      // epochs never decrease
    epoch = r.epoch;
    if (r.type == RecordType::kBlock) {
      // Block numbers strictly increase, above the highest block still live
      // (a truncation marker removes the blocks above its number, so the
      // bar after it is the highest block it kept, or none).
      FUZZ_CHECK(r.number <= kMaxBlock);
      FUZZ_CHECK(!floor || r.number > *floor);
      live.push_back(r.number);
      floor = r.number;
    } else {
      while (!live.empty() && live.back() > r.number) live.pop_back();
      floor = live.empty() ? std::nullopt : std::optional<uint64_t>(live.back());
    }
    prev_end = r.offset + RecordSize(r.length);
    extents.push_back({r.offset, prev_end});
    FUZZ_CHECK(r.epoch <= s.max_epoch);
  }
  if (s.footer) {
    const ScannedRecord& f = *s.footer;
    CheckRecord(file, seed, verify, start, durable_end, f);
    FUZZ_CHECK(f.type == RecordType::kFooter);
    FUZZ_CHECK(f.payload_ok);
    FUZZ_CHECK(f.offset >= prev_end);
    FUZZ_CHECK(f.epoch >= epoch);
    FUZZ_CHECK(f.epoch <= s.max_epoch);
    FUZZ_CHECK(s.end == f.offset + RecordSize(f.length));
    FUZZ_CHECK(s.end_reason == "footer");
    extents.push_back({f.offset, s.end});
  } else {
    FUZZ_CHECK(s.end % 8 == 0);
    FUZZ_CHECK(!s.end_reason.empty());
  }
  // Skipped ranges: non-empty, in order, inside [start, max(durable_end,
  // end of a record)), each beginning in the durable part.
  uint64_t prev_gap_end = start;
  for (const ScannedGap& g : s.skipped) {
    FUZZ_CHECK(g.begin < g.end);
    FUZZ_CHECK(g.begin >= prev_gap_end);
    FUZZ_CHECK(g.begin < durable_end);
    FUZZ_CHECK(g.end <= std::max(durable_end, size + 7));
    FUZZ_CHECK(!g.reason.empty());
    prev_gap_end = g.end;
    extents.push_back({g.begin, g.end});
  }
  // Records and skipped ranges never overlap one another, and `end` is past
  // all of them.
  std::sort(extents.begin(), extents.end(), [](const Extent& a, const Extent& b) { return a.begin < b.begin; });
  for (size_t i = 0; i < extents.size(); ++i) {
    FUZZ_CHECK(extents[i].end <= s.end);
    if (i + 1 < extents.size()) FUZZ_CHECK(extents[i].end <= extents[i + 1].begin);
  }
  FUZZ_CHECK(s.end >= start);
  FUZZ_CHECK(s.end <= AlignUp8(std::max({size, durable_end, start})) + 8);
  if (contract && durable_end % 8 == 0) {
    // Writing resumes inside the file (at its size, for an aligned size).
    FUZZ_CHECK(s.end <= AlignUp8(size));
  }
}

inline bool SameGaps(const std::vector<ScannedGap>& a, const std::vector<ScannedGap>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].begin != b[i].begin || a[i].end != b[i].end || a[i].reason != b[i].reason) return false;
  }
  return true;
}

inline void CheckPlan(const TailRecoveryInput& in, const ScanResult& scan, const TailRecoveryPlan& plan) {
  const uint64_t size = in.file.size();
  const uint64_t cap_floor = in.capacity & ~uint64_t{7};

  // The plan reports what the same scan finds.
  FUZZ_CHECK(SameGaps(plan.skipped, scan.skipped));
  FUZZ_CHECK(plan.footer.has_value() == scan.footer.has_value());
  if (plan.footer) FUZZ_CHECK(plan.footer->offset == scan.footer->offset);
  FUZZ_CHECK(plan.end_reason == scan.end_reason);
  std::vector<uint64_t> markers;
  for (const ScannedRecord& r : scan.records) {
    if (r.type == RecordType::kTruncate) markers.push_back(r.number);
  }
  FUZZ_CHECK(plan.markers == markers);

  // New records carry an epoch above every epoch seen (0 is never valid:
  // the scanner treats such records as stale), or the epochs are used up and
  // the store seals the segment instead (the fix of finding "epoch-wrap").
  FUZZ_CHECK(plan.next_epoch != 0);
  if (plan.epochs_exhausted) {
    FUZZ_CHECK(in.epoch == UINT32_MAX || scan.max_epoch == UINT32_MAX);
  } else {
    FUZZ_CHECK(plan.next_epoch > in.epoch);
    FUZZ_CHECK(plan.next_epoch > scan.max_epoch);
  }

  // Where writing resumes: aligned, inside the capacity, past the header,
  // past every valid record and skipped range (unless capped by capacity).
  FUZZ_CHECK(plan.end % 8 == 0);
  FUZZ_CHECK(plan.end <= in.capacity);
  if (in.capacity >= kSegmentHeaderSize) FUZZ_CHECK(plan.end >= kSegmentHeaderSize);
  FUZZ_CHECK(plan.end >= std::min(AlignUp8(scan.end), cap_floor));
  for (const ScannedGap& g : plan.skipped) FUZZ_CHECK(plan.end >= std::min(g.end, cap_floor));

  // The index of the active segment: strictly increasing numbers.
  for (size_t i = 0; i + 1 < plan.live.size(); ++i) FUZZ_CHECK(plan.live[i].number < plan.live[i + 1].number);
  std::map<uint64_t, IndexEntry> live;
  for (const IndexEntry& e : plan.live) {
    FUZZ_CHECK(e.number <= kMaxBlock);
    live[e.number] = e;
    // New writes never land inside a record that stays indexed.
    if (e.length <= in.capacity && e.offset <= in.capacity && RecordSize(e.length) <= in.capacity - e.offset) {
      FUZZ_CHECK(plan.end >= std::min(e.offset + RecordSize(e.length), cap_floor));
    }
  }
  for (uint64_t n : plan.damaged) FUZZ_CHECK(live.count(n) == 1);

  std::map<uint64_t, const proto::BlockLocation*> journal;
  for (const auto& [n, loc] : in.journal) journal[n] = &loc;
  std::map<uint64_t, IndexEntry> added;
  for (const IndexEntry& e : plan.journal_add) {
    // The store reads the record header and payload of every added entry
    // straight from the file (store_impl.cc, RecoverActiveTail).
    FUZZ_CHECK(e.offset <= size && size - e.offset >= kRecordHeaderSize);
    FUZZ_CHECK(e.length <= size - e.offset - kRecordHeaderSize);
    auto it = live.find(e.number);
    FUZZ_CHECK(it != live.end() && it->second.offset == e.offset && it->second.length == e.length);
    FUZZ_CHECK(added.emplace(e.number, e).second);
  }
  // Every live block the journal does not name correctly is added.
  for (const auto& [n, e] : live) {
    if (added.count(n)) continue;
    auto it = journal.find(n);
    FUZZ_CHECK(it != journal.end());
    FUZZ_CHECK(it->second->segment_id() == in.segment_id && it->second->offset() == e.offset &&
               it->second->length() == e.length);
  }
  // Every journal entry is either live (kept or rewritten) or dropped.
  std::vector<uint64_t> prev_drop;
  for (uint64_t n : plan.journal_drop) {
    FUZZ_CHECK(journal.count(n) == 1);
    FUZZ_CHECK(live.count(n) == 0);
    FUZZ_CHECK(prev_drop.empty() || n > prev_drop.back());
    prev_drop.push_back(n);
  }
  for (const auto& [n, loc] : journal) {
    FUZZ_CHECK(live.count(n) == 1 || std::binary_search(prev_drop.begin(), prev_drop.end(), n));
  }
}

// Properties of a footer DecodeFooter accepted for a file of file_size bytes.
inline void CheckFooterTable(const FooterContents& fc, uint64_t file_size) {
  const std::vector<IndexEntry>& e = fc.table.entries();
  for (size_t i = 0; i < e.size(); ++i) {
    // Known finding "footer-number-range": a first_block above 2^63-1 slips
    // past DecodeFooter's range check.
    if (!Known("footer-number-range")) {
      FUZZ_CHECK(e[i].number <= kMaxBlock);
      if (i > 0) FUZZ_CHECK(e[i].number > e[i - 1].number);
    }
    if (i > 0) FUZZ_CHECK(e[i].offset >= e[i - 1].offset);
    // Every record lies inside the file (the read path relies on it).
    FUZZ_CHECK(e[i].offset >= kSegmentHeaderSize && e[i].offset <= file_size);
    FUZZ_CHECK(e[i].length <= file_size);
    FUZZ_CHECK(RecordSize(e[i].length) <= file_size - e[i].offset);
    FUZZ_CHECK(fc.table.Find(e[i].number) == &e[i]);
    FUZZ_CHECK(fc.table.LowerBound(e[i].number) == i);
  }
}

}  // namespace segstore::fuzz

#endif  // SEGSTORE_TESTS_FUZZ_RECOVERY_CHECKS_H_
