#include "tier/cold_segment.h"

#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "segment/format.h"
#include "segment/record.h"
#include "util/checksum.h"
#include "util/status_util.h"

namespace segstore::internal {
namespace {

class ColdSegmentFile final : public File {
 public:
  ColdSegmentFile(std::shared_ptr<BackingStore> store, std::string name, uint64_t known_size)
      : store_(std::move(store)), name_(std::move(name)), size_(known_size) {}

  // A segment's cold object that is gone is lost data, not an absent block.
  absl::StatusOr<size_t> Read(uint64_t offset, char* dst, size_t n) override {
    absl::StatusOr<size_t> got = store_->ReadAt(name_, offset, n, dst);
    if (absl::IsNotFound(got.status())) return Missing(got.status());
    return got;
  }
  absl::Status Write(uint64_t, std::string_view) override { return ReadOnly("write"); }
  absl::Status Allocate(uint64_t, uint64_t) override { return ReadOnly("allocate"); }
  absl::Status Truncate(uint64_t) override { return ReadOnly("truncate"); }
  absl::Status Sync() override { return ReadOnly("sync"); }
  absl::StatusOr<uint64_t> Size() override {
    uint64_t s = size_.load(std::memory_order_relaxed);
    if (s != 0) return s;
    absl::StatusOr<uint64_t> got = store_->Size(name_);
    if (absl::IsNotFound(got.status())) return Missing(got.status());
    RETURN_IF_ERROR(got.status());
    size_.store(*got, std::memory_order_relaxed);
    return *got;
  }
  static absl::Status Missing(const absl::Status& s) {
    return absl::DataLossError(absl::StrCat("the cold copy of a segment is missing: ", s.message()));
  }

 private:
  absl::Status ReadOnly(std::string_view op) const {
    return absl::FailedPreconditionError(absl::StrCat("cannot ", AV(op), " cold segment ", name_, " in ",
                                                      store_->Describe(), ": it is read-only"));
  }

  const std::shared_ptr<BackingStore> store_;
  const std::string name_;
  std::atomic<uint64_t> size_;
};

}  // namespace

std::unique_ptr<File> OpenColdSegment(std::shared_ptr<BackingStore> store, std::string name,
                                      uint64_t known_size) {
  return std::make_unique<ColdSegmentFile>(std::move(store), std::move(name), known_size);
}

absl::StatusOr<std::string> ReadRecord(File& file, std::string_view where, uint64_t seed,
                                       const IndexEntry& entry, bool verify_checksum) {
  if (entry.offset < kSegmentHeaderSize || entry.length > kMaxSegmentSize) {
    return absl::DataLossError(absl::StrCat(Where(where, entry.offset), ": block ", entry.number,
                                            " has an impossible location (length ", entry.length, ")"));
  }
  // The entry may come from a damaged footer: check it against the object's
  // size before allocating anything.
  ASSIGN_OR_RETURN(uint64_t size, file.Size());
  if (entry.offset > size || kRecordHeaderSize + entry.length > size - entry.offset) {
    return absl::DataLossError(absl::StrCat(Where(where, entry.offset), ": block ", entry.number, " (", entry.length,
                                            " bytes) lies past the end of the ", size, "-byte segment"));
  }
  std::string buf(static_cast<size_t>(kRecordHeaderSize + entry.length), '\0');
  ASSIGN_OR_RETURN(size_t n, file.Read(entry.offset, buf.data(), buf.size()));
  if (n != buf.size()) {
    return absl::DataLossError(absl::StrCat(Where(where, entry.offset), ": block ", entry.number,
                                            " lies past the end of the segment (", n, " of ", buf.size(),
                                            " bytes read)"));
  }
  std::optional<RecordHeader> h = DecodeRecordHeader(buf, seed);
  if (!h || h->type != RecordType::kBlock || h->number != entry.number || h->length != entry.length) {
    return absl::DataLossError(
        absl::StrCat(Where(where, entry.offset), ": no valid record of block ", entry.number, " here"));
  }
  buf.erase(0, kRecordHeaderSize);
  if (verify_checksum && Checksum64(buf) != h->payload_checksum) {
    return absl::DataLossError(
        absl::StrCat(Where(where, entry.offset), ": block ", entry.number, " payload checksum mismatch"));
  }
  return buf;
}

}  // namespace segstore::internal
