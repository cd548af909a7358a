#include "util/status_util.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace segstore::internal {

absl::Status ErrnoStatus(int err, std::string_view what, std::string_view path) {
  std::string msg = absl::StrCat(AV(what), ": ", AV(path), ": ", std::strerror(err));
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(absl::StrCat(msg, " (free disk space, then retry)"));
    case EMFILE:
    case ENFILE:
      return absl::ResourceExhaustedError(
          absl::StrCat(msg, " (out of file descriptors: raise `ulimit -n` or lower Options::max_open_files)"));
    case ENOMEM:
      return absl::ResourceExhaustedError(absl::StrCat(
          msg, " (out of memory, address space or mappings (vm.max_map_count): free some, or lower hot_segments)"));
    case ENOENT:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    case ENOTDIR:
    case EISDIR:
      return absl::FailedPreconditionError(
          absl::StrCat(msg, " (a file is where a directory should be, or the reverse: check the path)"));
    default:
      return absl::InternalError(msg);
  }
}

absl::Status Annotate(const absl::Status& s, std::string_view prefix) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(AV(prefix), ": ", s.message()));
}

}  // namespace segstore::internal
