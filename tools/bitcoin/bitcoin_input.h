// Bitcoin block input for `segstore import`.
//
// Reads Bitcoin Core block files (blk?????.dat, optionally obfuscated with
// the directory's xor.dat) and text files of one hex block per line, and
// orders the blocks into one chain the way a node's -reindex does. Pass one
// indexes every record (file, offset, size, hash, prev hash) reading only
// record and block headers; ChainReader::ReadBlock then reads one block at a
// time, so memory stays O(number of blocks), never O(input bytes).
//
// Errors are absl::Status values; nothing here throws (except std::bad_alloc).
#ifndef SEGSTORE_TOOLS_BITCOIN_BITCOIN_INPUT_H_
#define SEGSTORE_TOOLS_BITCOIN_BITCOIN_INPUT_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace segstore::tools {

// A SHA-256d hash in internal byte order (as stored in headers). Display
// order ("000000000019d6...") is the byte reversal.
using Hash256 = std::array<uint8_t, 32>;

inline constexpr uint64_t kBlockHeaderSize = 80;
inline constexpr uint64_t kFrameHeaderSize = 8;  // magic + LE32 size
// Largest record accepted. Bitcoin Core's own limit on a blk record is
// MAX_BLOCK_SERIALIZED_SIZE = 4 MB; 32 MiB leaves room for other networks
// while bounding what a hostile size field can make us allocate.
inline constexpr uint64_t kMaxBlockSize = uint64_t{32} << 20;

// Network magics, written as the hex of their bytes in file order: mainnet
// files start with the bytes f9 be b4 d9.
inline constexpr uint32_t kMagicMainnet = 0xf9beb4d9;
inline constexpr uint32_t kMagicTestnet3 = 0x0b110907;
inline constexpr uint32_t kMagicTestnet4 = 0x1c163f28;
inline constexpr uint32_t kMagicSignet = 0x0a03cf40;
inline constexpr uint32_t kMagicRegtest = 0xfabfb5da;

bool IsKnownMagic(uint32_t magic);
// "mainnet", "testnet3", "testnet4", "signet", "regtest" or "unknown".
std::string_view NetworkName(uint32_t magic);

// --- hashes -------------------------------------------------------------------
// These take a raw serialized block (or just its 80-byte header). Input
// shorter than 80 bytes gives an all-zero hash ("" for BlockHashHex); use
// ParseBlockHeader when the input is untrusted.
Hash256 BlockHash(std::string_view raw_block);         // SHA-256d of the header
Hash256 PrevHash(std::string_view raw_block);          // header bytes 4..36
std::string BlockHashHex(std::string_view raw_block);  // display order

std::string HashToHex(const Hash256& internal);  // display order, lowercase
// 64 hex digits in display order (either case) -> internal order.
absl::StatusOr<Hash256> ParseHashHex(std::string_view display_hex);
bool IsNullHash(const Hash256& hash);

struct BlockHeaderInfo {
  Hash256 hash{};
  Hash256 prev{};
};
// InvalidArgument if raw_block is shorter than 80 bytes.
absl::StatusOr<BlockHeaderInfo> ParseBlockHeader(std::string_view raw_block);

// --- framing (for `segstore range ... -o FILE`) --------------------------------
// The 8 bytes that precede a block in a blk file. InvalidArgument if the
// magic is not one of the five above or block_size is outside
// [80, kMaxBlockSize], i.e. anything ChainReader would refuse to read back.
absl::StatusOr<std::array<uint8_t, 8>> FrameHeader(uint64_t block_size,
                                                   uint32_t magic = kMagicMainnet);
// FrameHeader + the block: appending these to a file gives a blk file that
// ChainReader re-imports (use FrameHeader to avoid the copy for big blocks).
absl::StatusOr<std::string> FrameBlock(std::string_view raw_block, uint32_t magic = kMagicMainnet);

// --- input detection ------------------------------------------------------------
enum class InputKind {
  kBlocksDir,  // a directory of blk?????.dat files, or a datadir with blocks/
  kBlkFile,    // records of magic + LE32 size + block (an empty file counts)
  kHexFile,    // one hex-encoded block per line
};
std::string_view InputKindName(InputKind kind);

// Decides by content (a file's first bytes; xor.dat next to it is applied),
// not by name. Directories must contain blk?????.dat files or blocks/.
absl::StatusOr<InputKind> DetectInputKind(const std::string& path);

// --- chain ordering ----------------------------------------------------------------
struct ChainOptions {
  enum class HexOrder {
    kLineOrder,  // line n of the concatenated hex inputs is height start+n-1
    kChain,      // order hex blocks by prev-hash links, like blk inputs
  };
  // Applies only when every input is a hex file; any blk input puts all
  // blocks into chain order (line order means nothing across blk records).
  HexOrder hex_order = HexOrder::kLineOrder;
  // Line order: each block's prev hash must be the previous line's hash
  // (error otherwise). Turn off to import unrelated sample blocks.
  bool check_hex_links = true;
  // Height of the first block. Unset: the input must start at a genesis block
  // (prev hash all zeros), which gets height 0 (in line order this is checked
  // only with check_hex_links). Chain order uses it only when the input has
  // no genesis block, and refuses a non-zero value when it has one.
  std::optional<uint64_t> start_height;
};

struct InputFile {
  std::string path;
  InputKind kind = InputKind::kBlkFile;  // kBlkFile or kHexFile
  uint64_t size = 0;
  bool obfuscated = false;  // xor_key applied (blk files only)
  std::array<uint8_t, 8> xor_key{};
};

struct BlockLocation {
  uint64_t file = 0;    // index into ChainReader::files()
  uint64_t offset = 0;  // blk: offset of the record's magic; hex: of the line
  uint64_t size = 0;    // block bytes (kGarbage: bytes skipped)
  uint64_t line = 0;    // hex: 1-based line number; blk: 0
};

struct ChainEntry {
  uint64_t height = 0;
  Hash256 hash{};
  BlockLocation location;
};

enum class SkipReason {
  kFork,       // on a side branch shorter than the main chain
  kOrphan,     // not connected to the main chain's first block
  kDuplicate,  // a second copy of a block already indexed
  kGarbage,    // bytes in a blk file that are neither a record nor zero fill
};
std::string_view SkipReasonName(SkipReason reason);

struct Skipped {
  SkipReason reason = SkipReason::kOrphan;
  Hash256 hash{};  // all zeros for kGarbage
  BlockLocation location;
  std::string message;  // one line for humans: where, which block, why
};

struct ChainStats {
  uint64_t files = 0;
  uint64_t records = 0;  // blocks found, duplicates included
  uint64_t chain_blocks = 0;
  uint64_t chain_bytes = 0;
  uint64_t fork_blocks = 0;
  uint64_t orphan_blocks = 0;
  uint64_t duplicate_blocks = 0;
  uint64_t garbage_regions = 0;
  uint64_t garbage_bytes = 0;
  uint64_t padding_bytes = 0;    // zero fill (preallocated space) in blk files
  uint64_t hex_link_breaks = 0;  // line order with check_hex_links = false
  bool chain_ordered = false;    // false: hex line order
  uint32_t magic = 0;            // network of the blk records (0: hex only)
};

// The ordered blocks of a set of inputs. Movable, not copyable. ReadBlock
// keeps one file open between calls, so a reader is for one thread at a time.
class ChainReader {
 public:
  // inputs: blk files, hex files and blocks directories, in the order they
  // count as "seen" (ties between equal-length branches go to the first
  // seen tip, as in Bitcoin Core). A directory expands to its blk files in
  // numeric order. Errors name the file and the offset or line.
  static absl::StatusOr<ChainReader> Open(std::vector<std::string> inputs,
                                          const ChainOptions& options = {});

  ChainReader(ChainReader&& other) noexcept;
  ChainReader& operator=(ChainReader&& other) noexcept;
  ChainReader(const ChainReader&) = delete;
  ChainReader& operator=(const ChainReader&) = delete;
  ~ChainReader();

  uint64_t size() const { return entries_.size(); }
  // Height of entry i (height of entry 0 plus i). Requires i < size().
  uint64_t Height(uint64_t i) const { return entries_[i].height; }
  const ChainEntry& entry(uint64_t i) const { return entries_[i]; }
  const std::vector<ChainEntry>& entries() const { return entries_; }
  // Forks, orphans and garbage, sorted by file and offset.
  const std::vector<Skipped>& skipped() const { return skipped_; }
  // Extra copies of blocks that are indexed once (e.g. genesis in two files).
  const std::vector<Skipped>& duplicates() const { return duplicates_; }
  const ChainStats& stats() const { return stats_; }
  const std::vector<InputFile>& files() const { return files_; }

  // The raw block of entry i. OutOfRange if i >= size(); DataLoss if the
  // bytes no longer hash to the indexed hash (file changed since Open).
  absl::StatusOr<std::string> ReadBlock(uint64_t i);
  // Same, reusing *out's buffer.
  absl::Status ReadBlockInto(uint64_t i, std::string* out);

 private:
  ChainReader() = default;
  void CloseCached();

  std::vector<InputFile> files_;
  std::vector<ChainEntry> entries_;
  std::vector<Skipped> skipped_;
  std::vector<Skipped> duplicates_;
  ChainStats stats_;
  int cached_fd_ = -1;
  uint64_t cached_file_ = 0;
};

}  // namespace segstore::tools

#endif  // SEGSTORE_TOOLS_BITCOIN_BITCOIN_INPUT_H_
