// What every `segstore` subcommand shares: exit codes, error printing, and
// opening a store with the Bitcoin block-hash key.

#ifndef SEGSTORE_TOOLS_SEGSTORE_COMMON_H_
#define SEGSTORE_TOOLS_SEGSTORE_COMMON_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "segstore/segstore.h"

namespace segstore::cli {

enum Exit : int {
  kExitOk = 0,
  kExitProblems = 1,  // verify found problems, data was damaged, a conflict
  kExitUsage = 2,
  kExitIo = 3,        // I/O error, a store that cannot be opened or is locked
};

// Prints "segstore <command>: <message>" on one line of stderr and returns
// the exit code that fits the status: bad arguments 2; damaged data, an
// absent block or a numbering conflict 1; anything else (I/O, permissions,
// disk full) 3.
int Report(std::string_view command, const absl::Status& status);
// The same for failures to open a store: a missing or locked store is 3.
int ReportOpen(std::string_view command, const absl::Status& status);
int ExitFor(const absl::Status& status);

// Options for stores the tool opens: the key of a block is its Bitcoin hash
// (double SHA-256 of the 80-byte header, internal byte order), so blocks can
// be found by hash; payloads shorter than a header have no key.
Options ToolOptions();
std::optional<std::string> BitcoinKey(std::string_view payload);

absl::StatusOr<std::unique_ptr<BlockStore>> OpenStore(const std::string& dir, bool read_only, bool create);

// Strict decimal parse of a block number in [0, 2^63).
absl::StatusOr<BlockNumber> ParseNumber(std::string_view text);

std::string HumanBytes(uint64_t bytes);

}  // namespace segstore::cli

#endif  // SEGSTORE_TOOLS_SEGSTORE_COMMON_H_
