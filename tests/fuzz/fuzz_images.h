// Small segment images built in memory with the library's own encoders: an
// active segment (blocks, a truncation marker, a record with a damaged
// payload) and a sealed one (blocks, footer record, trailer). The meta-value
// fuzzer runs decoded RocksDB values against them, and fuzz_make_corpus
// writes values that match them as seeds.

#ifndef SEGSTORE_TESTS_FUZZ_FUZZ_IMAGES_H_
#define SEGSTORE_TESTS_FUZZ_FUZZ_IMAGES_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "schema/segstore.pb.h"
#include "segment/footer.h"
#include "segment/format.h"
#include "segment/record.h"
#include "segment/segment_file.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace segstore::fuzz {

inline internal::StoreUuid FuzzUuid() {
  internal::StoreUuid u;
  std::memcpy(u.data(), "fuzz-store-uuid!", u.size());
  return u;
}

struct ImageBuilder {
  std::string bytes;
  uint64_t seed = 0;
  std::vector<internal::IndexEntry> blocks;  // every block record written, in file order
  std::vector<uint64_t> checksums;           // their payload checksums (before any damage)

  ImageBuilder(uint64_t segment_id, uint64_t capacity) {
    internal::SegmentHeader h;
    h.store_uuid = FuzzUuid();
    h.segment_id = segment_id;
    h.generation = 1;
    h.created_unix_micros = 1700000000000000;
    h.capacity = capacity;
    bytes = internal::EncodeSegmentHeader(h);
    seed = internal::RecordSeed(h.store_uuid, segment_id);
  }
  // Returns the record's offset.
  uint64_t Add(internal::RecordType type, uint64_t number, std::string_view payload, uint32_t epoch,
               bool damage_payload = false) {
    using namespace segstore::internal;
    const uint64_t at = bytes.size();
    RecordHeader h;
    h.type = type;
    h.number = number;
    h.length = payload.size();
    h.payload_checksum = Checksum64(payload);
    h.epoch = epoch;
    bytes.resize(at + RecordSize(payload.size()), '\0');
    EncodeRecordHeader(h, seed, bytes.data() + at);
    std::memcpy(bytes.data() + at + kRecordHeaderSize, payload.data(), payload.size());
    if (damage_payload && !payload.empty()) bytes[at + kRecordHeaderSize] ^= 0x40;
    if (type == RecordType::kBlock) {
      blocks.push_back({number, at, payload.size()});
      checksums.push_back(h.payload_checksum);
    }
    return at;
  }
};

inline std::string Payload(uint64_t n, size_t len) {
  std::string p(len, '\0');
  for (size_t i = 0; i < len; ++i) p[i] = static_cast<char>('a' + (n * 7 + i) % 26);
  return p;
}

struct ActiveImage {
  std::string bytes;
  uint64_t segment_id = 1;
  uint64_t seed = 0;
  uint64_t synced = 0;    // end of the last record: what meta records when all is synced
  uint64_t capacity = 0;  // in the header and the meta
  uint32_t epoch = 2;     // the epoch of the last records
  std::vector<std::pair<uint64_t, proto::BlockLocation>> journal;  // the live blocks, exactly
};

// Blocks 10 11 12 (epoch 1), TruncateAfter(11), 12 13 14 (epoch 2) with 13's
// payload damaged; zeros after the records up to 2 KiB.
inline ActiveImage MakeActiveImage() {
  using internal::RecordType;
  ActiveImage a;
  a.capacity = internal::kMinSegmentSize;
  ImageBuilder b(a.segment_id, a.capacity);
  b.Add(RecordType::kBlock, 10, Payload(10, 100), 1);
  b.Add(RecordType::kBlock, 11, Payload(11, 37), 1);
  b.Add(RecordType::kBlock, 12, Payload(12, 64), 1);
  b.Add(RecordType::kTruncate, 11, "", 2);
  uint64_t o12 = b.Add(RecordType::kBlock, 12, Payload(112, 80), 2);
  b.Add(RecordType::kBlock, 13, Payload(13, 55), 2, /*damage_payload=*/true);
  b.Add(RecordType::kBlock, 14, Payload(14, 9), 2);
  a.synced = b.bytes.size();
  b.bytes.resize(2048, '\0');
  a.bytes = b.bytes;
  a.seed = b.seed;
  for (size_t i = 0; i < b.blocks.size(); ++i) {
    const internal::IndexEntry& e = b.blocks[i];
    if (e.number == 12 && e.offset != o12) continue;  // cut by the marker
    proto::BlockLocation loc;
    loc.set_segment_id(a.segment_id);
    loc.set_offset(e.offset);
    loc.set_length(e.length);
    loc.set_checksum(b.checksums[i]);
    a.journal.emplace_back(e.number, loc);
  }
  return a;
}

struct SealedImage {
  std::string bytes;  // trimmed: ends with the trailer
  uint64_t segment_id = 2;
  uint64_t seed = 0;
  uint64_t capacity = 0;
  internal::SealedFooter footer;
  std::vector<internal::IndexEntry> entries;
};

// Blocks 20..24 of a few bytes each, a footer listing them and a marker
// (TruncateAfter(24) with nothing above it), then the trailer.
inline SealedImage MakeSealedImage() {
  using namespace segstore::internal;
  SealedImage s;
  s.capacity = kMinSegmentSize;
  ImageBuilder b(s.segment_id, s.capacity);
  for (uint64_t n = 20; n < 25; ++n) b.Add(RecordType::kBlock, n, Payload(n, 8 + 13 * (n - 20)), 1);
  b.Add(RecordType::kTruncate, 24, "", 1);
  s.entries = b.blocks;
  std::string footer = EncodeFooter(s.segment_id, 1, s.entries, {24});
  s.footer.footer_offset = b.bytes.size();
  s.footer.footer_length = footer.size();
  s.footer.footer_checksum = Checksum64(footer);
  b.Add(RecordType::kFooter, 0, footer, 1);
  b.bytes += EncodeTrailer({s.footer.footer_offset, s.footer.footer_length});
  s.footer.file_size = b.bytes.size();
  s.footer.trimmed = true;
  s.bytes = b.bytes;
  s.seed = b.seed;
  return s;
}

}  // namespace segstore::fuzz

#endif  // SEGSTORE_TESTS_FUZZ_FUZZ_IMAGES_H_
