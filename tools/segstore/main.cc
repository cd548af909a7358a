// segstore: the command-line tool. Exit codes: 0 ok, 1 problems found,
// 2 usage, 3 I/O or lock failure.

#include <CLI/CLI.hpp>
#include <cstdio>

#include "commands.h"
#include "common.h"

using namespace segstore::cli;  // NOLINT: the tool's own namespace

int main(int argc, char** argv) {
  CLI::App app{"segstore: store, inspect, verify and repair block stores"};
  app.require_subcommand(1);
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "No progress bar")->configurable(false);
  app.fallthrough();

  ImportArgs imp;
  CLI::App* import = app.add_subcommand(
      "import",
      "Import Bitcoin blocks: blocks directories or blk?????.dat files (any network; xor.dat obfuscation is "
      "read through), or text files of one hex block per line. Block number = height; the chain with the most "
      "blocks wins; re-running adds nothing.");
  import->add_option("store", imp.store, "Store directory (created if missing)")->required();
  import->add_option("inputs", imp.inputs, "Blocks directories, blk files or hex files")->required();
  import->add_option("--start-height", imp.start_height, "Height of the first block when the input has no genesis");
  import->add_flag("--hex-chain-order", imp.hex_chain_order, "Order hex lines by prev-hash links, not line order");
  import->add_flag("--no-link-check", imp.no_link_check, "Hex line order: do not require each block to link to the previous line");

  GetArgs get;
  CLI::App* getc = app.add_subcommand("get", "Print or write one block, by number or by hash");
  getc->add_option("store", get.store, "Store directory")->required();
  getc->add_option("which", get.which, "Block number, or block hash (64 hex digits, display order)")->required();
  getc->add_option("-o,--output", get.out, "Write the raw block to this file");
  getc->add_flag("--hex", get.hex, "Print the block as hex");

  RangeArgs rng;
  CLI::App* range = app.add_subcommand("range", "Write blocks [START, START+COUNT) in blk framing (re-importable)");
  range->add_option("store", rng.store, "Store directory")->required();
  range->add_option("start", rng.start, "First block number")->required();
  range->add_option("count", rng.count, "How many numbers to cover")->required();
  range->add_option("-o,--output", rng.out, "Output file")->required();
  range->add_option("--network", rng.network, "Magic to frame with: mainnet, testnet3, testnet4, signet, regtest");

  PutArgs put;
  CLI::App* putc = app.add_subcommand("put", "Store one raw block from a file (durably)");
  putc->add_option("store", put.store, "Store directory (created if missing)")->required();
  putc->add_option("number", put.number, "Block number")->required();
  putc->add_option("file", put.file, "File with the raw block")->required();

  StatsArgs stats;
  CLI::App* statsc = app.add_subcommand("stats", "Block count, numbers, segments, journal shards, cache settings");
  statsc->add_option("store", stats.store, "Store directory")->required();
  CLI::Option* json = statsc->add_flag("--json", stats.json, "Machine-readable output");
  statsc->add_flag("--prometheus", stats.prometheus, "Metrics in Prometheus text exposition format")->excludes(json);

  VerifyArgs ver;
  CLI::App* verify = app.add_subcommand("verify", "Check segment files against the index (opens read-only)");
  verify->add_option("store", ver.store, "Store directory")->required();
  verify->add_flag("--deep", ver.deep, "Also check every payload's checksum");
  verify->add_flag("--bitcoin", ver.bitcoin, "Also check that every block links to its predecessor by hash");

  RebuildArgs reb;
  CLI::App* rebuild = app.add_subcommand(
      "rebuild-index", "Rebuild STORE/meta/ from the segment files alone (old meta/ kept as meta.old-<UTC time>)");
  rebuild->add_option("store", reb.store, "Store directory")->required();

  PruneArgs prn;
  CLI::App* prune = app.add_subcommand(
      "prune", "Durably remove every block below --before N (segments holding only such blocks are deleted)");
  prune->add_option("store", prn.store, "Store directory")->required();
  prune->add_option("--before", prn.before, "Blocks below this number go; the highest block is always kept")
      ->required();

  CompactArgs cmp;
  CLI::App* compact = app.add_subcommand(
      "compact", "Merge underfull sealed segments and rewrite those holding pruned blocks; report bytes reclaimed");
  compact->add_option("store", cmp.store, "Store directory")->required();
  compact->add_flag("--dry-run", cmp.dry_run, "Only report what would be rewritten and reclaimed");
  compact->add_option("--bytes-per-second", cmp.bytes_per_second, "Throttle the copying (0: unthrottled)");

  DemoArgs demo;
  CLI::App* democ = app.add_subcommand("demo", "Generate a synthetic chain, import, read back, rebuild, verify");
  democ->add_option("--blocks", demo.blocks, "Number of blocks (default 4000, about 504 MB)");
  democ->add_option("--dir", demo.dir, "Working directory (default: $TMPDIR/segstore-demo, removed afterwards)");
  democ->add_option("--seed", demo.seed, "Random seed of the synthetic chain");
  democ->add_flag("--keep", demo.keep, "Keep the working directory");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "segstore: %s (see segstore --help)\n", e.what());
    return kExitUsage;
  }
  imp.quiet = rng.quiet = ver.quiet = reb.quiet = demo.quiet = quiet;
  if (*import) return RunImport(imp);
  if (*getc) return RunGet(get);
  if (*range) return RunRange(rng);
  if (*putc) return RunPut(put);
  if (*statsc) return RunStats(stats);
  if (*verify) return RunVerify(ver);
  if (*rebuild) return RunRebuildIndex(reb);
  if (*prune) return RunPrune(prn);
  if (*compact) return RunCompact(cmp);
  if (*democ) return RunDemo(demo);
  return kExitUsage;
}
