// The fixed-width lower-case hex numbers of file and column-family names.

#ifndef SEGSTORE_SRC_UTIL_HEX_H_
#define SEGSTORE_SRC_UTIL_HEX_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace segstore::internal {

// Exactly 16 digits 0-9a-f, as "%016x" writes them; anything else nullopt
// (absl::SimpleHexAtoi would also take "0x", upper case and other widths,
// i.e. names the store never writes).
inline std::optional<uint64_t> ParseHex16(std::string_view digits) {
  if (digits.size() != 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : digits) {
    uint64_t d;
    if (c >= '0' && c <= '9') {
      d = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<uint64_t>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
    v = (v << 4) | d;
  }
  return v;
}

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_UTIL_HEX_H_
