// Random 16-byte store identifiers.

#ifndef SEGSTORE_SRC_UTIL_UUID_H_
#define SEGSTORE_SRC_UTIL_UUID_H_

#include <cstdint>
#include <cstring>
#include <random>

#include "segment/record.h"

namespace segstore::internal {

inline StoreUuid NewStoreUuid() {
  std::random_device rd;
  StoreUuid u{};
  for (size_t i = 0; i < u.size(); i += 4) {
    uint32_t v = rd();
    std::memcpy(u.data() + i, &v, 4);
  }
  return u;
}

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_UTIL_UUID_H_
