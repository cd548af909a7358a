#include "recovery/tail_recovery.h"

#include <algorithm>
#include <map>

#include "segment/format.h"
#include "segment/record.h"
#include "util/coding.h"

namespace segstore::internal {

TailRecoveryPlan PlanTailRecovery(const TailRecoveryInput& in) {
  TailRecoveryPlan plan;
  ScanResult scan = ScanSegment(in.file, kSegmentHeaderSize, in.synced_offset, in.seed);
  plan.end = scan.end == 0 ? kSegmentHeaderSize : scan.end;
  plan.end_reason = scan.end_reason;
  plan.skipped = std::move(scan.skipped);
  plan.footer = scan.footer;
  const uint64_t next = uint64_t{std::max(in.epoch, scan.max_epoch)} + 1;
  plan.epochs_exhausted = next > UINT32_MAX;
  plan.next_epoch = plan.epochs_exhausted ? UINT32_MAX : static_cast<uint32_t>(next);

  std::vector<const ScannedRecord*> marker_records;
  std::vector<const ScannedRecord*> live = LiveBlocks(scan, &marker_records);
  for (const ScannedRecord* m : marker_records) plan.markers.push_back(m->number);
  std::map<uint64_t, const proto::BlockLocation*> journal;
  for (const auto& [n, loc] : in.journal) journal[n] = &loc;

  for (const ScannedRecord* r : live) {
    IndexEntry e{r->number, r->offset, r->length};
    plan.live.push_back(e);
    if (!r->payload_ok) plan.damaged.push_back(r->number);
    auto it = journal.find(r->number);
    if (it != journal.end() && it->second->segment_id() == in.segment_id &&
        it->second->offset() == r->offset && it->second->length() == r->length &&
        it->second->checksum() == r->payload_checksum) {
      journal.erase(it);
      continue;
    }
    if (it != journal.end()) journal.erase(it);  // rewritten below
    plan.journal_add.push_back(e);
  }
  // A journaled block whose record lies in a damaged range of the durable
  // part stays indexed, so reading it is DataLoss naming the place rather
  // than NotFound (unless a later truncation marker removed it).
  auto in_gap = [&](uint64_t off) {
    for (const ScannedGap& g : plan.skipped) {
      if (off >= g.begin && off < g.end) return true;
    }
    return false;
  };
  auto truncated = [&](uint64_t n, uint64_t off) {
    for (const ScannedRecord* m : marker_records) {
      if (m->offset > off && m->number < n) return true;
    }
    return false;
  };
  bool kept_damaged = false;
  for (auto it = journal.begin(); it != journal.end();) {
    const proto::BlockLocation& loc = *it->second;
    if (loc.segment_id() == in.segment_id && loc.offset() < in.synced_offset && in_gap(loc.offset()) &&
        !truncated(it->first, loc.offset())) {
      plan.live.push_back({it->first, loc.offset(), loc.length()});
      plan.damaged.push_back(it->first);
      kept_damaged = true;
      it = journal.erase(it);
    } else {
      ++it;
    }
  }
  if (kept_damaged) {
    std::sort(plan.live.begin(), plan.live.end(),
              [](const IndexEntry& a, const IndexEntry& b) { return a.number < b.number; });
    plan.live.erase(std::unique(plan.live.begin(), plan.live.end(),
                                [](const IndexEntry& a, const IndexEntry& b) { return a.number == b.number; }),
                    plan.live.end());
  }
  uint64_t end = plan.end;
  for (const ScannedGap& g : plan.skipped) end = std::max(end, g.end);
  for (const IndexEntry& e : plan.live) {
    if (e.length <= in.capacity && e.offset <= in.capacity - RecordSize(e.length)) {
      end = std::max(end, e.offset + RecordSize(e.length));
    }
  }
  plan.end = std::min(AlignUp8(end), in.capacity & ~uint64_t{7});
  for (const auto& [n, loc] : journal) {
    plan.journal_drop.push_back(n);
    if (loc->offset() >= plan.end && loc->length() <= kMaxSegmentSize) {
      plan.bytes_cut += RecordSize(loc->length());
    }
  }
  return plan;
}

}  // namespace segstore::internal
