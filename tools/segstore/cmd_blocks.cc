// segstore get / range / put: single blocks and framed ranges.

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "bitcoin/bitcoin_input.h"
#include "commands.h"
#include "common.h"
#include "progress.h"

namespace segstore::cli {
namespace {

absl::Status WriteAll(std::FILE* f, std::string_view data, const std::string& name) {
  if (!data.empty() && std::fwrite(data.data(), 1, data.size(), f) != data.size()) {
    return absl::InternalError(absl::StrCat("writing ", name, " failed"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file",
                                                   ec ? absl::StrCat(" (", ec.message(), ")") : ""));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return absl::InternalError(absl::StrCat("reading ", path, " failed"));
  return data;
}

}  // namespace

int RunGet(const GetArgs& args) {
  absl::StatusOr<std::unique_ptr<BlockStore>> store = OpenStore(args.store, true, false);
  if (!store.ok()) return ReportOpen("get", store.status());
  BlockNumber n;
  if (args.which.size() == 64) {
    absl::StatusOr<tools::Hash256> h = tools::ParseHashHex(args.which);
    if (!h.ok()) return Report("get", h.status());
    absl::StatusOr<BlockNumber> found =
        (*store)->FindByKey(std::string(reinterpret_cast<const char*>(h->data()), h->size()));
    if (!found.ok()) {
      return Report("get", absl::Status(found.status().code(), absl::StrCat("block ", args.which, ": ",
                                                                             found.status().message())));
    }
    n = *found;
  } else {
    absl::StatusOr<BlockNumber> parsed = ParseNumber(args.which);
    if (!parsed.ok()) return Report("get", parsed.status());
    n = *parsed;
  }
  absl::StatusOr<Block> b = (*store)->Get(n);
  if (!b.ok()) return Report("get", b.status());
  std::string hex;
  std::string_view out = b->data();
  if (args.hex) {
    hex = absl::BytesToHexString(absl::string_view(out.data(), out.size())) + "\n";
    out = hex;
  }
  if (args.out.empty()) {
    if (!args.hex && ::isatty(STDOUT_FILENO) == 1) {
      return Report("get", absl::InvalidArgumentError("refusing to write a binary block to a terminal; use --hex or -o FILE"));
    }
    if (absl::Status s = WriteAll(stdout, out, "stdout"); !s.ok()) return Report("get", s);
    return std::fflush(stdout) == 0 ? kExitOk : kExitIo;
  }
  std::FILE* f = std::fopen(args.out.c_str(), "wb");
  if (f == nullptr) {
    return Report("get", absl::PermissionDeniedError(absl::StrCat("cannot create ", args.out, ": ", std::strerror(errno))));
  }
  absl::Status s = WriteAll(f, out, args.out);
  if (std::fclose(f) != 0 && s.ok()) s = absl::InternalError(absl::StrCat("closing ", args.out, " failed"));
  return s.ok() ? kExitOk : Report("get", s);
}

int RunRange(const RangeArgs& args) {
  uint32_t magic = tools::kMagicMainnet;
  if (args.network == "testnet3") magic = tools::kMagicTestnet3;
  else if (args.network == "testnet4") magic = tools::kMagicTestnet4;
  else if (args.network == "signet") magic = tools::kMagicSignet;
  else if (args.network == "regtest") magic = tools::kMagicRegtest;
  else if (args.network != "mainnet") {
    return Report("range", absl::InvalidArgumentError("--network must be mainnet, testnet3, testnet4, signet or regtest"));
  }
  if (args.start > kMaxBlockNumber) return Report("range", absl::InvalidArgumentError("START is above 2^63-1"));
  absl::StatusOr<std::unique_ptr<BlockStore>> store = OpenStore(args.store, true, false);
  if (!store.ok()) return ReportOpen("range", store.status());
  std::FILE* f = std::fopen(args.out.c_str(), "wb");
  if (f == nullptr) {
    return Report("range", absl::PermissionDeniedError(absl::StrCat("cannot create ", args.out, ": ", std::strerror(errno))));
  }
  Progress progress("range", args.count, args.quiet);
  uint64_t written = 0, bytes = 0, covered = 0;
  BlockNumber cursor = args.start;
  absl::Status s;
  while (covered < args.count && s.ok()) {
    absl::StatusOr<std::vector<Block>> blocks = (*store)->GetRange(cursor, args.count - covered);
    if (!blocks.ok()) {
      s = blocks.status();
      break;
    }
    if (blocks->empty()) break;
    for (const Block& b : *blocks) {
      absl::StatusOr<std::array<uint8_t, 8>> frame = tools::FrameHeader(b.data().size(), magic);
      if (!frame.ok()) {
        s = absl::FailedPreconditionError(absl::StrCat("block ", b.number(), " cannot be written in blk framing: ",
                                                       frame.status().message()));
        break;
      }
      s = WriteAll(f, std::string_view(reinterpret_cast<const char*>(frame->data()), frame->size()), args.out);
      if (s.ok()) s = WriteAll(f, b.data(), args.out);
      if (!s.ok()) break;
      ++written;
      bytes += b.data().size();
    }
    const BlockNumber last = blocks->back().number();
    covered += last - cursor + 1;
    if (last >= kMaxBlockNumber) break;
    cursor = last + 1;
    progress.Update(covered, bytes);
  }
  progress.Finish();
  if (std::fclose(f) != 0 && s.ok()) s = absl::InternalError(absl::StrCat("closing ", args.out, " failed"));
  if (!s.ok()) {
    std::remove(args.out.c_str());  // no partial output left behind
    return Report("range", s);
  }
  std::printf("wrote %llu block(s), %s, to %s\n", static_cast<unsigned long long>(written), HumanBytes(bytes).c_str(),
              args.out.c_str());
  return kExitOk;
}

int RunPut(const PutArgs& args) {
  absl::StatusOr<BlockNumber> n = ParseNumber(args.number);
  if (!n.ok()) return Report("put", n.status());
  absl::StatusOr<std::string> data = ReadWholeFile(args.file);
  if (!data.ok()) return Report("put", data.status());
  absl::StatusOr<std::unique_ptr<BlockStore>> store = OpenStore(args.store, false, true);
  if (!store.ok()) return ReportOpen("put", store.status());
  WriteOptions wo;
  wo.sync = true;
  if (absl::Status s = (*store)->Put(*n, *data, wo); !s.ok()) return Report("put", s);
  if (absl::Status s = (*store)->Close(); !s.ok()) return Report("put", s);
  std::printf("stored block %llu (%s)\n", static_cast<unsigned long long>(*n), HumanBytes(data->size()).c_str());
  return kExitOk;
}

}  // namespace segstore::cli
