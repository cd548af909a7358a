// Makes Blocks inside the library (Block's constructor is private).

#ifndef SEGSTORE_SRC_STORE_BLOCK_ACCESS_H_
#define SEGSTORE_SRC_STORE_BLOCK_ACCESS_H_

#include <memory>

#include "segstore/block.h"

namespace segstore::internal {

class BlockAccess {
 public:
  static Block Make(BlockNumber number, std::shared_ptr<const void> pin, const char* data,
                    size_t size) {
    return Block(number, std::move(pin), data, size);
  }
};

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_STORE_BLOCK_ACCESS_H_
