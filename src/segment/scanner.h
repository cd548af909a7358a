// Scans the bytes of one segment file for its records, without any
// metadata: the basis of recovery on open and of the offline rebuild.
//
// Rules (DESIGN.md): below durable_end a damaged record is bit rot: the scan
// searches forward for the next valid record, reports the range it skipped
// and keeps the good records after it; a record whose header is intact but
// whose payload fails its checksum is reported as damaged and stepped over.
// At or beyond durable_end the first bad record is the end of the data.
// A record is valid only if block numbers keep increasing (a truncation
// marker lowers the bar) and epochs never decrease, so stale records left
// past a cut tail by an earlier writer are never taken for data.

#ifndef SEGSTORE_SRC_SEGMENT_SCANNER_H_
#define SEGSTORE_SRC_SEGMENT_SCANNER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "segment/format.h"

namespace segstore::internal {

struct ScannedRecord {
  RecordType type = RecordType::kBlock;
  uint64_t number = 0;
  uint64_t offset = 0;  // of the record header
  uint64_t length = 0;  // payload bytes
  uint64_t payload_checksum = 0;
  uint32_t epoch = 0;
  bool payload_ok = true;  // false: header intact, payload damaged (durable part only)
};

struct ScannedGap {
  uint64_t begin = 0;
  uint64_t end = 0;
  std::string reason;
};

struct ScanResult {
  std::vector<ScannedRecord> records;  // blocks and truncation markers, file order
  std::optional<ScannedRecord> footer;  // the scan stops after a footer record
  std::vector<ScannedGap> skipped;      // bit rot in the durable part
  uint64_t end = 0;        // just past the last valid record: where writing resumes
  std::string end_reason;  // why the scan stopped at `end`
  uint32_t max_epoch = 0;
};

// file: the whole file (or its first bytes); start: where records begin;
// durable_end: offset below which damage is bit rot (0 for "nothing known
// durable"). Never reads outside file; allocates in proportion to the
// records found.
// verify_payload=false checks record headers only (payload_ok stays true).
ScanResult ScanSegment(std::string_view file, uint64_t start, uint64_t durable_end, uint64_t seed,
                       bool verify_payload = true);

// The block records of a scan that survive the segment's own TruncateAfter
// markers (a marker for n drops the earlier blocks above n), in file order.
// The markers themselves go to *markers when given.
std::vector<const ScannedRecord*> LiveBlocks(const ScanResult& scan,
                                             std::vector<const ScannedRecord*>* markers = nullptr);

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_SEGMENT_SCANNER_H_
