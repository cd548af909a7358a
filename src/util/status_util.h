// Turning errno and foreign errors into absl::Status with actionable text,
// and the RETURN_IF_ERROR / ASSIGN_OR_RETURN helpers Debian's Abseil lacks.

#ifndef SEGSTORE_SRC_UTIL_STATUS_UTIL_H_
#define SEGSTORE_SRC_UTIL_STATUS_UTIL_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace segstore::internal {

// "what: path: strerror(err)", coded by errno: ENOSPC/EDQUOT/EMFILE/ENFILE/
// ENOMEM are ResourceExhausted, ENOENT NotFound, EACCES/EPERM
// PermissionDenied, EEXIST AlreadyExists, everything else Internal.
absl::Status ErrnoStatus(int err, std::string_view what, std::string_view path);

// Converts a std::string_view for Abseil's own string_view (Debian does not
// alias the two).
inline absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Prefixes a status's message, keeping its code.
absl::Status Annotate(const absl::Status& s, std::string_view prefix);

}  // namespace segstore::internal

#define SEGSTORE_CONCAT_INNER(a, b) a##b
#define SEGSTORE_CONCAT(a, b) SEGSTORE_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                 \
  do {                                        \
    ::absl::Status _st = (expr);              \
    if (!_st.ok()) return _st;                \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(SEGSTORE_CONCAT(_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

#endif  // SEGSTORE_SRC_UTIL_STATUS_UTIL_H_
