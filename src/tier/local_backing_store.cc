// LocalDirectoryBackingStore: one file per object in a directory, every call
// through the FileSystem seam so that crash tests can drop unsynced state.

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "segstore/backing_store.h"
#include "segstore/file_system.h"
#include "util/status_util.h"

namespace segstore {

namespace {

constexpr size_t kCopyChunk = size_t{1} << 20;

using internal::Annotate;

class FileSource final : public ObjectSource {
 public:
  FileSource(std::unique_ptr<File> file, uint64_t size) : file_(std::move(file)), size_(size) {}
  uint64_t size() const override { return size_; }
  absl::StatusOr<size_t> ReadAt(uint64_t offset, char* dst, size_t n) override {
    if (offset >= size_) return size_t{0};
    n = static_cast<size_t>(std::min<uint64_t>(n, size_ - offset));
    return file_->Read(offset, dst, n);
  }

 private:
  std::unique_ptr<File> file_;
  const uint64_t size_;
};

absl::Status CheckName(const std::string& name) {
  if (name.empty() || name.size() > 255 || name[0] == '.' || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::CEscape(name), "\" is not a valid backing-store object name"));
  }
  return absl::OkStatus();
}

class LocalBackingStore final : public BackingStore {
 public:
  LocalBackingStore(std::string dir, std::shared_ptr<FileSystem> fs)
      : dir_(std::move(dir)), fs_(std::move(fs)) {
    while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  }

  absl::Status Put(const std::string& name, ObjectSource& source) override {
    RETURN_IF_ERROR(CheckName(name));
    RETURN_IF_ERROR(EnsureDir());
    const std::string tmp = TempPath(name);
    const std::string path = Path(name);
    // A leftover of an interrupted Put of this name.
    ASSIGN_OR_RETURN(bool stale, fs_->Exists(tmp));
    if (stale) RETURN_IF_ERROR(Annotate(fs_->Delete(tmp), "removing a stale temporary"));
    absl::Status s = WriteTemp(tmp, source);
    if (!s.ok()) {
      (void)fs_->Delete(tmp);  // best effort: the next Put or Delete retries
      return Annotate(s, absl::StrCat("putting ", name, " into ", Describe()));
    }
    s = fs_->Rename(tmp, path);
    if (!s.ok()) {
      (void)fs_->Delete(tmp);
      return Annotate(s, absl::StrCat("putting ", name, " into ", Describe()));
    }
    // Makes the new name durable (and the temporary's name gone).
    return Annotate(fs_->SyncDir(dir_), absl::StrCat("putting ", name, " into ", Describe()));
  }

  absl::StatusOr<size_t> ReadAt(const std::string& name, uint64_t offset, size_t n, char* dst) override {
    ASSIGN_OR_RETURN(std::unique_ptr<File> f, OpenObject(name));
    ASSIGN_OR_RETURN(uint64_t size, f->Size());
    if (offset >= size) return size_t{0};
    n = static_cast<size_t>(std::min<uint64_t>(n, size - offset));
    absl::StatusOr<size_t> got = f->Read(offset, dst, n);
    if (!got.ok()) return Annotate(got.status(), absl::StrCat("reading ", name, " from ", Describe()));
    return *got;
  }

  absl::StatusOr<uint64_t> Size(const std::string& name) override {
    ASSIGN_OR_RETURN(std::unique_ptr<File> f, OpenObject(name));
    return f->Size();
  }

  absl::StatusOr<bool> Exists(const std::string& name) override {
    RETURN_IF_ERROR(CheckName(name));
    return fs_->Exists(Path(name));
  }

  absl::Status Delete(const std::string& name) override {
    RETURN_IF_ERROR(CheckName(name));
    bool removed = false;
    for (const std::string& p : {Path(name), TempPath(name)}) {
      ASSIGN_OR_RETURN(bool exists, fs_->Exists(p));
      if (!exists) continue;
      absl::Status s = fs_->Delete(p);
      if (!s.ok() && !absl::IsNotFound(s)) {
        return Annotate(s, absl::StrCat("deleting ", name, " from ", Describe()));
      }
      removed = true;
    }
    if (!removed) return absl::OkStatus();
    return Annotate(fs_->SyncDir(dir_), absl::StrCat("deleting ", name, " from ", Describe()));
  }

  absl::StatusOr<std::vector<std::string>> List() override {
    ASSIGN_OR_RETURN(bool exists, fs_->Exists(dir_));
    if (!exists) return std::vector<std::string>{};
    ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->ListDir(dir_));
    std::vector<std::string> out;
    for (std::string& n : names) {
      if (CheckName(n).ok()) out.push_back(std::move(n));  // skips ".x.tmp" temporaries
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string Describe() const override { return absl::StrCat("local directory ", dir_); }

 private:
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string TempPath(const std::string& name) const { return dir_ + "/." + name + ".tmp"; }

  absl::StatusOr<std::unique_ptr<File>> OpenObject(const std::string& name) {
    RETURN_IF_ERROR(CheckName(name));
    absl::StatusOr<std::unique_ptr<File>> f = fs_->Open(Path(name), OpenMode::kRead);
    if (absl::IsNotFound(f.status())) {
      return absl::NotFoundError(absl::StrCat("object ", name, " not found in ", Describe()));
    }
    if (!f.ok()) return Annotate(f.status(), absl::StrCat("opening ", name, " in ", Describe()));
    return f;
  }

  absl::Status EnsureDir() {
    if (dir_ready_.load(std::memory_order_acquire)) return absl::OkStatus();
    ASSIGN_OR_RETURN(bool exists, fs_->Exists(dir_));
    if (!exists) {
      RETURN_IF_ERROR(fs_->CreateDir(dir_));
      size_t slash = dir_.rfind('/');
      const std::string parent = slash == std::string::npos ? "." : slash == 0 ? "/" : dir_.substr(0, slash);
      RETURN_IF_ERROR(Annotate(fs_->SyncDir(parent), "creating " + dir_));
    }
    dir_ready_.store(true, std::memory_order_release);
    return absl::OkStatus();
  }

  absl::Status WriteTemp(const std::string& tmp, ObjectSource& source) {
    ASSIGN_OR_RETURN(std::unique_ptr<File> f, fs_->Open(tmp, OpenMode::kCreateNew));
    const uint64_t size = source.size();
    if (size > 0) RETURN_IF_ERROR(f->Allocate(0, size));  // ENOSPC now rather than mid-copy
    std::string buf(static_cast<size_t>(std::min<uint64_t>(size, kCopyChunk)), '\0');
    for (uint64_t off = 0; off < size;) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - off));
      ASSIGN_OR_RETURN(size_t got, source.ReadAt(off, buf.data(), want));
      if (got == 0) {
        return absl::DataLossError(absl::StrCat("the source ended at ", off, " of its ", size, " bytes"));
      }
      RETURN_IF_ERROR(f->Write(off, std::string_view(buf.data(), got)));
      off += got;
    }
    ASSIGN_OR_RETURN(uint64_t written, f->Size());
    if (written != size) RETURN_IF_ERROR(f->Truncate(size));
    return f->Sync();
  }

  std::string dir_;
  const std::shared_ptr<FileSystem> fs_;
  std::atomic<bool> dir_ready_{false};
};

}  // namespace

absl::Status BackingStore::PutFile(const std::string& name, FileSystem& fs, const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> f, fs.Open(path, OpenMode::kRead));
  ASSIGN_OR_RETURN(uint64_t size, f->Size());
  FileSource source(std::move(f), size);
  return Put(name, source);
}

std::shared_ptr<BackingStore> LocalDirectoryBackingStore(std::string dir, std::shared_ptr<FileSystem> fs) {
  if (!fs) fs = DefaultFileSystem();
  return std::make_shared<LocalBackingStore>(std::move(dir), std::move(fs));
}

}  // namespace segstore
