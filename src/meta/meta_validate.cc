#include "meta/meta_validate.h"

#include "absl/strings/str_cat.h"
#include "segment/format.h"
#include "segstore/block.h"
#include "util/status_util.h"

namespace segstore::internal {

absl::Status ValidateSegmentMeta(const proto::SegmentMeta& m, std::string_view where) {
  auto bad = [&](std::string_view what) {
    return absl::DataLossError(absl::StrCat("meta/ segments entry for ", AV(where), ": ", AV(what),
                                            " (run `segstore rebuild-index`)"));
  };
  if (m.state() != proto::SEGMENT_ACTIVE && m.state() != proto::SEGMENT_SEALED) return bad("unknown state");
  if (m.capacity() < kMinSegmentSize || m.capacity() > kMaxSegmentSize) return bad("capacity out of range");
  if (m.has_blocks() && (m.first_block() > m.last_block() || m.last_block() > kMaxBlockNumber)) {
    return bad("block range out of order");
  }
  if (m.has_blocks() && m.record_count() == 0) return bad("no records in a non-empty segment");
  if (m.has_blocks() && m.record_count() - 1 > m.last_block() - m.first_block()) {
    return bad("more records than block numbers");
  }
  if (m.state() == proto::SEGMENT_ACTIVE) {
    if (m.synced_offset() < kSegmentHeaderSize || m.synced_offset() > m.capacity()) {
      return bad("synced offset outside the file");
    }
  } else {
    if (m.file_size() > m.capacity() || m.footer_offset() < kSegmentHeaderSize ||
        m.footer_offset() > m.file_size() || m.footer_length() > m.file_size() - m.footer_offset()) {
      return bad("footer location outside the file");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateManifest(const proto::StoreManifest& m, std::string_view dir) {
  if (m.format_version() > kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(AV(dir), " was written by a newer segstore (format version ",
                                                      m.format_version(), "; this build reads up to ", kFormatVersion,
                                                      ")"));
  }
  if (m.store_uuid().size() != 16 || m.journal_shard_blocks() == 0 || m.format_version() == 0) {
    return absl::DataLossError(absl::StrCat(AV(dir), "/meta store manifest is damaged (run `segstore rebuild-index`)"));
  }
  if (m.checksum_kind() != proto::CHECKSUM_XXH3_64) {
    return absl::FailedPreconditionError(absl::StrCat(AV(dir), " uses checksum kind ", m.checksum_kind(),
                                                      ", which this build does not support"));
  }
  return absl::OkStatus();
}

}  // namespace segstore::internal
