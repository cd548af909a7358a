// libFuzzer target: the bytes of a segment file -> ScanSegment and
// PlanTailRecovery, with invariants checked after each.
//
// Input: kControlSize control bytes, then the segment file image.
//   [0]      flags: bit0 fix the checksums of every record header whose magic
//            is in place (at start + 8k), so that mutated headers validate;
//            bit1 also fix the payload checksums; bit2 verify_payload=false
//            for the direct scan; bit3 scan from an arbitrary start;
//            bit4 round durable_end down to a multiple of 8 (as the store
//            writes synced offsets); bits5-6 durable_end mode (0: in the file, 1: 0, 2: the file
//            size, 3: past the end of the file)
//   [1..5)   durable_end selector      [5..9)   capacity - file size
//   [9..13)  epoch recorded in meta    [13..17) journal rng seed
//   [17..21) start selector            [21]     extra journal entries
// The record seed and segment id come from the image's header bytes (uuid
// at 16, id at 32), as in a real segment, so real files validate as they
// are. The journal is built from the records the scan finds (exact,
// missing, or wrong in one field) plus extra entries pointing anywhere,
// often into skipped ranges.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_util.h"
#include "recovery_checks.h"
#include "recovery/tail_recovery.h"
#include "schema/segstore.pb.h"
#include "segment/format.h"
#include "segment/record.h"
#include "segment/scanner.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace segstore::fuzz {
namespace {

using namespace segstore::internal;

constexpr size_t kControlSize = 24;

struct Journal {
  std::map<uint64_t, proto::BlockLocation> by_number;
};

void BuildJournal(std::string_view file, uint64_t segment_id, const ScanResult& scan, uint64_t rng_seed,
                  uint8_t extra, Journal* j) {
  Rng rng(rng_seed);
  uint64_t highest = 0;
  size_t used = 0;
  for (const ScannedRecord& r : scan.records) {
    if (r.type != RecordType::kBlock) continue;
    highest = std::max(highest, r.number);
    if (++used > 256) break;
    proto::BlockLocation loc;
    loc.set_segment_id(segment_id);
    loc.set_offset(r.offset);
    loc.set_length(r.length);
    loc.set_checksum(r.payload_checksum);
    switch (rng.Next() % 8) {
      case 3: continue;  // the journal lacks it
      case 4: loc.set_checksum(loc.checksum() ^ 1); break;
      case 5: loc.set_offset(loc.offset() + 8); break;
      case 6: loc.set_segment_id(segment_id + 1); break;
      case 7: loc.set_length(loc.length() + 1); break;
      default: break;  // exact
    }
    j->by_number[r.number] = loc;
  }
  const uint64_t size = file.size();
  for (uint8_t i = 0; i < extra % 16; ++i) {
    uint64_t v = rng.Next();
    uint64_t n;
    switch (v % 4) {
      case 0: n = highest + 1 + (v >> 8) % 4; break;
      case 1: n = highest > 0 ? highest - (v >> 8) % std::min<uint64_t>(highest, 8) : 0; break;
      case 2: n = (v >> 8) % 64; break;
      default: n = v >> 1; break;  // anything up to 2^63-1
    }
    proto::BlockLocation loc;
    uint64_t w = rng.Next();
    loc.set_segment_id((w & 7) == 0 ? segment_id + 1 : segment_id);
    if (!scan.skipped.empty() && (w & 8)) {  // into a damaged range
      const ScannedGap& g = scan.skipped[(w >> 4) % scan.skipped.size()];
      loc.set_offset(g.begin + (rng.Next() % (g.end - g.begin)));
    } else {
      loc.set_offset(rng.Next() % (size + 64));
    }
    switch ((w >> 12) % 8) {
      case 0: loc.set_length(UINT64_MAX); break;
      case 1: loc.set_length(uint64_t{1} << 40); break;
      case 2: loc.set_length(size); break;
      default: loc.set_length(rng.Next() % 512); break;
    }
    loc.set_checksum(rng.Next());
    j->by_number[n] = loc;
  }
}

}  // namespace
}  // namespace segstore::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace segstore::fuzz;
  using namespace segstore::internal;
  Control c(data, std::min(size, kControlSize));
  const uint8_t flags = c.U8();
  const uint32_t durable_sel = c.U32();
  const uint32_t cap_extra = c.U32();
  const uint32_t meta_epoch = c.U32();
  const uint32_t journal_seed = c.U32();
  const uint32_t start_sel = c.U32();
  const uint8_t extra = c.U8();
  const size_t skip = std::min(size, kControlSize);
  ExactBuffer image(data + skip, size - skip);
  const uint64_t n = image.size();

  uint64_t segment_id = 0;
  const uint64_t seed = SeedOfImage(image.view(), &segment_id);

  const uint64_t start = (flags & 8) ? start_sel % (n + 16) : kSegmentHeaderSize;
  if (flags & 1) {
    for (uint64_t p = start; p <= n && n - p >= kRecordHeaderSize; p += 8) {
      if (DecodeFixed32(image.data() + p) == kRecordMagic) {
        FixRecordHeader(image.data() + p, n - p, seed, (flags & 2) != 0);
      }
    }
  }
  uint64_t durable_end;
  switch ((flags >> 5) & 3) {
    case 0: durable_end = durable_sel % (n + 1); break;
    case 1: durable_end = 0; break;
    case 2: durable_end = n; break;
    default: durable_end = n + durable_sel % 4096; break;  // bounded: the skip search is linear in it
  }
  if (flags & 0x10) durable_end &= ~uint64_t{7};
  const std::string_view file = image.view();

  // 1. The scanner on its own, with the arguments above.
  const bool verify = (flags & 4) == 0;
  ScanResult direct = ScanSegment(file, start, durable_end, seed, verify);
  CheckScan(file, start, durable_end, seed, verify, direct);

  // 2. Tail recovery as the store runs it: synced offset clamped to the file,
  // capacity at least the file size.
  TailRecoveryInput in;
  in.file = file;
  in.segment_id = segment_id;
  in.seed = seed;
  in.synced_offset = std::min<uint64_t>(durable_end, n);
  in.capacity = n + cap_extra % 65536;
  in.epoch = meta_epoch;
  ScanResult scan = ScanSegment(file, kSegmentHeaderSize, in.synced_offset, seed);
  CheckScan(file, kSegmentHeaderSize, in.synced_offset, seed, true, scan);
  Journal j;
  BuildJournal(file, segment_id, scan, journal_seed, extra, &j);
  for (auto& [num, loc] : j.by_number) in.journal.emplace_back(num, loc);
  TailRecoveryPlan plan = PlanTailRecovery(in);
  CheckPlan(in, scan, plan);
  if (Verbose()) {
    std::fprintf(stderr,
                 "scanner: size %llu start %llu durable %llu: %zu records, %zu skipped, footer %d, end %llu (%s); "
                 "plan: %zu live, %zu damaged, %zu markers, +%zu -%zu journal, end %llu, epoch %u\n",
                 static_cast<unsigned long long>(n), static_cast<unsigned long long>(start),
                 static_cast<unsigned long long>(durable_end), direct.records.size(), direct.skipped.size(),
                 direct.footer.has_value() ? 1 : 0, static_cast<unsigned long long>(direct.end),
                 direct.end_reason.c_str(), plan.live.size(), plan.damaged.size(), plan.markers.size(),
                 plan.journal_add.size(), plan.journal_drop.size(), static_cast<unsigned long long>(plan.end),
                 plan.next_epoch);
  }
  return 0;
}
