// The segment file format on its own: headers, records, footers, scanner.

#include <gtest/gtest.h>

#include "recovery/tail_recovery.h"
#include "schema/segstore.pb.h"
#include "segment/footer.h"
#include "segment/record.h"
#include "segment/scanner.h"
#include "segment/segment_name.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace segstore::internal {
namespace {

constexpr uint64_t kSeed = 0x1234;

// Builds a segment image: header + records.
class Image {
 public:
  Image() : bytes_(kSegmentHeaderSize, '\0') {}
  uint64_t Add(RecordType type, uint64_t number, std::string_view payload, uint32_t epoch = 1) {
    uint64_t at = bytes_.size();
    RecordHeader h;
    h.type = type;
    h.number = number;
    h.length = payload.size();
    h.payload_checksum = Checksum64(payload);
    h.epoch = epoch;
    bytes_.resize(at + RecordSize(payload.size()), '\0');
    EncodeRecordHeader(h, kSeed, bytes_.data() + at);
    std::memcpy(bytes_.data() + at + kRecordHeaderSize, payload.data(), payload.size());
    return at;
  }
  void Pad(size_t n) { bytes_.append(n, '\0'); }
  std::string& bytes() { return bytes_; }

 private:
  std::string bytes_;
};

TEST(SegmentNameTest, RoundTrip) {
  EXPECT_EQ(SegmentFileName(42), "000000000000002a.seg");
  EXPECT_EQ(ParseSegmentFileName("000000000000002a.seg"), 42u);
  EXPECT_EQ(ParseSegmentFileName("ffffffffffffffff.seg"), UINT64_MAX);
  EXPECT_FALSE(ParseSegmentFileName("000000000000002A.seg"));
  EXPECT_FALSE(ParseSegmentFileName("2a.seg"));
  EXPECT_FALSE(ParseSegmentFileName("000000000000002a.sex"));
}

TEST(SegmentHeaderTest, RoundTripAndCorruption) {
  SegmentHeader h;
  h.store_uuid[0] = 'u';
  h.segment_id = 7;
  h.generation = 3;
  h.capacity = 1 << 20;
  std::string enc = EncodeSegmentHeader(h);
  ASSERT_EQ(enc.size(), kSegmentHeaderSize);
  absl::StatusOr<SegmentHeader> d = DecodeSegmentHeader(enc, "x.seg");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->segment_id, 7u);
  EXPECT_EQ(d->generation, 3u);
  for (size_t i = 0; i < kSegmentHeaderSize; ++i) {
    std::string bad = enc;
    bad[i] = static_cast<char>(bad[i] ^ 1);
    absl::StatusOr<SegmentHeader> r = DecodeSegmentHeader(bad, "x.seg");
    EXPECT_FALSE(r.ok()) << "byte " << i;
  }
  EXPECT_EQ(DecodeSegmentHeader(enc.substr(0, 50), "x.seg").status().code(), absl::StatusCode::kDataLoss);
}

TEST(RecordHeaderTest, SeedBindsRecordToSegment) {
  char buf[kRecordHeaderSize];
  RecordHeader h;
  h.number = 99;
  h.length = 5;
  h.epoch = 1;
  EncodeRecordHeader(h, kSeed, buf);
  EXPECT_TRUE(DecodeRecordHeader(std::string_view(buf, sizeof(buf)), kSeed).has_value());
  EXPECT_FALSE(DecodeRecordHeader(std::string_view(buf, sizeof(buf)), kSeed + 1).has_value());
}

TEST(ScannerTest, CleanFileAndZeroTail) {
  Image img;
  img.Add(RecordType::kBlock, 1, "one");
  img.Add(RecordType::kBlock, 2, "two");
  img.Pad(4096);
  ScanResult r = ScanSegment(img.bytes(), kSegmentHeaderSize, 0, kSeed);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[1].number, 2u);
  EXPECT_TRUE(r.skipped.empty());
  EXPECT_EQ(r.end, kSegmentHeaderSize + 2 * RecordSize(3));
}

TEST(ScannerTest, TornTailEndsDataBeyondSync) {
  Image img;
  img.Add(RecordType::kBlock, 1, "one");
  uint64_t second = img.Add(RecordType::kBlock, 2, std::string(100, 'x'));
  img.Add(RecordType::kBlock, 3, "three");
  img.bytes()[second + kRecordHeaderSize + 50] ^= 1;  // torn payload
  ScanResult r = ScanSegment(img.bytes(), kSegmentHeaderSize, /*durable_end=*/second, kSeed);
  ASSERT_EQ(r.records.size(), 1u);  // block 3 must not survive without block 2
  EXPECT_EQ(r.end, second);
}

TEST(ScannerTest, BitRotInDurablePartKeepsLaterRecords) {
  Image img;
  img.Add(RecordType::kBlock, 1, "one");
  uint64_t second = img.Add(RecordType::kBlock, 2, std::string(100, 'x'));
  img.Add(RecordType::kBlock, 3, "three");
  uint64_t end = img.bytes().size();
  // Damaged header: skipped as a range.
  std::string a = img.bytes();
  a[second + 9] ^= 1;
  ScanResult r = ScanSegment(a, kSegmentHeaderSize, end, kSeed);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[1].number, 3u);
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].begin, second);
  // Damaged payload: the record is kept, marked damaged.
  std::string b = img.bytes();
  b[second + kRecordHeaderSize + 3] ^= 1;
  r = ScanSegment(b, kSegmentHeaderSize, end, kSeed);
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_FALSE(r.records[1].payload_ok);
  EXPECT_TRUE(r.records[2].payload_ok);
}

TEST(ScannerTest, StaleEpochAndOrderAreNotData) {
  Image img;
  img.Add(RecordType::kBlock, 5, "five", 2);
  img.Add(RecordType::kBlock, 6, "six", 1);  // older writer incarnation
  ScanResult r = ScanSegment(img.bytes(), kSegmentHeaderSize, 0, kSeed);
  EXPECT_EQ(r.records.size(), 1u);
  Image img2;
  img2.Add(RecordType::kBlock, 5, "five");
  img2.Add(RecordType::kBlock, 5, "again");
  r = ScanSegment(img2.bytes(), kSegmentHeaderSize, 0, kSeed);
  EXPECT_EQ(r.records.size(), 1u);
  Image img3;
  img3.Add(RecordType::kBlock, 5, "five");
  img3.Add(RecordType::kTruncate, 3, "");
  img3.Add(RecordType::kBlock, 4, "four");
  r = ScanSegment(img3.bytes(), kSegmentHeaderSize, 0, kSeed);
  EXPECT_EQ(r.records.size(), 3u);
}

TEST(ScannerTest, HostileLengthsNeverReadOutOfBounds) {
  for (uint64_t len : {uint64_t{0xDBA00002}, UINT64_MAX, UINT64_MAX - 39, uint64_t{1} << 62}) {
    Image img;
    img.Add(RecordType::kBlock, 1, "one");
    uint64_t at = img.bytes().size();
    img.bytes().resize(at + kRecordHeaderSize);
    RecordHeader h;
    h.number = 2;
    h.length = len;
    h.epoch = 1;
    EncodeRecordHeader(h, kSeed, img.bytes().data() + at);
    ScanResult r = ScanSegment(img.bytes(), kSegmentHeaderSize, img.bytes().size(), kSeed);
    EXPECT_EQ(r.records.size(), 1u) << len;
  }
}

TEST(FooterTest, RoundTripAndBounds) {
  std::vector<IndexEntry> e = {{10, 128, 5}, {12, 176, 100}, {1ull << 40, 320, 0}};
  std::string enc = EncodeFooter(3, 1, e, {7});
  EXPECT_LE(enc.size() + kRecordHeaderSize + kTrailerSize + 8, FooterReserve(e.size()));
  absl::StatusOr<FooterContents> d = DecodeFooter(enc, 1 << 20, "f");
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->table.size(), 3u);
  EXPECT_EQ(d->table.Find(12)->offset, 176u);
  EXPECT_EQ(d->table.Find(1ull << 40)->length, 0u);
  EXPECT_EQ(d->table.Find(11), nullptr);
  EXPECT_EQ(d->truncated_after, std::vector<uint64_t>{7});
  // Offsets beyond the file are refused.
  EXPECT_EQ(DecodeFooter(enc, 300, "f").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeFooter("garbage\xff\xff", 1 << 20, "f").status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace segstore::internal

namespace segstore::internal {
namespace {

TEST(FooterTest, FirstBlockOutOfRangeIsDataLoss) {  // found by review with the fuzz harness
  std::vector<IndexEntry> e = {{(uint64_t{1} << 63) - 1, 128, 5}};
  std::string enc = EncodeFooter(3, 1, e, {});
  proto::SegmentFooter f;
  ASSERT_TRUE(f.ParseFromString(enc));
  f.set_first_block(UINT64_MAX);
  EXPECT_EQ(DecodeFooter(f.SerializeAsString(), 1 << 20, "f").status().code(), absl::StatusCode::kDataLoss);
  f.set_first_block((uint64_t{1} << 63) - 1);
  f.set_number_deltas(0, 0);
  f.add_number_deltas(5);  // would pass 2^63 - 1
  f.add_offset_deltas(64);
  f.add_lengths(1);
  f.set_record_count(2);
  EXPECT_EQ(DecodeFooter(f.SerializeAsString(), 1 << 20, "f").status().code(), absl::StatusCode::kDataLoss);
}

TEST(TailRecoveryTest, UsedUpEpochsSealInsteadOfWrapping) {  // found by fuzz_scanner
  std::string file(kSegmentHeaderSize, '\0');
  TailRecoveryInput in;
  in.file = file;
  in.capacity = 1 << 20;
  in.synced_offset = kSegmentHeaderSize;
  in.epoch = UINT32_MAX;
  TailRecoveryPlan plan = PlanTailRecovery(in);
  EXPECT_TRUE(plan.epochs_exhausted);
  EXPECT_NE(plan.next_epoch, 0u);
  in.epoch = 7;
  plan = PlanTailRecovery(in);
  EXPECT_FALSE(plan.epochs_exhausted);
  EXPECT_EQ(plan.next_epoch, 8u);
}

}  // namespace
}  // namespace segstore::internal
