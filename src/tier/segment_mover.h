// Moving a sealed segment between tiers, crash-safely, and telling which of
// two copies of one segment is the authoritative one.
//
// Generations. Every copy of a segment carries a generation in its header
// (and the same number in its footer). A segment is created with generation
// 1; every move writes a new copy with generation + 1. Record header
// checksums are seeded by store UUID + segment id only (RecordSeed), not by
// the generation, so the records are copied byte for byte; only the header
// (new generation, new header checksum) and the footer record + trailer (the
// footer's generation field; its length can change by a varint byte) are
// re-encoded. Block offsets do not change, so a cached block table stays
// valid across a move.
//
// The demotion protocol (warm/hot -> cold) the store follows for sealed
// segment I with local generation G (segments/I.seg, SegmentMeta.tier
// HOT or WARM, SegmentMeta.generation G):
//
//   1. Copy:   CopySegmentToBackingStore(): the object I.seg with generation
//              G+1 is Put into the BackingStore. Put is atomic and durable
//              (local directory: temp file, fdatasync, rename, directory
//              sync).
//   2. Verify: (inside the same call) header, trailer and footer of the
//              object are read back through the BackingStore and checked
//              (generation G+1, same id/UUID, footer checksum and table),
//              and every record byte is compared with the local file.
//   3. Record: ONE synced RocksDB batch: SegmentMeta{tier = TIER_COLD,
//              generation = G+1, footer_offset/length/checksum and file_size
//              of the copy (MovedSegment)} plus, in the tiers column family,
//              delete "<old tier>/I" and put "cold/I". This is the commit
//              point. Then, in memory and without I/O under the tier
//              mutexes, the segment moves from its tier map to the cold one.
//   4. Delete: once no reader holds the local file (descriptor cache and
//              mappings released), delete segments/I.seg and sync segments/.
//
// What reopen does (it trusts RocksDB; the generation breaks no tie here):
//   - crash before 3 is durable (during the Put, after it, during verify):
//     meta says local, generation G. The local file is authoritative. The
//     backing store holds nothing, a temporary (invisible; removed by the
//     next Put/Delete of the name) or a complete G+1 object that nothing
//     references: an orphan, deleted on reopen (or replaced by the retried
//     demotion, whose Put overwrites it). Demotion is simply redone later.
//   - crash after 3, before or during 4: meta says cold, generation G+1.
//     Reopen checks the object (VerifyColdCopy; cheap: header + trailer +
//     footer) and then deletes the stale local segments/I.seg (generation
//     G) if it is still there. If the object is missing or invalid but the
//     local copy validates (CheckSealedCopy), reopen falls back to the local
//     copy: rewrites SegmentMeta tier = WARM, generation = G (and the tiers
//     CF) in one batch and reports it in the RecoveryReport. If neither
//     validates, the segment's blocks read as DataLoss.
//   In every case exactly one copy is authoritative after reopen.
//
// What rebuild-index must do (it has no trustworthy meta): for every id it
// finds in segments/ or in BackingStore::List(), take the local file and the
// cold object as candidates and ChooseAuthoritativeCopy(): the valid copy
// with the newest generation wins (a tie goes to the local copy); a copy
// that is torn, has a bad header/footer/trailer checksum or belongs to
// another id or store loses. A cold winner is recorded as tier = COLD with
// its generation and footer location, its block table taken from its
// footer (which also lists its TruncateAfter markers), so the object is
// never downloaded whole. A local winner goes through today's rebuild path
// (scan, reseal if needed). The loser is deleted only after the new meta/ is
// durable. If no copy is valid as a sealed segment, only a local file can
// still be an unsealed (active) segment: today's scan-and-reseal path.

#ifndef SEGSTORE_SRC_TIER_SEGMENT_MOVER_H_
#define SEGSTORE_SRC_TIER_SEGMENT_MOVER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "segment/footer.h"
#include "segment/record.h"
#include "segment/segment_file.h"
#include "segstore/backing_store.h"
#include "segstore/file_system.h"

namespace segstore::internal {

// What the caller records in SegmentMeta after a successful copy.
struct MovedSegment {
  std::string object_name;  // SegmentFileName(id)
  uint64_t generation = 0;  // of the copy: source generation + 1
  uint64_t file_size = 0;   // size of the object
  uint64_t footer_offset = 0;
  uint64_t footer_length = 0;
  uint64_t footer_checksum = 0;
  uint64_t block_count = 0;  // entries of the footer's block table

  SealedFooter footer() const { return {footer_offset, footer_length, footer_checksum, file_size, true}; }
};

// Steps 1 and 2 of the protocol: copies the sealed segment at `path`
// (through fs) into store as SegmentFileName(segment_id) with generation + 1,
// then verifies the object through the store. `footer`: the location
// recorded in SegmentMeta (lets an untrimmed file be moved); nullptr finds
// it from the trailer at the end of the file. The source must be a valid
// sealed segment of this store and id (else DataLoss / FailedPrecondition,
// nothing is Put). If the verification fails the object is deleted again
// and the result is DataLoss. Touches no metadata and not the source.
absl::StatusOr<MovedSegment> CopySegmentToBackingStore(FileSystem& fs, const std::string& path,
                                                       const StoreUuid& uuid, uint64_t segment_id,
                                                       const std::shared_ptr<BackingStore>& store,
                                                       const SealedFooter* footer = nullptr);

// The verdict on one copy of a sealed segment.
struct CopyCheck {
  bool present = false;  // false: no such copy was offered
  bool valid = false;
  absl::Status problem;  // why not valid
  SegmentHeader header;  // valid only
  SealedFooter footer;   // valid only: its location, checksum and file size
  uint32_t footer_epoch = 0;
  FooterContents contents;  // valid only: the decoded footer
};

// Checks that file holds a complete sealed segment `segment_id` of store
// `uuid`: header (magic, checksum, id, UUID), trailer, footer record
// (header checksum, payload checksum, decodes, same id). `expected`: the
// footer location the caller believes in (meta); it must then match, and
// the trailer is looked for at expected->file_size rather than at the end.
// Reads header, trailer and footer only.
CopyCheck CheckSealedCopy(File& file, std::string_view where, const StoreUuid& uuid, uint64_t segment_id,
                          const SealedFooter* expected = nullptr);

// Compares the records region [header end, body_end) of a local segment
// file and of object `name` byte for byte (a move copies it unchanged).
absl::Status CompareSegmentBodies(File& local, const std::shared_ptr<BackingStore>& store, const std::string& name,
                                  uint64_t body_end);

// Reopen's check of a cold copy against what meta recorded: valid, with
// that generation (header and footer) and that footer location.
absl::Status VerifyColdCopy(const std::shared_ptr<BackingStore>& store, const StoreUuid& uuid,
                            uint64_t segment_id, uint64_t generation, const SealedFooter& footer);

enum class CopySide { kLocal, kCold };

struct CopyChoice {
  std::optional<CopySide> winner;  // nullopt: neither copy is valid
  CopyCheck local;
  CopyCheck cold;
  // "local generation 3 (cold copy: segment header checksum mismatch)".
  std::string ToString() const;
};

// The authoritative copy of one segment id among a local file and a cold
// object (nullptr: that copy does not exist): the valid copy with the newest
// generation; on a tie the local copy. Invalid copies always lose.
CopyChoice ChooseAuthoritativeCopy(File* local, std::string_view local_where, File* cold,
                                   std::string_view cold_where, const StoreUuid& uuid, uint64_t segment_id);

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_TIER_SEGMENT_MOVER_H_
