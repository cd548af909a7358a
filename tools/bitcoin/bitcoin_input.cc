// Bitcoin block input: see bitcoin_input.h.

#include "bitcoin_input.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace segstore::tools {
namespace {

namespace fs = std::filesystem;

static_assert(sizeof(size_t) == 8, "64-bit sizes are assumed");

constexpr uint64_t kScanChunk = uint64_t{1} << 20;
constexpr uint64_t kMaxHexLine = 2 * kMaxBlockSize;
constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();

// Debian's Abseil does not alias std::string_view.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string ErrnoText(int err) { return std::strerror(err); }

// --- hashing -------------------------------------------------------------------

bool Sha256d(const void* data, size_t len, Hash256* out) {
  unsigned char first[32];
  unsigned int n = 0;
  if (EVP_Digest(data, len, first, &n, EVP_sha256(), nullptr) != 1 || n != 32) return false;
  return EVP_Digest(first, sizeof first, out->data(), &n, EVP_sha256(), nullptr) == 1 && n == 32;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PrintableChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return absl::StrCat("'", absl::string_view(&c, 1), "'");
  static constexpr char kDigits[] = "0123456789abcdef";
  return absl::StrCat("byte 0x", absl::string_view(&kDigits[u >> 4], 1),
                      absl::string_view(&kDigits[u & 15], 1));
}

uint32_t LoadBE32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
uint32_t LoadLE32(const unsigned char* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

struct HashHasher {
  size_t operator()(const Hash256& h) const noexcept {
    return std::hash<std::string_view>()(
        std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
  }
};

// --- files ---------------------------------------------------------------------

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

absl::StatusOr<Fd> OpenRead(const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    const int err = errno;
    const std::string msg = absl::StrCat(path, ": cannot open: ", ErrnoText(err));
    return err == ENOENT ? absl::NotFoundError(msg) : absl::PermissionDeniedError(msg);
  }
  return Fd(fd);
}

// Reads exactly n bytes at offset; a short read (file shrank) is DataLoss.
absl::Status ReadAt(int fd, const std::string& path, uint64_t offset, uint64_t n, void* dst) {
  auto* p = static_cast<char*>(dst);
  uint64_t done = 0;
  while (done < n) {
    const uint64_t want = std::min<uint64_t>(n - done, uint64_t{1} << 30);
    const ssize_t r = ::pread(fd, p + done, want, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return absl::DataLossError(
          absl::StrCat(path, ": offset ", offset + done, ": read failed: ", ErrnoText(errno)));
    }
    if (r == 0) {
      return absl::DataLossError(absl::StrCat(path, ": offset ", offset + done,
                                              ": unexpected end of file (file changed?)"));
    }
    done += static_cast<uint64_t>(r);
  }
  return absl::OkStatus();
}

// XORs with the key as Bitcoin Core does: byte at file offset i uses key[i % 8].
void Deobfuscate(const InputFile& f, uint64_t file_offset, unsigned char* data, uint64_t n) {
  if (!f.obfuscated) return;
  for (uint64_t i = 0; i < n; ++i) data[i] ^= f.xor_key[(file_offset + i) % 8];
}

std::string Where(const InputFile& f, const BlockLocation& loc) {
  if (f.kind == InputKind::kHexFile) return absl::StrCat(f.path, ": line ", loc.line);
  return absl::StrCat(f.path, ": offset ", loc.offset);
}

// --- input expansion -------------------------------------------------------------

// Bitcoin Core names block files blk%05u.dat (more digits past 99999).
bool ParseBlkName(const std::string& name, uint64_t* number) {
  if (name.size() < 3 + 5 + 4 || name.compare(0, 3, "blk") != 0 ||
      name.compare(name.size() - 4, 4, ".dat") != 0 || name.size() > 3 + 18 + 4) {
    return false;
  }
  uint64_t v = 0;
  for (size_t i = 3; i < name.size() - 4; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  *number = v;
  return true;
}

absl::StatusOr<std::vector<std::string>> ListBlkFiles(const std::string& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return absl::NotFoundError(absl::StrCat(dir, ": cannot list directory: ", ec.message()));
  std::vector<std::pair<uint64_t, std::string>> found;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    uint64_t n = 0;
    const std::string name = it->path().filename().string();
    std::error_code ec2;
    if (ParseBlkName(name, &n) && it->is_regular_file(ec2))
      found.emplace_back(n, it->path().string());
  }
  if (ec) return absl::DataLossError(absl::StrCat(dir, ": cannot list directory: ", ec.message()));
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  out.reserve(found.size());
  for (auto& [n, p] : found) out.push_back(std::move(p));
  return out;
}

// A blocks directory, or a datadir whose blocks/ holds the blk files.
absl::StatusOr<std::string> ResolveBlocksDir(const std::string& dir) {
  auto files = ListBlkFiles(dir);
  if (!files.ok()) return files.status();
  if (!files->empty()) return dir;
  const std::string sub = (fs::path(dir) / "blocks").string();
  std::error_code ec;
  if (fs::is_directory(sub, ec)) {
    auto sub_files = ListBlkFiles(sub);
    if (!sub_files.ok()) return sub_files.status();
    if (!sub_files->empty()) return sub;
  }
  return absl::NotFoundError(
      absl::StrCat(dir, ": no blk?????.dat files in this directory (nor in blocks/)"));
}

// The directory's xor.dat key; all zeros (no obfuscation) if there is none.
absl::StatusOr<std::array<uint8_t, 8>> ReadXorKey(const std::string& dir) {
  std::array<uint8_t, 8> key{};
  const std::string path = (fs::path(dir) / "xor.dat").string();
  std::error_code ec;
  if (!fs::exists(path, ec)) return key;
  auto fd = OpenRead(path);
  if (!fd.ok()) return fd.status();
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) {
    return absl::DataLossError(absl::StrCat(path, ": stat failed: ", ErrnoText(errno)));
  }
  if (!S_ISREG(st.st_mode) || st.st_size != 8) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": an obfuscation key file must hold exactly 8 bytes, this one has ", st.st_size));
  }
  if (absl::Status s = ReadAt(fd->get(), path, 0, 8, key.data()); !s.ok()) return s;
  return key;
}

std::string ParentDir(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

bool AllZero(const unsigned char* p, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

// Fills *f (kind, size, obfuscated) from the file's first bytes.
absl::Status ClassifyFile(const std::string& path, const std::array<uint8_t, 8>& key,
                          InputFile* f) {
  auto fd = OpenRead(path);
  if (!fd.ok()) return fd.status();
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) {
    return absl::DataLossError(absl::StrCat(path, ": stat failed: ", ErrnoText(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file or directory"));
  }
  f->path = path;
  f->size = static_cast<uint64_t>(st.st_size);
  f->xor_key = key;
  const bool has_key = !AllZero(key.data(), key.size());
  unsigned char raw[8] = {};
  const uint64_t n = std::min<uint64_t>(f->size, sizeof raw);
  if (absl::Status s = ReadAt(fd->get(), path, 0, n, raw); !s.ok()) return s;
  unsigned char plain[8];
  for (size_t i = 0; i < sizeof raw; ++i) plain[i] = static_cast<unsigned char>(raw[i] ^ key[i]);

  f->kind = InputKind::kBlkFile;
  f->obfuscated = false;
  if (n == 0) return absl::OkStatus();  // empty: no records
  if (has_key && n >= 4 && IsKnownMagic(LoadBE32(plain))) {
    f->obfuscated = true;
    return absl::OkStatus();
  }
  if (n >= 4 && IsKnownMagic(LoadBE32(raw))) return absl::OkStatus();
  // Zero fill at the start: a preallocated, unused (or damaged) blk file.
  if (AllZero(raw, n) || (has_key && AllZero(plain, n))) {
    f->obfuscated = has_key;
    return absl::OkStatus();
  }
  if (HexValue(static_cast<char>(raw[0])) >= 0) {
    f->kind = InputKind::kHexFile;
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      path,
      ": not a recognized input: no Bitcoin network magic at offset 0 (blk file) and not "
      "hex text",
      has_key ? "" : " (an obfuscated blk file needs the xor.dat of its directory next to it)"));
}

// --- pass one: indexing --------------------------------------------------------------

struct Record {
  BlockLocation loc;
  Hash256 hash{};
  Hash256 prev{};
};

struct Index {
  std::vector<InputFile> files;
  std::vector<Record> records;  // in the order seen
  std::vector<Skipped> garbage;
  ChainStats stats;
};

absl::Status HashHeader(const InputFile& f, const BlockLocation& loc, const unsigned char* header,
                        Record* rec) {
  if (!Sha256d(header, kBlockHeaderSize, &rec->hash)) {
    return absl::InternalError(absl::StrCat(Where(f, loc), ": SHA-256 failed (OpenSSL)"));
  }
  std::memcpy(rec->prev.data(), header + 4, 32);
  rec->loc = loc;
  return absl::OkStatus();
}

// Result of scanning forward from a non-record position in a blk file.
struct Scan {
  uint64_t next = 0;       // offset of the next magic, or the file size
  bool raw_zero = true;    // bytes before `next` are all zero on disk
  bool plain_zero = true;  // ... or all zero after deobfuscation
};

absl::StatusOr<Scan> ScanForMagic(int fd, const InputFile& f, uint64_t from, uint32_t magic) {
  Scan scan;
  scan.next = f.size;
  std::vector<unsigned char> raw;
  std::vector<unsigned char> plain;
  for (uint64_t pos = from; pos < f.size; pos += kScanChunk) {
    // 3 bytes of overlap so a magic across a chunk boundary is found.
    const uint64_t n = std::min<uint64_t>(kScanChunk + 3, f.size - pos);
    raw.resize(n);
    if (absl::Status s = ReadAt(fd, f.path, pos, n, raw.data()); !s.ok()) return s;
    plain = raw;
    Deobfuscate(f, pos, plain.data(), n);
    uint64_t stop = std::min<uint64_t>(n, kScanChunk);
    bool found = false;
    for (uint64_t j = 0; j + 4 <= n && j < kScanChunk; ++j) {
      const uint32_t m = LoadBE32(&plain[j]);
      if (magic != 0 ? m == magic : IsKnownMagic(m)) {
        stop = j;
        found = true;
        break;
      }
    }
    if (scan.raw_zero) scan.raw_zero = AllZero(raw.data(), stop);
    if (scan.plain_zero) scan.plain_zero = AllZero(plain.data(), stop);
    if (found) {
      scan.next = pos + stop;
      break;
    }
  }
  return scan;
}

absl::Status IndexBlkFile(uint64_t file_index, Index* ix) {
  const InputFile& f = ix->files[file_index];
  auto fd_or = OpenRead(f.path);
  if (!fd_or.ok()) return fd_or.status();
  const int fd = fd_or->get();
  uint32_t& network = ix->stats.magic;
  uint64_t records = 0;
  uint64_t first_garbage = kNone;
  uint64_t p = 0;
  while (p < f.size) {
    const uint64_t rem = f.size - p;
    unsigned char hdr[kFrameHeaderSize + kBlockHeaderSize];
    const uint64_t n = std::min<uint64_t>(rem, sizeof hdr);
    if (absl::Status s = ReadAt(fd, f.path, p, n, hdr); !s.ok()) return s;
    Deobfuscate(f, p, hdr, n);
    const uint32_t magic = n >= 4 ? LoadBE32(hdr) : 0;
    if (IsKnownMagic(magic)) {
      const std::string at = absl::StrCat(f.path, ": offset ", p, ": ");
      if (network != 0 && magic != network) {
        return absl::InvalidArgumentError(
            absl::StrCat(at, "record of network ", AV(NetworkName(magic)), " among ",
                         AV(NetworkName(network)), " records; inputs must be from one network"));
      }
      if (rem < kFrameHeaderSize) {
        return absl::DataLossError(
            absl::StrCat(at, "truncated record header: ", rem, " bytes left in the file, need 8"));
      }
      const uint64_t size = LoadLE32(hdr + 4);
      if (size < kBlockHeaderSize || size > kMaxBlockSize) {
        return absl::DataLossError(absl::StrCat(at, "record size ", size,
                                                " is outside the accepted range [80, ",
                                                kMaxBlockSize, "] bytes"));
      }
      if (size > rem - kFrameHeaderSize) {
        return absl::DataLossError(absl::StrCat(at, "truncated record: its size field says ", size,
                                                " bytes but only ", rem - kFrameHeaderSize,
                                                " bytes follow in the file"));
      }
      network = magic;
      Record rec;
      BlockLocation loc{file_index, p, size, 0};
      if (absl::Status s = HashHeader(f, loc, hdr + kFrameHeaderSize, &rec); !s.ok()) return s;
      ix->records.push_back(rec);
      ++records;
      p += kFrameHeaderSize + size;
      continue;
    }
    auto scan = ScanForMagic(fd, f, p, network);
    if (!scan.ok()) return scan.status();
    const uint64_t len = scan->next - p;
    if (scan->raw_zero || scan->plain_zero) {
      ix->stats.padding_bytes += len;  // preallocated space, or zero fill between records
    } else {
      if (first_garbage == kNone) first_garbage = p;
      Skipped sk;
      sk.reason = SkipReason::kGarbage;
      sk.location = BlockLocation{file_index, p, len, 0};
      sk.message = absl::StrCat(f.path, ": offset ", p, ": skipped ", len,
                                " bytes that are neither a block record nor zero fill",
                                scan->next < f.size ? " (resynchronized at the next magic)"
                                                    : " (up to the end of the file)");
      ix->garbage.push_back(std::move(sk));
      ix->stats.garbage_regions++;
      ix->stats.garbage_bytes += len;
    }
    p = scan->next;
  }
  if (records == 0 && first_garbage != kNone) {
    return absl::InvalidArgumentError(absl::StrCat(
        f.path, ": no block records found (unrecognized data at offset ", first_garbage, ")"));
  }
  return absl::OkStatus();
}

// Streams a hex file once: validates every character and hashes each header.
absl::Status IndexHexFile(uint64_t file_index, Index* ix) {
  const InputFile& f = ix->files[file_index];
  auto fd_or = OpenRead(f.path);
  if (!fd_or.ok()) return fd_or.status();
  const int fd = fd_or->get();

  uint64_t line = 1;
  uint64_t line_start = 0;
  uint64_t hex_len = 0;
  bool saw_cr = false;
  uint64_t blank_line = 0;  // first blank line not yet followed by a block
  unsigned char header[kBlockHeaderSize] = {};
  auto fail = [&](uint64_t column, const std::string& what) {
    return absl::InvalidArgumentError(
        column == 0 ? absl::StrCat(f.path, ": line ", line, ": ", what)
                    : absl::StrCat(f.path, ": line ", line, ", column ", column, ": ", what));
  };
  auto end_line = [&]() -> absl::Status {
    if (hex_len == 0) {
      if (blank_line == 0) blank_line = line;
      return absl::OkStatus();
    }
    if (blank_line != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(f.path, ": line ", blank_line, ": empty line between blocks"));
    }
    if (hex_len % 2 != 0) return fail(0, absl::StrCat("odd number of hex digits (", hex_len, ")"));
    if (hex_len < 2 * kBlockHeaderSize) {
      return fail(
          0, absl::StrCat("block of ", hex_len / 2, " bytes is shorter than the 80-byte header"));
    }
    Record rec;
    BlockLocation loc{file_index, line_start, hex_len / 2, line};
    if (absl::Status s = HashHeader(f, loc, header, &rec); !s.ok()) return s;
    ix->records.push_back(rec);
    return absl::OkStatus();
  };

  std::vector<char> buf(kScanChunk);
  for (uint64_t pos = 0; pos < f.size;) {
    const uint64_t n = std::min<uint64_t>(buf.size(), f.size - pos);
    if (absl::Status s = ReadAt(fd, f.path, pos, n, buf.data()); !s.ok()) return s;
    for (uint64_t i = 0; i < n; ++i) {
      const char c = buf[i];
      if (c == '\n') {
        if (absl::Status s = end_line(); !s.ok()) return s;
        ++line;
        line_start = pos + i + 1;
        hex_len = 0;
        saw_cr = false;
        continue;
      }
      if (saw_cr) return fail(hex_len + 2, "carriage return not followed by a line feed");
      if (c == '\r') {
        saw_cr = true;
        continue;
      }
      const int v = HexValue(c);
      if (v < 0) return fail(hex_len + 1, absl::StrCat("invalid hex character ", PrintableChar(c)));
      if (hex_len < 2 * kBlockHeaderSize) {
        const uint64_t b = hex_len / 2;
        header[b] = static_cast<unsigned char>(hex_len % 2 == 0 ? v << 4 : header[b] | v);
      }
      if (++hex_len > kMaxHexLine) {
        return fail(0, absl::StrCat("block longer than ", kMaxBlockSize, " bytes"));
      }
    }
    pos += n;
  }
  if (hex_len > 0 || saw_cr) return end_line();  // last line without a line feed
  return absl::OkStatus();
}

// --- pass two: ordering ----------------------------------------------------------------

struct Ordered {
  std::vector<ChainEntry> entries;
  std::vector<Skipped> skipped;
  std::vector<Skipped> duplicates;
};

ChainEntry MakeEntry(const Record& r, uint64_t height) {
  ChainEntry e;
  e.height = height;
  e.hash = r.hash;
  e.location = r.loc;
  return e;
}

absl::StatusOr<Ordered> OrderByLines(const Index& ix, const ChainOptions& opt, ChainStats* stats) {
  Ordered out;
  const uint64_t start = opt.start_height.value_or(0);
  out.entries.reserve(ix.records.size());
  for (size_t i = 0; i < ix.records.size(); ++i) {
    const Record& r = ix.records[i];
    const InputFile& f = ix.files[r.loc.file];
    if (i == 0) {
      if (!opt.start_height.has_value() && !IsNullHash(r.prev) && opt.check_hex_links) {
        return absl::InvalidArgumentError(
            absl::StrCat(Where(f, r.loc), ": first block ", HashToHex(r.hash),
                         " is not a genesis block (prev hash ", HashToHex(r.prev),
                         "); set the start height, or disable the link check"));
      }
    } else if (r.prev != ix.records[i - 1].hash) {
      if (opt.check_hex_links) {
        return absl::InvalidArgumentError(absl::StrCat(
            Where(f, r.loc), ": block ", HashToHex(r.hash), " has prev hash ", HashToHex(r.prev),
            ", not the previous line's block ", HashToHex(ix.records[i - 1].hash),
            "; the lines are not a chain in height order (disable the link check to import "
            "them in line order anyway)"));
      }
      stats->hex_link_breaks++;
    }
    if (start > kNone - i) return absl::InvalidArgumentError("start height overflows");
    out.entries.push_back(MakeEntry(r, start + i));
  }
  return out;
}

// Like -reindex: link blocks by prev hash, keep the longest branch from the
// root (genesis), tie to the tip seen first (Core's nSequenceId rule).
absl::StatusOr<Ordered> OrderByChain(const Index& ix, const ChainOptions& opt) {
  Ordered out;
  const std::vector<Record>& recs = ix.records;
  const size_t n = recs.size();
  auto where = [&](size_t i) { return Where(ix.files[recs[i].loc.file], recs[i].loc); };

  // Unique blocks, first copy wins.
  std::unordered_map<Hash256, size_t, HashHasher> by_hash;
  by_hash.reserve(n);
  std::vector<size_t> nodes;
  nodes.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto [it, inserted] = by_hash.emplace(recs[i].hash, i);
    if (inserted) {
      nodes.push_back(i);
      continue;
    }
    Skipped sk;
    sk.reason = SkipReason::kDuplicate;
    sk.hash = recs[i].hash;
    sk.location = recs[i].loc;
    sk.message = absl::StrCat(where(i), ": block ", HashToHex(recs[i].hash),
                              " skipped: duplicate of the copy at ", where(it->second));
    out.duplicates.push_back(std::move(sk));
  }
  if (nodes.empty()) return out;

  // Parent links and children in CSR form (indexes are record indexes).
  std::vector<size_t> parent(n, kNone);
  std::vector<size_t> child_begin(n + 1, 0);
  for (size_t i : nodes) {
    auto it = by_hash.find(recs[i].prev);
    if (it != by_hash.end() && it->second != i) {
      parent[i] = it->second;
      child_begin[it->second + 1]++;
    }
  }
  std::unordered_map<Hash256, size_t, HashHasher>().swap(by_hash);  // ~64 B/block, done with it
  for (size_t i = 0; i < n; ++i) child_begin[i + 1] += child_begin[i];
  std::vector<size_t> children(child_begin[n]);
  {
    std::vector<size_t> fill(child_begin.begin(), child_begin.end() - 1);
    for (size_t i : nodes) {
      if (parent[i] != kNone) children[fill[parent[i]]++] = i;
    }
  }

  // Roots: blocks whose parent is not in the input. Genesis blocks first.
  std::vector<size_t> roots;
  std::vector<size_t> genesis_roots;
  for (size_t i : nodes) {
    if (parent[i] != kNone) continue;
    roots.push_back(i);
    if (IsNullHash(recs[i].prev)) genesis_roots.push_back(i);
  }
  uint64_t base_height = 0;
  const std::vector<size_t>* candidates = &genesis_roots;
  if (genesis_roots.empty()) {
    if (!opt.start_height.has_value()) {
      const size_t r0 = roots.empty() ? nodes.front() : roots.front();
      return absl::FailedPreconditionError(absl::StrCat(
          "no genesis block (a block whose prev hash is all zeros) in the input, so heights "
          "are unknown; ",
          roots.size(), " block(s) have a parent outside the input, the first is ",
          HashToHex(recs[r0].hash), " at ", where(r0), " (parent ", HashToHex(recs[r0].prev),
          "); set the start height of the first block"));
    }
    base_height = *opt.start_height;
    candidates = &roots;
  } else if (opt.start_height.has_value() && *opt.start_height != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "start height ", *opt.start_height, " contradicts the genesis block ",
        HashToHex(recs[genesis_roots.front()].hash), " at ", where(genesis_roots.front())));
  }

  // Depth from its root for every block reachable from a root (BFS, no
  // recursion: chains are ~10^6 deep). root_of lets skips name their tree.
  std::vector<uint64_t> depth(n, kNone);
  std::vector<size_t> root_of(n, kNone);
  std::vector<size_t> order;  // BFS order, parents before children
  order.reserve(nodes.size());
  for (size_t r : roots) {
    depth[r] = 0;
    root_of[r] = r;
    size_t head = order.size();
    order.push_back(r);
    while (head < order.size()) {
      const size_t v = order[head++];
      for (size_t k = child_begin[v]; k < child_begin[v + 1]; ++k) {
        const size_t c = children[k];
        depth[c] = depth[v] + 1;
        root_of[c] = r;
        order.push_back(c);
      }
    }
  }
  std::vector<bool> candidate(n, false);
  for (size_t r : *candidates) candidate[r] = true;
  size_t tip = kNone;
  for (size_t v : order) {
    if (!candidate[root_of[v]]) continue;
    // Strictly deeper wins; at equal depth the smaller record index (seen first).
    if (tip == kNone || depth[v] > depth[tip] || (depth[v] == depth[tip] && v < tip)) tip = v;
  }
  if (base_height > kNone - depth[tip]) {
    return absl::InvalidArgumentError("start height overflows");
  }

  std::vector<bool> on_chain(n, false);
  std::vector<size_t> chain;
  chain.reserve(depth[tip] + 1);
  for (size_t v = tip; v != kNone; v = parent[v]) {
    on_chain[v] = true;
    chain.push_back(v);
  }
  std::reverse(chain.begin(), chain.end());
  const size_t main_root = chain.front();
  out.entries.reserve(chain.size());
  for (size_t k = 0; k < chain.size(); ++k)
    out.entries.push_back(MakeEntry(recs[chain[k]], base_height + k));

  // Fork point (height of the first off-chain block) for side branches.
  std::vector<uint64_t> fork_height(n, kNone);
  for (size_t v : order) {
    if (root_of[v] != main_root || on_chain[v]) continue;
    fork_height[v] = on_chain[parent[v]] ? base_height + depth[v] : fork_height[parent[v]];
  }
  for (size_t v : nodes) {
    if (on_chain[v]) continue;
    Skipped sk;
    sk.hash = recs[v].hash;
    sk.location = recs[v].loc;
    const std::string head =
        absl::StrCat(where(v), ": block ", HashToHex(recs[v].hash), " skipped: ");
    if (root_of[v] == main_root) {
      sk.reason = SkipReason::kFork;
      sk.message = absl::StrCat(head, "on a side branch that leaves the main chain at height ",
                                fork_height[v], " (its height ", base_height + depth[v],
                                "; the main chain is longer or was seen first)");
    } else if (root_of[v] == kNone) {
      sk.reason = SkipReason::kOrphan;  // only in a prev-hash cycle, which SHA-256 rules out
      sk.message = absl::StrCat(head, "not reachable from any root block");
    } else {
      sk.reason = SkipReason::kOrphan;
      const Record& r = recs[root_of[v]];
      sk.message =
          IsNullHash(r.prev)
              ? absl::StrCat(head, "belongs to a shorter chain from another genesis block ",
                             HashToHex(r.hash))
              : absl::StrCat(head, "not connected to the main chain (its branch starts at ",
                             HashToHex(r.hash), ", whose parent ", HashToHex(r.prev),
                             " is not in the input)");
    }
    out.skipped.push_back(std::move(sk));
  }
  return out;
}

}  // namespace

// --- public functions ------------------------------------------------------------------

bool IsKnownMagic(uint32_t magic) {
  switch (magic) {
    case kMagicMainnet:
    case kMagicTestnet3:
    case kMagicTestnet4:
    case kMagicSignet:
    case kMagicRegtest:
      return true;
    default:
      return false;
  }
}

std::string_view NetworkName(uint32_t magic) {
  switch (magic) {
    case kMagicMainnet:
      return "mainnet";
    case kMagicTestnet3:
      return "testnet3";
    case kMagicTestnet4:
      return "testnet4";
    case kMagicSignet:
      return "signet";
    case kMagicRegtest:
      return "regtest";
    default:
      return "unknown";
  }
}

Hash256 BlockHash(std::string_view raw_block) {
  Hash256 h{};
  if (raw_block.size() < kBlockHeaderSize || !Sha256d(raw_block.data(), kBlockHeaderSize, &h)) {
    return Hash256{};
  }
  return h;
}

Hash256 PrevHash(std::string_view raw_block) {
  Hash256 h{};
  if (raw_block.size() >= kBlockHeaderSize) std::memcpy(h.data(), raw_block.data() + 4, 32);
  return h;
}

std::string BlockHashHex(std::string_view raw_block) {
  if (raw_block.size() < kBlockHeaderSize) return std::string();
  return HashToHex(BlockHash(raw_block));
}

std::string HashToHex(const Hash256& internal) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(64, '0');
  for (size_t i = 0; i < 32; ++i) {
    const uint8_t b = internal[31 - i];
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 15];
  }
  return out;
}

absl::StatusOr<Hash256> ParseHashHex(std::string_view display_hex) {
  if (display_hex.size() != 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("block hash must be 64 hex digits, got ", display_hex.size(), " characters"));
  }
  Hash256 h{};
  for (size_t i = 0; i < 32; ++i) {
    const int hi = HexValue(display_hex[2 * i]);
    const int lo = HexValue(display_hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      const size_t bad = hi < 0 ? 2 * i : 2 * i + 1;
      return absl::InvalidArgumentError(absl::StrCat("block hash: invalid hex character ",
                                                     PrintableChar(display_hex[bad]),
                                                     " at position ", bad + 1));
    }
    h[31 - i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return h;
}

bool IsNullHash(const Hash256& hash) { return AllZero(hash.data(), hash.size()); }

absl::StatusOr<BlockHeaderInfo> ParseBlockHeader(std::string_view raw_block) {
  if (raw_block.size() < kBlockHeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("block of ", raw_block.size(), " bytes is shorter than the 80-byte header"));
  }
  BlockHeaderInfo info;
  if (!Sha256d(raw_block.data(), kBlockHeaderSize, &info.hash)) {
    return absl::InternalError("SHA-256 failed (OpenSSL)");
  }
  info.prev = PrevHash(raw_block);
  return info;
}

absl::StatusOr<std::array<uint8_t, 8>> FrameHeader(uint64_t block_size, uint32_t magic) {
  if (!IsKnownMagic(magic)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown network magic ", absl::Hex(magic, absl::kZeroPad8)));
  }
  if (block_size < kBlockHeaderSize || block_size > kMaxBlockSize) {
    return absl::InvalidArgumentError(absl::StrCat("block of ", block_size,
                                                   " bytes cannot be framed: size must be in [80, ",
                                                   kMaxBlockSize, "]"));
  }
  std::array<uint8_t, 8> h{};
  for (int i = 0; i < 4; ++i) {
    h[static_cast<size_t>(i)] = static_cast<uint8_t>(magic >> (24 - 8 * i));
    h[static_cast<size_t>(4 + i)] = static_cast<uint8_t>(block_size >> (8 * i));
  }
  return h;
}

absl::StatusOr<std::string> FrameBlock(std::string_view raw_block, uint32_t magic) {
  auto h = FrameHeader(raw_block.size(), magic);
  if (!h.ok()) return h.status();
  std::string out;
  out.reserve(kFrameHeaderSize + raw_block.size());
  out.append(reinterpret_cast<const char*>(h->data()), h->size());
  out.append(raw_block.data(), raw_block.size());
  return out;
}

std::string_view InputKindName(InputKind kind) {
  switch (kind) {
    case InputKind::kBlocksDir:
      return "blocks directory";
    case InputKind::kBlkFile:
      return "blk file";
    case InputKind::kHexFile:
      return "hex file";
  }
  return "unknown";
}

std::string_view SkipReasonName(SkipReason reason) {
  switch (reason) {
    case SkipReason::kFork:
      return "fork";
    case SkipReason::kOrphan:
      return "orphan";
    case SkipReason::kDuplicate:
      return "duplicate";
    case SkipReason::kGarbage:
      return "garbage";
  }
  return "unknown";
}

absl::StatusOr<InputKind> DetectInputKind(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file or directory"));
  }
  if (fs::is_directory(st)) {
    auto dir = ResolveBlocksDir(path);
    if (!dir.ok()) return dir.status();
    return InputKind::kBlocksDir;
  }
  auto key = ReadXorKey(ParentDir(path));
  if (!key.ok()) return key.status();
  InputFile f;
  if (absl::Status s = ClassifyFile(path, *key, &f); !s.ok()) return s;
  return f.kind;
}

// --- ChainReader -------------------------------------------------------------------------

ChainReader::ChainReader(ChainReader&& other) noexcept
    : files_(std::move(other.files_)),
      entries_(std::move(other.entries_)),
      skipped_(std::move(other.skipped_)),
      duplicates_(std::move(other.duplicates_)),
      stats_(other.stats_),
      cached_fd_(std::exchange(other.cached_fd_, -1)),
      cached_file_(other.cached_file_) {}

ChainReader& ChainReader::operator=(ChainReader&& other) noexcept {
  if (this != &other) {
    CloseCached();
    files_ = std::move(other.files_);
    entries_ = std::move(other.entries_);
    skipped_ = std::move(other.skipped_);
    duplicates_ = std::move(other.duplicates_);
    stats_ = other.stats_;
    cached_fd_ = std::exchange(other.cached_fd_, -1);
    cached_file_ = other.cached_file_;
  }
  return *this;
}

ChainReader::~ChainReader() { CloseCached(); }

void ChainReader::CloseCached() {
  if (cached_fd_ >= 0) ::close(cached_fd_);
  cached_fd_ = -1;
}

absl::StatusOr<ChainReader> ChainReader::Open(std::vector<std::string> inputs,
                                              const ChainOptions& options) {
  if (inputs.empty()) return absl::InvalidArgumentError("no inputs given");
  Index ix;
  // Expand directories; reject the same file listed twice (dev + inode), which
  // would only produce duplicates.
  std::vector<std::pair<uint64_t, uint64_t>> seen;
  auto add_file = [&](const std::string& path, const std::array<uint8_t, 8>& key) -> absl::Status {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) {
      const std::pair<uint64_t, uint64_t> id{static_cast<uint64_t>(st.st_dev),
                                             static_cast<uint64_t>(st.st_ino)};
      if (std::find(seen.begin(), seen.end(), id) != seen.end()) {
        return absl::InvalidArgumentError(absl::StrCat(path, ": input listed more than once"));
      }
      seen.push_back(id);
    }
    InputFile f;
    if (absl::Status s = ClassifyFile(path, key, &f); !s.ok()) return s;
    ix.files.push_back(std::move(f));
    return absl::OkStatus();
  };
  for (const std::string& input : inputs) {
    std::error_code ec;
    const fs::file_status st = fs::status(input, ec);
    if (ec || !fs::exists(st)) {
      return absl::NotFoundError(absl::StrCat(input, ": no such file or directory"));
    }
    if (fs::is_directory(st)) {
      auto dir = ResolveBlocksDir(input);
      if (!dir.ok()) return dir.status();
      auto key = ReadXorKey(*dir);
      if (!key.ok()) return key.status();
      auto blk_files = ListBlkFiles(*dir);
      if (!blk_files.ok()) return blk_files.status();
      for (const std::string& path : *blk_files) {
        if (absl::Status s = add_file(path, *key); !s.ok()) return s;
      }
    } else {
      auto key = ReadXorKey(ParentDir(input));
      if (!key.ok()) return key.status();
      if (absl::Status s = add_file(input, *key); !s.ok()) return s;
    }
  }

  bool any_blk = false;
  for (uint64_t i = 0; i < ix.files.size(); ++i) {
    const bool blk = ix.files[i].kind == InputKind::kBlkFile;
    any_blk |= blk;
    absl::Status s = blk ? IndexBlkFile(i, &ix) : IndexHexFile(i, &ix);
    if (!s.ok()) return s;
  }

  ChainReader reader;
  ChainStats& stats = ix.stats;
  stats.files = ix.files.size();
  stats.records = ix.records.size();
  stats.chain_ordered = any_blk || options.hex_order == ChainOptions::HexOrder::kChain;
  absl::StatusOr<Ordered> ordered =
      stats.chain_ordered ? OrderByChain(ix, options) : OrderByLines(ix, options, &stats);
  if (!ordered.ok()) return ordered.status();

  reader.entries_ = std::move(ordered->entries);
  reader.duplicates_ = std::move(ordered->duplicates);
  reader.skipped_ = std::move(ix.garbage);
  for (Skipped& s : ordered->skipped) reader.skipped_.push_back(std::move(s));
  std::stable_sort(reader.skipped_.begin(), reader.skipped_.end(),
                   [](const Skipped& a, const Skipped& b) {
                     return std::pair(a.location.file, a.location.offset) <
                            std::pair(b.location.file, b.location.offset);
                   });
  stats.chain_blocks = reader.entries_.size();
  for (const ChainEntry& e : reader.entries_) stats.chain_bytes += e.location.size;
  for (const Skipped& s : reader.skipped_) {
    if (s.reason == SkipReason::kFork) stats.fork_blocks++;
    if (s.reason == SkipReason::kOrphan) stats.orphan_blocks++;
  }
  stats.duplicate_blocks = reader.duplicates_.size();
  reader.stats_ = stats;
  reader.files_ = std::move(ix.files);
  return reader;
}

absl::StatusOr<std::string> ChainReader::ReadBlock(uint64_t i) {
  std::string out;
  if (absl::Status s = ReadBlockInto(i, &out); !s.ok()) return s;
  return out;
}

absl::Status ChainReader::ReadBlockInto(uint64_t i, std::string* out) {
  if (i >= entries_.size()) {
    return absl::OutOfRangeError(
        absl::StrCat("block index ", i, " is past the end of the chain (", entries_.size(), ")"));
  }
  const ChainEntry& e = entries_[i];
  const BlockLocation& loc = e.location;
  const InputFile& f = files_[loc.file];
  if (cached_fd_ < 0 || cached_file_ != loc.file) {
    CloseCached();
    auto fd = OpenRead(f.path);
    if (!fd.ok()) return fd.status();
    cached_fd_ = fd->release();
    cached_file_ = loc.file;
  }
  if (f.kind == InputKind::kBlkFile) {
    const uint64_t at = loc.offset + kFrameHeaderSize;
    out->resize(loc.size);
    if (absl::Status s = ReadAt(cached_fd_, f.path, at, loc.size, out->data()); !s.ok()) return s;
    Deobfuscate(f, at, reinterpret_cast<unsigned char*>(out->data()), loc.size);
  } else {
    out->resize(2 * loc.size);
    if (absl::Status s = ReadAt(cached_fd_, f.path, loc.offset, 2 * loc.size, out->data());
        !s.ok()) {
      return s;
    }
    // Decode in place: byte k is written after hex digits 2k and 2k+1 are read.
    char* p = out->data();
    for (uint64_t k = 0; k < loc.size; ++k) {
      const int hi = HexValue(p[2 * k]);
      const int lo = HexValue(p[2 * k + 1]);
      if (hi < 0 || lo < 0) {
        return absl::DataLossError(
            absl::StrCat(Where(f, loc), ": invalid hex (file changed since it was indexed?)"));
      }
      p[k] = static_cast<char>((hi << 4) | lo);
    }
    out->resize(loc.size);
  }
  if (BlockHash(*out) != e.hash) {
    return absl::DataLossError(absl::StrCat(Where(f, loc), ": block no longer hashes to ",
                                            HashToHex(e.hash),
                                            " (file changed since it was indexed?)"));
  }
  return absl::OkStatus();
}

}  // namespace segstore::tools
