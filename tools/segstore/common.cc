#include "common.h"

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bitcoin/bitcoin_input.h"

namespace segstore::cli {

int ExitFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return kExitUsage;
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
      return kExitProblems;
    default:
      return kExitIo;
  }
}

int Report(std::string_view command, const absl::Status& status) {
  std::string msg(status.message());
  for (char& c : msg) {
    if (c == '\n') c = ' ';
  }
  std::fprintf(stderr, "segstore %.*s: %s\n", static_cast<int>(command.size()), command.data(), msg.c_str());
  return ExitFor(status);
}

int ReportOpen(std::string_view command, const absl::Status& status) {
  const int code = Report(command, status);
  return status.code() == absl::StatusCode::kDataLoss || status.code() == absl::StatusCode::kInvalidArgument
             ? code
             : kExitIo;
}

std::optional<std::string> BitcoinKey(std::string_view payload) {
  if (payload.size() < tools::kBlockHeaderSize) return std::nullopt;
  tools::Hash256 h = tools::BlockHash(payload);
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

Options ToolOptions() {
  Options o;
  o.key_extractor = BitcoinKey;
  return o;
}

absl::StatusOr<std::unique_ptr<BlockStore>> OpenStore(const std::string& dir, bool read_only, bool create) {
  Options o = ToolOptions();
  o.read_only = read_only;
  o.create_if_missing = create;
  return BlockStore::Open(o, dir);
}

absl::StatusOr<BlockNumber> ParseNumber(std::string_view text) {
  uint64_t n;
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos ||
      !absl::SimpleAtoi(absl::string_view(text.data(), text.size()), &n)) {
    return absl::InvalidArgumentError(absl::StrCat("'", std::string(text), "' is not a block number"));
  }
  if (n > kMaxBlockNumber) {
    return absl::InvalidArgumentError(absl::StrCat(n, " is above the largest block number ", kMaxBlockNumber));
  }
  return n;
}

std::string HumanBytes(uint64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (b >= 1e9) return absl::StrFormat("%.2f GB", b / 1e9);
  if (b >= 1e6) return absl::StrFormat("%.1f MB", b / 1e6);
  if (b >= 1e3) return absl::StrFormat("%.1f kB", b / 1e3);
  return absl::StrCat(bytes, " B");
}

}  // namespace segstore::cli
