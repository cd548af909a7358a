// End-to-end tests of the `segstore` tool on the real Bitcoin data in
// SEGSTORE_TEST_DATA: import, get, put, range, stats, verify, rebuild-index.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "bitcoin/bitcoin_input.h"
#include "testutil/prometheus_text.h"
#include "testutil/test_util.h"

namespace segstore {
namespace {

namespace fs = std::filesystem;
using testing::ScratchDir;

constexpr char kGenesis[] = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f";
constexpr char kBlock255[] = "00000000d0a75c861fabf9ff7b92022f60e4afeed9331fe5aa073d8e4706fe3c";

struct CliRun {
  int code = -1;
  std::string out;
};

// Runs `segstore ARGS` through the shell, capturing stdout and stderr.
CliRun Segstore(const std::string& args) {
  CliRun r;
  std::string cmd = std::string(SEGSTORE_CLI) + " --quiet " + args + " 2>&1";
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string Data(const std::string& rel) {
  const std::string d = testing::TestDataDir();
  EXPECT_FALSE(d.empty()) << "SEGSTORE_TEST_DATA is not set";
  const std::string p = d + "/" + rel;
  EXPECT_TRUE(fs::exists(p)) << p << " is missing: set the CMake cache variable SEGSTORE_TEST_DATA";
  return p;
}

// The blocks of a blk file, in file order.
std::vector<std::string> BlkRecords(const std::string& path) {
  std::string bytes = testing::ReadFile(path);
  std::vector<std::string> out;
  size_t at = 0;
  while (at + 8 <= bytes.size()) {
    uint32_t size;
    std::memcpy(&size, bytes.data() + at + 4, 4);
    if (size == 0 || at + 8 + size > bytes.size()) break;
    out.push_back(bytes.substr(at + 8, size));
    at += 8 + size;
  }
  return out;
}

std::unique_ptr<BlockStore> OpenRO(const std::string& dir) {
  Options o;
  o.read_only = true;
  auto s = BlockStore::Open(o, dir);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

// Every block of `chain` (height = index) is in the store, by number and by
// hash, byte for byte.
void ExpectChain(const std::string& store_dir, const std::vector<std::string>& chain) {
  ASSERT_EQ(Segstore("verify " + store_dir + " --bitcoin").code, 0);
  auto store = OpenRO(store_dir);
  ASSERT_NE(store, nullptr);
  ASSERT_EQ(store->BlockCount(), chain.size());
  for (size_t h = 0; h < chain.size(); ++h) {
    absl::StatusOr<Block> b = store->Get(h);
    ASSERT_TRUE(b.ok()) << h << ": " << b.status();
    ASSERT_TRUE(b->data() == chain[h]) << "height " << h;
  }
  store.reset();
  for (size_t h : {size_t{0}, chain.size() / 2, chain.size() - 1}) {
    CliRun r = Segstore("get " + store_dir + " " + tools::BlockHashHex(chain[h]) + " --hex");
    ASSERT_EQ(r.code, 0) << r.out;
    std::string want;
    for (char c : chain[h]) want += absl::StrFormat("%02x", static_cast<unsigned char>(c));
    EXPECT_EQ(r.out, want + "\n");
  }
}

TEST(CliTest, ImportsMainnetWithForkAndShuffledCopy) {
  ScratchDir dir;
  const std::vector<std::string> main = BlkRecords(Data("bitcoin-mainnet-0-255/blk00000.dat"));
  ASSERT_EQ(main.size(), 256u);
  fs::create_directories(dir.Sub("blocks"));
  fs::copy_file(Data("bitcoin-mainnet-0-255/blk00000.dat"), dir.Sub("blocks/blk00000.dat"));
  fs::copy_file(Data("bitcoin-fork-at-1/blk00000.dat"), dir.Sub("blocks/blk00001.dat"));
  CliRun r = Segstore("import " + dir.Sub("store") + " " + dir.Sub("blocks"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("imported 256 block(s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("4 fork"), std::string::npos) << r.out;
  EXPECT_EQ(tools::BlockHashHex(main[0]), kGenesis);
  EXPECT_EQ(tools::BlockHashHex(main[255]), kBlock255);
  ExpectChain(dir.Sub("store"), main);
  // Resumable: a second run adds nothing and says so.
  r = Segstore("import " + dir.Sub("store") + " " + dir.Sub("blocks"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("imported 0 block(s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("256 already present"), std::string::npos) << r.out;

  // Records shuffled within a file, as a node writes them out of order.
  std::vector<std::string> shuffled = main;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937_64(5));
  std::string blk;
  for (const std::string& b : shuffled) blk += *tools::FrameBlock(b);
  blk.append(1 << 16, '\0');  // preallocated tail
  fs::create_directories(dir.Sub("shuffled"));
  testing::WriteFile(dir.Sub("shuffled/blk00000.dat"), blk);
  fs::copy_file(Data("bitcoin-fork-at-1/blk00000.dat"), dir.Sub("shuffled/blk00001.dat"));
  r = Segstore("import " + dir.Sub("store2") + " " + dir.Sub("shuffled"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("4 fork"), std::string::npos) << r.out;
  ExpectChain(dir.Sub("store2"), main);
}

TEST(CliTest, RebuildIndexFromSegmentsAlone) {
  ScratchDir dir;
  const std::vector<std::string> main = BlkRecords(Data("bitcoin-mainnet-0-255/blk00000.dat"));
  ASSERT_EQ(Segstore("import " + dir.Sub("store") + " " + Data("bitcoin-mainnet-0-255/blk00000.dat")).code, 0);
  fs::remove_all(dir.Sub("store/meta"));
  EXPECT_EQ(Segstore("stats " + dir.Sub("store")).code, 3);  // no meta/: a clear error
  CliRun r = Segstore("rebuild-index " + dir.Sub("store"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("256 block(s) indexed"), std::string::npos) << r.out;
  ExpectChain(dir.Sub("store"), main);
}

// Offset of `needle` in the store's only segment file.
std::pair<std::string, uint64_t> Locate(const std::string& store_dir, const std::string& needle) {
  for (const std::string& f : testing::SegmentFiles(store_dir)) {
    size_t at = testing::ReadFile(f).find(needle);
    if (at != std::string::npos) return {f, at};
  }
  ADD_FAILURE() << "block bytes not found in any segment";
  return {"", 0};
}

void DamageAndCheck(bool header) {
  ScratchDir dir;
  const std::vector<std::string> main = BlkRecords(Data("bitcoin-mainnet-0-255/blk00000.dat"));
  const std::string store = dir.Sub("store");
  ASSERT_EQ(Segstore("import " + store + " " + Data("bitcoin-mainnet-0-255/blk00000.dat")).code, 0);
  const size_t victim = 100;
  auto [file, at] = Locate(store, main[victim]);
  // Payload: a byte in the middle of the block. Header: the record header's
  // length field, 24 bytes before the payload.
  testing::FlipByte(file, header ? at - 24 : at + main[victim].size() / 2);
  CliRun r = Segstore("verify " + store + " --deep");
  ASSERT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("block 100"), std::string::npos) << r.out;
  for (size_t h = 0; h < main.size(); ++h) {
    if (h != victim) {
      EXPECT_EQ(r.out.find("block " + std::to_string(h) + ":"), std::string::npos) << h << r.out;
    }
  }
  r = Segstore("rebuild-index " + store);
  ASSERT_LE(r.code, 1) << r.out;
  auto s = OpenRO(store);
  ASSERT_NE(s, nullptr);
  for (size_t h = 0; h < main.size(); ++h) {
    absl::StatusOr<Block> b = s->Get(h);
    if (h == victim) {
      EXPECT_FALSE(b.ok());
      continue;
    }
    ASSERT_TRUE(b.ok()) << h << ": " << b.status();
    ASSERT_TRUE(b->data() == main[h]) << h;
  }
}

TEST(CliTest, DamagedPayloadIsReportedExactly) { DamageAndCheck(false); }
TEST(CliTest, DamagedRecordHeaderIsReportedExactly) { DamageAndCheck(true); }

TEST(CliTest, LargeRawBlocksRoundTripThroughPut) {
  ScratchDir dir;
  const std::string store = dir.Sub("store");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(Data("bitcoin-mainnet-large-blocks"))) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 3u);
  for (size_t i = 0; i < files.size(); ++i) {
    CliRun r = Segstore("put " + store + " " + std::to_string(1000 + i) + " " + files[i]);
    ASSERT_EQ(r.code, 0) << r.out;
  }
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string out = dir.Sub("out" + std::to_string(i));
    ASSERT_EQ(Segstore("get " + store + " " + std::to_string(1000 + i) + " -o " + out).code, 0);
    const std::string want = testing::ReadFile(files[i]);
    EXPECT_GT(want.size(), 100'000u);
    EXPECT_TRUE(testing::ReadFile(out) == want) << files[i];
    // The file name holds the hash (after an optional "height-").
    std::string name = fs::path(files[i]).stem().string();
    EXPECT_EQ(tools::BlockHashHex(want), name.substr(name.find('-') + 1));
  }
  EXPECT_EQ(Segstore("verify " + store + " --deep").code, 0);
}

TEST(CliTest, ObfuscatedDirectoryImportsTheSameBlocks) {
  ScratchDir dir;
  const std::vector<std::string> main = BlkRecords(Data("bitcoin-mainnet-0-255/blk00000.dat"));
  CliRun r = Segstore("import " + dir.Sub("store") + " " + Data("bitcoin-mainnet-0-255-xor"));
  ASSERT_EQ(r.code, 0) << r.out;
  ExpectChain(dir.Sub("store"), main);
}

TEST(CliTest, Testnet4HexImportsAsOneChain) {
  ScratchDir dir;
  const std::string hex = testing::ReadFile(Data("bitcoin-testnet4-blocks.hex"));
  std::vector<std::string> chain;
  for (size_t at = 0; at < hex.size();) {
    size_t nl = hex.find('\n', at);
    std::string line = hex.substr(at, nl - at);
    chain.push_back(absl::HexStringToBytes(line));
    at = nl + 1;
  }
  ASSERT_EQ(chain.size(), 2016u);
  CliRun r = Segstore("import " + dir.Sub("store") + " " + Data("bitcoin-testnet4-blocks.hex"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("imported 2016 block(s)"), std::string::npos) << r.out;
  ExpectChain(dir.Sub("store"), chain);
  EXPECT_EQ(tools::BlockHashHex(chain.back()), "00000000962a7fc2ef639196051fe181ed53ac6aa4cdfead14dca90f58aa36bc");
}

TEST(CliTest, RangeOutputImportsAgain) {
  ScratchDir dir;
  const std::vector<std::string> main = BlkRecords(Data("bitcoin-mainnet-0-255/blk00000.dat"));
  ASSERT_EQ(Segstore("import " + dir.Sub("a") + " " + Data("bitcoin-mainnet-0-255/blk00000.dat")).code, 0);
  CliRun r = Segstore("range " + dir.Sub("a") + " 0 256 -o " + dir.Sub("range.dat"));
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_EQ(Segstore("import " + dir.Sub("b") + " " + dir.Sub("range.dat")).code, 0);
  ExpectChain(dir.Sub("b"), main);
}

TEST(CliTest, ReimportAtAnotherHeightIsRefused) {
  ScratchDir dir;
  const std::string hex = testing::ReadFile(Data("bitcoin-testnet4-blocks.hex"));
  std::string part;  // lines 11..20: heights 10..19, no genesis
  size_t at = 0;
  for (int line = 0; line < 20; ++line) {
    size_t nl = hex.find('\n', at);
    if (line >= 10) part += hex.substr(at, nl - at + 1);
    at = nl + 1;
  }
  testing::WriteFile(dir.Sub("part.hex"), part);
  CliRun r = Segstore("import " + dir.Sub("s") + " " + dir.Sub("part.hex") + " --start-height 10");
  ASSERT_EQ(r.code, 0) << r.out;
  r = Segstore("import " + dir.Sub("s") + " " + dir.Sub("part.hex") + " --start-height 100");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("already stored at height 10"), std::string::npos) << r.out;
  auto store = OpenRO(dir.Sub("s"));
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->BlockCount(), 10u);
  EXPECT_EQ(store->HighestNumber(), 19u);
}

TEST(CliTest, StatsPrometheusIsWellFormed) {
  ScratchDir dir;
  ASSERT_EQ(Segstore("import " + dir.Sub("s") + " " + Data("bitcoin-mainnet-0-255/blk00000.dat")).code, 0);
  CliRun r = Segstore("stats " + dir.Sub("s") + " --prometheus");
  ASSERT_EQ(r.code, 0) << r.out;
  testing::PrometheusParse p = testing::ParsePrometheus(r.out);
  for (const std::string& problem : p.problems) ADD_FAILURE() << problem;
  // Every non-comment line is a sample (the parser reports anything else),
  // and every family has a # TYPE.
  size_t samples = 0;
  for (size_t at = 0; at < r.out.size();) {
    size_t nl = r.out.find('\n', at);
    const std::string line = r.out.substr(at, nl - at);
    at = nl + 1;
    if (line.empty() || line[0] == '#') continue;
    ++samples;
    const std::string name = line.substr(0, line.find_first_of("{ "));
    EXPECT_EQ(p.types.count(name), 1u) << line;
  }
  EXPECT_EQ(samples, p.samples.size());
  EXPECT_EQ(p.samples["segstore_blocks"], 256);
  EXPECT_EQ(p.samples["segstore_lowest_block_number"], 0);
  EXPECT_EQ(p.samples["segstore_highest_block_number"], 255);
  EXPECT_EQ(p.samples.count("segstore_segments{tier=\"hot\"}"), 1u);
  EXPECT_EQ(p.samples.count("segstore_segments{tier=\"warm\"}"), 1u);
  EXPECT_EQ(p.samples["segstore_segments{tier=\"cold\"}"], 0);
  EXPECT_EQ(p.samples["segstore_append_queue_depth"], 0);
  EXPECT_EQ(p.samples["segstore_backpressure_state"], 0);
  // --json still works, and the two formats exclude each other.
  r = Segstore("stats " + dir.Sub("s") + " --json");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"block_count\": 256"), std::string::npos) << r.out;
  EXPECT_EQ(Segstore("stats " + dir.Sub("s") + " --json --prometheus").code, 2);
  EXPECT_EQ(Segstore("stats " + dir.Sub("missing") + " --prometheus").code, 3);
}

TEST(CliTest, ExitCodesAndErrors) {
  ScratchDir dir;
  CliRun r = Segstore("get");
  EXPECT_EQ(r.code, 2) << r.out;
  r = Segstore("get " + dir.Sub("nothing") + " 5");
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("does not exist"), std::string::npos) << r.out;
  ASSERT_EQ(Segstore("import " + dir.Sub("s") + " " + Data("bitcoin-mainnet-0-255/blk00000.dat")).code, 0);
  r = Segstore("get " + dir.Sub("s") + " 99999999999999999999");
  EXPECT_EQ(r.code, 2) << r.out;
  r = Segstore("get " + dir.Sub("s") + " 300 --hex");  // absent: a problem, not an I/O failure
  EXPECT_EQ(r.code, 1) << r.out;
  r = Segstore("put " + dir.Sub("s") + " 5 " + dir.path());  // a directory is not a block
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_EQ(r.out.find("terminate"), std::string::npos) << r.out;
  r = Segstore("import " + dir.Sub("s") + " " + Data("bitcoin-testnet4-blocks.hex") + " --start-height 9223372036854775800");
  EXPECT_EQ(r.code, 2) << r.out;
  r = Segstore("import " + dir.Sub("s") + " " + dir.Sub("missing.dat"));
  EXPECT_NE(r.code, 0) << r.out;
  // A store held by a writer cannot be verified.
  Options o;
  auto writer = BlockStore::Open(o, dir.Sub("s"));
  ASSERT_OK(writer);
  r = Segstore("verify " + dir.Sub("s"));
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("held by another process"), std::string::npos) << r.out;
}


// prune / compact / stats on a store of many small segments.
TEST(CliTest, PruneCompactStats) {
  ScratchDir dir;
  const std::string store = dir.Sub("store");
  {
    Options o;
    o.create_if_missing = true;
    o.segment_size = 64 << 10;
    auto s = BlockStore::Open(o, store);
    ASSERT_TRUE(s.ok()) << s.status();
    for (uint64_t i = 0; i < 300; ++i) ASSERT_TRUE((*s)->Append(testing::Payload(i, 700 + i % 900)).ok());
    ASSERT_TRUE((*s)->Close().ok());
  }
  CliRun r = Segstore("prune " + store + " --before 150");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("pruned blocks below 150: 150 block(s) removed"), std::string::npos) << r.out;
  EXPECT_EQ(Segstore("prune " + store + " --before 100000").code, 2);  // above the highest: bad argument
  r = Segstore("stats " + store);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("pruned:              blocks below 150"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reclaimable:"), std::string::npos) << r.out;
  r = Segstore("stats --json " + store);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"pruned_before\": 150"), std::string::npos) << r.out;
  EXPECT_EQ(Segstore("get " + store + " 149").code, 1);
  EXPECT_EQ(Segstore("get " + store + " 150").code, 0);
  EXPECT_EQ(Segstore("rebuild-index " + store).code, 0);
  EXPECT_EQ(Segstore("get " + store + " 149").code, 1);
  EXPECT_EQ(Segstore("verify --deep " + store).code, 0);

  auto dir_bytes = [&] {
    uint64_t sum = 0;
    for (const auto& e : fs::directory_iterator(store + "/segments")) sum += e.file_size();
    return sum;
  };
  const uint64_t before = dir_bytes();
  r = Segstore("compact --dry-run " + store);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("would rewrite"), std::string::npos) << r.out;
  EXPECT_EQ(dir_bytes(), before);
  r = Segstore("compact " + store);
  ASSERT_EQ(r.code, 0) << r.out;
  const size_t at = r.out.find("bytes_reclaimed=");
  ASSERT_NE(at, std::string::npos) << r.out;
  const uint64_t reclaimed = std::stoull(r.out.substr(at + 16));
  EXPECT_GT(reclaimed, 0u);
  EXPECT_EQ(before - dir_bytes(), reclaimed);
  r = Segstore("stats --json " + store);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"reclaimable\": {\"bytes\": 0,"), std::string::npos) << r.out;
  EXPECT_EQ(Segstore("get " + store + " 149").code, 1);
  EXPECT_EQ(Segstore("get " + store + " 299").code, 0);
  EXPECT_EQ(Segstore("verify --deep " + store).code, 0);
  EXPECT_EQ(Segstore("rebuild-index " + store).code, 0);
  EXPECT_EQ(Segstore("verify --deep " + store).code, 0);
}

}  // namespace
}  // namespace segstore
