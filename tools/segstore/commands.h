// The subcommands of `segstore`. Each returns the process exit code.

#ifndef SEGSTORE_TOOLS_SEGSTORE_COMMANDS_H_
#define SEGSTORE_TOOLS_SEGSTORE_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace segstore::cli {

struct ImportArgs {
  std::string store;
  std::vector<std::string> inputs;
  std::optional<uint64_t> start_height;
  bool hex_chain_order = false;
  bool no_link_check = false;
  bool quiet = false;
};
int RunImport(const ImportArgs& args);

struct GetArgs {
  std::string store;
  std::string which;  // number or hash
  std::string out;
  bool hex = false;
};
int RunGet(const GetArgs& args);

struct RangeArgs {
  std::string store;
  uint64_t start = 0;
  uint64_t count = 0;
  std::string out;
  std::string network = "mainnet";
  bool quiet = false;
};
int RunRange(const RangeArgs& args);

struct PutArgs {
  std::string store;
  std::string number;
  std::string file;
};
int RunPut(const PutArgs& args);

struct StatsArgs {
  std::string store;
  bool json = false;
  bool prometheus = false;  // Prometheus text exposition (segstore/scaling.h)
};
int RunStats(const StatsArgs& args);

struct VerifyArgs {
  std::string store;
  bool deep = false;
  bool bitcoin = false;
  bool quiet = false;
};
int RunVerify(const VerifyArgs& args);

struct RebuildArgs {
  std::string store;
  bool quiet = false;
};
int RunRebuildIndex(const RebuildArgs& args);

struct PruneArgs {
  std::string store;
  uint64_t before = 0;
};
int RunPrune(const PruneArgs& args);

struct CompactArgs {
  std::string store;
  bool dry_run = false;
  uint64_t bytes_per_second = 0;
};
int RunCompact(const CompactArgs& args);

struct DemoArgs {
  uint64_t blocks = 4000;
  std::string dir;
  bool keep = false;
  bool quiet = false;
  uint64_t seed = 1;
};
int RunDemo(const DemoArgs& args);

}  // namespace segstore::cli

#endif  // SEGSTORE_TOOLS_SEGSTORE_COMMANDS_H_
