#include "store/prune_file.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "util/checksum.h"
#include "util/status_util.h"

namespace segstore::internal {
namespace {

std::string Body(uint64_t n) { return absl::StrCat("segstore-prune 1 ", n); }
std::string Hex(uint64_t v) { return absl::StrCat(absl::Hex(v, absl::kZeroPad16)); }

}  // namespace

absl::StatusOr<std::optional<uint64_t>> ReadPruneFile(FileSystem& fs, const std::string& segments_dir) {
  const std::string path = segments_dir + "/" + kPruneFileName;
  ASSIGN_OR_RETURN(bool exists, fs.Exists(path));
  if (!exists) return std::optional<uint64_t>();
  ASSIGN_OR_RETURN(std::unique_ptr<File> f, fs.Open(path, OpenMode::kRead));
  std::string buf(256, '\0');
  ASSIGN_OR_RETURN(size_t got, f->Read(0, buf.data(), buf.size()));
  buf.resize(got);
  auto damaged = [&](std::string_view why) {
    return absl::DataLossError(absl::StrCat(path, " (the prune point) is damaged: ", std::string(why),
                                            "; restore it, or delete it to keep the prune point in meta/ only"));
  };
  if (buf.empty() || buf.back() != '\n') return damaged("no complete line");
  buf.pop_back();
  std::vector<std::string> parts = absl::StrSplit(buf, ' ');
  uint64_t n = 0;
  if (parts.size() != 4 || parts[0] != "segstore-prune" || parts[1] != "1" || !absl::SimpleAtoi(parts[2], &n)) {
    return damaged("not \"segstore-prune 1 <number> <checksum>\"");
  }
  if (parts[3] != Hex(Checksum64(Body(n)))) return damaged("checksum mismatch");
  return std::optional<uint64_t>(n);
}

absl::Status WritePruneFile(FileSystem& fs, const std::string& segments_dir, uint64_t n) {
  const std::string tmp = segments_dir + "/" + kPruneTempName;
  const std::string path = segments_dir + "/" + kPruneFileName;
  const std::string line = absl::StrCat(Body(n), " ", Hex(Checksum64(Body(n))), "\n");
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
