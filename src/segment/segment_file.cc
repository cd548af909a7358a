#include "segment/segment_file.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "segment/segment_name.h"
#include "util/checksum.h"
#include "util/status_util.h"

namespace segstore::internal {

absl::StatusOr<std::unique_ptr<File>> CreateSegmentFile(FileSystem& fs, const std::string& dir,
                                                        const SegmentHeader& header) {
  const std::string path = dir + "/" + SegmentFileName(header.segment_id);
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs.Open(path, OpenMode::kCreateNew));
  absl::Status s = file->Allocate(0, header.capacity);
  if (s.ok()) s = file->Write(0, EncodeSegmentHeader(header));
  if (s.ok()) s = file->Sync();
  if (s.ok()) s = fs.SyncDir(dir);
  if (!s.ok()) {
    file.reset();
    (void)fs.Delete(path);  // best effort: a half-made file holds no records
    return Annotate(s, "creating segment " + path);
  }
  return file;
}

absl::StatusOr<SegmentHeader> ReadSegmentHeader(File& file, std::string_view where) {
  std::string buf(kSegmentHeaderSize, '\0');
  ASSIGN_OR_RETURN(size_t n, file.Read(0, buf.data(), buf.size()));
  buf.resize(n);
  return DecodeSegmentHeader(buf, where);
}

absl::Status WriteRecord(File& file, uint64_t offset, uint64_t seed, const RecordHeader& header,
                         std::string_view payload, std::string* scratch) {
  constexpr size_t kCoalesceLimit = 64 << 10;
  if (payload.size() <= kCoalesceLimit) {
    scratch->resize(kRecordHeaderSize + payload.size());
    EncodeRecordHeader(header, seed, scratch->data());
    if (!payload.empty()) std::memcpy(scratch->data() + kRecordHeaderSize, payload.data(), payload.size());
    return file.Write(offset, *scratch);
  }
  char h[kRecordHeaderSize];
  EncodeRecordHeader(header, seed, h);
  RETURN_IF_ERROR(file.Write(offset + kRecordHeaderSize, payload));
  return file.Write(offset, std::string_view(h, kRecordHeaderSize));
}

absl::StatusOr<SealedFooter> SealSegmentFile(File& file, uint64_t end, uint64_t seed,
                                             uint32_t epoch, std::string_view footer_payload) {
  RecordHeader h;
  h.type = RecordType::kFooter;
  h.length = footer_payload.size();
  h.payload_checksum = Checksum64(footer_payload);
  h.epoch = epoch;
  std::string scratch;
  RETURN_IF_ERROR(WriteRecord(file, end, seed, h, footer_payload, &scratch));
  SealedFooter out;
  out.footer_offset = end;
  out.footer_length = footer_payload.size();
  out.footer_checksum = h.payload_checksum;
  const uint64_t trailer_at = end + RecordSize(footer_payload.size());
  RETURN_IF_ERROR(file.Write(trailer_at, EncodeTrailer({out.footer_offset, out.footer_length})));
  out.file_size = trailer_at + kTrailerSize;
  RETURN_IF_ERROR(file.Sync());
  // Trimming only gives back the preallocated tail: if it fails the segment
  // is still complete (readers find the footer through the metadata, and
  // rebuild-index through the scan), so the seal goes on.
  out.trimmed = file.Truncate(out.file_size).ok();
  if (out.trimmed) RETURN_IF_ERROR(file.Sync());
  return out;
}

absl::StatusOr<FooterContents> ReadFooter(File& file, std::string_view where, uint64_t seed,
                                          const SealedFooter& footer) {
  if (footer.footer_offset < kSegmentHeaderSize || footer.footer_offset > footer.file_size ||
      footer.footer_length > footer.file_size - footer.footer_offset ||
      RecordSize(footer.footer_length) > footer.file_size - footer.footer_offset) {
    return absl::DataLossError(absl::StrCat(AV(where), ": footer location (offset ",
                                            footer.footer_offset, ", length ", footer.footer_length,
                                            ") lies outside the file"));
  }
  // The sizes come from metadata: check them against the real file before
  // allocating anything.
  ASSIGN_OR_RETURN(uint64_t real_size, file.Size());
  if (footer.footer_offset > real_size || RecordSize(footer.footer_length) > real_size - footer.footer_offset) {
    return absl::DataLossError(absl::StrCat(AV(where), ": footer (offset ", footer.footer_offset, ", length ",
                                            footer.footer_length, ") lies past the end of the ", real_size,
                                            "-byte file"));
  }
  std::string buf(kRecordHeaderSize + footer.footer_length, '\0');
  ASSIGN_OR_RETURN(size_t n, file.Read(footer.footer_offset, buf.data(), buf.size()));
  if (n != buf.size()) {
    return absl::DataLossError(absl::StrCat(AV(where), ": file ends inside the footer"));
  }
  std::optional<RecordHeader> h = DecodeRecordHeader(buf, seed);
  if (!h || h->type != RecordType::kFooter || h->length != footer.footer_length) {
    return absl::DataLossError(absl::StrCat(Where(where, footer.footer_offset), ": no footer record here"));
  }
  std::string_view payload(buf.data() + kRecordHeaderSize, footer.footer_length);
  if (Checksum64(payload) != h->payload_checksum ||
      (footer.footer_checksum != 0 && h->payload_checksum != footer.footer_checksum)) {
    return absl::DataLossError(absl::StrCat(Where(where, footer.footer_offset), ": footer checksum mismatch"));
  }
  return DecodeFooter(payload, footer.footer_offset, where);
}

absl::StatusOr<SealedFooter> LocateFooter(File& file, std::string_view where) {
  ASSIGN_OR_RETURN(uint64_t size, file.Size());
  if (size < kSegmentHeaderSize + kTrailerSize) {
    return absl::DataLossError(absl::StrCat(AV(where), ": too short to be a sealed segment"));
  }
  char buf[kTrailerSize];
  ASSIGN_OR_RETURN(size_t n, file.Read(size - kTrailerSize, buf, kTrailerSize));
  std::optional<Trailer> t = DecodeTrailer(std::string_view(buf, n));
  if (!t) return absl::NotFoundError(absl::StrCat(AV(where), ": no trailer (segment not sealed)"));
  SealedFooter f;
  f.footer_offset = t->footer_offset;
  f.footer_length = t->footer_length;
  f.file_size = size;
  return f;
}

}  // namespace segstore::internal
