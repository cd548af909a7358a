// segstore stats / verify / rebuild-index: looking at a store and repairing
// its index.

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bitcoin/bitcoin_input.h"
#include "commands.h"
#include "common.h"
#include "progress.h"
#include "segstore/rebuild.h"

namespace segstore::cli {
namespace {

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string OptNumber(const std::optional<BlockNumber>& n) { return n ? absl::StrCat(*n) : "null"; }

// --bitcoin: every block's prev hash must be the hash of the block before it,
// and its hash must find it through the keys index.
void CheckChain(BlockStore& store, bool quiet, std::vector<std::string>* problems, uint64_t* checked) {
  std::optional<BlockNumber> lo = store.LowestNumber(), hi = store.HighestNumber();
  if (!lo || !hi) return;
  Progress progress("verify --bitcoin", *hi - *lo + 1, quiet);
  // The block before the current one, when it was read and parsed.
  bool have_prev = false;
  tools::Hash256 prev{};
  BlockNumber prev_n = 0;
  BlockNumber cursor = *lo;
  uint64_t bytes = 0;
  // A damaged block fails the whole GetRange: halve the span until the
  // failing block is alone, report it, and go on past it.
  uint64_t span = *hi - *lo + 1;
  while (cursor <= *hi) {
    span = std::min(span, *hi - cursor + 1);
    absl::StatusOr<std::vector<Block>> blocks = store.GetRange(cursor, span);
    if (!blocks.ok()) {
      if (span > 1) {
        span /= 2;
        continue;
      }
      problems->push_back(std::string(blocks.status().message()));
      have_prev = false;
      ++cursor;
      span = *hi - *lo + 1;
      continue;
    }
    span = *hi - *lo + 1;
    if (blocks->empty()) break;
    for (const Block& b : *blocks) {
      ++*checked;
      bytes += b.data().size();
      absl::StatusOr<tools::BlockHeaderInfo> h = tools::ParseBlockHeader(b.data());
      if (!h.ok()) {
        problems->push_back(absl::StrCat("block ", b.number(), ": not a Bitcoin block (", h.status().message(), ")"));
        have_prev = false;
        continue;
      }
      if (have_prev && b.number() != prev_n + 1) {
        problems->push_back(absl::StrCat("gap: no blocks between ", prev_n, " and ", b.number()));
      } else if (have_prev && h->prev != prev) {
        problems->push_back(absl::StrCat("block ", b.number(), " (", tools::HashToHex(h->hash),
                                         ") does not link to block ", prev_n, " (", tools::HashToHex(prev), ")"));
      }
      absl::StatusOr<BlockNumber> by_hash =
          store.FindByKey(std::string(reinterpret_cast<const char*>(h->hash.data()), h->hash.size()));
      if (!by_hash.ok() || *by_hash != b.number()) {
        problems->push_back(absl::StrCat("block ", b.number(), ": its hash ", tools::HashToHex(h->hash),
                                         " is not in the hash index"));
      }
      prev = h->hash;
      prev_n = b.number();
      have_prev = true;
    }
    cursor = blocks->back().number() + 1;
    progress.Update(cursor - *lo, bytes);
  }
}

}  // namespace

int RunStats(const StatsArgs& args) {
  absl::StatusOr<std::unique_ptr<BlockStore>> store = OpenStore(args.store, true, false);
  if (!store.ok()) return ReportOpen("stats", store.status());
  if (args.prometheus) {
    std::fputs((*store)->Scaling().PrometheusText().c_str(), stdout);
    return kExitOk;
  }
  StoreStats st = (*store)->GetStats();
  const Options o = ToolOptions();
  const uint64_t unsealed = st.segments - st.sealed_segments;
  // Reclaimable: what `segstore compact` would give back (a dry run).
  CompactOptions dry;
  dry.dry_run = true;
  absl::StatusOr<CompactReport> plan = (*store)->Compact(dry);
  const CompactReport rc = plan.ok() ? *plan : CompactReport{};
  if (args.json) {
    std::printf(
        "{\"store\": %s, \"block_count\": %llu, \"lowest\": %s, \"highest\": %s, "
        "\"segments\": {\"total\": %llu, \"sealed\": %llu, \"active\": %llu, \"hot\": %llu}, "
        "\"segment_bytes\": %llu, \"live_journal_shards\": %llu, \"live_column_families\": %llu, "
        "\"max_payload_size\": %zu, \"pruned_before\": %llu, "
        "\"reclaimable\": {\"bytes\": %llu, \"dead_record_bytes\": %llu, \"dead_records\": %llu, "
        "\"segments_to_rewrite\": %llu, \"segments_after\": %llu}, "
        "\"cache\": {\"block_cache_entries\": %zu, \"block_cache_bytes\": %zu, \"manifest_cache_entries\": %zu, "
        "\"hot_segments\": %zu, \"max_open_files\": %zu}}\n",
        JsonString(args.store).c_str(), static_cast<unsigned long long>(st.block_count), OptNumber(st.lowest).c_str(),
        OptNumber(st.highest).c_str(), static_cast<unsigned long long>(st.segments),
        static_cast<unsigned long long>(st.sealed_segments), static_cast<unsigned long long>(unsealed),
        static_cast<unsigned long long>(st.mapped_segments), static_cast<unsigned long long>(st.segment_bytes),
        static_cast<unsigned long long>(st.live_journal_shards),
        static_cast<unsigned long long>(st.live_column_families), (*store)->MaxPayloadSize(),
        static_cast<unsigned long long>(st.pruned_before), static_cast<unsigned long long>(rc.bytes_reclaimed),
        static_cast<unsigned long long>(rc.dead_record_bytes), static_cast<unsigned long long>(rc.dead_records),
        static_cast<unsigned long long>(rc.segments_in), static_cast<unsigned long long>(rc.segments_out),
        o.block_cache_entries, o.block_cache_bytes, o.manifest_cache_entries, o.hot_segments, o.max_open_files);
    return kExitOk;
  }
  std::printf("store:               %s\n", args.store.c_str());
  std::printf("blocks:              %llu (lowest %s, highest %s)\n", static_cast<unsigned long long>(st.block_count),
              OptNumber(st.lowest).c_str(), OptNumber(st.highest).c_str());
  std::printf("segments:            %llu (%llu sealed, %llu active; %llu mapped)\n",
              static_cast<unsigned long long>(st.segments), static_cast<unsigned long long>(st.sealed_segments),
              static_cast<unsigned long long>(unsealed), static_cast<unsigned long long>(st.mapped_segments));
  std::printf("segment bytes:       %s\n", HumanBytes(st.segment_bytes).c_str());
  std::printf("journal shards:      %llu live (%llu column families)\n",
              static_cast<unsigned long long>(st.live_journal_shards),
              static_cast<unsigned long long>(st.live_column_families));
  std::printf("largest payload:     %s\n", HumanBytes((*store)->MaxPayloadSize()).c_str());
  if (st.pruned_before > 0) {
    std::printf("pruned:              blocks below %llu\n", static_cast<unsigned long long>(st.pruned_before));
  }
  if (plan.ok()) {
    std::printf("reclaimable:         %s (%s in %llu dead record(s) of pruned or truncated blocks; compaction would "
                "rewrite %llu sealed segment(s) into %llu)\n",
                HumanBytes(rc.bytes_reclaimed).c_str(), HumanBytes(rc.dead_record_bytes).c_str(),
                static_cast<unsigned long long>(rc.dead_records), static_cast<unsigned long long>(rc.segments_in),
                static_cast<unsigned long long>(rc.segments_out));
  } else {
    std::printf("reclaimable:         unknown (%s)\n", std::string(plan.status().message()).c_str());
  }
  std::printf("caches (defaults):   block %zu entries / %s, footers %zu, hot segments %zu, open files %zu\n",
              o.block_cache_entries, HumanBytes(o.block_cache_bytes).c_str(), o.manifest_cache_entries,
              o.hot_segments, o.max_open_files);
  return kExitOk;
}

int RunVerify(const VerifyArgs& args) {
  absl::StatusOr<std::unique_ptr<BlockStore>> store = OpenStore(args.store, true, false);
  if (!store.ok()) return ReportOpen("verify", store.status());
  absl::StatusOr<VerifyReport> report = (*store)->Verify(args.deep);
  if (!report.ok()) return Report("verify", report.status());
  for (const VerifyProblem& p : report->problems) {
    if (p.what.find(p.file) != std::string::npos) {  // the message names the place already
      std::printf("problem: %s\n", p.what.c_str());
    } else {
      std::printf("problem: %s offset %llu: %s\n", p.file.c_str(), static_cast<unsigned long long>(p.offset),
                  p.what.c_str());
    }
  }
  std::vector<std::string> chain_problems;
  uint64_t chain_checked = 0;
  if (args.bitcoin) CheckChain(**store, args.quiet, &chain_problems, &chain_checked);
  for (const std::string& p : chain_problems) std::printf("problem: %s\n", p.c_str());
  const size_t problems = report->problems.size() + chain_problems.size();
  std::printf("verified %llu segment(s), %llu indexed block(s), %llu record(s) read (%s)%s%s: %zu problem(s)\n",
              static_cast<unsigned long long>(report->segments), static_cast<unsigned long long>(report->blocks_checked),
              static_cast<unsigned long long>(report->records_scanned), HumanBytes(report->bytes_read).c_str(),
              args.deep ? ", payload checksums" : "",
              args.bitcoin ? absl::StrCat(", chain links of ", chain_checked, " block(s)").c_str() : "", problems);
  return problems == 0 ? kExitOk : kExitProblems;
}

int RunRebuildIndex(const RebuildArgs& args) {
  absl::StatusOr<RebuildReport> r = RebuildIndex(ToolOptions(), args.store);
  if (!r.ok()) return Report("rebuild-index", r.status());
  std::printf("%s\n", r->ToString().c_str());
  return r->problems() ? kExitProblems : kExitOk;
}

}  // namespace segstore::cli
