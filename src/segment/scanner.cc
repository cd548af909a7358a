#include "segment/scanner.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "segment/record.h"
#include "util/checksum.h"
#include "util/coding.h"

namespace segstore::internal {
namespace {

enum class Probe { kValid, kBadPayload, kInvalid };

struct Cursor {
  std::optional<uint64_t> floor;  // the next block number must exceed this
  uint32_t epoch = 0;             // epochs never decrease along the file
  // Numbers of the blocks still live so far (what LiveBlocks keeps): after a
  // truncation marker the floor is the highest of them, not the marker's
  // number, since TruncateAfter(n) with no block in (highest, n] lets the
  // numbers between come next.
  std::vector<uint64_t> live;
};

// Looks at the record at pos. On kValid/kBadPayload fills *out.
Probe ProbeRecord(std::string_view file, uint64_t pos, uint64_t seed, bool verify_payload,
                  const Cursor& cur, ScannedRecord* out, std::string* why) {
  const uint64_t size = file.size();
  if (pos > size || size - pos < kRecordHeaderSize) {
    *why = "end of file";
    return Probe::kInvalid;
  }
  std::optional<RecordHeader> h = DecodeRecordHeader(file.substr(pos, kRecordHeaderSize), seed);
  if (!h) {
    *why = "no valid record header";
    return Probe::kInvalid;
  }
  if (h->length > size - pos - kRecordHeaderSize) {
    *why = absl::StrCat("record length ", h->length, " runs past the end of the file");
    return Probe::kInvalid;
  }
  if (h->epoch == 0 || h->epoch < cur.epoch) {
    *why = absl::StrCat("stale record (epoch ", h->epoch, " after ", cur.epoch, ")");
    return Probe::kInvalid;
  }
  if (h->type == RecordType::kBlock) {
    if (h->number > (uint64_t{1} << 63) - 1 || (cur.floor && h->number <= *cur.floor)) {
      *why = absl::StrCat("block number ", h->number, " out of order");
      return Probe::kInvalid;
    }
  }
  out->type = h->type;
  out->number = h->number;
  out->offset = pos;
  out->length = h->length;
  out->payload_checksum = h->payload_checksum;
  out->epoch = h->epoch;
  std::string_view payload = file.substr(pos + kRecordHeaderSize, h->length);
  out->payload_ok = !verify_payload || Checksum64(payload) == h->payload_checksum;
  if (!out->payload_ok) *why = "payload checksum mismatch";
  return out->payload_ok ? Probe::kValid : Probe::kBadPayload;
}

void Advance(const ScannedRecord& r, Cursor* cur) {
  cur->epoch = r.epoch;
  if (r.type == RecordType::kBlock) {
    cur->floor = r.number;
    cur->live.push_back(r.number);
  }
  if (r.type == RecordType::kTruncate) {
    while (!cur->live.empty() && cur->live.back() > r.number) cur->live.pop_back();
    // No live block left in this segment: the blocks before it are in
    // earlier segments, and any number above theirs may follow.
    cur->floor = cur->live.empty() ? std::nullopt : std::optional<uint64_t>(cur->live.back());
  }
}

}  // namespace

ScanResult ScanSegment(std::string_view file, uint64_t start, uint64_t durable_end, uint64_t seed,
                       bool verify_payload) {
  ScanResult result;
  Cursor cur;
  uint64_t pos = start;
  std::string why;
  while (true) {
    ScannedRecord r;
    Probe p = ProbeRecord(file, pos, seed, verify_payload, cur, &r, &why);
    if (p == Probe::kValid || (p == Probe::kBadPayload && pos < durable_end)) {
      Advance(r, &cur);
      result.max_epoch = std::max(result.max_epoch, r.epoch);
      pos += RecordSize(r.length);
      result.end = pos;
      if (r.type == RecordType::kFooter) {
        if (!r.payload_ok) {
          result.skipped.push_back({r.offset, pos, "footer payload checksum mismatch"});
          continue;
        }
        result.footer = r;
        result.end_reason = "footer";
        return result;
      }
      result.records.push_back(r);
      continue;
    }
    if (pos >= durable_end) {
      result.end = AlignUp8(pos);  // a skip may stop at an unaligned durable_end
      result.end_reason = why;
      return result;
    }
    // Bit rot inside the durable part: look for the next valid record.
    uint64_t q = pos + 8;
    std::string ignored;
    for (; q < durable_end; q += 8) {
      ScannedRecord probe;
      if (ProbeRecord(file, q, seed, verify_payload, cur, &probe, &ignored) == Probe::kValid) break;
    }
    if (q > durable_end) q = durable_end;
    result.skipped.push_back({pos, q, why});
    pos = q;
  }
}

std::vector<const ScannedRecord*> LiveBlocks(const ScanResult& scan, std::vector<const ScannedRecord*>* markers) {
  std::vector<const ScannedRecord*> live;
  for (const ScannedRecord& r : scan.records) {
    if (r.type == RecordType::kBlock) {
      live.push_back(&r);
    } else if (r.type == RecordType::kTruncate) {
      while (!live.empty() && live.back()->number > r.number) live.pop_back();
      if (markers != nullptr) markers->push_back(&r);
    }
  }
  return live;
}

}  // namespace segstore::internal
