// Tests for the Bitcoin input module against the real blocks in
// $SEGSTORE_TEST_DATA (see its README.md and README-mainnet.md).

#include "bitcoin_input.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace segstore::tools {
namespace {

namespace fs = std::filesystem;

constexpr char kMainnetGenesis[] =
    "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f";
constexpr char kMainnet1[] = "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048";
constexpr char kMainnet255[] = "00000000d0a75c861fabf9ff7b92022f60e4afeed9331fe5aa073d8e4706fe3c";
constexpr char kTestnet4Genesis[] =
    "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043";
constexpr char kTestnet4Last[] = "00000000962a7fc2ef639196051fe181ed53ac6aa4cdfead14dca90f58aa36bc";
constexpr char kTestnet4At739[] =
    "000000004cfba4fe6174c546086df7fb52b3d65d44788c0ee8acf436dd28de32";
constexpr uint64_t kMainnetFileSize = 59024;
// The 4 blocks of bitcoin-fork-at-1/blk00000.dat after its genesis block.
const char* const kForkHashes[] = {
    "00000000ebe5ec3e94d8dfe18100e5c0f3b1955bc6107fbe24d95732b814551b",
    "00000000952ccb1bf9b799fcd0cc654dd48363f76781f8b1c61dbf1696c39f97",
    "00000000bc3589303953766cc9364130cb97bc3749bae170f476d45f1e23f850",
    "000000002f264d6504013e73b9c913de9098d4d771c1bb219af475d2a01b128e",
};

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const fs::path& p, std::string_view data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << p;
}

std::string ToHex(std::string_view raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * raw.size());
  for (char c : raw) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Splits a plain blk file into its framed records (magic + size + block).
std::vector<std::string> SplitRecords(const std::string& data) {
  std::vector<std::string> out;
  size_t p = 0;
  while (p + 8 <= data.size()) {
    const auto* u = reinterpret_cast<const unsigned char*>(data.data() + p);
    const size_t n = size_t{u[4]} | size_t{u[5]} << 8 | size_t{u[6]} << 16 | size_t{u[7]} << 24;
    if (n == 0 || p + 8 + n > data.size()) break;
    out.push_back(data.substr(p, 8 + n));
    p += 8 + n;
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& s : parts) out += s;
  return out;
}

std::vector<std::string> Hashes(const ChainReader& r) {
  std::vector<std::string> out;
  for (const ChainEntry& e : r.entries()) out.push_back(HashToHex(e.hash));
  return out;
}

ChainReader OpenOrDie(std::vector<std::string> inputs, const ChainOptions& opt = {}) {
  auto r = ChainReader::Open(std::move(inputs), opt);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) std::abort();
  return std::move(*r);
}

// A fresh directory, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "btc_input_test.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// Tests on the shared data fail (never skip) if it cannot be found.
class DataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* env = std::getenv("SEGSTORE_TEST_DATA");
    ASSERT_TRUE(env != nullptr && *env != '\0')
        << "SEGSTORE_TEST_DATA is not set; run through ctest or point it at the shared "
           "Bitcoin data directory";
    data_ = env;
    for (const char* f :
         {"bitcoin-mainnet-0-255/blk00000.dat", "bitcoin-fork-at-1/blk00000.dat",
          "bitcoin-mainnet-0-255-xor/blk00000.dat", "bitcoin-mainnet-0-255-xor/xor.dat",
          "bitcoin-testnet4-blocks.hex", "bitcoin-testnet3-sample-blocks.hex"}) {
      ASSERT_TRUE(fs::is_regular_file(data_ / f)) << "SEGSTORE_TEST_DATA=" << env << " lacks " << f;
    }
  }
  std::string Data(const std::string& rel) const { return (data_ / rel).string(); }
  std::string Mainnet() const { return Data("bitcoin-mainnet-0-255/blk00000.dat"); }
  std::string Fork() const { return Data("bitcoin-fork-at-1/blk00000.dat"); }
  std::string Testnet4() const { return Data("bitcoin-testnet4-blocks.hex"); }

  fs::path data_;
};

// --- no data needed ----------------------------------------------------------------

TEST(HashTest, ParseAndFormatRoundTrip) {
  auto h = ParseHashHex(kMainnetGenesis);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ((*h)[0], 0x6f);  // internal order is the reverse of display order
  EXPECT_EQ((*h)[31], 0x00);
  EXPECT_EQ(HashToHex(*h), kMainnetGenesis);
  auto upper = ParseHashHex("000000000019D6689C085AE165831E934FF763AE46A2A6C172B3F1B60A8CE26F");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(*upper, *h);
  EXPECT_FALSE(IsNullHash(*h));
  EXPECT_TRUE(IsNullHash(Hash256{}));
}

TEST(HashTest, ParseRejectsBadInput) {
  EXPECT_EQ(ParseHashHex("00ff").status().code(), absl::StatusCode::kInvalidArgument);
  std::string bad(kMainnetGenesis);
  bad[10] = 'x';
  auto s = ParseHashHex(bad).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'x'"), absl::string_view::npos) << s;
}

TEST(HashTest, ShortInputNeverReadsPastTheEnd) {
  const std::string short_block(79, '\0');
  EXPECT_TRUE(IsNullHash(BlockHash(short_block)));
  EXPECT_TRUE(IsNullHash(PrevHash(short_block)));
  EXPECT_EQ(BlockHashHex(short_block), "");
  EXPECT_EQ(ParseBlockHeader(short_block).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FrameTest, HeaderLayoutAndLimits) {
  auto h = FrameHeader(0x01020304, kMagicTestnet4);
  ASSERT_TRUE(h.ok());
  const std::array<uint8_t, 8> want = {0x1c, 0x16, 0x3f, 0x28, 0x04, 0x03, 0x02, 0x01};
  EXPECT_EQ(*h, want);
  EXPECT_FALSE(FrameHeader(79).ok());
  EXPECT_FALSE(FrameHeader(kMaxBlockSize + 1).ok());
  EXPECT_TRUE(FrameHeader(kMaxBlockSize).ok());
  EXPECT_FALSE(FrameHeader(100, 0x12345678).ok());
  EXPECT_FALSE(FrameBlock(std::string(10, 'x')).ok());
}

TEST(OpenTest, ArgumentErrors) {
  EXPECT_EQ(ChainReader::Open({}).status().code(), absl::StatusCode::kInvalidArgument);
  auto s = ChainReader::Open({"/nonexistent/blk00000.dat"}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("/nonexistent/blk00000.dat"), absl::string_view::npos) << s;
  TempDir dir;
  auto empty_dir = ChainReader::Open({dir.path().string()}).status();
  EXPECT_EQ(empty_dir.code(), absl::StatusCode::kNotFound) << empty_dir;
}

TEST(OpenTest, HostileSizeField) {
  TempDir dir;
  std::string data = "\xf9\xbe\xb4\xd9\xff\xff\xff\xff";
  data += std::string(200, '\x01');
  WriteAll(dir / "hostile.dat", data);
  auto s = ChainReader::Open({dir / "hostile.dat"}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("hostile.dat: offset 0"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("4294967295"), absl::string_view::npos) << s;
}

TEST(OpenTest, TooSmallRecordAndTruncatedHeader) {
  TempDir dir;
  std::string small = "\xf9\xbe\xb4\xd9\x10";
  small += std::string(3 + 16, '\0');
  WriteAll(dir / "small.dat", small);
  auto s = ChainReader::Open({dir / "small.dat"}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("record size 16"), absl::string_view::npos) << s;

  WriteAll(dir / "hdr.dat", std::string("\x0b\x11\x09\x07\x50", 5));
  s = ChainReader::Open({dir / "hdr.dat"}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("truncated record header"), absl::string_view::npos) << s;
}

TEST(OpenTest, UnrecognizedAndEmptyFiles) {
  TempDir dir;
  WriteAll(dir / "junk.bin", std::string("\x01\x02\x03\x04 not bitcoin", 17));
  auto s = ChainReader::Open({dir / "junk.bin"}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("junk.bin: not a recognized input"), absl::string_view::npos) << s;

  // Empty or all-zero (preallocated, unused) blk files hold no blocks.
  WriteAll(dir / "empty.dat", "");
  WriteAll(dir / "zeros.dat", std::string(4096, '\0'));
  auto r = ChainReader::Open({dir / "empty.dat", dir / "zeros.dat"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), 0u);
  EXPECT_EQ(r->stats().padding_bytes, 4096u);

  // Zero fill followed by junk is not a blk file.
  WriteAll(dir / "zerojunk.dat", std::string(16, '\0') + "junk");
  s = ChainReader::Open({dir / "zerojunk.dat"}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("no block records"), absl::string_view::npos) << s;
}

TEST(OpenTest, HexSyntaxErrors) {
  TempDir dir;
  const std::string ok_line(160, '0');  // an all-zero header parses as a "genesis"
  struct Case {
    std::string text;
    std::string want;
  } cases[] = {
      {ok_line + "\n" + ok_line.substr(0, 40) + "g" + ok_line.substr(41) + "\n",
       "line 2, column 41: invalid hex character 'g'"},
      {ok_line + "\n" + ok_line + "0\n", "line 2: odd number of hex digits"},
      {ok_line + "\n00ff\n", "line 2: block of 2 bytes is shorter than the 80-byte header"},
      {ok_line + "\n\n" + ok_line + "\n", "line 2: empty line between blocks"},
      {ok_line + "\r" + ok_line + "\n", "line 1, column 162: carriage return"},
  };
  int k = 0;
  for (const Case& c : cases) {
    const std::string path = dir / ("bad" + std::to_string(k++) + ".hex");
    WriteAll(path, c.text);
    auto s = ChainReader::Open({path}).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_NE(s.message().find(path + ": " + c.want), absl::string_view::npos) << s;
  }
  // CRLF line ends, a missing final LF and trailing blank lines are fine.
  const std::string path = dir / "crlf.hex";
  WriteAll(path, ok_line + "\r\n\n\n");
  auto r = ChainReader::Open({path});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), 1u);
}

// --- real data ------------------------------------------------------------------------

TEST_F(DataTest, DetectsKindsFromContent) {
  EXPECT_EQ(DetectInputKind(Mainnet()).value(), InputKind::kBlkFile);
  EXPECT_EQ(DetectInputKind(Data("bitcoin-mainnet-0-255")).value(), InputKind::kBlocksDir);
  EXPECT_EQ(DetectInputKind(Data("bitcoin-mainnet-0-255-xor/blk00000.dat")).value(),
            InputKind::kBlkFile);
  EXPECT_EQ(DetectInputKind(Testnet4()).value(), InputKind::kHexFile);
  // Names do not matter: a blk file called .hex and hex called .dat.
  TempDir dir;
  fs::copy_file(Mainnet(), dir / "looks.hex");
  fs::copy_file(Testnet4(), dir / "looks.dat");
  EXPECT_EQ(DetectInputKind(dir / "looks.hex").value(), InputKind::kBlkFile);
  EXPECT_EQ(DetectInputKind(dir / "looks.dat").value(), InputKind::kHexFile);
}

TEST_F(DataTest, Mainnet256Blocks) {
  ChainReader r = OpenOrDie({Mainnet()});
  ASSERT_EQ(r.size(), 256u);
  EXPECT_EQ(r.Height(0), 0u);
  EXPECT_EQ(r.Height(255), 255u);
  EXPECT_EQ(HashToHex(r.entry(0).hash), kMainnetGenesis);
  EXPECT_EQ(HashToHex(r.entry(1).hash), kMainnet1);
  EXPECT_EQ(HashToHex(r.entry(255).hash), kMainnet255);
  EXPECT_TRUE(r.skipped().empty());
  EXPECT_TRUE(r.duplicates().empty());
  const ChainStats& st = r.stats();
  EXPECT_EQ(st.records, 256u);
  EXPECT_EQ(st.chain_blocks, 256u);
  EXPECT_EQ(st.chain_bytes, kMainnetFileSize - 256 * 8);
  EXPECT_EQ(st.padding_bytes, 0u);
  EXPECT_EQ(st.magic, kMagicMainnet);
  EXPECT_TRUE(st.chain_ordered);
  EXPECT_EQ(r.entry(0).location.offset, 0u);
  EXPECT_EQ(r.entry(0).location.size, 285u);
  std::string prev_hash;
  for (uint64_t i = 0; i < r.size(); ++i) {
    auto block = r.ReadBlock(i);
    ASSERT_TRUE(block.ok()) << block.status();
    ASSERT_EQ(block->size(), r.entry(i).location.size);
    EXPECT_EQ(BlockHashHex(*block), HashToHex(r.entry(i).hash));
    EXPECT_EQ(BlockHash(*block), r.entry(i).hash);
    if (i > 0) {
      EXPECT_EQ(HashToHex(PrevHash(*block)), prev_hash) << "height " << i;
    }
    prev_hash = BlockHashHex(*block);
  }
  EXPECT_EQ(r.ReadBlock(256).status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(DataTest, BlocksDirWithForkKeepsMainChain) {
  TempDir dir;
  fs::copy_file(Mainnet(), dir / "blk00000.dat");
  fs::copy_file(Fork(), dir / "blk00001.dat");
  WriteAll(dir / "rev00000.dat", "undo data is not read");
  ChainReader r = OpenOrDie({dir.path().string()});
  ASSERT_EQ(r.size(), 256u);
  EXPECT_EQ(HashToHex(r.entry(0).hash), kMainnetGenesis);
  EXPECT_EQ(HashToHex(r.entry(1).hash), kMainnet1);
  EXPECT_EQ(HashToHex(r.entry(255).hash), kMainnet255);
  ASSERT_EQ(r.skipped().size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const Skipped& s = r.skipped()[i];
    EXPECT_EQ(s.reason, SkipReason::kFork);
    EXPECT_EQ(HashToHex(s.hash), kForkHashes[i]);
    EXPECT_EQ(s.location.file, 1u);
    EXPECT_NE(s.message.find("leaves the main chain at height 1"), std::string::npos) << s.message;
    EXPECT_NE(s.message.find(kForkHashes[i]), std::string::npos) << s.message;
  }
  // The fork file repeats the genesis block: a duplicate, not a skipped block.
  ASSERT_EQ(r.duplicates().size(), 1u);
  EXPECT_EQ(HashToHex(r.duplicates()[0].hash), kMainnetGenesis);
  EXPECT_EQ(r.stats().fork_blocks, 4u);
  EXPECT_EQ(r.stats().duplicate_blocks, 1u);
  EXPECT_EQ(r.stats().records, 261u);
  EXPECT_EQ(r.files().size(), 2u);  // rev00000.dat is not an input
}

TEST_F(DataTest, LongestBranchWinsEvenIfSeenLater) {
  TempDir dir;
  fs::copy_file(Fork(), dir / "blk00000.dat");
  fs::copy_file(Mainnet(), dir / "blk00001.dat");
  ChainReader r = OpenOrDie({dir.path().string()});
  ASSERT_EQ(r.size(), 256u);
  EXPECT_EQ(HashToHex(r.entry(1).hash), kMainnet1);
  EXPECT_EQ(r.entry(0).location.file, 0u);  // first copy of genesis is kept
  EXPECT_EQ(r.skipped().size(), 4u);
}

TEST_F(DataTest, EqualLengthBranchesGoToTheTipSeenFirst) {
  TempDir dir;
  const auto main5 = SplitRecords(ReadAll(Mainnet()));
  WriteAll(dir / "main5.dat", Join({main5.begin(), main5.begin() + 5}));
  {
    ChainReader r = OpenOrDie({dir / "main5.dat", Fork()});
    ASSERT_EQ(r.size(), 5u);
    EXPECT_EQ(HashToHex(r.entry(1).hash), kMainnet1);
    EXPECT_EQ(r.skipped().size(), 4u);
  }
  {
    ChainReader r = OpenOrDie({Fork(), dir / "main5.dat"});
    ASSERT_EQ(r.size(), 5u);
    EXPECT_EQ(HashToHex(r.entry(1).hash), kForkHashes[0]);
    EXPECT_EQ(HashToHex(r.entry(4).hash), kForkHashes[3]);
    ASSERT_EQ(r.skipped().size(), 4u);
    EXPECT_EQ(HashToHex(r.skipped()[0].hash), kMainnet1);
  }
}

TEST_F(DataTest, ShuffledRecordsGiveTheSameOrder) {
  const ChainReader plain = OpenOrDie({Mainnet()});
  auto records = SplitRecords(ReadAll(Mainnet()));
  ASSERT_EQ(records.size(), 256u);
  std::mt19937 rng(20240601);
  std::shuffle(records.begin(), records.end(), rng);
  TempDir dir;
  WriteAll(dir / "blk00000.dat", Join(records));
  ChainReader r = OpenOrDie({dir.path().string()});
  ASSERT_EQ(r.size(), 256u);
  EXPECT_EQ(Hashes(r), Hashes(plain));
  EXPECT_TRUE(r.skipped().empty());
  for (uint64_t i : {uint64_t{0}, uint64_t{100}, uint64_t{255}}) {
    EXPECT_EQ(r.ReadBlock(i).value(), const_cast<ChainReader&>(plain).ReadBlock(i).value());
  }
}

TEST_F(DataTest, ObfuscatedBlocksDir) {
  const ChainReader plain = OpenOrDie({Mainnet()});
  ChainReader r = OpenOrDie({Data("bitcoin-mainnet-0-255-xor")});
  ASSERT_EQ(r.size(), 256u);
  EXPECT_EQ(Hashes(r), Hashes(plain));
  EXPECT_TRUE(r.skipped().empty());
  ASSERT_EQ(r.files().size(), 1u);
  EXPECT_TRUE(r.files()[0].obfuscated);
  const std::array<uint8_t, 8> key = {0x5a, 0x3c, 0x91, 0xe0, 0x7b, 0x14, 0xd2, 0xa6};
  EXPECT_EQ(r.files()[0].xor_key, key);
  // The preallocated tail is raw zeros on disk (not XORed zeros).
  EXPECT_EQ(r.stats().padding_bytes, (uint64_t{1} << 20) - kMainnetFileSize);
  const std::string want = ReadAll(Mainnet());
  std::string got;
  for (uint64_t i = 0; i < r.size(); ++i) {
    ASSERT_TRUE(r.ReadBlockInto(i, &got).ok());
    ASSERT_EQ(FrameBlock(got).value(), want.substr(r.entry(i).location.offset, 8 + got.size()));
  }
  // The file alone still finds xor.dat next to it.
  ChainReader alone = OpenOrDie({Data("bitcoin-mainnet-0-255-xor/blk00000.dat")});
  EXPECT_EQ(Hashes(alone), Hashes(plain));
}

TEST_F(DataTest, ObfuscationKeyEdgeCases) {
  TempDir dir;
  // Without its xor.dat the obfuscated file is unrecognizable.
  fs::copy_file(Data("bitcoin-mainnet-0-255-xor/blk00000.dat"), dir / "blk00000.dat");
  auto s = ChainReader::Open({dir.path().string()}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("xor.dat"), absl::string_view::npos) << s;
  // A key file of the wrong size is an error.
  WriteAll(dir / "xor.dat", "1234567");
  s = ChainReader::Open({dir.path().string()}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("exactly 8 bytes"), absl::string_view::npos) << s;
  // An all-zero key means no obfuscation.
  TempDir zero;
  fs::copy_file(Mainnet(), zero / "blk00000.dat");
  WriteAll(zero / "xor.dat", std::string(8, '\0'));
  ChainReader r = OpenOrDie({zero.path().string()});
  EXPECT_EQ(r.size(), 256u);
  EXPECT_FALSE(r.files()[0].obfuscated);
}

TEST_F(DataTest, DatadirWithBlocksSubdir) {
  TempDir dir;
  fs::create_directory(dir.path() / "blocks");
  fs::copy_file(Mainnet(), dir.path() / "blocks" / "blk00000.dat");
  ChainReader r = OpenOrDie({dir.path().string()});
  EXPECT_EQ(r.size(), 256u);
}

TEST_F(DataTest, Testnet4HexChain) {
  for (auto order : {ChainOptions::HexOrder::kLineOrder, ChainOptions::HexOrder::kChain}) {
    ChainOptions opt;
    opt.hex_order = order;
    ChainReader r = OpenOrDie({Testnet4()}, opt);
    ASSERT_EQ(r.size(), 2016u);
    EXPECT_EQ(r.stats().chain_ordered, order == ChainOptions::HexOrder::kChain);
    EXPECT_EQ(HashToHex(r.entry(0).hash), kTestnet4Genesis);
    EXPECT_EQ(HashToHex(r.entry(2015).hash), kTestnet4Last);
    EXPECT_EQ(r.Height(2015), 2015u);
    EXPECT_EQ(HashToHex(r.entry(739).hash), kTestnet4At739);
    EXPECT_EQ(r.entry(739).location.size, 83653u);
    EXPECT_EQ(r.entry(739).location.line, 740u);
    uint64_t bytes = 0;
    Hash256 prev{};
    for (uint64_t i = 0; i < r.size(); ++i) {
      auto block = r.ReadBlock(i);
      ASSERT_TRUE(block.ok()) << block.status();
      EXPECT_EQ(PrevHash(*block), prev) << "height " << i;
      prev = BlockHash(*block);
      bytes += block->size();
    }
    EXPECT_EQ(bytes, 600363u);
    EXPECT_EQ(r.stats().chain_bytes, 600363u);
  }
}

TEST_F(DataTest, Testnet3SampleIsNotAChain) {
  const std::string path = Data("bitcoin-testnet3-sample-blocks.hex");
  auto s = ChainReader::Open({path}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find(path + ": line 2: block 000000006c02c8ea"), absl::string_view::npos)
      << s;

  ChainOptions lines;
  lines.check_hex_links = false;
  ChainReader r = OpenOrDie({path}, lines);
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(HashToHex(r.entry(5).hash),
            "000000006f27ddfe1dd680044a34548f41bed47eba9e6f0b310da21423bc5f33");
  EXPECT_EQ(r.stats().hex_link_breaks, 4u);

  ChainOptions chain;
  chain.hex_order = ChainOptions::HexOrder::kChain;
  ChainReader c = OpenOrDie({path}, chain);
  ASSERT_EQ(c.size(), 1u);  // only genesis connects to genesis
  EXPECT_EQ(HashToHex(c.entry(0).hash),
            "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943");
  ASSERT_EQ(c.skipped().size(), 5u);
  for (const Skipped& sk : c.skipped()) EXPECT_EQ(sk.reason, SkipReason::kOrphan);
  EXPECT_NE(c.skipped()[1].message.find("its branch starts at 000000006c02c8ea"), std::string::npos)
      << c.skipped()[1].message;
}

TEST_F(DataTest, StartHeightForInputWithoutGenesis) {
  const auto lines = SplitLines(ReadAll(Testnet4()));
  ASSERT_EQ(lines.size(), 2016u);
  TempDir dir;
  const std::string path = dir / "part.hex";
  WriteAll(path, JoinLines({lines.begin() + 100, lines.begin() + 200}));

  auto s = ChainReader::Open({path}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("not a genesis block"), absl::string_view::npos) << s;
  ChainOptions opt;
  opt.start_height = 100;
  ChainReader r = OpenOrDie({path}, opt);
  ASSERT_EQ(r.size(), 100u);
  EXPECT_EQ(r.Height(0), 100u);
  EXPECT_EQ(r.Height(99), 199u);

  // Chain order: the same, with a framed copy as blk input.
  std::string blk;
  for (uint64_t i = 0; i < r.size(); ++i)
    blk += FrameBlock(r.ReadBlock(i).value(), kMagicTestnet4).value();
  WriteAll(dir / "part.dat", blk);
  s = ChainReader::Open({dir / "part.dat"}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("no genesis block"), absl::string_view::npos) << s;
  ChainReader c = OpenOrDie({dir / "part.dat"}, opt);
  EXPECT_EQ(Hashes(c), Hashes(r));
  EXPECT_EQ(c.Height(0), 100u);
  EXPECT_EQ(c.stats().magic, kMagicTestnet4);
  // A start height that contradicts a genesis block is refused.
  opt.start_height = 5;
  EXPECT_EQ(ChainReader::Open({Mainnet()}, opt).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(DataTest, TruncatedBlkFile) {
  TempDir dir;
  const std::string data = ReadAll(Mainnet());
  WriteAll(dir / "blk00000.dat", data.substr(0, 30000));
  auto s = ChainReader::Open({dir.path().string()}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("blk00000.dat: offset "), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("truncated record"), absl::string_view::npos) << s;
}

TEST_F(DataTest, HostileSizeInRealFile) {
  TempDir dir;
  auto records = SplitRecords(ReadAll(Mainnet()));
  uint64_t offset = 0;
  for (size_t i = 0; i < 10; ++i) offset += records[i].size();
  std::memset(records[10].data() + 4, 0xff, 4);
  WriteAll(dir / "blk00000.dat", Join(records));
  auto s = ChainReader::Open({dir / "blk00000.dat"}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("blk00000.dat: offset " + std::to_string(offset) +
                             ": record size 4294967295"),
            absl::string_view::npos)
      << s;
}

TEST_F(DataTest, GarbageIsSkippedAndReported) {
  TempDir dir;
  const std::string data = ReadAll(Mainnet());
  auto records = SplitRecords(data);
  uint64_t mid = 0;
  for (size_t i = 0; i < 101; ++i) mid += records[i].size();
  records.insert(records.begin() + 101, std::string(13, '\x55'));
  WriteAll(dir / "blk00000.dat", Join(records) + "trailing junk" + std::string(4096, '\0'));
  ChainReader r = OpenOrDie({dir.path().string()});
  EXPECT_EQ(r.size(), 256u);
  ASSERT_EQ(r.skipped().size(), 2u);
  EXPECT_EQ(r.skipped()[0].reason, SkipReason::kGarbage);
  EXPECT_EQ(r.skipped()[0].location.offset, mid);
  EXPECT_EQ(r.skipped()[0].location.size, 13u);
  EXPECT_EQ(r.skipped()[1].location.offset, data.size() + 13);
  EXPECT_EQ(r.skipped()[1].location.size, 13u + 4096u);  // junk up to the end of the file
  EXPECT_NE(r.skipped()[0].message.find("offset " + std::to_string(mid)), std::string::npos);
  EXPECT_EQ(r.stats().garbage_regions, 2u);
  // Zero fill alone (preallocation) is not reported.
  WriteAll(dir / "blk00000.dat", data + std::string(12345, '\0'));
  ChainReader p = OpenOrDie({dir.path().string()});
  EXPECT_EQ(p.size(), 256u);
  EXPECT_TRUE(p.skipped().empty());
  EXPECT_EQ(p.stats().padding_bytes, 12345u);
}

TEST_F(DataTest, MixedNetworksAreRefused) {
  TempDir dir;
  auto records = SplitRecords(ReadAll(Mainnet()));
  std::memcpy(records[3].data(), "\x0b\x11\x09\x07", 4);
  WriteAll(dir / "mixed.dat", Join(records));
  auto s = ChainReader::Open({dir / "mixed.dat"}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("testnet3"), absl::string_view::npos) << s;
}

TEST_F(DataTest, BadHexInRealFile) {
  TempDir dir;
  auto lines = SplitLines(ReadAll(Testnet4()));
  auto bad = lines;
  bad[2][300] = 'z';
  WriteAll(dir / "bad.hex", JoinLines(bad));
  auto s = ChainReader::Open({dir / "bad.hex"}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("bad.hex: line 3, column 301: invalid hex character 'z'"),
            absl::string_view::npos)
      << s;
  auto odd = lines;
  odd[4].pop_back();
  WriteAll(dir / "odd.hex", JoinLines(odd));
  s = ChainReader::Open({dir / "odd.hex"}).status();
  EXPECT_NE(s.message().find("odd.hex: line 5: odd number of hex digits"), absl::string_view::npos)
      << s;
}

TEST_F(DataTest, FramedOutputReimports) {
  TempDir dir;
  {
    ChainReader r = OpenOrDie({Mainnet()});
    std::string out;
    for (uint64_t i = 0; i < r.size(); ++i) {
      auto framed = FrameBlock(r.ReadBlock(i).value());
      ASSERT_TRUE(framed.ok()) << framed.status();
      EXPECT_EQ(framed->substr(0, 4), "\xf9\xbe\xb4\xd9");
      out += *framed;
    }
    EXPECT_EQ(out, ReadAll(Mainnet()));  // the source file is in height order already
    WriteAll(dir / "range.out", out);
    ChainReader again = OpenOrDie({dir / "range.out"});
    EXPECT_EQ(Hashes(again), Hashes(r));
  }
  {
    ChainReader r = OpenOrDie({Testnet4()});
    std::string out;
    for (uint64_t i = 0; i < r.size(); ++i)
      out += FrameBlock(r.ReadBlock(i).value(), kMagicTestnet4).value();
    WriteAll(dir / "testnet4.out", out);
    ChainReader again = OpenOrDie({dir / "testnet4.out"});
    ASSERT_EQ(again.size(), 2016u);
    EXPECT_EQ(Hashes(again), Hashes(r));
    EXPECT_EQ(again.stats().magic, kMagicTestnet4);
    EXPECT_EQ(again.ReadBlock(739).value(), r.ReadBlock(739).value());
  }
}

TEST_F(DataTest, LargeRealBlocksRoundTrip) {
  TempDir dir;
  std::vector<std::string> raws;
  for (const auto& e : fs::directory_iterator(data_ / "bitcoin-mainnet-large-blocks")) {
    if (e.path().extension() == ".raw") raws.push_back(ReadAll(e.path()));
  }
  ASSERT_EQ(raws.size(), 3u);
  std::sort(raws.begin(), raws.end(), [](auto& a, auto& b) { return a.size() < b.size(); });
  EXPECT_EQ(raws[2].size(), 2259447u);
  std::string out;
  for (const auto& raw : raws) {
    auto h = FrameHeader(raw.size());
    ASSERT_TRUE(h.ok());
    out.append(reinterpret_cast<const char*>(h->data()), h->size());
    out += raw;
  }
  WriteAll(dir / "large.dat", out);
  ChainOptions opt;
  opt.start_height = 277647;
  ChainReader r = OpenOrDie({dir / "large.dat"}, opt);
  ASSERT_EQ(r.size(), 1u);  // three unrelated blocks: one chain of 1, tie to the first seen
  EXPECT_EQ(r.ReadBlock(0).value(), raws[0]);
  EXPECT_EQ(BlockHashHex(raws[0]),
            "0000000000000000054a714e580b16c583701712ab91060e92dbde6eb1e052a8");
  ASSERT_EQ(r.skipped().size(), 2u);
  EXPECT_EQ(r.skipped()[1].location.size, 2259447u);
  EXPECT_EQ(r.skipped()[1].reason, SkipReason::kOrphan);
}

TEST_F(DataTest, MixedHexAndBlkInputsChainTogether) {
  TempDir dir;
  ChainReader full = OpenOrDie({Mainnet()});
  const auto records = SplitRecords(ReadAll(Mainnet()));
  WriteAll(dir / "first.dat", Join({records.begin(), records.begin() + 100}));
  std::string hex;
  for (uint64_t i = 255; i >= 100; --i) hex += ToHex(full.ReadBlock(i).value()) + "\n";  // reversed
  WriteAll(dir / "rest.hex", hex);
  ChainReader r = OpenOrDie({dir / "rest.hex", dir / "first.dat"});
  EXPECT_TRUE(r.stats().chain_ordered);
  EXPECT_EQ(Hashes(r), Hashes(full));
  EXPECT_EQ(r.ReadBlock(200).value(), full.ReadBlock(200).value());
  EXPECT_EQ(r.entry(200).location.file, 0u);
  EXPECT_EQ(r.entry(200).location.line, 56u);
}

TEST_F(DataTest, SameFileTwiceIsRefused) {
  auto s = ChainReader::Open({Mainnet(), Data("bitcoin-mainnet-0-255")}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("more than once"), absl::string_view::npos) << s;
}

TEST_F(DataTest, ChangedFileIsDetectedOnRead) {
  TempDir dir;
  std::string data = ReadAll(Mainnet());
  WriteAll(dir / "blk00000.dat", data);
  ChainReader r = OpenOrDie({dir / "blk00000.dat"});
  const uint64_t at = r.entry(5).location.offset + 8 + 40;  // inside block 5's header
  data[at] = static_cast<char>(data[at] ^ 1);
  WriteAll(dir / "blk00000.dat", data);
  EXPECT_EQ(r.ReadBlock(5).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(r.ReadBlock(6).ok());
  WriteAll(dir / "blk00000.dat", data.substr(0, 1000));
  EXPECT_EQ(r.ReadBlock(200).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace segstore::tools
