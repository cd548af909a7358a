// FormatPrometheus: ScalingMetrics and StoreStats as Prometheus text
// exposition (format 0.0.4): "# HELP name text", "# TYPE name kind", then
// "name{label="value"} number" lines, each metric family once.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "segstore/scaling.h"

namespace segstore {
namespace {

class Exposition {
 public:
  // One family. kind: "counter" (name must end in _total) or "gauge".
  void Family(std::string_view name, std::string_view kind, std::string_view help) {
    name_ = std::string(name);
    out_ += "# HELP segstore_" + name_ + " " + std::string(help) + "\n";
    out_ += "# TYPE segstore_" + name_ + " " + std::string(kind) + "\n";
  }
  void Sample(uint64_t value, std::string_view labels = {}) { Line(labels, std::to_string(value)); }
  void Sample(double value, std::string_view labels = {}) { Line(labels, absl::StrFormat("%.17g", value)); }
  // A family with one unlabelled sample.
  void Gauge(std::string_view name, std::string_view help, uint64_t value) {
    Family(name, "gauge", help);
    Sample(value);
  }
  void Counter(std::string_view name, std::string_view help, uint64_t value) {
    Family(name, "counter", help);
    Sample(value);
  }
  std::string Take() { return std::move(out_); }

 private:
  void Line(std::string_view labels, std::string_view value) {
    // append, not operator+ on temporaries: GCC 12 at -O3 reports a false
    // -Wrestrict for the latter (GCC bug 105329), which breaks Release builds.
    out_.append("segstore_").append(name_);
    if (!labels.empty()) out_.append("{").append(labels).append("}");
    out_.append(" ").append(value).append("\n");
  }
  std::string out_;
  std::string name_;
};

// Label values here are fixed identifiers, but escape anyway (\, ", newline).
std::string Label(std::string_view key, std::string_view value) {
  std::string v;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      v += '\\';
      v += c;
    } else if (c == '\n') {
      v += "\\n";
    } else {
      v += c;
    }
  }
  return std::string(key) + "=\"" + v + "\"";
}

void Cache(Exposition& e, const std::string& cache, const std::string& what, const CacheMetrics& c) {
  e.Counter(cache + "_hits_total", what + ": lookups that found the entry.", c.hits);
  e.Counter(cache + "_misses_total", what + ": lookups that did not.", c.misses);
  e.Counter(cache + "_evictions_total", what + ": entries dropped to respect a limit.", c.evictions);
  e.Gauge(cache + "_entries", what + ": entries now.", c.entries);
  e.Gauge(cache + "_bytes", what + ": bytes held now.", c.bytes);
  e.Family(cache + "_hit_ratio", "gauge", what + ": hits / lookups since open (0 before the first lookup).");
  e.Sample(c.hit_rate);
}

}  // namespace

std::string FormatPrometheus(const ScalingMetrics& m, const StoreStats& st) {
  Exposition e;
  e.Gauge("blocks", "Blocks in the store.", m.block_count);
  if (st.lowest) e.Gauge("lowest_block_number", "Lowest block number present.", *st.lowest);
  if (st.highest) e.Gauge("highest_block_number", "Highest block number present.", *st.highest);
  e.Family("segments", "gauge",
           "Segments per tier: hot = mapped (active and hot sealed), warm = other sealed, cold = not yet "
           "implemented (0).");
  e.Sample(m.segments_hot, Label("tier", "hot"));
  e.Sample(m.segments_warm, Label("tier", "warm"));
  e.Sample(m.segments_cold, Label("tier", "cold"));
  e.Gauge("sealed_segments", "Sealed segments.", st.sealed_segments);
  e.Gauge("segment_bytes", "Bytes used by records in all segments.", st.segment_bytes);
  e.Gauge("open_segment_files", "Open descriptors of sealed segment files.", st.open_segment_files);
  e.Gauge("live_journal_shards", "Journal shards (RocksDB column families) alive.", m.live_journal_shards);
  e.Gauge("live_column_families", "RocksDB column families, default included.", st.live_column_families);
  Cache(e, "block_cache", "Block cache (blocks read with pread)", m.block_cache);
  Cache(e, "manifest_cache", "Manifest cache (decoded segment footers)", m.manifest_cache);
  Cache(e, "validation_cache", "Validation cache (records whose checksum was verified lately)", m.validation_cache);

  e.Family("lock_acquisitions_total", "counter", "Lock calls on a write-path mutex.");
  for (const LockMetrics& l : m.locks) e.Sample(l.acquisitions, Label("lock", l.name));
  e.Family("lock_contended_total", "counter", "Lock calls that found the mutex held and waited.");
  for (const LockMetrics& l : m.locks) e.Sample(l.contended, Label("lock", l.name));
  e.Family("lock_wait_seconds_total", "counter", "Time spent waiting for a held write-path mutex.");
  for (const LockMetrics& l : m.locks) e.Sample(static_cast<double>(l.wait_nanos) / 1e9, Label("lock", l.name));

  e.Gauge("append_queue_depth", "Writers waiting for admission now.", m.append_queue_depth);
  e.Gauge("writers_active", "Writers admitted now.", m.writers_active);
  e.Gauge("writers_active_max", "Most writers admitted at once since open.", m.max_writers_active);
  e.Counter("writes_admitted_total", "Writes admitted.", m.writes_admitted);
  e.Counter("writes_queued_total", "Writes that waited for admission.", m.writes_queued);
  e.Counter("writes_rejected_total", "Writes refused: deadline passed or queue at its critical depth.",
            m.writes_rejected);
  e.Counter("sync_requests_total", "Syncs asked for (sync writes, Sync, Close).", m.sync_requests);
  e.Counter("sync_rounds_total", "Syncs done (group commit: one serves many requests).", m.sync_rounds);
  e.Counter("journal_writes_total", "Batched journal writes to RocksDB.", m.journal_writes);
  e.Gauge("backpressure_state", "Write backpressure: 0 normal, 1 warning, 2 critical.",
          static_cast<uint64_t>(m.backpressure));
  return e.Take();
}

}  // namespace segstore
