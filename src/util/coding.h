// Fixed-width little-endian encoding for on-disk structs, and big-endian
// encoding for RocksDB keys (so that byte order is numeric order).

#ifndef SEGSTORE_SRC_UTIL_CODING_H_
#define SEGSTORE_SRC_UTIL_CODING_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace segstore::internal {

inline void EncodeFixed32(char* dst, uint32_t v) {
  for (int i = 0; i < 4; ++i) dst[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
inline void EncodeFixed64(char* dst, uint64_t v) {
  for (int i = 0; i < 8; ++i) dst[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
inline uint32_t DecodeFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}
inline uint64_t DecodeFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

inline std::string EncodeBigEndian64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(7 - i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}
// False unless key is exactly 8 bytes.
inline bool DecodeBigEndian64(std::string_view key, uint64_t* v) {
  if (key.size() != 8) return false;
  uint64_t r = 0;
  for (char c : key) r = (r << 8) | uint64_t{static_cast<unsigned char>(c)};
  *v = r;
  return true;
}

inline constexpr uint64_t AlignUp8(uint64_t v) { return (v + 7) & ~uint64_t{7}; }

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_UTIL_CODING_H_
