// Copyright segstore authors.
//
// Options for BlockStore::Open. Every in-memory structure of a store has a
// bound here. Fields marked "fixed at creation" are recorded in the store's
// manifest; opening with a different value is InvalidArgument. All other
// fields may differ from one open to the next.

#ifndef SEGSTORE_INCLUDE_SEGSTORE_OPTIONS_H_
#define SEGSTORE_INCLUDE_SEGSTORE_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "segstore/block.h"

namespace segstore {

class BackingStore;
class FileSystem;

// Verified reads of payloads smaller than this always hash them instead of
// consulting Options::validation_cache_entries' cache: hashing them costs
// less than the lookup.
inline constexpr size_t kValidationCacheMinPayload = size_t{16} << 10;

struct Options {
  // Create the store (directory, meta/, segments/) if it does not exist.
  // Default: false.
  bool create_if_missing = false;

  // Fail with AlreadyExists if the store exists. Default: false.
  bool error_if_exists = false;

  // Open without writing anything: no recovery repairs are persisted, every
  // write is FailedPrecondition. Fails if another process holds the store
  // for writing. Several read-only opens may share a store. Default: false.
  bool read_only = false;

  // The number Append() gives the first block of an empty store. Fixed at
  // creation. Default: 0.
  BlockNumber first_block_number = 0;

  // Capacity of each new segment file, preallocated when it is created.
  // Existing segments keep their size. The largest payload is a little under
  // this (see BlockStore::MaxPayloadSize). Range: [64 KiB, 1 TiB].
  // Default: 64 MiB.
  uint64_t segment_size = uint64_t{64} << 20;

  // Block numbers per journal shard (one RocksDB column family each). A
  // shard is dropped once all of its range is in sealed segments. Fixed at
  // creation. Default: 1,048,576 (chosen by measurement: README, "Journal
  // shards").
  uint64_t journal_shard_blocks = uint64_t{1} << 20;

  // Block cache for blocks read from segments that are not mapped: an LRU
  // bounded both by entries and by payload bytes. 0 disables it.
  // Default: 100,000 entries, 256 MiB.
  size_t block_cache_entries = 100'000;
  size_t block_cache_bytes = size_t{256} << 20;

  // Decoded segment footers (block tables of sealed segments), LRU bounded
  // by entries and bytes. Default: 10,000 footers, 64 MiB.
  size_t manifest_cache_entries = 10'000;
  size_t manifest_cache_bytes = size_t{64} << 20;

  // Records whose payload checksum was verified recently: a read of the
  // same record within the TTL does not hash its payload again (the record
  // header is still checked). Bounds how long bit rot that appears under a
  // mapped block can go unnoticed by reads; Verify() always hashes.
  // Payloads under kValidationCacheMinPayload are always hashed (cheaper
  // than the lookup).
  // 0 entries disables it. Default: 50,000 entries, 5 minutes.
  size_t validation_cache_entries = 50'000;
  absl::Duration validation_cache_ttl = absl::Minutes(5);

  // Sealed segments kept mapped besides the active one (the hot tier); older
  // segments are read with pread. Default: 4.
  size_t hot_segments = 4;

  // Sealed segments kept on local disk besides the hot ones (the warm
  // tier); older sealed segments move to the cold tier, as segments seal and
  // on BlockStore::Rebalance(). Default: no limit (nothing becomes cold).
  size_t warm_segments = SIZE_MAX;

  // Where cold segments go. backing_store, if set, is used as is (an object
  // store, say); otherwise a local directory at cold_path (default:
  // STORE/cold). A cold block is fetched on demand with one ranged read of
  // its record. Default: none / "".
  std::shared_ptr<BackingStore> backing_store;
  std::string cold_path;

  // Open descriptors of sealed segment files for pread (LRU). Default: 256.
  size_t max_open_files = 256;

  // RocksDB (meta/): open table files and the memtable budget that all
  // column families share (a rocksdb::WriteBufferManager).
  // Default: 64 files, 64 MiB.
  int meta_max_open_files = 64;
  size_t meta_memtable_bytes = size_t{64} << 20;

  // Writers admitted at once (a semaphore); the rest queue. Admitted
  // appenders reserve space in the active segment, write their records in
  // parallel and are published in number order; sync writes that arrive
  // together share one sync (group commit). 0 means the number of hardware
  // threads. Default: 0.
  size_t max_concurrent_writes = 0;

  // Backpressure from the depth of the write queue (writers waiting for
  // admission): at the warning depth the state is "warning"; at the critical
  // depth a write with a deadline fails at once with ResourceExhausted
  // instead of queueing. Default: 64 and 256.
  size_t write_queue_warning_depth = 64;
  size_t write_queue_critical_depth = 256;

  // Journal entries (and secondary keys) of acknowledged blocks buffered in
  // memory before they are written to RocksDB in one batch; a sync, a seal
  // or Close writes them sooner. Recovery rebuilds the journal of the
  // unsealed tail from the segment itself, so the buffer costs no
  // durability. Range: [1, 1,000,000]. Default: 1,024.
  size_t journal_batch_blocks = 1024;

  // GetRange returns at most this many payload bytes (always at least one
  // block if one is present). Default: 64 MiB.
  size_t max_range_bytes = size_t{64} << 20;

  // Compact() copies at most this many bytes per second (0: unthrottled),
  // so that foreground appends keep their share of the disk. Default: 0.
  uint64_t compaction_bytes_per_second = 0;

  // Receives one line per notable event (recovery, seals, shard retirement).
  // Called from the thread doing the work. Default: none.
  std::function<void(std::string_view line)> info_log;

  // Optional secondary key of a block (for example its hash), computed from
  // the payload alone and kept in the `keys` column family so that
  // BlockStore::FindByKey() maps it back to the block number;
  // `segstore rebuild-index` recomputes it from the segment files. Must be a
  // pure function of the payload; nullopt means "no key". Default: none.
  std::function<std::optional<std::string>(std::string_view payload)> key_extractor;

  // Where segment files are read and written. Default: DefaultFileSystem().
  std::shared_ptr<FileSystem> file_system;
};

struct WriteOptions {
  // Make this write, and every write acknowledged before it, durable
  // (survives power loss) before returning. Default: false (the write
  // survives a crash of the process, not of the machine).
  bool sync = false;
  // Give up if the write cannot be admitted by then (DeadlineExceeded), and
  // fail at once with ResourceExhausted when the write queue is at its
  // critical depth. Default: none (wait as long as it takes).
  std::optional<absl::Time> deadline = std::nullopt;
};

struct ReadOptions {
  // Check the payload checksum; a mismatch is DataLoss. Default: true.
  bool verify_checksum = true;
  // Keep a block read with pread in the block cache. Default: true.
  bool fill_cache = true;
};

}  // namespace segstore

#endif  // SEGSTORE_INCLUDE_SEGSTORE_OPTIONS_H_
