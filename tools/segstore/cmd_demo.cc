// segstore demo: the main job for a newcomer without data of their own.
//
// Generates a chain of synthetic Bitcoin-shaped blocks (80-byte header whose
// prev hash links to the block before, then filler), writes them as a
// Bitcoin Core blocks directory (regtest magic, 128 MiB blk files), imports
// it, reads every block back by number and by hash, reopens, rebuilds the
// index from the segment files, and verifies everything.
//
// Block sizes: log-normal with median 64 KiB and sigma 1.2, clamped to
// [250 B, 4 MB] (mean about 130 KB) -- roughly the shape of Bitcoin blocks
// in 2013-2015, from mostly-empty blocks to full ones.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bitcoin/bitcoin_input.h"
#include "commands.h"
#include "common.h"
#include "progress.h"
#include "segstore/rebuild.h"

namespace segstore::cli {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

size_t DrawSize(std::mt19937_64& rng) {
  std::lognormal_distribution<double> dist(std::log(65536.0), 1.2);
  return static_cast<size_t>(std::clamp(dist(rng), 250.0, 4e6));
}

std::string MakeBlock(uint64_t height, const tools::Hash256& prev, size_t size, std::mt19937_64& rng) {
  std::string b(size, '\0');
  const uint32_t version = 0x20000000;
  std::memcpy(b.data(), &version, 4);
  std::memcpy(b.data() + 4, prev.data(), 32);
  for (size_t i = 36; i + 8 <= size; i += 8) {  // merkle root, time, bits, nonce, body
    uint64_t v = rng();
    std::memcpy(b.data() + i, &v, 8);
  }
  const uint32_t time = static_cast<uint32_t>(1'231'006'505 + height * 600);
  std::memcpy(b.data() + 68, &time, 4);
  return b;
}

int Fail(const absl::Status& s) { return Report("demo", s); }

}  // namespace

int RunDemo(const DemoArgs& args) {
  if (args.blocks == 0) return Fail(absl::InvalidArgumentError("--blocks must be at least 1"));
  std::string dir = args.dir;
  if (dir.empty()) dir = (std::filesystem::temp_directory_path() / "segstore-demo").string();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  const std::string input = dir + "/input", store_dir = dir + "/store";
  std::filesystem::create_directories(input, ec);
  if (ec) return Fail(absl::InternalError(absl::StrCat("cannot create ", input, ": ", ec.message())));

  // 1. A synthetic chain as a node's blocks directory.
  std::mt19937_64 rng(args.seed);
  std::vector<tools::Hash256> hashes;
  hashes.reserve(args.blocks);
  tools::Hash256 prev{};
  uint64_t total_bytes = 0, file_no = 0, file_bytes = 0;
  std::FILE* f = nullptr;
  auto t0 = Clock::now();
  {
    Progress progress("generate", args.blocks, args.quiet);
    for (uint64_t h = 0; h < args.blocks; ++h) {
      if (f == nullptr || file_bytes > (uint64_t{128} << 20)) {
        if (f != nullptr) std::fclose(f);
        const std::string path = absl::StrFormat("%s/blk%05d.dat", input, file_no++);
        f = std::fopen(path.c_str(), "wb");
        if (f == nullptr) return Fail(absl::InternalError(absl::StrCat("cannot create ", path)));
        file_bytes = 0;
      }
      std::string block = MakeBlock(h, prev, DrawSize(rng), rng);
      absl::StatusOr<std::string> framed = tools::FrameBlock(block, tools::kMagicRegtest);
      if (!framed.ok()) return Fail(framed.status());
      if (std::fwrite(framed->data(), 1, framed->size(), f) != framed->size()) {
        std::fclose(f);
        return Fail(absl::ResourceExhaustedError(absl::StrCat("writing the demo input under ", input, " failed")));
      }
      prev = tools::BlockHash(block);
      hashes.push_back(prev);
      total_bytes += block.size();
      file_bytes += framed->size();
      progress.Update(h + 1, total_bytes);
    }
  }
  if (f != nullptr && std::fclose(f) != 0) return Fail(absl::InternalError("closing the demo input failed"));
  const double gen_s = Since(t0);

  // 2. Import.
  ImportArgs ia;
  ia.store = store_dir;
  ia.inputs = {input};
  ia.quiet = args.quiet;
  auto t1 = Clock::now();
  if (int rc = RunImport(ia); rc != kExitOk) return rc;
  const double import_s = Since(t1);

  // 3. Read back every block by number and by hash; reopen in between.
  auto check = [&](const char* label, double* secs) -> int {
    absl::StatusOr<std::unique_ptr<BlockStore>> store = OpenStore(store_dir, true, false);
    if (!store.ok()) return Fail(store.status());
    auto t = Clock::now();
    Progress progress(label, args.blocks, args.quiet);
    uint64_t bytes = 0;
    for (uint64_t h = 0; h < args.blocks; ++h) {
      absl::StatusOr<Block> b = (*store)->Get(h);
      if (!b.ok()) return Fail(b.status());
      if (tools::BlockHash(b->data()) != hashes[h]) {
        return Fail(absl::DataLossError(absl::StrCat("block ", h, " reads back with the wrong hash")));
      }
      absl::StatusOr<BlockNumber> n =
          (*store)->FindByKey(std::string(reinterpret_cast<const char*>(hashes[h].data()), 32));
      if (!n.ok() || *n != h) return Fail(absl::DataLossError(absl::StrCat("block ", h, " is not found by hash")));
      bytes += b->data().size();
      progress.Update(h + 1, bytes);
    }
    progress.Finish();
    *secs = Since(t);
    return kExitOk;
  };
  double read_s = 0, reread_s = 0;
  if (int rc = check("read back", &read_s); rc != kExitOk) return rc;

  // 4. Rebuild meta/ from the segment files alone, then read and verify again.
  std::filesystem::remove_all(store_dir + "/meta", ec);
  auto t2 = Clock::now();
  absl::StatusOr<RebuildReport> rebuilt = RebuildIndex(ToolOptions(), store_dir);
  if (!rebuilt.ok()) return Fail(rebuilt.status());
  const double rebuild_s = Since(t2);
  if (int rc = check("read after rebuild", &reread_s); rc != kExitOk) return rc;
  VerifyArgs va;
  va.store = store_dir;
  va.deep = true;
  va.bitcoin = true;
  va.quiet = args.quiet;
  auto t3 = Clock::now();
  if (int rc = RunVerify(va); rc != kExitOk) return rc;
  const double verify_s = Since(t3);

  auto rate = [&](double s) { return absl::StrFormat("%.0f MB/s", static_cast<double>(total_bytes) / 1e6 / s); };
  std::printf("\ndemo: %llu synthetic blocks, %s (sizes log-normal, median 64 KiB, sigma 1.2)\n",
              static_cast<unsigned long long>(args.blocks), HumanBytes(total_bytes).c_str());
  std::printf("  generate input  %6.2f s\n", gen_s);
  std::printf("  import          %6.2f s  %s\n", import_s, rate(import_s).c_str());
  std::printf("  read + check    %6.2f s  %s (every block by number and by hash)\n", read_s, rate(read_s).c_str());
  std::printf("  rebuild-index   %6.2f s  %s (meta/ deleted first; %llu blocks found)\n", rebuild_s,
              rate(rebuild_s).c_str(), static_cast<unsigned long long>(rebuilt->blocks));
  std::printf("  re-read         %6.2f s  %s\n", reread_s, rate(reread_s).c_str());
  std::printf("  verify --deep --bitcoin %6.2f s  %s: 0 problems\n", verify_s, rate(verify_s).c_str());
  if (!args.keep) {
    std::filesystem::remove_all(dir, ec);
  } else {
    std::printf("  kept: %s (input/ and store/)\n", dir.c_str());
  }
  return kExitOk;
}

}  // namespace segstore::cli
