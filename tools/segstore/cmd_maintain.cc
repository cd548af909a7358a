// segstore prune / compact: space reclamation.

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "commands.h"
#include "common.h"

namespace segstore::cli {

int RunPrune(const PruneArgs& args) {
  absl::StatusOr<std::unique_ptr<BlockStore>> store = OpenStore(args.store, false, false);
  if (!store.ok()) return ReportOpen("prune", store.status());
  const uint64_t before_count = (*store)->BlockCount();
  const uint64_t files_before = (*store)->GetStats().segments;
  absl::Status s = (*store)->PruneBefore(args.before);
  if (!s.ok()) return Report("prune", s);
  StoreStats st = (*store)->GetStats();
  s = (*store)->Close();
  if (!s.ok()) return Report("prune", s);
  std::printf("pruned blocks below %llu: %llu block(s) removed, %llu segment file(s) deleted; %llu block(s) left "
              "(lowest %llu)\n",
              static_cast<unsigned long long>(st.pruned_before),
              static_cast<unsigned long long>(before_count - st.block_count),
              static_cast<unsigned long long>(files_before - st.segments),
              static_cast<unsigned long long>(st.block_count),
              static_cast<unsigned long long>(st.lowest.value_or(0)));
  return kExitOk;
}

int RunCompact(const CompactArgs& args) {
  Options o = ToolOptions();
  o.read_only = args.dry_run;
  o.compaction_bytes_per_second = args.bytes_per_second;
  absl::StatusOr<std::unique_ptr<BlockStore>> store = BlockStore::Open(o, args.store);
  if (!store.ok()) return ReportOpen("compact", store.status());
  CompactOptions co;
  co.dry_run = args.dry_run;
  absl::StatusOr<CompactReport> r = (*store)->Compact(co);
  if (!r.ok()) return Report("compact", r.status());
  absl::Status s = (*store)->Close();
  if (!s.ok()) return Report("compact", s);
  std::printf("%s %llu segment(s) into %llu: %llu block(s) moved, %llu dead record(s) dropped (%s); %s -> %s, "
              "%s reclaimed\n",
              args.dry_run ? "would rewrite" : "rewrote", static_cast<unsigned long long>(r->segments_in),
              static_cast<unsigned long long>(r->segments_out), static_cast<unsigned long long>(r->blocks_moved),
              static_cast<unsigned long long>(r->dead_records), HumanBytes(r->dead_record_bytes).c_str(),
              HumanBytes(r->bytes_before).c_str(), HumanBytes(r->bytes_after).c_str(),
              HumanBytes(r->bytes_reclaimed).c_str());
  std::printf("bytes_reclaimed=%llu\n", static_cast<unsigned long long>(r->bytes_reclaimed));
  return kExitOk;
}

}  // namespace segstore::cli
