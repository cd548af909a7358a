// libFuzzer target: the segments/PRUNE line (src/store/prune_file.h), the
// one file the offline tools trust for what was pruned: a wrongly accepted
// line deletes blocks.
//
// Input: [0] mode (byte % 2), then
//   mode 0  the file's content, parsed as is
//   mode 1  16 bytes store UUID, 8 bytes prune point, then (position, xor)
//           byte pairs applied to FormatPruneLine of them: near-valid lines
//           that get past the first checks
// Properties: ParsePruneLine accepts only what FormatPruneLine writes (an
// accepted line formats back to the same bytes); every error is DataLoss
// naming the file; FormatPruneLine's lines parse back to what was written.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "store/prune_file.h"

namespace segstore::fuzz {
namespace {

using namespace segstore::internal;

constexpr std::string_view kPath = "segments/PRUNE";

void CheckParse(std::string_view content) {
  absl::StatusOr<PrunePoint> p = ParsePruneLine(content, kPath);
  if (Verbose()) std::fprintf(stderr, "parse: %s\n", p.ok() ? "accepted" : p.status().ToString().c_str());
  if (p.ok()) {
    FUZZ_CHECK(FormatPruneLine(p->store, p->before) == content);
  } else {
    FUZZ_CHECK(p.status().code() == absl::StatusCode::kDataLoss);
    FUZZ_CHECK(std::string_view(p.status().message().data(), p.status().message().size()).find(kPath) !=
               std::string_view::npos);
  }
}

}  // namespace
}  // namespace segstore::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace segstore::fuzz;
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    CheckParse(rest);
    return 0;
  }
  Control c(data + 1, std::min<size_t>(size - 1, 24));
  segstore::internal::StoreUuid uuid{};
  for (char& b : uuid) b = static_cast<char>(c.U8());
  const uint64_t n = c.U64();
  std::string line = segstore::internal::FormatPruneLine(uuid, n);
  absl::StatusOr<segstore::internal::PrunePoint> back = segstore::internal::ParsePruneLine(line, kPath);
  FUZZ_CHECK(back.ok() && back->store == uuid && back->before == n);
  for (size_t i = 25; i + 1 < size; i += 2) line[data[i] % line.size()] ^= static_cast<char>(data[i + 1]);
  CheckParse(line);
  return 0;
}
