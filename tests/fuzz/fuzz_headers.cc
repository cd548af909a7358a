// libFuzzer target: the fixed-layout decoders of a segment file and the
// footer decoder, with round-trip properties for what they accept.
//
// Input: kControlSize control bytes, then the bytes to decode.
//   [0]      mode = byte % 5 (0 segment header, 1 record header, 2 trailer,
//            3 footer payload, 4 sealed file: LocateFooter + ReadFooter);
//            bit7: fix magic and checksums first, so that mutated fields
//            reach the checks behind the checksum
//   [1..9)   record seed (mode 1)
//   [9..17)  file_size for DecodeFooter (mode 3; taken modulo 1 TiB + 1,
//            the largest segment, as the store never passes more)

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fuzz_util.h"
#include "recovery_checks.h"
#include "segment/footer.h"
#include "segment/format.h"
#include "segment/record.h"
#include "segment/segment_file.h"
#include "segstore/file_system.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace segstore::fuzz {
namespace {

using namespace segstore::internal;

constexpr size_t kControlSize = 17;
constexpr std::string_view kWhere = "fuzz/0000000000000001.seg";

bool NamesPlace(const absl::Status& s) { return std::string(s.message()).find(kWhere) != std::string::npos; }

void SegmentHeaderCase(ExactBuffer& b, bool fix) {
  if (fix && b.size() >= kSegmentHeaderSize) {
    EncodeFixed64(b.data(), kSegmentMagic);
    EncodeFixed64(b.data() + kSegmentHeaderChecksumOffset,
                  Checksum64(std::string_view(b.data(), kSegmentHeaderChecksumOffset)));
  }
  absl::StatusOr<SegmentHeader> h = DecodeSegmentHeader(b.view(), kWhere);
  if (!h.ok()) {
    FUZZ_CHECK(h.status().code() == absl::StatusCode::kDataLoss ||
               h.status().code() == absl::StatusCode::kFailedPrecondition);
    FUZZ_CHECK(NamesPlace(h.status()));
    return;
  }
  if (Verbose()) std::fprintf(stderr, "headers: segment header ok\n");
  FUZZ_CHECK(b.size() >= kSegmentHeaderSize);
  FUZZ_CHECK(h->format_version == kFormatVersion);
  // Encoding what was decoded gives back every field byte (the reserved
  // bytes 64..120 are not decoded, so they may differ, and so may the
  // checksum that covers them), and decodes to the same header.
  std::string enc = EncodeSegmentHeader(*h);
  FUZZ_CHECK(enc.size() == kSegmentHeaderSize);
  FUZZ_CHECK(std::memcmp(enc.data(), b.data(), 64) == 0);
  absl::StatusOr<SegmentHeader> again = DecodeSegmentHeader(enc, kWhere);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->store_uuid == h->store_uuid && again->segment_id == h->segment_id &&
             again->generation == h->generation && again->created_unix_micros == h->created_unix_micros &&
             again->capacity == h->capacity && again->format_version == h->format_version);
}

void RecordHeaderCase(ExactBuffer& b, uint64_t seed, bool fix) {
  if (b.size() < kRecordHeaderSize) return;  // REQUIRES: bytes.size() >= kRecordHeaderSize
  if (fix) FixRecordHeader(b.data(), b.size(), seed, true);
  std::optional<RecordHeader> h = DecodeRecordHeader(b.view(), seed);
  if (Verbose()) std::fprintf(stderr, "headers: record header %s\n", h ? "ok" : "invalid");
  if (!h) return;
  const uint32_t type = static_cast<uint32_t>(h->type);
  FUZZ_CHECK(type >= 1 && type <= 3);
  // Every one of the 40 bytes is a field or the checksum: exact round trip.
  char enc[kRecordHeaderSize];
  EncodeRecordHeader(*h, seed, enc);
  FUZZ_CHECK(std::memcmp(enc, b.data(), kRecordHeaderSize) == 0);
}

void TrailerCase(ExactBuffer& b, bool fix) {
  if (fix && b.size() >= kTrailerSize) {
    EncodeFixed64(b.data(), kTrailerMagic);
    EncodeFixed64(b.data() + 24, Checksum64(std::string_view(b.data(), 24)));
  }
  std::optional<Trailer> t = DecodeTrailer(b.view());
  if (Verbose()) std::fprintf(stderr, "headers: trailer %s\n", t ? "ok" : "invalid");
  if (!t) return;
  FUZZ_CHECK(b.size() >= kTrailerSize);
  std::string enc = EncodeTrailer(*t);
  FUZZ_CHECK(enc.size() == kTrailerSize && std::memcmp(enc.data(), b.data(), kTrailerSize) == 0);
}

void FooterCase(std::string_view payload, uint64_t file_size) {
  absl::StatusOr<FooterContents> fc = DecodeFooter(payload, file_size, kWhere);
  if (Verbose()) std::fprintf(stderr, "headers: footer %s\n", fc.ok() ? "ok" : fc.status().ToString().c_str());
  if (!fc.ok()) {
    FUZZ_CHECK(fc.status().code() == absl::StatusCode::kDataLoss);
    FUZZ_CHECK(NamesPlace(fc.status()));
    return;
  }
  CheckFooterTable(*fc, file_size);
  // Round trip: what EncodeFooter makes of the decoded table decodes to the
  // same contents (the bytes may differ: field order, unknown fields, a
  // first_block of an empty table).
  std::string enc = EncodeFooter(fc->segment_id, fc->generation, fc->table.entries(), fc->truncated_after);
  absl::StatusOr<FooterContents> again = DecodeFooter(enc, file_size, kWhere);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->segment_id == fc->segment_id && again->generation == fc->generation);
  FUZZ_CHECK(again->truncated_after == fc->truncated_after);
  const std::vector<IndexEntry>& a = fc->table.entries();
  const std::vector<IndexEntry>& b = again->table.entries();
  FUZZ_CHECK(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    FUZZ_CHECK(a[i].number == b[i].number && a[i].offset == b[i].offset && a[i].length == b[i].length);
  }
  // Canonical: encoding again gives the same bytes.
  FUZZ_CHECK(EncodeFooter(again->segment_id, again->generation, b, again->truncated_after) == enc);
}

// The path rebuild-index and the offline tools take through a sealed file:
// the trailer names the footer, ReadFooter checks and decodes it.
void SealedFileCase(ExactBuffer& b, bool fix) {
  uint64_t segment_id = 0;
  const uint64_t seed = SeedOfImage(b.view(), &segment_id);
  const uint64_t n = b.size();
  if (fix && n >= kSegmentHeaderSize + kTrailerSize) {
    char* t = b.data() + n - kTrailerSize;
    EncodeFixed64(t, kTrailerMagic);
    uint64_t off = DecodeFixed64(t + 8);
    if (off <= n - kTrailerSize && n - kTrailerSize - off >= kRecordHeaderSize) {
      FixRecordHeader(b.data() + off, n - kTrailerSize - off, seed, true);
    }
    EncodeFixed64(t + 24, Checksum64(std::string_view(t, 24)));
  }
  MemFile file(b.view());
  absl::StatusOr<SealedFooter> loc = LocateFooter(file, kWhere);
  if (Verbose() && !loc.ok()) std::fprintf(stderr, "headers: %s\n", loc.status().ToString().c_str());
  if (!loc.ok()) {
    FUZZ_CHECK(NamesPlace(loc.status()));
    return;
  }
  FUZZ_CHECK(loc->file_size == n);
  absl::StatusOr<FooterContents> fc = ReadFooter(file, kWhere, seed, *loc);
  if (Verbose()) std::fprintf(stderr, "headers: sealed file footer %s\n", fc.ok() ? "ok" : fc.status().ToString().c_str());
  if (!fc.ok()) {
    FUZZ_CHECK(fc.status().code() == absl::StatusCode::kDataLoss);
    FUZZ_CHECK(NamesPlace(fc.status()));
    return;
  }
  FUZZ_CHECK(loc->footer_offset >= kSegmentHeaderSize && loc->footer_offset <= n);
  FUZZ_CHECK(RecordSize(loc->footer_length) <= n - loc->footer_offset);
  // Blocks lie before the footer.
  CheckFooterTable(*fc, loc->footer_offset);
}

}  // namespace
}  // namespace segstore::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace segstore::fuzz;
  Control c(data, std::min(size, kControlSize));
  const uint8_t mode_byte = c.U8();
  const uint64_t seed = c.U64();
  const uint64_t file_size = c.U64() % (segstore::internal::kMaxSegmentSize + 1);
  const size_t skip = std::min(size, kControlSize);
  ExactBuffer b(data + skip, size - skip);
  const bool fix = (mode_byte & 0x80) != 0;
  switch ((mode_byte & 0x7f) % 5) {
    case 0: SegmentHeaderCase(b, fix); break;
    case 1: RecordHeaderCase(b, seed, fix); break;
    case 2: TrailerCase(b, fix); break;
    case 3: FooterCase(b.view(), file_size); break;
    default: SealedFileCase(b, fix); break;
  }
  return 0;
}
