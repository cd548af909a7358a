// Writes the seed corpus of the fuzz targets:
//   fuzz_make_corpus <scratch dir> <corpus dir (tests/fuzz/corpus)>
// Sources: a real store written through the public API (its active segment
// file, cut after the records, and its RocksDB values read back through
// MetaStore), a sealed segment written by the writer's own functions
// (CreateSegmentFile, WriteRecord, SealSegmentFile), and the in-memory
// images of fuzz_images.h. Every file is small; the whole corpus stays far
// below 200 KB.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_images.h"
#include "meta/meta_store.h"
#include "schema/segstore.pb.h"
#include "segment/footer.h"
#include "segment/format.h"
#include "segment/record.h"
#include "segment/segment_file.h"
#include "segment/segment_name.h"
#include "segstore/block_store.h"
#include "segstore/file_system.h"
#include "segstore/options.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace fs = std::filesystem;
using namespace segstore::internal;
namespace proto = segstore::proto;

namespace {

fs::path g_out;
size_t g_files = 0;
uintmax_t g_bytes = 0;

[[noreturn]] void Die(std::string_view what) {
  std::cerr << "fuzz_make_corpus: " << what << "\n";
  std::exit(1);
}

void Check(const absl::Status& s, std::string_view what) {
  if (!s.ok()) Die(std::string(what) + ": " + std::string(s.message()));
}

void Emit(const std::string& target, const std::string& name, std::string_view bytes) {
  fs::create_directories(g_out / target);
  std::ofstream f(g_out / target / name, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) Die("cannot write " + (g_out / target / name).string());
  ++g_files;
  g_bytes += bytes.size();
}

std::string ReadFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) Die("cannot read " + p.string());
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string Le32(uint32_t v) {
  std::string s(4, '\0');
  EncodeFixed32(s.data(), v);
  return s;
}
std::string Le64(uint64_t v) {
  std::string s(8, '\0');
  EncodeFixed64(s.data(), v);
  return s;
}

// fuzz_scanner control block (see fuzz_scanner.cc).
std::string ScannerControl(uint8_t flags, uint32_t durable_sel, uint32_t cap_extra, uint32_t epoch,
                           uint32_t journal_seed, uint8_t extra) {
  std::string c;
  c += static_cast<char>(flags);
  c += Le32(durable_sel) + Le32(cap_extra) + Le32(epoch) + Le32(journal_seed) + Le32(0);
  c += static_cast<char>(extra);
  c.resize(24, '\0');
  return c;
}

void EmitScanner(const std::string& name, std::string_view image, uint64_t synced) {
  const uint32_t s = static_cast<uint32_t>(synced);
  Emit("fuzz_scanner", name + "-synced", ScannerControl(0x00, s, 0, 1, 1, 0) + std::string(image));
  Emit("fuzz_scanner", name + "-all-durable", ScannerControl(0x40, 0, 64, 1, 2, 3) + std::string(image));
  Emit("fuzz_scanner", name + "-none-durable-fixup", ScannerControl(0x23, 0, 8, 5, 3, 5) + std::string(image));
}

// fuzz_headers input: mode byte, seed, file_size, bytes.
void EmitHeaders(const std::string& name, uint8_t mode, uint64_t seed, uint64_t file_size,
                 std::string_view bytes) {
  Emit("fuzz_headers", name, std::string(1, static_cast<char>(mode)) + Le64(seed) + Le64(file_size) +
                                 std::string(bytes));
}

void EmitMeta(const std::string& name, uint8_t kind, uint8_t variant, std::string_view value) {
  Emit("fuzz_meta_values", name, std::string(1, static_cast<char>(kind)) +
                                     std::string(1, static_cast<char>(variant)) + std::string(value));
}

// A sealed segment written by the writer's functions; returns the file bytes.
std::string WriteSealedSegment(const fs::path& dir, uint64_t* seed_out) {
  fs::create_directories(dir);
  std::shared_ptr<segstore::FileSystem> fsys = segstore::DefaultFileSystem();
  SegmentHeader h;
  h.store_uuid = segstore::fuzz::FuzzUuid();
  h.segment_id = 7;
  h.generation = 1;
  h.created_unix_micros = 1700000000000000;
  h.capacity = 16384;
  auto file = CreateSegmentFile(*fsys, dir.string(), h);
  Check(file.status(), "CreateSegmentFile");
  const uint64_t seed = RecordSeed(h.store_uuid, h.segment_id);
  uint64_t at = kSegmentHeaderSize;
  std::string scratch;
  std::vector<IndexEntry> entries;
  for (uint64_t n = 100; n < 106; ++n) {
    std::string payload = segstore::fuzz::Payload(n, 20 + 31 * (n - 100));
    RecordHeader r;
    r.number = n;
    r.length = payload.size();
    r.payload_checksum = Checksum64(payload);
    r.epoch = 3;
    Check(WriteRecord(**file, at, seed, r, payload, &scratch), "WriteRecord");
    entries.push_back({n, at, payload.size()});
    at += RecordSize(payload.size());
  }
  auto sealed = SealSegmentFile(**file, at, seed, 3, EncodeFooter(h.segment_id, 1, entries, {}));
  Check(sealed.status(), "SealSegmentFile");
  file->reset();
  *seed_out = seed;
  return ReadFile(dir / SegmentFileName(h.segment_id));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) Die("usage: fuzz_make_corpus <scratch dir> <corpus dir>");
  const fs::path scratch = argv[1];
  g_out = argv[2];
  fs::remove_all(scratch);
  fs::create_directories(scratch);

  // --- a real store: blocks, a reorg (TruncateAfter), a reopen (new epoch) ---
  const fs::path store = scratch / "store";
  segstore::Options o;
  o.create_if_missing = true;
  o.segment_size = kMinSegmentSize;
  o.journal_shard_blocks = 4;
  {
    auto s = segstore::BlockStore::Open(o, store.string());
    Check(s.status(), "open");
    for (int i = 0; i < 6; ++i) {
      auto n = (*s)->Append(segstore::fuzz::Payload(static_cast<uint64_t>(i), 30 + 17 * static_cast<size_t>(i)),
                            {.sync = i % 2 == 0});
      Check(n.status(), "append");
    }
    Check((*s)->TruncateAfter(3), "truncate");
    Check((*s)->Close(), "close");
  }
  {
    o.create_if_missing = false;
    auto s = segstore::BlockStore::Open(o, store.string());
    Check(s.status(), "reopen");
    for (int i = 0; i < 3; ++i) Check((*s)->Append(segstore::fuzz::Payload(50, 45), {}).status(), "append");
    Check((*s)->Close(), "close");
  }
  {
    MetaOptions mo;
    mo.read_only = true;
    auto meta = MetaStore::Open((store / "meta").string(), mo);
    Check(meta.status(), "meta open");
    auto manifest = (*meta)->ReadManifest();
    Check(manifest.status(), "manifest");
    if (!*manifest) Die("no manifest");
    EmitMeta("store-manifest", 0, 0, (*manifest)->SerializeAsString());
    auto segs = (*meta)->ReadSegments();
    Check(segs.status(), "segments");
    for (const proto::SegmentMeta& m : *segs) {
      EmitMeta("store-segment-" + std::to_string(m.segment_id()), 1, 0, m.SerializeAsString());
      if (m.state() != proto::SEGMENT_ACTIVE) continue;
      // The active segment file, cut a little after its synced part.
      std::string bytes = ReadFile(store / "segments" / SegmentFileName(m.segment_id()));
      if (bytes.size() > m.synced_offset() + 256) bytes.resize(m.synced_offset() + 256);
      EmitScanner("store-active", bytes, m.synced_offset());
      EmitHeaders("store-active-header", 0, 0, 0, bytes.substr(0, kSegmentHeaderSize));
      uint64_t id = 0;
      SegmentHeader hdr = *DecodeSegmentHeader(bytes, "x");
      id = hdr.segment_id;
      const uint64_t seed = RecordSeed(hdr.store_uuid, id);
      EmitHeaders("store-active-record", 1, seed, 0, bytes.substr(kSegmentHeaderSize, 80));
    }
    std::string journal;  // kind 2 entries: [number][length][value]
    for (uint64_t shard : (*meta)->LiveShards()) {
      auto entries = (*meta)->ReadJournal(shard);
      Check(entries.status(), "journal");
      for (const auto& [n, loc] : *entries) {
        std::string v = loc.SerializeAsString();
        journal += static_cast<char>(n & 0xff);
        journal += static_cast<char>(v.size());
        journal += v;
      }
    }
    EmitMeta("store-journal", 2, 0, journal);
  }

  // --- a sealed segment from the writer's functions ---
  uint64_t seed7 = 0;
  std::string sealed = WriteSealedSegment(scratch / "sealed", &seed7);
  {
    Trailer t = *DecodeTrailer(std::string_view(sealed).substr(sealed.size() - kTrailerSize));
    EmitScanner("writer-sealed", sealed, t.footer_offset);
    EmitHeaders("writer-sealed-file", 4, 0, 0, sealed);
    EmitHeaders("writer-sealed-trailer", 2, 0, 0, sealed.substr(sealed.size() - kTrailerSize));
    EmitHeaders("writer-sealed-footer-record", 1, seed7, 0, sealed.substr(t.footer_offset, 64));
    std::string payload = sealed.substr(t.footer_offset + kRecordHeaderSize, t.footer_length);
    EmitHeaders("writer-sealed-footer", 3, 0, t.footer_offset, payload);
    EmitMeta("writer-sealed-footer", 3, 0, payload);
  }

  // --- the in-memory images the meta fuzzer runs against ---
  const segstore::fuzz::ActiveImage a = segstore::fuzz::MakeActiveImage();
  const segstore::fuzz::SealedImage s = segstore::fuzz::MakeSealedImage();
  EmitScanner("image-active", a.bytes, a.synced);
  EmitScanner("image-sealed", s.bytes, s.footer.footer_offset);
  EmitHeaders("image-active-header-fix", 0x80, 0, 0, a.bytes.substr(0, kSegmentHeaderSize));
  EmitHeaders("image-active-record-fix", 0x81, a.seed, 0, a.bytes.substr(kSegmentHeaderSize, 140));
  EmitHeaders("image-sealed-file-fix", 0x84, 0, 0, s.bytes);
  EmitHeaders("image-sealed-trailer-fix", 0x82, 0, 0, s.bytes.substr(s.bytes.size() - kTrailerSize));
  EmitHeaders("image-sealed-footer", 3, 0, s.footer.footer_offset,
              std::string_view(s.bytes).substr(s.footer.footer_offset + kRecordHeaderSize, s.footer.footer_length));
  {
    proto::SegmentMeta m;
    m.set_segment_id(a.segment_id);
    m.set_state(proto::SEGMENT_ACTIVE);
    m.set_capacity(a.capacity);
    m.set_generation(1);
    m.set_has_blocks(true);
    m.set_first_block(10);
    m.set_last_block(14);
    m.set_record_count(5);
    m.set_synced_offset(a.synced);
    m.set_epoch(a.epoch);
    m.set_tier(proto::TIER_HOT);
    EmitMeta("image-active-meta", 1, 0, m.SerializeAsString());
    m.set_synced_offset(kSegmentHeaderSize);
    EmitMeta("image-active-meta-unsynced", 1, 0, m.SerializeAsString());
  }
  {
    proto::SegmentMeta m;
    m.set_segment_id(s.segment_id);
    m.set_state(proto::SEGMENT_SEALED);
    m.set_capacity(s.capacity);
    m.set_generation(1);
    m.set_has_blocks(true);
    m.set_first_block(20);
    m.set_last_block(24);
    m.set_record_count(5);
    m.set_footer_offset(s.footer.footer_offset);
    m.set_footer_length(s.footer.footer_length);
    m.set_footer_checksum(s.footer.footer_checksum);
    m.set_file_size(s.footer.file_size);
    m.set_tier(proto::TIER_HOT);
    EmitMeta("image-sealed-meta", 1, 0, m.SerializeAsString());
  }
  {
    std::string journal;
    for (const auto& [n, loc] : a.journal) {
      std::string v = loc.SerializeAsString();
      journal += static_cast<char>(n);
      journal += static_cast<char>(v.size());
      journal += v;
    }
    EmitMeta("image-journal", 2, 0, journal);
    EmitMeta("image-journal-half-synced", 2, 7, journal);
  }
  {
    proto::StoreManifest m;
    m.set_format_version(kFormatVersion);
    m.set_store_uuid(std::string(segstore::fuzz::FuzzUuid().data(), 16));
    m.set_checksum_kind(proto::CHECKSUM_XXH3_64);
    m.set_journal_shard_blocks(1 << 20);
    m.add_pending_deletions(3);
    EmitMeta("image-manifest", 0, 0, m.SerializeAsString());
  }
  fs::remove_all(scratch);
  std::printf("fuzz_make_corpus: %zu files, %ju bytes in %s\n", g_files, g_bytes, g_out.string().c_str());
  return 0;
}
