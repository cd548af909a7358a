// Copyright segstore authors.
//
// Block: the bytes of one stored block, as returned by BlockStore::Get.
//
// Thread safety: a Block is an immutable value; distinct threads may read
// the same Block at once. It is move-only so that ownership of the pinned
// memory behind it stays obvious.

#ifndef SEGSTORE_INCLUDE_SEGSTORE_BLOCK_H_
#define SEGSTORE_INCLUDE_SEGSTORE_BLOCK_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace segstore {

// Block numbers are 64-bit; valid numbers are [0, kMaxBlockNumber].
using BlockNumber = uint64_t;
inline constexpr BlockNumber kMaxBlockNumber = (BlockNumber{1} << 63) - 1;

namespace internal {
class BlockAccess;
}  // namespace internal

class Block {
 public:
  Block() = default;
  Block(Block&&) noexcept = default;
  Block& operator=(Block&&) noexcept = default;
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;
  ~Block() = default;

  BlockNumber number() const { return number_; }

  // The payload. Valid for as long as this Block lives, whatever happens to
  // the store meanwhile (it pins the segment mapping or the cached copy it
  // points into), including after BlockStore::Close().
  std::string_view data() const { return std::string_view(data_, size_); }

 private:
  friend class internal::BlockAccess;
  Block(BlockNumber number, std::shared_ptr<const void> pin, const char* data, size_t size)
      : number_(number), pin_(std::move(pin)), data_(data), size_(size) {}

  BlockNumber number_ = 0;
  std::shared_ptr<const void> pin_;  // keeps data_ alive
  const char* data_ = "";
  size_t size_ = 0;
};

}  // namespace segstore

#endif  // SEGSTORE_INCLUDE_SEGSTORE_BLOCK_H_
