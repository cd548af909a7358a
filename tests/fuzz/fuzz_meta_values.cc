// libFuzzer target: RocksDB values (schema/segstore.proto) from arbitrary
// bytes, parsed as MetaStore parses them (ParseFromArray, size <= INT32_MAX),
// checked as the store checks them, then handed to the code that consumes
// them, against the small images of fuzz_images.h:
//   kind 0 StoreManifest  ValidateManifest (src/meta/meta_validate.h)
//   kind 1 SegmentMeta    ValidateSegmentMeta, then ACTIVE -> PlanTailRecovery of the
//                         active image (synced offset, capacity, epoch from the
//                         value); SEALED -> ReadFooter of the sealed image at
//                         the footer location the value names
//   kind 2 BlockLocation  journal entries -> PlanTailRecovery of the active image
//   kind 3 SegmentFooter  DecodeFooter (the footer record's payload)
//
// The checks are the store's own (src/meta/meta_validate.h), not copies.
//
// Input: [0] kind (byte % 4), [1] variant, then the value bytes; for kind 2
// the rest is a list of entries [number u8][length u8][length bytes].

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "fuzz_images.h"
#include "fuzz_util.h"
#include "meta/meta_validate.h"
#include "recovery/tail_recovery.h"
#include "recovery_checks.h"
#include "schema/segstore.pb.h"
#include "segment/footer.h"
#include "segment/format.h"
#include "segment/record.h"
#include "segment/segment_file.h"
#include "segstore/file_system.h"

namespace segstore::fuzz {
namespace {

using namespace segstore::internal;

template <typename Message>
bool ParseValue(std::string_view value, Message* out) {
  return value.size() <= INT32_MAX && out->ParseFromArray(value.data(), static_cast<int>(value.size()));
}

const ActiveImage& Active() {
  static const ActiveImage* a = new ActiveImage(MakeActiveImage());
  return *a;
}
const SealedImage& Sealed() {
  static const SealedImage* s = new SealedImage(MakeSealedImage());
  return *s;
}

void RunTail(uint64_t synced_offset, uint64_t capacity, uint32_t epoch,
             const std::map<uint64_t, proto::BlockLocation>& journal) {
  const ActiveImage& a = Active();
  // Copy the image so that ASan sees reads past its end.
  ExactBuffer file(reinterpret_cast<const uint8_t*>(a.bytes.data()), a.bytes.size());
  const uint64_t size = file.size();
  // As StoreImpl::RecoverActiveTail fills it.
  TailRecoveryInput in;
  in.file = file.view();
  in.segment_id = a.segment_id;
  in.seed = a.seed;
  in.synced_offset = std::min(synced_offset, size);
  in.epoch = epoch;
  in.capacity = std::max(capacity, size);
  for (const auto& [n, loc] : journal) in.journal.emplace_back(n, loc);
  TailRecoveryPlan plan = PlanTailRecovery(in);
  if (Verbose()) {
    std::fprintf(stderr, "meta: tail plan: %zu live, %zu damaged, +%zu -%zu journal, end %llu, epoch %u\n",
                 plan.live.size(), plan.damaged.size(), plan.journal_add.size(), plan.journal_drop.size(),
                 static_cast<unsigned long long>(plan.end), plan.next_epoch);
  }
  ScanResult scan = ScanSegment(in.file, kSegmentHeaderSize, in.synced_offset, in.seed);
  CheckScan(in.file, kSegmentHeaderSize, in.synced_offset, in.seed, true, scan);
  CheckPlan(in, scan, plan);
}

void ManifestCase(std::string_view value) {
  proto::StoreManifest m;
  if (!ParseValue(value, &m)) return;  // DataLoss in MetaStore::ReadManifest
  if (Verbose()) std::fprintf(stderr, "meta: manifest parses, %s\n", ValidateManifest(m, "fuzz").ok() ? "valid" : "refused");
  if (!ValidateManifest(m, "fuzz").ok()) return;    // the store refuses to open
  StoreUuid u;
  std::memcpy(u.data(), m.store_uuid().data(), u.size());
  (void)RecordSeed(u, 1);
  // Serialization round trip of what the store writes back (PutManifest).
  proto::StoreManifest again;
  FUZZ_CHECK(again.ParseFromString(m.SerializeAsString()));
  FUZZ_CHECK(again.SerializeAsString() == m.SerializeAsString());
}

void SegmentMetaCase(std::string_view value) {
  proto::SegmentMeta m;
  if (!ParseValue(value, &m)) return;  // DataLoss in MetaStore::ReadSegments
  if (Verbose()) std::fprintf(stderr, "meta: segment meta parses, %s\n", ValidateSegmentMeta(m, "fuzz").ok() ? "valid" : "refused");
  if (!ValidateSegmentMeta(m, "fuzz").ok()) return;  // DataLoss in LoadSegments
  if (m.state() == proto::SEGMENT_ACTIVE) {
    // RecoverActiveTail checks the file's header names this segment.
    if (m.segment_id() != Active().segment_id) return;
    std::map<uint64_t, proto::BlockLocation> journal(Active().journal.begin(), Active().journal.end());
    RunTail(m.synced_offset(), m.capacity(), m.epoch(), journal);
    return;
  }
  // Sealed: StoreImpl::SealedTable reads the footer where the value says
  // (FromMeta), with the seed of the segment id.
  const SealedImage& s = Sealed();
  ExactBuffer bytes(reinterpret_cast<const uint8_t*>(s.bytes.data()), s.bytes.size());
  MemFile file(bytes.view());
  SealedFooter f{m.footer_offset(), m.footer_length(), m.footer_checksum(), m.file_size(), !m.untrimmed()};
  // Known finding "footer-alloc": ReadFooter allocates footer_length bytes
  // before it looks at the file's real size.
  if (Known("footer-alloc") && f.footer_length > bytes.size()) return;
  StoreUuid u = FuzzUuid();
  absl::StatusOr<FooterContents> fc = ReadFooter(file, "fuzz/sealed.seg", RecordSeed(u, m.segment_id()), f);
  if (Verbose()) std::fprintf(stderr, "meta: sealed footer %s\n", fc.ok() ? "ok" : fc.status().ToString().c_str());
  if (!fc.ok()) {
    FUZZ_CHECK(fc.status().code() == absl::StatusCode::kDataLoss);
    return;
  }
  CheckFooterTable(*fc, f.footer_offset);
  FUZZ_CHECK(f.footer_offset + RecordSize(f.footer_length) <= bytes.size());
}

void JournalCase(uint8_t variant, const uint8_t* p, size_t n) {
  const ActiveImage& a = Active();
  std::map<uint64_t, proto::BlockLocation> journal;
  if (variant & 1) journal.insert(a.journal.begin(), a.journal.end());
  for (int i = 0; i < 32 && n >= 2; ++i) {
    uint64_t number = p[0];
    size_t len = std::min<size_t>(p[1], n - 2);
    proto::BlockLocation loc;
    if (!ParseValue(std::string_view(reinterpret_cast<const char*>(p + 2), len), &loc)) {
      return;  // DataLoss in MetaStore::ReadJournal: the open fails
    }
    journal[number] = loc;
    p += 2 + len;
    n -= 2 + len;
  }
  uint64_t synced;
  switch ((variant >> 1) % 4) {
    case 0: synced = a.synced; break;
    case 1: synced = kSegmentHeaderSize; break;
    case 2: synced = a.bytes.size(); break;
    default: synced = a.synced / 2; break;
  }
  RunTail(synced, a.capacity, a.epoch, journal);
}

void FooterCase(uint8_t variant, std::string_view value) {
  const uint64_t file_size = variant < 128 ? uint64_t{1} << 20 : uint64_t{variant} * 64;
  proto::SegmentFooter f;
  const bool parses = ParseValue(value, &f);
  absl::StatusOr<FooterContents> fc = DecodeFooter(value, file_size, "fuzz/footer.seg");
  if (Verbose()) std::fprintf(stderr, "meta: footer %s\n", fc.ok() ? "ok" : fc.status().ToString().c_str());
  if (!parses) FUZZ_CHECK(!fc.ok());
  if (!fc.ok()) {
    FUZZ_CHECK(fc.status().code() == absl::StatusCode::kDataLoss);
    return;
  }
  CheckFooterTable(*fc, file_size);
  FUZZ_CHECK(fc->segment_id == f.segment_id() && fc->generation == f.generation());
  FUZZ_CHECK(fc->table.size() == f.record_count());
  FUZZ_CHECK(fc->truncated_after.size() == static_cast<size_t>(f.truncated_after_size()));
}

}  // namespace
}  // namespace segstore::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace segstore::fuzz;
  if (size < 2) return 0;
  const uint8_t kind = data[0] % 4;
  const uint8_t variant = data[1];
  ExactBuffer value(data + 2, size - 2);
  switch (kind) {
    case 0: ManifestCase(value.view()); break;
    case 1: SegmentMetaCase(value.view()); break;
    case 2: JournalCase(variant, reinterpret_cast<const uint8_t*>(value.data()), value.size()); break;
    default: FooterCase(variant, value.view()); break;
  }
  return 0;
}
