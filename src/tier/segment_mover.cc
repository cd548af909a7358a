#include "tier/segment_mover.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "segment/format.h"
#include "segment/segment_name.h"
#include "tier/cold_segment.h"
#include "util/checksum.h"
#include "util/status_util.h"

namespace segstore::internal {
namespace {

// The copy as Put reads it: new header, the source's bytes up to the footer,
// then the re-encoded footer record and trailer.
class RewrittenSegment final : public ObjectSource {
 public:
  RewrittenSegment(File& src, std::string header, uint64_t footer_offset, std::string tail)
      : src_(src), header_(std::move(header)), footer_offset_(footer_offset), tail_(std::move(tail)) {}

  uint64_t size() const override { return footer_offset_ + tail_.size(); }

  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* dst, size_t n) override {
    size_t done = 0;
    while (done < n && offset < size()) {
      size_t got;
      if (offset < header_.size()) {
        got = static_cast<size_t>(std::min<uint64_t>(n - done, header_.size() - offset));
        std::memcpy(dst + done, header_.data() + offset, got);
      } else if (offset < footer_offset_) {
        const size_t want = static_cast<size_t>(std::min<uint64_t>(n - done, footer_offset_ - offset));
        ASSIGN_OR_RETURN(got, src_.Read(offset, dst + done, want));
        if (got == 0) break;  // the source shrank: Put reports the short copy
      } else {
        const uint64_t at = offset - footer_offset_;
        got = static_cast<size_t>(std::min<uint64_t>(n - done, tail_.size() - at));
        std::memcpy(dst + done, tail_.data() + at, got);
      }
      done += got;
      offset += got;
    }
    return done;
  }

 private:
  File& src_;
  const std::string header_;
  const uint64_t footer_offset_;
  const std::string tail_;
};

CopyCheck Invalid(absl::Status why) {
  CopyCheck c;
  c.present = true;
  c.problem = std::move(why);
  return c;
}

std::string Describe(const CopyCheck& c) {
  if (!c.present) return "absent";
  if (!c.valid) return absl::StrCat("invalid: ", c.problem.message());
  return absl::StrCat("generation ", c.header.generation);
}

absl::StatusOr<CopyCheck> CheckColdCopy(const std::shared_ptr<BackingStore>& store, const StoreUuid& uuid,
                                        uint64_t segment_id, uint64_t generation, const SealedFooter& footer) {
  const std::string name = SegmentFileName(segment_id);
  const std::string where = absl::StrCat(name, " in ", store->Describe());
  ASSIGN_OR_RETURN(uint64_t size, store->Size(name));
  if (size != footer.file_size) {
    return absl::DataLossError(absl::StrCat(where, ": ", size, " bytes, metadata says ", footer.file_size));
  }
  std::unique_ptr<File> cold = OpenColdSegment(store, name, size);
  CopyCheck c = CheckSealedCopy(*cold, where, uuid, segment_id, &footer);
  if (!c.valid) return c.problem;
  if (c.header.generation != generation || c.contents.generation != generation) {
    return absl::DataLossError(absl::StrCat(where, ": generation ", c.header.generation, " (footer ",
                                            c.contents.generation, "), metadata says ", generation));
  }
  return c;
}

}  // namespace

CopyCheck CheckSealedCopy(File& file, std::string_view where, const StoreUuid& uuid, uint64_t segment_id,
                          const SealedFooter* expected) {
  absl::StatusOr<SegmentHeader> h = ReadSegmentHeader(file, where);
  if (!h.ok()) return Invalid(h.status());
  if (h->segment_id != segment_id) {
    return Invalid(absl::DataLossError(
        absl::StrCat(AV(where), ": its header says segment ", h->segment_id, ", not ", segment_id)));
  }
  if (h->store_uuid != uuid) {
    return Invalid(absl::DataLossError(absl::StrCat(AV(where), ": belongs to another store (UUID differs)")));
  }
  absl::StatusOr<uint64_t> size = file.Size();
  if (!size.ok()) return Invalid(size.status());
  const uint64_t end = expected ? expected->file_size : *size;
  if (end < kSegmentHeaderSize + kRecordHeaderSize + kTrailerSize || end > *size) {
    return Invalid(absl::DataLossError(absl::StrCat(AV(where), ": ", *size, "-byte file is too short for a sealed segment",
                                                    expected ? absl::StrCat(" of ", end, " bytes") : "")));
  }
  char tbuf[kTrailerSize];
  absl::StatusOr<size_t> n = file.Read(end - kTrailerSize, tbuf, kTrailerSize);
  if (!n.ok()) return Invalid(n.status());
  std::optional<Trailer> t = DecodeTrailer(std::string_view(tbuf, *n));
  if (!t) {
    return Invalid(absl::DataLossError(
        absl::StrCat(Where(where, end - kTrailerSize), ": no valid trailer (torn or not sealed)")));
  }
  if (t->footer_offset < kSegmentHeaderSize || t->footer_offset > end ||
      t->footer_length > end - t->footer_offset ||
      t->footer_offset + RecordSize(t->footer_length) + kTrailerSize != end) {
    return Invalid(absl::DataLossError(absl::StrCat(AV(where), ": trailer points at a footer (offset ", t->footer_offset,
                                                    ", length ", t->footer_length, ") that does not end at it")));
  }
  if (expected && (t->footer_offset != expected->footer_offset || t->footer_length != expected->footer_length)) {
    return Invalid(absl::DataLossError(absl::StrCat(AV(where), ": footer is at offset ", t->footer_offset, " length ",
                                                    t->footer_length, ", metadata says offset ", expected->footer_offset,
                                                    " length ", expected->footer_length)));
  }
  char rbuf[kRecordHeaderSize];
  n = file.Read(t->footer_offset, rbuf, kRecordHeaderSize);
  if (!n.ok()) return Invalid(n.status());
  std::optional<RecordHeader> rh =
      *n == kRecordHeaderSize ? DecodeRecordHeader(std::string_view(rbuf, kRecordHeaderSize), RecordSeed(uuid, segment_id))
                              : std::nullopt;
  if (!rh || rh->type != RecordType::kFooter || rh->length != t->footer_length) {
    return Invalid(absl::DataLossError(absl::StrCat(Where(where, t->footer_offset), ": no valid footer record here")));
  }
  SealedFooter loc{t->footer_offset, t->footer_length, rh->payload_checksum, end, end == *size};
  if (expected && expected->footer_checksum != 0 && expected->footer_checksum != rh->payload_checksum) {
    return Invalid(absl::DataLossError(absl::StrCat(Where(where, t->footer_offset),
                                                    ": footer checksum differs from the one in metadata")));
  }
  absl::StatusOr<FooterContents> fc = ReadFooter(file, where, RecordSeed(uuid, segment_id), loc);
  if (!fc.ok()) return Invalid(fc.status());
  if (fc->segment_id != segment_id) {
    return Invalid(absl::DataLossError(
        absl::StrCat(AV(where), ": its footer says segment ", fc->segment_id, ", not ", segment_id)));
  }
  CopyCheck c;
  c.present = true;
  c.valid = true;
  c.header = *h;
  c.footer = loc;
  c.footer_epoch = rh->epoch;
  c.contents = std::move(*fc);
  return c;
}

absl::Status CompareSegmentBodies(File& local, const std::shared_ptr<BackingStore>& store, const std::string& name,
                                  uint64_t body_end) {
  constexpr size_t kChunk = 1 << 20;
  std::string a(kChunk, '\0'), b(kChunk, '\0');
  for (uint64_t at = kSegmentHeaderSize; at < body_end;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, body_end - at));
    ASSIGN_OR_RETURN(size_t got_a, local.Read(at, a.data(), n));
    ASSIGN_OR_RETURN(size_t got_b, store->ReadAt(name, at, n, b.data()));
    if (got_a != n || got_b != n) {
      return absl::DataLossError(absl::StrCat("a copy ends at offset ", at + std::min(got_a, got_b),
                                              ", before its records end (", body_end, ")"));
    }
    if (std::memcmp(a.data(), b.data(), n) != 0) {
      size_t i = 0;
      while (a[i] == b[i]) ++i;
      return absl::DataLossError(absl::StrCat("the copies differ at offset ", at + i));
    }
    at += n;
  }
  return absl::OkStatus();
}

absl::StatusOr<MovedSegment> CopySegmentToBackingStore(FileSystem& fs, const std::string& path,
                                                       const StoreUuid& uuid, uint64_t segment_id,
                                                       const std::shared_ptr<BackingStore>& store,
                                                       const SealedFooter* footer) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> src, fs.Open(path, OpenMode::kRead));
  CopyCheck check = CheckSealedCopy(*src, path, uuid, segment_id, footer);
  if (!check.valid) return Annotate(check.problem, "not moving " + path);
  const SegmentHeader& old = check.header;
  if (old.generation == UINT64_MAX) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": generation ", old.generation, " cannot be raised"));
  }
  const uint64_t seed = RecordSeed(uuid, segment_id);

  SegmentHeader nh = old;
  nh.generation = old.generation + 1;
  const std::string payload = EncodeFooter(segment_id, nh.generation, check.contents.table.entries(),
                                           check.contents.truncated_after);
  RecordHeader fh;
  fh.type = RecordType::kFooter;
  fh.length = payload.size();
  fh.payload_checksum = Checksum64(payload);
  fh.epoch = check.footer_epoch;
  std::string tail(static_cast<size_t>(RecordSize(payload.size())), '\0');
  EncodeRecordHeader(fh, seed, tail.data());
  std::memcpy(tail.data() + kRecordHeaderSize, payload.data(), payload.size());
  tail += EncodeTrailer({check.footer.footer_offset, payload.size()});

  MovedSegment out;
  out.object_name = SegmentFileName(segment_id);
  out.generation = nh.generation;
  out.footer_offset = check.footer.footer_offset;
  out.footer_length = payload.size();
  out.footer_checksum = fh.payload_checksum;
  out.file_size = check.footer.footer_offset + tail.size();
  out.block_count = check.contents.table.size();

  RewrittenSegment source(*src, EncodeSegmentHeader(nh), check.footer.footer_offset, std::move(tail));
  RETURN_IF_ERROR(Annotate(store->Put(out.object_name, source), "moving " + path));

  absl::StatusOr<CopyCheck> c = CheckColdCopy(store, uuid, segment_id, out.generation, out.footer());
  absl::Status v = c.status();
  // The block table must have survived the re-encoding unchanged.
  if (v.ok() && (c->contents.table.size() != check.contents.table.size() ||
                 !std::equal(c->contents.table.entries().begin(), c->contents.table.entries().end(),
                             check.contents.table.entries().begin(),
                             [](const IndexEntry& a, const IndexEntry& b) {
                               return a.number == b.number && a.offset == b.offset && a.length == b.length;
                             }) ||
                 c->contents.truncated_after != check.contents.truncated_after)) {
    v = absl::DataLossError("its block table differs from the source's");
  }
  // And every record byte-for-byte (they are copied unchanged): a backing
  // store that damages what it stores is caught before the local file goes.
  if (v.ok()) v = CompareSegmentBodies(*src, store, out.object_name, check.footer.footer_offset);
  if (!v.ok()) {
    (void)store->Delete(out.object_name);  // never leave an unverified copy behind
    return absl::DataLossError(absl::StrCat("copy of ", path, " as ", out.object_name, " in ", store->Describe(),
                                            " failed verification: ", v.message()));
  }
  return out;
}

absl::Status VerifyColdCopy(const std::shared_ptr<BackingStore>& store, const StoreUuid& uuid,
                            uint64_t segment_id, uint64_t generation, const SealedFooter& footer) {
  absl::Status s = CheckColdCopy(store, uuid, segment_id, generation, footer).status();
  // The copy meta/ names is gone: lost data, not an absent block.
  if (absl::IsNotFound(s)) return absl::DataLossError(absl::StrCat("the cold copy is missing: ", s.message()));
  return s;
}

CopyChoice ChooseAuthoritativeCopy(File* local, std::string_view local_where, File* cold,
                                   std::string_view cold_where, const StoreUuid& uuid, uint64_t segment_id) {
  CopyChoice out;
  if (local != nullptr) out.local = CheckSealedCopy(*local, local_where, uuid, segment_id);
  if (cold != nullptr) out.cold = CheckSealedCopy(*cold, cold_where, uuid, segment_id);
  if (out.local.valid && out.cold.valid) {
    out.winner = out.cold.header.generation > out.local.header.generation ? CopySide::kCold : CopySide::kLocal;
  } else if (out.local.valid) {
    out.winner = CopySide::kLocal;
  } else if (out.cold.valid) {
    out.winner = CopySide::kCold;
  }
  return out;
}

std::string CopyChoice::ToString() const {
  std::string s = !winner ? "no valid copy"
                          : absl::StrCat(*winner == CopySide::kLocal ? "local" : "cold", " generation ",
                                         (*winner == CopySide::kLocal ? local : cold).header.generation);
  absl::StrAppend(&s, " (local copy: ", Describe(local), "; cold copy: ", Describe(cold), ")");
  return s;
}

}  // namespace segstore::internal
