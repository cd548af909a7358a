// Tiers, the pieces below the store: the BackingStore interface and its
// local-directory implementation (atomic under a crash at every file-system
// call), the crash-safe segment copy with generation + 1, the
// authoritative-copy chooser and the cold read path.

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "segment/footer.h"
#include "segment/format.h"
#include "segment/record.h"
#include "segment/scanner.h"
#include "segment/segment_file.h"
#include "segment/segment_name.h"
#include "segstore/backing_store.h"
#include "segstore/file_system.h"
#include "testutil/fault_file_system.h"
#include "testutil/test_util.h"
#include "tier/cold_segment.h"
#include "tier/segment_mover.h"
#include "util/checksum.h"
#include "util/mutex.h"

namespace segstore::internal {
namespace {

using ::segstore::testing::FaultFileSystem;
using ::segstore::testing::Payload;
using ::segstore::testing::PowerLoss;
using ::segstore::testing::ReadFile;
using ::segstore::testing::ScratchDir;
using ::segstore::testing::WriteFile;

StoreUuid TestUuid(char base = 'a') {
  StoreUuid u{};
  for (size_t i = 0; i < u.size(); ++i) u[i] = static_cast<char>(base + static_cast<char>(i));
  return u;
}

class StringSource final : public ObjectSource {
 public:
  explicit StringSource(std::string data) : data_(std::move(data)) {}
  uint64_t size() const override { return data_.size(); }
  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* dst, size_t n) override {
    if (offset >= data_.size()) return size_t{0};
    n = std::min<size_t>(n, data_.size() - offset);
    std::memcpy(dst, data_.data() + offset, n);
    return n;
  }

 private:
  std::string data_;
};

std::string ReadObject(BackingStore& store, const std::string& name) {
  absl::StatusOr<uint64_t> size = store.Size(name);
  EXPECT_TRUE(size.ok()) << size.status();
  if (!size.ok()) return "";
  std::string out(*size, '\0');
  absl::StatusOr<size_t> n = store.ReadAt(name, 0, out.size(), out.data());
  EXPECT_TRUE(n.ok()) << n.status();
  if (n.ok()) out.resize(*n);
  return out;
}

// A sealed segment made with the segment-file functions the store uses.
struct BuiltSegment {
  std::string path;
  uint64_t id = 0;
  std::vector<IndexEntry> entries;
  std::vector<std::string> payloads;
  std::vector<uint64_t> markers;
  SealedFooter footer;
};

BuiltSegment MakeSealedSegment(FileSystem& fs, const std::string& dir, const StoreUuid& uuid, uint64_t id,
                               uint64_t generation, int blocks) {
  BuiltSegment b;
  b.id = id;
  b.path = dir + "/" + SegmentFileName(id);
  SegmentHeader h;
  h.store_uuid = uuid;
  h.segment_id = id;
  h.generation = generation;
  h.created_unix_micros = 1;
  h.capacity = 4 << 20;
  absl::StatusOr<std::unique_ptr<File>> f = CreateSegmentFile(fs, dir, h);
  EXPECT_TRUE(f.ok()) << f.status();
  if (!f.ok()) return b;
  const uint64_t seed = RecordSeed(uuid, id);
  uint64_t off = kSegmentHeaderSize;
  std::string scratch;
  for (int i = 0; i < blocks; ++i) {
    // Sizes from 0 bytes to above the 64 KiB coalescing limit of WriteRecord.
    const size_t size = i == 3 ? (100 << 10) : static_cast<size_t>(i) * 997 % 20000;
    std::string p = Payload(id * 1000 + static_cast<uint64_t>(i), size);
    RecordHeader rh;
    rh.type = RecordType::kBlock;
    rh.number = 500 + static_cast<uint64_t>(i) * 2;
    rh.length = p.size();
    rh.payload_checksum = Checksum64(p);
    rh.epoch = 1;
    EXPECT_TRUE(WriteRecord(**f, off, seed, rh, p, &scratch).ok());
    b.entries.push_back({rh.number, off, rh.length});
    b.payloads.push_back(std::move(p));
    off += RecordSize(rh.length);
  }
  // A TruncateAfter marker at the last block (drops nothing).
  RecordHeader mk;
  mk.type = RecordType::kTruncate;
  mk.number = b.entries.empty() ? 0 : b.entries.back().number;
  mk.epoch = 1;
  mk.payload_checksum = Checksum64("");
  EXPECT_TRUE(WriteRecord(**f, off, seed, mk, "", &scratch).ok());
  b.markers.push_back(mk.number);
  off += RecordSize(0);
  absl::StatusOr<SealedFooter> sealed =
      SealSegmentFile(**f, off, seed, 1, EncodeFooter(id, generation, b.entries, b.markers));
  EXPECT_TRUE(sealed.ok()) << sealed.status();
  if (sealed.ok()) b.footer = *sealed;
  return b;
}

// Forwards to another store, recording ranged reads; can corrupt one byte
// of what is Put.
class RecordingStore final : public BackingStore {
 public:
  explicit RecordingStore(std::shared_ptr<BackingStore> base) : base_(std::move(base)) {}

  struct ReadCall {
    uint64_t offset;
    size_t n;
  };
  std::vector<ReadCall> reads() {
    MutexLock l(&mu_);
    return reads_;
  }
  void ClearReads() {
    MutexLock l(&mu_);
    reads_.clear();
  }
  void CorruptPutAt(uint64_t offset) { corrupt_at_ = offset; }

  absl::Status Put(const std::string& name, ObjectSource& source) override {
    if (corrupt_at_ == UINT64_MAX) return base_->Put(name, source);
    std::string bytes(source.size(), '\0');
    absl::StatusOr<size_t> n = source.ReadAt(0, bytes.data(), bytes.size());
    if (!n.ok()) return n.status();
    bytes[corrupt_at_] = static_cast<char>(bytes[corrupt_at_] ^ 0x10);
    StringSource s(std::move(bytes));
    return base_->Put(name, s);
  }
  absl::StatusOr<size_t> ReadAt(const std::string& name, uint64_t offset, size_t n, char* dst) override {
    {
      MutexLock l(&mu_);
      reads_.push_back({offset, n});
    }
    return base_->ReadAt(name, offset, n, dst);
  }
  absl::StatusOr<uint64_t> Size(const std::string& name) override { return base_->Size(name); }
  absl::StatusOr<bool> Exists(const std::string& name) override { return base_->Exists(name); }
  absl::Status Delete(const std::string& name) override { return base_->Delete(name); }
  absl::StatusOr<std::vector<std::string>> List() override { return base_->List(); }
  std::string Describe() const override { return "recording " + base_->Describe(); }

 private:
  std::shared_ptr<BackingStore> base_;
  uint64_t corrupt_at_ = UINT64_MAX;
  Mutex mu_;
  std::vector<ReadCall> reads_ ABSL_GUARDED_BY(mu_);
};

// --- BackingStore -------------------------------------------------------------

TEST(LocalBackingStoreTest, RoundTrip) {
  ScratchDir dir;
  std::shared_ptr<BackingStore> store = LocalDirectoryBackingStore(dir.Sub("cold"));
  ASSERT_OK(store->List());
  EXPECT_TRUE(store->List()->empty());  // no directory yet: nothing stored

  const std::string a = Payload(1, 3 << 20 | 123);  // several copy chunks
  WriteFile(dir.Sub("a.src"), a);
  ASSERT_OK(store->PutFile("000000000000002a.seg", *DefaultFileSystem(), dir.Sub("a.src")));
  StringSource b_src(Payload(2, 10));
  ASSERT_OK(store->Put("b", b_src));
  StringSource empty("");
  ASSERT_OK(store->Put("empty", empty));

  EXPECT_EQ(*store->List(), (std::vector<std::string>{"000000000000002a.seg", "b", "empty"}));
  EXPECT_EQ(*store->Size("000000000000002a.seg"), a.size());
  EXPECT_EQ(*store->Size("empty"), 0u);
  EXPECT_TRUE(*store->Exists("b"));
  EXPECT_FALSE(*store->Exists("c"));
  EXPECT_EQ(ReadObject(*store, "000000000000002a.seg"), a);
  EXPECT_EQ(ReadFile(dir.Sub("cold/000000000000002a.seg")), a);

  // Ranged reads return exactly the bytes asked for; short only at the end.
  for (uint64_t off : {uint64_t{0}, uint64_t{1}, uint64_t{4095}, uint64_t{1} << 20, a.size() - 7}) {
    std::string buf(1000, '\0');
    absl::StatusOr<size_t> n = store->ReadAt("000000000000002a.seg", off, buf.size(), buf.data());
    ASSERT_OK(n);
    const size_t want = std::min<size_t>(1000, a.size() - off);
    ASSERT_EQ(*n, want) << off;
    EXPECT_EQ(buf.substr(0, want), a.substr(off, want)) << off;
  }
  char c;
  EXPECT_EQ(*store->ReadAt("000000000000002a.seg", a.size(), 1, &c), 0u);
  EXPECT_EQ(*store->ReadAt("000000000000002a.seg", a.size() + 100, 1, &c), 0u);

  // Put replaces.
  StringSource b2(Payload(3, 77));
  ASSERT_OK(store->Put("b", b2));
  EXPECT_EQ(ReadObject(*store, "b"), Payload(3, 77));

  ASSERT_OK(store->Delete("b"));
  ASSERT_OK(store->Delete("b"));  // idempotent
  EXPECT_FALSE(*store->Exists("b"));
  EXPECT_EQ(*store->List(), (std::vector<std::string>{"000000000000002a.seg", "empty"}));
}

TEST(LocalBackingStoreTest, ClearErrors) {
  ScratchDir dir;
  std::shared_ptr<BackingStore> store = LocalDirectoryBackingStore(dir.Sub("cold"));
  StringSource s("x");
  ASSERT_OK(store->Put("present", s));
  char buf[8];
  absl::StatusOr<size_t> r = store->ReadAt("missing.seg", 0, sizeof(buf), buf);
  ASSERT_CODE(r, absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("missing.seg"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find(dir.Sub("cold")), std::string::npos) << r.status();
  ASSERT_CODE(store->Size("missing.seg"), absl::StatusCode::kNotFound);
  for (const std::string& bad : std::vector<std::string>{"", ".hidden", "a/b", "../x", std::string("a\0b", 3), std::string(256, 'x')}) {
    ASSERT_CODE(store->Put(bad, s), absl::StatusCode::kInvalidArgument);
    ASSERT_CODE(store->ReadAt(bad, 0, 1, buf), absl::StatusCode::kInvalidArgument);
    ASSERT_CODE(store->Exists(bad), absl::StatusCode::kInvalidArgument);
    ASSERT_CODE(store->Delete(bad), absl::StatusCode::kInvalidArgument);
  }
  // A source that ends early is an error, and leaves nothing behind.
  class ShortSource final : public ObjectSource {
   public:
    uint64_t size() const override { return 100; }
    absl::StatusOr<size_t> ReadAt(uint64_t offset, char* dst, size_t n) override {
      if (offset >= 40) return size_t{0};
      n = std::min<size_t>(n, 40 - offset);
      std::memset(dst, 'z', n);
      return n;
    }
  } short_source;
  ASSERT_CODE(store->Put("short", short_source), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(*store->Exists("short"));
  EXPECT_EQ(*DefaultFileSystem()->ListDir(dir.Sub("cold")), std::vector<std::string>{"present"});
}

// A crash (power loss) before every file-system call of a Put: afterwards
// the object is absent or complete and byte-identical (the old one, if Put
// replaced one), never partial, and List shows no temporary. A Put that
// returned OK survived.
TEST(LocalBackingStoreTest, PutIsAtomicUnderCrashAtEveryCall) {
  const std::string old_bytes = Payload(10, 5000);
  const std::string new_bytes = Payload(11, (2 << 20) + 4321);  // three copy chunks, many pages
  int crashes = 0;
  for (PowerLoss mode : {PowerLoss::kDropAll, PowerLoss::kRandomPages, PowerLoss::kTornSector}) {
    for (bool replace : {false, true}) {
      for (uint64_t k = 1;; ++k) {
        SCOPED_TRACE(::testing::Message() << "mode " << static_cast<int>(mode) << " replace " << replace
                                          << " crash before call " << k);
        ScratchDir dir;
        auto fault = std::make_shared<FaultFileSystem>(DefaultFileSystem());
        std::shared_ptr<BackingStore> store = LocalDirectoryBackingStore(dir.Sub("cold"), fault);
        if (replace) {
          StringSource o(old_bytes);
          ASSERT_OK(store->Put("obj.seg", o));
        }
        fault->CrashAtCall(k, mode, /*seed=*/k * 7 + 1);
        StringSource src(new_bytes);
        const absl::Status put = store->Put("obj.seg", src);
        const bool crashed = fault->crashed();
        if (!crashed) fault->Crash(mode, k);  // power loss right after Put returned
        fault->Restart();
        EXPECT_EQ(put.ok(), !crashed) << put;

        std::shared_ptr<BackingStore> after = LocalDirectoryBackingStore(dir.Sub("cold"));
        absl::StatusOr<std::vector<std::string>> names = after->List();
        ASSERT_OK(names);
        absl::StatusOr<bool> exists = after->Exists("obj.seg");
        ASSERT_OK(exists);
        if (*exists) {
          EXPECT_EQ(*names, std::vector<std::string>{"obj.seg"});
          const std::string got = ReadObject(*after, "obj.seg");
          EXPECT_TRUE(got == new_bytes || (replace && got == old_bytes))
              << "partial object of " << got.size() << " bytes";
        } else {
          EXPECT_TRUE(names->empty());
          EXPECT_FALSE(replace) << "the old object was lost";
        }
        if (put.ok()) {
          EXPECT_EQ(ReadObject(*after, "obj.seg"), new_bytes) << "an acknowledged Put was lost";
        }
        // The next Put of the name completes and clears any temporary.
        StringSource again(new_bytes);
        ASSERT_OK(after->Put("obj.seg", again));
        EXPECT_EQ(*DefaultFileSystem()->ListDir(dir.Sub("cold")), std::vector<std::string>{"obj.seg"});
        if (!crashed) break;
        ++crashes;
      }
    }
  }
  EXPECT_GE(crashes, 3 * 2 * 6);  // open, allocate, writes, sync, rename, syncdir
}

TEST(LocalBackingStoreTest, DeleteRemovesALeftoverTemporary) {
  ScratchDir dir;
  std::shared_ptr<BackingStore> store = LocalDirectoryBackingStore(dir.Sub("cold"));
  StringSource s("abc");
  ASSERT_OK(store->Put("x.seg", s));
  WriteFile(dir.Sub("cold/.x.seg.tmp"), "partial");
  EXPECT_EQ(*store->List(), std::vector<std::string>{"x.seg"});
  ASSERT_OK(store->Delete("x.seg"));
  EXPECT_TRUE(DefaultFileSystem()->ListDir(dir.Sub("cold"))->empty());
}

// --- Segment mover --------------------------------------------------------------

class MoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(fs_->CreateDir(dir_.Sub("segments")));
    seg_ = MakeSealedSegment(*fs_, dir_.Sub("segments"), uuid_, 42, /*generation=*/1, /*blocks=*/12);
    recording_ = std::make_shared<RecordingStore>(LocalDirectoryBackingStore(dir_.Sub("cold")));
    store_ = recording_;
  }

  ScratchDir dir_;
  std::shared_ptr<FileSystem> fs_ = DefaultFileSystem();
  StoreUuid uuid_ = TestUuid();
  BuiltSegment seg_;
  std::shared_ptr<RecordingStore> recording_;
  std::shared_ptr<BackingStore> store_;
};

TEST_F(MoverTest, CopyHasNextGenerationValidRecordsAndIdenticalBlocks) {
  const std::string before = ReadFile(seg_.path);
  absl::StatusOr<MovedSegment> moved = CopySegmentToBackingStore(*fs_, seg_.path, uuid_, 42, store_);
  ASSERT_OK(moved);
  EXPECT_EQ(moved->object_name, "000000000000002a.seg");
  EXPECT_EQ(moved->generation, 2u);
  EXPECT_EQ(moved->block_count, seg_.entries.size());
  EXPECT_EQ(moved->footer_offset, seg_.footer.footer_offset);
  EXPECT_EQ(ReadFile(seg_.path), before);  // the source is untouched

  const std::string copy = ReadObject(*store_, moved->object_name);
  ASSERT_EQ(copy.size(), moved->file_size);
  absl::StatusOr<SegmentHeader> h = DecodeSegmentHeader(copy, "copy");
  ASSERT_OK(h);
  EXPECT_EQ(h->generation, 2u);
  EXPECT_EQ(h->segment_id, 42u);
  EXPECT_EQ(h->store_uuid, uuid_);
  EXPECT_EQ(h->capacity, 4u << 20);
  // Everything between header and footer is byte for byte the source's.
  EXPECT_EQ(copy.substr(kSegmentHeaderSize, moved->footer_offset - kSegmentHeaderSize),
            before.substr(kSegmentHeaderSize, seg_.footer.footer_offset - kSegmentHeaderSize));

  // The existing scanner validates every record, footer included.
  const uint64_t seed = RecordSeed(uuid_, 42);
  ScanResult scan = ScanSegment(copy, kSegmentHeaderSize, moved->footer_offset, seed);
  EXPECT_TRUE(scan.skipped.empty());
  ASSERT_TRUE(scan.footer.has_value()) << scan.end_reason;
  EXPECT_EQ(scan.footer->offset, moved->footer_offset);
  EXPECT_EQ(scan.footer->payload_checksum, moved->footer_checksum);
  std::vector<const ScannedRecord*> markers;
  std::vector<const ScannedRecord*> live = LiveBlocks(scan, &markers);
  ASSERT_EQ(live.size(), seg_.entries.size());
  ASSERT_EQ(markers.size(), 1u);
  for (size_t i = 0; i < live.size(); ++i) {
    EXPECT_TRUE(live[i]->payload_ok);
    EXPECT_EQ(live[i]->number, seg_.entries[i].number);
    EXPECT_EQ(copy.substr(live[i]->offset + kRecordHeaderSize, live[i]->length), seg_.payloads[i]);
  }
  // Its footer says generation 2 and holds the same table and markers.
  std::unique_ptr<File> cold = OpenColdSegment(store_, moved->object_name);
  absl::StatusOr<FooterContents> fc = ReadFooter(*cold, "copy", seed, moved->footer());
  ASSERT_OK(fc);
  EXPECT_EQ(fc->generation, 2u);
  EXPECT_EQ(fc->truncated_after, seg_.markers);
  ASSERT_EQ(fc->table.size(), seg_.entries.size());
  ASSERT_OK(VerifyColdCopy(store_, uuid_, 42, 2, moved->footer()));
  EXPECT_EQ(VerifyColdCopy(store_, uuid_, 42, 3, moved->footer()).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(VerifyColdCopy(store_, TestUuid('A'), 42, 2, moved->footer()).code(), absl::StatusCode::kDataLoss);
}

TEST_F(MoverTest, MovesAnUntrimmedSegmentWithTheRecordedFooter) {
  // A seal whose trim failed: the preallocated tail is still there.
  const uint64_t sealed_size = segstore::testing::FileSize(seg_.path);
  segstore::testing::TruncateFile(seg_.path, sealed_size + 8192);
  ASSERT_CODE(CopySegmentToBackingStore(*fs_, seg_.path, uuid_, 42, store_), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(*store_->Exists("000000000000002a.seg"));
  SealedFooter recorded = seg_.footer;
  absl::StatusOr<MovedSegment> moved = CopySegmentToBackingStore(*fs_, seg_.path, uuid_, 42, store_, &recorded);
  ASSERT_OK(moved);
  EXPECT_EQ(moved->file_size, sealed_size);  // the tail is not copied
  ASSERT_OK(VerifyColdCopy(store_, uuid_, 42, 2, moved->footer()));
}

TEST_F(MoverTest, RefusesADamagedOrForeignSource) {
  ASSERT_CODE(CopySegmentToBackingStore(*fs_, seg_.path, TestUuid('A'), 42, store_), absl::StatusCode::kDataLoss);
  ASSERT_CODE(CopySegmentToBackingStore(*fs_, seg_.path, uuid_, 43, store_), absl::StatusCode::kDataLoss);
  segstore::testing::FlipByte(seg_.path, seg_.footer.footer_offset + kRecordHeaderSize + 1);
  absl::StatusOr<MovedSegment> m = CopySegmentToBackingStore(*fs_, seg_.path, uuid_, 42, store_);
  ASSERT_CODE(m, absl::StatusCode::kDataLoss);
  EXPECT_NE(m.status().message().find(seg_.path), std::string::npos) << m.status();
  EXPECT_TRUE(store_->List()->empty());
  ASSERT_CODE(CopySegmentToBackingStore(*fs_, dir_.Sub("segments/nope.seg"), uuid_, 42, store_),
              absl::StatusCode::kNotFound);
}

TEST_F(MoverTest, AFailedVerificationLeavesNoObject) {
  // The store corrupts the footer's payload on the way: verification catches
  // it and the object is deleted again.
  recording_->CorruptPutAt(seg_.footer.footer_offset + kRecordHeaderSize + 2);
  absl::StatusOr<MovedSegment> m = CopySegmentToBackingStore(*fs_, seg_.path, uuid_, 42, store_);
  ASSERT_CODE(m, absl::StatusCode::kDataLoss);
  EXPECT_NE(m.status().message().find("verification"), std::string::npos) << m.status();
  EXPECT_FALSE(*store_->Exists("000000000000002a.seg"));
  // Also the header.
  recording_->CorruptPutAt(41);
  ASSERT_CODE(CopySegmentToBackingStore(*fs_, seg_.path, uuid_, 42, store_), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(*store_->Exists("000000000000002a.seg"));
}

TEST_F(MoverTest, GenerationsKeepRising) {
  absl::StatusOr<MovedSegment> m1 = CopySegmentToBackingStore(*fs_, seg_.path, uuid_, 42, store_);
  ASSERT_OK(m1);
  // Copy the cold copy back to a local file and move it again: generation 3.
  const std::string back = dir_.Sub("back");
  ASSERT_OK(fs_->CreateDir(back));
  WriteFile(back + "/000000000000002a.seg", ReadObject(*store_, m1->object_name));
  std::shared_ptr<BackingStore> other = LocalDirectoryBackingStore(dir_.Sub("cold2"));
  absl::StatusOr<MovedSegment> m2 =
      CopySegmentToBackingStore(*fs_, back + "/000000000000002a.seg", uuid_, 42, other);
  ASSERT_OK(m2);
  EXPECT_EQ(m2->generation, 3u);
  ASSERT_OK(VerifyColdCopy(other, uuid_, 42, 3, m2->footer()));
}

// A crash before every file-system call of the copy: afterwards there is
// either no object, or a complete, valid generation-2 object; the local copy
// is intact; the chooser always finds a valid copy with the same blocks.
TEST_F(MoverTest, CopyUnderCrashAtEveryCallLeavesOneValidNewestCopy) {
  int crashes = 0;
  for (PowerLoss mode : {PowerLoss::kDropAll, PowerLoss::kRandomPages, PowerLoss::kTornSector}) {
    for (uint64_t k = 1;; ++k) {
      SCOPED_TRACE(::testing::Message() << "mode " << static_cast<int>(mode) << " crash before call " << k);
      ASSERT_OK(LocalDirectoryBackingStore(dir_.Sub("cold"))->Delete("000000000000002a.seg"));
      auto fault = std::make_shared<FaultFileSystem>(DefaultFileSystem());
      std::shared_ptr<BackingStore> cold_store = LocalDirectoryBackingStore(dir_.Sub("cold"), fault);
      fault->CrashAtCall(k, mode, k);
      absl::StatusOr<MovedSegment> m = CopySegmentToBackingStore(*fault, seg_.path, uuid_, 42, cold_store);
      const bool crashed = fault->crashed();
      if (!crashed) fault->Crash(mode, k);
      fault->Restart();
      EXPECT_EQ(m.ok(), !crashed) << m.status();

      std::shared_ptr<BackingStore> after = LocalDirectoryBackingStore(dir_.Sub("cold"));
      std::unique_ptr<File> local = *fs_->Open(seg_.path, OpenMode::kRead);
      const bool have_cold = *after->Exists("000000000000002a.seg");
      std::unique_ptr<File> cold = have_cold ? OpenColdSegment(after, "000000000000002a.seg") : nullptr;
      CopyChoice choice = ChooseAuthoritativeCopy(local.get(), seg_.path, cold.get(), "cold", uuid_, 42);
      ASSERT_TRUE(choice.winner.has_value()) << choice.ToString();
      EXPECT_TRUE(choice.local.valid) << choice.ToString();
      if (have_cold) {
        // Never a partial object: a cold copy that exists is valid and wins.
        EXPECT_TRUE(choice.cold.valid) << choice.ToString();
        EXPECT_EQ(*choice.winner, CopySide::kCold) << choice.ToString();
        EXPECT_EQ(choice.cold.header.generation, 2u);
        const uint64_t seed = RecordSeed(uuid_, 42);
        for (size_t i = 0; i < seg_.entries.size(); ++i) {
          absl::StatusOr<std::string> p = ReadRecord(*cold, "cold", seed, choice.cold.contents.table.entries()[i]);
          ASSERT_OK(p);
          EXPECT_EQ(*p, seg_.payloads[i]);
        }
      } else {
        EXPECT_EQ(*choice.winner, CopySide::kLocal);
        EXPECT_FALSE(m.ok()) << "an acknowledged copy was lost";
      }
      if (!crashed) break;
      ++crashes;
    }
  }
  EXPECT_GE(crashes, 3 * 5);
}

// --- Choosing the authoritative copy -----------------------------------------------

class ChooserTest : public MoverTest {
 protected:
  void SetUp() override {
    MoverTest::SetUp();
    absl::StatusOr<MovedSegment> m = CopySegmentToBackingStore(*fs_, seg_.path, uuid_, 42, store_);
    ASSERT_OK(m);
    moved_ = *m;
    cold_path_ = dir_.Sub("cold/000000000000002a.seg");
  }
  CopyChoice Choose() {
    std::unique_ptr<File> local = *fs_->Open(seg_.path, OpenMode::kRead);
    std::unique_ptr<File> cold = OpenColdSegment(store_, moved_.object_name);
    return ChooseAuthoritativeCopy(local.get(), "local", cold.get(), "cold", uuid_, 42);
  }

  MovedSegment moved_;
  std::string cold_path_;
};

TEST_F(ChooserTest, PrefersTheNewestValidGeneration) {
  CopyChoice c = Choose();
  ASSERT_TRUE(c.winner.has_value());
  EXPECT_EQ(*c.winner, CopySide::kCold) << c.ToString();
  EXPECT_EQ(c.cold.header.generation, 2u);
  EXPECT_EQ(c.local.header.generation, 1u);
  EXPECT_EQ(c.cold.footer.footer_offset, moved_.footer_offset);
  EXPECT_EQ(c.cold.footer.file_size, moved_.file_size);
  EXPECT_EQ(c.ToString(), "cold generation 2 (local copy: generation 1; cold copy: generation 2)");

  // Only one copy present.
  std::unique_ptr<File> local = *fs_->Open(seg_.path, OpenMode::kRead);
  std::unique_ptr<File> cold = OpenColdSegment(store_, moved_.object_name);
  EXPECT_EQ(*ChooseAuthoritativeCopy(local.get(), "local", nullptr, "", uuid_, 42).winner, CopySide::kLocal);
  EXPECT_EQ(*ChooseAuthoritativeCopy(nullptr, "", cold.get(), "cold", uuid_, 42).winner, CopySide::kCold);
  EXPECT_FALSE(ChooseAuthoritativeCopy(nullptr, "", nullptr, "", uuid_, 42).winner.has_value());
  // A tie goes to the local copy.
  std::unique_ptr<File> cold2 = OpenColdSegment(store_, moved_.object_name);
  EXPECT_EQ(*ChooseAuthoritativeCopy(cold.get(), "a", cold2.get(), "b", uuid_, 42).winner, CopySide::kLocal);
}

TEST_F(ChooserTest, ATornNewerCopyLoses) {
  for (uint64_t cut : {moved_.file_size - 1, moved_.file_size - kTrailerSize, moved_.footer_offset + 10,
                       moved_.file_size / 2, kSegmentHeaderSize + 5, uint64_t{60}, uint64_t{0}}) {
    SCOPED_TRACE(cut);
    const std::string whole = ReadFile(cold_path_);
    segstore::testing::TruncateFile(cold_path_, cut);
    CopyChoice c = Choose();
    ASSERT_TRUE(c.winner.has_value());
    EXPECT_EQ(*c.winner, CopySide::kLocal) << c.ToString();
    EXPECT_FALSE(c.cold.valid);
    EXPECT_EQ(c.cold.problem.code(), absl::StatusCode::kDataLoss) << c.cold.problem;
    WriteFile(cold_path_, whole);
  }
}

TEST_F(ChooserTest, ABadChecksumLoses) {
  const std::string whole = ReadFile(cold_path_);
  // Header, trailer, footer record header, footer payload.
  for (uint64_t at : {uint64_t{41}, moved_.file_size - 10, moved_.footer_offset + 3,
                      moved_.footer_offset + kRecordHeaderSize + 1}) {
    SCOPED_TRACE(at);
    segstore::testing::FlipByte(cold_path_, at);
    CopyChoice c = Choose();
    EXPECT_EQ(*c.winner, CopySide::kLocal) << c.ToString();
    EXPECT_FALSE(c.cold.valid);
    WriteFile(cold_path_, whole);
  }
  // A damaged local copy and a valid cold one: cold. Both damaged: none.
  segstore::testing::FlipByte(seg_.path, 41);
  EXPECT_EQ(*Choose().winner, CopySide::kCold);
  segstore::testing::FlipByte(cold_path_, 41);
  CopyChoice none = Choose();
  EXPECT_FALSE(none.winner.has_value());
  EXPECT_NE(none.ToString().find("no valid copy"), std::string::npos) << none.ToString();
  EXPECT_NE(none.ToString().find("checksum"), std::string::npos) << none.ToString();
}

TEST_F(ChooserTest, ACopyOfAnotherSegmentOrStoreLoses) {
  BuiltSegment other = MakeSealedSegment(*fs_, dir_.Sub("segments"), uuid_, 43, 5, 3);
  std::unique_ptr<File> wrong_id = *fs_->Open(other.path, OpenMode::kRead);
  std::unique_ptr<File> local = *fs_->Open(seg_.path, OpenMode::kRead);
  CopyChoice c = ChooseAuthoritativeCopy(local.get(), "local", wrong_id.get(), "cold", uuid_, 42);
  EXPECT_EQ(*c.winner, CopySide::kLocal);
  EXPECT_NE(c.cold.problem.message().find("segment 43"), std::string::npos) << c.cold.problem;
  ScratchDir d2;
  BuiltSegment foreign = MakeSealedSegment(*fs_, d2.path(), TestUuid('A'), 42, 9, 3);
  std::unique_ptr<File> foreign_file = *fs_->Open(foreign.path, OpenMode::kRead);
  c = ChooseAuthoritativeCopy(local.get(), "local", foreign_file.get(), "cold", uuid_, 42);
  EXPECT_EQ(*c.winner, CopySide::kLocal);
  EXPECT_NE(c.cold.problem.message().find("another store"), std::string::npos) << c.cold.problem;
}

// --- The cold read path ---------------------------------------------------------------

TEST_F(ChooserTest, ColdReadsFetchOnlyWhatTheyNeed) {
  const uint64_t seed = RecordSeed(uuid_, 42);
  std::unique_ptr<File> cold = OpenColdSegment(store_, moved_.object_name, moved_.file_size);
  recording_->ClearReads();
  absl::StatusOr<FooterContents> fc = ReadFooter(*cold, "cold", seed, moved_.footer());
  ASSERT_OK(fc);
  // The footer: one ranged read of its record, nothing else.
  std::vector<RecordingStore::ReadCall> reads = recording_->reads();
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].offset, moved_.footer_offset);
  EXPECT_EQ(reads[0].n, kRecordHeaderSize + moved_.footer_length);
  for (size_t i = 0; i < seg_.entries.size(); ++i) {
    recording_->ClearReads();
    const IndexEntry* e = fc->table.Find(seg_.entries[i].number);
    ASSERT_NE(e, nullptr);
    absl::StatusOr<std::string> p = ReadRecord(*cold, "cold", seed, *e);
    ASSERT_OK(p);
    EXPECT_EQ(*p, seg_.payloads[i]);
    reads = recording_->reads();
    ASSERT_EQ(reads.size(), 1u);  // one ranged read of exactly header + payload
    EXPECT_EQ(reads[0].offset, e->offset);
    EXPECT_EQ(reads[0].n, kRecordHeaderSize + e->length);
  }
  // Raw ranged reads through the File are exact too.
  const std::string whole = ReadFile(cold_path_);
  std::string buf(777, '\0');
  ASSERT_EQ(*cold->Read(1000, buf.data(), buf.size()), buf.size());
  EXPECT_EQ(buf, whole.substr(1000, 777));
  EXPECT_EQ(*cold->Read(whole.size() - 5, buf.data(), buf.size()), 5u);
  EXPECT_EQ(*cold->Size(), whole.size());
  ASSERT_CODE(cold->Write(0, "x"), absl::StatusCode::kFailedPrecondition);
  ASSERT_CODE(cold->Sync(), absl::StatusCode::kFailedPrecondition);
  ASSERT_CODE(cold->Truncate(0), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ChooserTest, HostileOrMissingColdObjectsGiveClearErrors) {
  const uint64_t seed = RecordSeed(uuid_, 42);
  // Missing: the segment's data is lost (DataLoss naming the object), not
  // an absent block (NotFound would read as "no such block" to a caller).
  std::unique_ptr<File> missing = OpenColdSegment(store_, "00000000000000ff.seg");
  absl::StatusOr<SegmentHeader> h = ReadSegmentHeader(*missing, "x");
  ASSERT_CODE(h, absl::StatusCode::kDataLoss);
  EXPECT_NE(h.status().message().find("00000000000000ff.seg"), std::string::npos) << h.status();
  ASSERT_CODE(VerifyColdCopy(store_, uuid_, 255, 2, moved_.footer()), absl::StatusCode::kDataLoss);
  ASSERT_CODE(ReadRecord(*missing, "x", seed, seg_.entries[0]), absl::StatusCode::kDataLoss);

  // Entries that do not match the object: wrong offset, huge length, wrong
  // number, and a payload that fails its checksum.
  std::unique_ptr<File> cold = OpenColdSegment(store_, moved_.object_name);
  IndexEntry e = seg_.entries[5];
  IndexEntry shifted = e;
  shifted.offset += 8;
  ASSERT_CODE(ReadRecord(*cold, "cold", seed, shifted), absl::StatusCode::kDataLoss);
  IndexEntry huge = e;
  huge.length = uint64_t{1} << 39;  // must not be allocated
  absl::StatusOr<std::string> r = ReadRecord(*cold, "cold", seed, huge);
  ASSERT_CODE(r, absl::StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("past the end"), std::string::npos) << r.status();
  IndexEntry wrong_number = e;
  ++wrong_number.number;
  ASSERT_CODE(ReadRecord(*cold, "cold", seed, wrong_number), absl::StatusCode::kDataLoss);
  ASSERT_CODE(ReadRecord(*cold, "cold", RecordSeed(uuid_, 43), e), absl::StatusCode::kDataLoss);
  segstore::testing::FlipByte(cold_path_, e.offset + kRecordHeaderSize + 3);
  std::unique_ptr<File> cold2 = OpenColdSegment(store_, moved_.object_name);
  r = ReadRecord(*cold2, "cold", seed, e);
  ASSERT_CODE(r, absl::StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("checksum"), std::string::npos) << r.status();
  EXPECT_OK(ReadRecord(*cold2, "cold", seed, e, /*verify_checksum=*/false));

  // Garbage where the object should be.
  WriteFile(cold_path_, Payload(99, 100000));
  std::unique_ptr<File> garbage = OpenColdSegment(store_, moved_.object_name);
  CopyCheck c = CheckSealedCopy(*garbage, "cold", uuid_, 42);
  EXPECT_FALSE(c.valid);
  EXPECT_NE(c.problem.message().find("not a segstore segment"), std::string::npos) << c.problem;
  absl::Status v = VerifyColdCopy(store_, uuid_, 42, 2, moved_.footer());
  EXPECT_EQ(v.code(), absl::StatusCode::kDataLoss) << v;
}

}  // namespace
}  // namespace segstore::internal
