#include "segment/record.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "util/checksum.h"
#include "util/coding.h"
#include "util/status_util.h"

namespace segstore::internal {

std::string EncodeSegmentHeader(const SegmentHeader& h) {
  std::string out(kSegmentHeaderSize, '\0');
  char* p = out.data();
  EncodeFixed64(p + 0, kSegmentMagic);
  EncodeFixed32(p + 8, h.format_version);
  EncodeFixed32(p + 12, static_cast<uint32_t>(kSegmentHeaderSize));
  std::memcpy(p + 16, h.store_uuid.data(), h.store_uuid.size());
  EncodeFixed64(p + 32, h.segment_id);
  EncodeFixed64(p + 40, h.generation);
  EncodeFixed64(p + 48, static_cast<uint64_t>(h.created_unix_micros));
  EncodeFixed64(p + 56, h.capacity);
  EncodeFixed64(p + kSegmentHeaderChecksumOffset,
                Checksum64(std::string_view(p, kSegmentHeaderChecksumOffset)));
  return out;
}

absl::StatusOr<SegmentHeader> DecodeSegmentHeader(std::string_view bytes, std::string_view where) {
  if (bytes.size() < kSegmentHeaderSize) {
    return absl::DataLossError(absl::StrCat(AV(where), ": segment header truncated (",
                                            bytes.size(), " of ", kSegmentHeaderSize, " bytes)"));
  }
  const char* p = bytes.data();
  if (DecodeFixed64(p) != kSegmentMagic) {
    return absl::DataLossError(absl::StrCat(AV(where), ": not a segstore segment (bad magic)"));
  }
  if (DecodeFixed64(p + kSegmentHeaderChecksumOffset) !=
      Checksum64(std::string_view(p, kSegmentHeaderChecksumOffset))) {
    return absl::DataLossError(absl::StrCat(AV(where), ": segment header checksum mismatch"));
  }
  SegmentHeader h;
  h.format_version = DecodeFixed32(p + 8);
  if (h.format_version != kFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat(AV(where), ": segment format version ", h.format_version,
                     " is not supported (this build reads version ", kFormatVersion, ")"));
  }
  if (DecodeFixed32(p + 12) != kSegmentHeaderSize) {
    return absl::DataLossError(absl::StrCat(AV(where), ": unexpected segment header size"));
  }
  std::memcpy(h.store_uuid.data(), p + 16, h.store_uuid.size());
  h.segment_id = DecodeFixed64(p + 32);
  h.generation = DecodeFixed64(p + 40);
  h.created_unix_micros = static_cast<int64_t>(DecodeFixed64(p + 48));
  h.capacity = DecodeFixed64(p + 56);
  return h;
}

uint64_t RecordSeed(const StoreUuid& uuid, uint64_t segment_id) {
  char buf[24];
  std::memcpy(buf, uuid.data(), uuid.size());
  EncodeFixed64(buf + 16, segment_id);
  return Checksum64(std::string_view(buf, sizeof(buf)));
}

void EncodeRecordHeader(const RecordHeader& h, uint64_t seed, char* dst) {
  EncodeFixed32(dst + 0, kRecordMagic);
  EncodeFixed32(dst + 4, static_cast<uint32_t>(h.type));
  EncodeFixed64(dst + 8, h.number);
  EncodeFixed64(dst + 16, h.length);
  EncodeFixed64(dst + 24, h.payload_checksum);
  EncodeFixed32(dst + 32, h.epoch);
  uint64_t c = Checksum64Seeded(std::string_view(dst, kRecordHeaderChecksummed), seed);
  EncodeFixed32(dst + 36, static_cast<uint32_t>(c & 0xffffffffu));
}

std::optional<RecordHeader> DecodeRecordHeader(std::string_view bytes, uint64_t seed) {
  const char* p = bytes.data();
  if (DecodeFixed32(p) != kRecordMagic) return std::nullopt;
  uint64_t c = Checksum64Seeded(std::string_view(p, kRecordHeaderChecksummed), seed);
  if (DecodeFixed32(p + 36) != static_cast<uint32_t>(c & 0xffffffffu)) return std::nullopt;
  uint32_t type = DecodeFixed32(p + 4);
  if (type < 1 || type > 3) return std::nullopt;
  RecordHeader h;
  h.type = static_cast<RecordType>(type);
  h.number = DecodeFixed64(p + 8);
  h.length = DecodeFixed64(p + 16);
  h.payload_checksum = DecodeFixed64(p + 24);
  h.epoch = DecodeFixed32(p + 32);
  return h;
}

std::string EncodeTrailer(const Trailer& t) {
  std::string out(kTrailerSize, '\0');
  EncodeFixed64(out.data(), kTrailerMagic);
  EncodeFixed64(out.data() + 8, t.footer_offset);
  EncodeFixed64(out.data() + 16, t.footer_length);
  EncodeFixed64(out.data() + 24, Checksum64(std::string_view(out.data(), 24)));
  return out;
}

std::optional<Trailer> DecodeTrailer(std::string_view bytes) {
  if (bytes.size() < kTrailerSize) return std::nullopt;
  const char* p = bytes.data();
  if (DecodeFixed64(p) != kTrailerMagic) return std::nullopt;
  if (DecodeFixed64(p + 24) != Checksum64(std::string_view(p, 24))) return std::nullopt;
  return Trailer{DecodeFixed64(p + 8), DecodeFixed64(p + 16)};
}

std::string Where(std::string_view file, uint64_t offset) {
  return absl::StrCat(AV(file), " offset ", offset);
}

}  // namespace segstore::internal
