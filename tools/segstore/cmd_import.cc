// segstore import STORE INPUT...: Bitcoin blocks into a store, block number
// = height, resumable.

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "bitcoin/bitcoin_input.h"
#include "commands.h"
#include "common.h"
#include "progress.h"

namespace segstore::cli {

int RunImport(const ImportArgs& args) {
  tools::ChainOptions co;
  co.start_height = args.start_height;
  co.hex_order = args.hex_chain_order ? tools::ChainOptions::HexOrder::kChain
                                      : tools::ChainOptions::HexOrder::kLineOrder;
  co.check_hex_links = !args.no_link_check;
  absl::StatusOr<tools::ChainReader> reader = tools::ChainReader::Open(args.inputs, co);
  if (!reader.ok()) return Report("import", reader.status());
  if (reader->size() == 0) {
    return Report("import", absl::NotFoundError("no blocks found in the input; nothing was imported"));
  }
  if (reader->Height(reader->size() - 1) > kMaxBlockNumber || reader->Height(0) > kMaxBlockNumber) {
    return Report("import", absl::InvalidArgumentError(absl::StrCat(
                                "the input's heights would run past the largest block number ", kMaxBlockNumber,
                                " (check --start-height); nothing was imported")));
  }
  absl::StatusOr<std::unique_ptr<BlockStore>> store = OpenStore(args.store, false, true);
  if (!store.ok()) return ReportOpen("import", store.status());

  const uint64_t total = reader->size();
  Progress progress("import", total, args.quiet);
  uint64_t added = 0, present = 0, bytes = 0;
  std::string raw;
  for (uint64_t i = 0; i < total; ++i) {
    const tools::ChainEntry& e = reader->entry(i);
    if (absl::Status s = reader->ReadBlockInto(i, &raw); !s.ok()) return Report("import", s);
    absl::StatusOr<Block> existing = (*store)->Get(e.height);
    if (existing.ok()) {
      if (tools::BlockHash(existing->data()) != e.hash) {
        return Report("import", absl::AlreadyExistsError(absl::StrCat(
                                    "height ", e.height, " already holds block ",
                                    tools::BlockHashHex(existing->data()), ", the input has ",
                                    tools::HashToHex(e.hash), " (a different chain; nothing after it was imported)")));
      }
      ++present;
    } else if (absl::IsNotFound(existing.status())) {
      absl::StatusOr<BlockNumber> elsewhere =
          (*store)->FindByKey(std::string(reinterpret_cast<const char*>(e.hash.data()), e.hash.size()));
      if (elsewhere.ok()) {
        return Report("import", absl::AlreadyExistsError(absl::StrCat(
                                    "block ", tools::HashToHex(e.hash), " is already stored at height ", *elsewhere,
                                    "; the input puts it at height ", e.height,
                                    " (a different --start-height?); nothing after it was imported")));
      }
      if (absl::Status s = (*store)->Put(e.height, raw); !s.ok()) {
        return Report("import", absl::Status(s.code(), absl::StrCat("block at height ", e.height, ": ", s.message())));
      }
      ++added;
    } else {
      return Report("import", existing.status());
    }
    bytes += raw.size();
    progress.Update(i + 1, bytes);
  }
  progress.Finish();
  if (absl::Status s = (*store)->Close(); !s.ok()) return Report("import", s);

  const tools::ChainStats& st = reader->stats();
  std::printf("imported %llu block(s) into %s", static_cast<unsigned long long>(added), args.store.c_str());
  if (total > 0) {
    std::printf(" (heights %llu..%llu, %s)", static_cast<unsigned long long>(reader->Height(0)),
                static_cast<unsigned long long>(reader->Height(total - 1)), HumanBytes(bytes).c_str());
  }
  std::printf("; %llu already present%s\n", static_cast<unsigned long long>(present),
              added == 0 && present > 0 ? " (nothing to add)" : "");
  std::printf("read %llu record(s) from %llu file(s); skipped %zu: %llu fork, %llu orphan, %llu garbage region(s)",
              static_cast<unsigned long long>(st.records), static_cast<unsigned long long>(st.files),
              reader->skipped().size(), static_cast<unsigned long long>(st.fork_blocks),
              static_cast<unsigned long long>(st.orphan_blocks), static_cast<unsigned long long>(st.garbage_regions));
  std::printf("; %llu duplicate(s)\n", static_cast<unsigned long long>(st.duplicate_blocks));
  size_t shown = 0;
  for (const tools::Skipped& s : reader->skipped()) {
    if (++shown > 50) {
      std::printf("  ... and %zu more\n", reader->skipped().size() - 50);
      break;
    }
    std::printf("  %s\n", s.message.c_str());
  }
  if (st.orphan_blocks > 0 || st.garbage_regions > 0) {
    std::fprintf(stderr, "segstore import: the input has %llu orphan block(s) and %llu damaged region(s) (listed above)\n",
                 static_cast<unsigned long long>(st.orphan_blocks),
                 static_cast<unsigned long long>(st.garbage_regions));
    return kExitProblems;
  }
  return kExitOk;
}

}  // namespace segstore::cli
