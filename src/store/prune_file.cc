#include "store/prune_file.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "util/checksum.h"
#include "util/status_util.h"

namespace segstore::internal {
namespace {

std::string UuidHex(const StoreUuid& u) { return absl::BytesToHexString(absl::string_view(u.data(), u.size())); }
std::string Body(const StoreUuid& u, uint64_t n) { return absl::StrCat("segstore-prune 2 ", UuidHex(u), " ", n); }
std::string Hex(uint64_t v) { return absl::StrCat(absl::Hex(v, absl::kZeroPad16)); }
std::string PathOf(const std::string& segments_dir) { return segments_dir + "/" + kPruneFileName; }

}  // namespace

std::string FormatPruneLine(const StoreUuid& uuid, uint64_t n) {
  const std::string body = Body(uuid, n);
  return absl::StrCat(body, " ", Hex(Checksum64(body)), "\n");
}

absl::StatusOr<PrunePoint> ParsePruneLine(std::string_view content, std::string_view path) {
  auto damaged = [&](std::string_view why) {
    return absl::DataLossError(absl::StrCat(std::string(path), " (the prune point) is damaged: ", std::string(why),
                                            "; restore it, or delete it to keep the prune point in meta/ only"));
  };
  if (content.empty() || content.back() != '\n') return damaged("no complete line");
  content.remove_suffix(1);
  std::vector<std::string> parts = absl::StrSplit(absl::string_view(content.data(), content.size()), ' ');
  if (parts.size() != 5 || parts[0] != "segstore-prune" || parts[1] != "2") {
    return damaged("not \"segstore-prune 2 <store uuid> <number> <checksum>\"");
  }
  PrunePoint point;
  // Only the canonical spelling is accepted ("+31", "031" and upper-case hex
  // are not what FormatPruneLine writes).
  const std::string uuid_bytes = parts[2].size() == 32 ? absl::HexStringToBytes(parts[2]) : std::string();
  if (uuid_bytes.size() == point.store.size()) std::copy(uuid_bytes.begin(), uuid_bytes.end(), point.store.begin());
  if (uuid_bytes.size() != point.store.size() || UuidHex(point.store) != parts[2]) {
    return damaged("the store UUID is not 32 lower-case hex digits");
  }
  if (!absl::SimpleAtoi(parts[3], &point.before) || absl::StrCat(point.before) != parts[3]) {
    return damaged("the prune point is not a decimal number");
  }
  if (parts[4] != Hex(Checksum64(Body(point.store, point.before)))) return damaged("checksum mismatch");
  return point;
}

absl::StatusOr<std::optional<PrunePoint>> ReadPruneFile(FileSystem& fs, const std::string& segments_dir) {
  const std::string path = PathOf(segments_dir);
  ASSIGN_OR_RETURN(bool exists, fs.Exists(path));
  if (!exists) return std::optional<PrunePoint>();
  ASSIGN_OR_RETURN(std::unique_ptr<File> f, fs.Open(path, OpenMode::kRead));
  std::string buf(256, '\0');
  ASSIGN_OR_RETURN(size_t got, f->Read(0, buf.data(), buf.size()));
  buf.resize(got);
  ASSIGN_OR_RETURN(PrunePoint point, ParsePruneLine(buf, path));
  return std::optional<PrunePoint>(point);
}

absl::Status CheckPruneFileOwner(const PrunePoint& point, const StoreUuid& uuid, const std::string& segments_dir) {
  if (point.store == uuid) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(
      PathOf(segments_dir), " was written by another store (UUID ", UuidHex(point.store), "; this store is ",
      UuidHex(uuid), "): its prune point (", point.before,
      ") is not this store's; nothing was changed (restore this store's PRUNE, or delete the file to keep the prune "
      "point in meta/ only)"));
}

absl::Status WritePruneFile(FileSystem& fs, const std::string& segments_dir, const StoreUuid& uuid, uint64_t n) {
  const std::string tmp = segments_dir + "/" + kPruneTempName;
  const std::string path = PathOf(segments_dir);
  const std::string line = FormatPruneLine(uuid, n);
  ASSIGN_OR_RETURN(bool stale, fs.Exists(tmp));
  if (stale) RETURN_IF_ERROR(fs.Delete(tmp));
  {
    ASSIGN_OR_RETURN(std::unique_ptr<File> f, fs.Open(tmp, OpenMode::kCreateNew));
    RETURN_IF_ERROR(f->Write(0, line));
    RETURN_IF_ERROR(f->Sync());
  }
  RETURN_IF_ERROR(fs.Rename(tmp, path));
  return fs.SyncDir(segments_dir);
}

}  // namespace segstore::internal
