#include "segstore/recovery_report.h"

#include "absl/strings/str_cat.h"

namespace segstore {

std::string RecoveryReport::ToString() const {
  std::string s = absl::StrCat(clean ? "clean open" : "recovered", ": scanned ", segments_scanned,
                               " unsealed segment(s), ", bytes_scanned, " bytes; kept ", blocks_kept,
                               " block(s) in the tail (data ends at offset ", tail_offset, ")");
  if (journal_entries_added > 0) absl::StrAppend(&s, "; journaled ", journal_entries_added, " unjournaled block(s)");
  if (journal_entries_dropped > 0) {
    absl::StrAppend(&s, "; dropped ", journal_entries_dropped, " journaled block(s) that were torn or missing (",
                    bytes_cut, " bytes cut)");
  }
  if (sealed_interrupted_seal) absl::StrAppend(&s, "; finished an interrupted seal");
  if (orphan_files_removed > 0) absl::StrAppend(&s, "; removed ", orphan_files_removed, " orphan segment file(s)");
  for (const std::string& f : ignored_files) {
    absl::StrAppend(&s, "; left alone ", f, " (not in meta/: run `segstore rebuild-index`)");
  }
  absl::StrAppend(&s, DescribeDamage(skipped, damaged, "reading it is DataLoss"));
  return s;
}

std::string DescribeDamage(const std::vector<SkippedRange>& skipped, const std::vector<DamagedBlock>& damaged,
                           std::string_view damaged_note) {
  std::string s;
  for (const SkippedRange& r : skipped) {
    absl::StrAppend(&s, "; skipped damaged bytes [", r.begin, ", ", r.end, ") of segment ", r.segment_id, ": ",
                    r.reason);
  }
  for (const DamagedBlock& d : damaged) {
    absl::StrAppend(&s, "; block ", d.number, " at segment ", d.segment_id, " offset ", d.offset,
                    " is damaged (", absl::string_view(damaged_note.data(), damaged_note.size()), ")");
  }
  return s;
}

}  // namespace segstore
