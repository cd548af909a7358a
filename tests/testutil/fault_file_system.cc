#include "testutil/fault_file_system.h"

#include <cerrno>
#include <iterator>
#include <optional>
#include <random>

#include "util/status_util.h"

namespace segstore::testing {
namespace {
constexpr uint64_t kPage = 4096;
constexpr uint64_t kSector = 512;
}  // namespace

const char* FsOpName(FsOp op) {
  static const char* const kNames[] = {"open", "read", "write", "allocate", "truncate",
                                       "sync", "map",  "rename", "delete",  "syncdir"};
  return kNames[static_cast<int>(op)];
}

class FaultFile final : public File {
 public:
  FaultFile(std::string path, std::unique_ptr<File> base, FaultFileSystem* fs)
      : path_(std::move(path)), base_(std::move(base)), fs_(fs) {}

  absl::StatusOr<size_t> Read(uint64_t offset, char* dst, size_t n) override {
    RETURN_IF_ERROR(fs_->Check(FsOp::kRead, path_));
    return base_->Read(offset, dst, n);
  }
  absl::Status Write(uint64_t offset, std::string_view data) override {
    RETURN_IF_ERROR(fs_->Check(FsOp::kWrite, path_));
    fs_->SaveOriginal(path_, *base_, offset, data.size());
    return base_->Write(offset, data);
  }
  absl::Status Allocate(uint64_t offset, uint64_t length) override {
    RETURN_IF_ERROR(fs_->Check(FsOp::kAllocate, path_));
    fs_->SaveOriginal(path_, *base_, offset, 0);  // remembers the size
    return base_->Allocate(offset, length);
  }
  absl::Status Truncate(uint64_t size) override {
    RETURN_IF_ERROR(fs_->Check(FsOp::kTruncate, path_));
    absl::StatusOr<uint64_t> old = base_->Size();
    if (old.ok() && *old > size) fs_->SaveOriginal(path_, *base_, size, *old - size);
    return base_->Truncate(size);
  }
  absl::Status Sync() override {
    RETURN_IF_ERROR(fs_->Check(FsOp::kSync, path_));
    RETURN_IF_ERROR(base_->Sync());
    fs_->MarkSynced(path_, *base_);
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> Size() override { return base_->Size(); }

 private:
  const std::string path_;
  std::unique_ptr<File> base_;
  FaultFileSystem* fs_;
};

FaultFileSystem::FaultFileSystem(std::shared_ptr<FileSystem> base) : base_(std::move(base)) {}

void FaultFileSystem::FailAt(FsOp op, uint64_t n, int err, bool forever) {
  internal::MutexLock lock(&mu_);
  rules_[op] = Rule{calls_[static_cast<int>(op)] + n, err, forever};
}

void FaultFileSystem::ClearFaults() {
  internal::MutexLock lock(&mu_);
  rules_.clear();
}

uint64_t FaultFileSystem::calls(FsOp op) const {
  internal::MutexLock lock(&mu_);
  return calls_[static_cast<int>(op)];
}

uint64_t FaultFileSystem::injected() const {
  internal::MutexLock lock(&mu_);
  return injected_;
}

void FaultFileSystem::SetSyncIsNoop(bool noop) {
  internal::MutexLock lock(&mu_);
  sync_noop_ = noop;
}

absl::Status FaultFileSystem::Check(FsOp op, const std::string& path) {
  internal::MutexLock lock(&mu_);
  ++total_calls_;
  if (!crashed_ && crash_at_ != 0 && total_calls_ >= crash_at_) CrashLocked(crash_mode_, crash_seed_);
  if (crashed_) return internal::ErrnoStatus(EIO, "simulated power loss", path);
  const uint64_t n = ++calls_[static_cast<int>(op)];
  auto it = rules_.find(op);
  if (it != rules_.end() && (n == it->second.at || (it->second.forever && n > it->second.at))) {
    ++injected_;
    return internal::ErrnoStatus(it->second.err, std::string("injected ") + FsOpName(op), path);
  }
  return absl::OkStatus();
}

void FaultFileSystem::SaveOriginal(const std::string& path, File& base, uint64_t offset, uint64_t n) {
  internal::MutexLock lock(&mu_);
  auto [it, fresh] = dirty_.try_emplace(path);
  if (fresh) {
    absl::StatusOr<uint64_t> size = base.Size();
    it->second.durable_size = size.ok() ? *size : 0;
  }
  if (n == 0) return;
  for (uint64_t p = offset / kPage; p <= (offset + n - 1) / kPage; ++p) {
    if (it->second.pages.count(p) > 0) continue;
    std::string page(kPage, '\0');
    absl::StatusOr<size_t> got = base.Read(p * kPage, page.data(), kPage);
    page.resize(got.ok() ? *got : 0);
    it->second.pages.emplace(p, std::move(page));
  }
}

void FaultFileSystem::MarkSynced(const std::string& path, File& /*base*/) {
  internal::MutexLock lock(&mu_);
  if (sync_noop_) return;  // the negative control: nothing becomes durable
  dirty_.erase(path);
}

void FaultFileSystem::CrashAtCall(uint64_t k, PowerLoss mode, uint64_t seed) {
  internal::MutexLock lock(&mu_);
  total_calls_ = 0;
  crash_at_ = k;
  crash_mode_ = mode;
  crash_seed_ = seed;
}

uint64_t FaultFileSystem::total_calls() const {
  internal::MutexLock lock(&mu_);
  return total_calls_;
}

bool FaultFileSystem::crashed() const {
  internal::MutexLock lock(&mu_);
  return crashed_;
}

void FaultFileSystem::Crash(PowerLoss mode, uint64_t seed) {
  internal::MutexLock lock(&mu_);
  CrashLocked(mode, seed);
}

void FaultFileSystem::SetOnCrash(std::function<void()> f) {
  internal::MutexLock lock(&mu_);
  on_crash_ = std::move(f);
}

void FaultFileSystem::CrashLocked(PowerLoss mode, uint64_t seed) {
  crashed_ = true;
  crash_at_ = 0;
  if (on_crash_) on_crash_();
  std::mt19937_64 rng(seed);
  for (auto& [path, d] : dirty_) {
    absl::StatusOr<std::unique_ptr<File>> f = base_->Open(path, OpenMode::kReadWrite);
    if (!f.ok()) continue;
    uint64_t keep_to = d.durable_size;  // size after the crash
    std::optional<uint64_t> torn;
    if (mode == PowerLoss::kTornSector && !d.pages.empty()) {
      auto pick = d.pages.begin();
      std::advance(pick, static_cast<long>(rng() % d.pages.size()));
      torn = pick->first;
    }
    for (auto& [p, orig] : d.pages) {
      bool keep_new = mode == PowerLoss::kRandomPages && (rng() & 1) != 0;
      uint64_t restore_from = 0;  // bytes of the page that keep their new contents
      if (torn && p == *torn) restore_from = (rng() % (kPage / kSector)) * kSector;
      if (keep_new) {
        absl::StatusOr<uint64_t> size = (*f)->Size();
        if (size.ok()) keep_to = std::max(keep_to, std::min(*size, (p + 1) * kPage));
        continue;
      }
      if (restore_from > 0) {
        absl::StatusOr<uint64_t> size = (*f)->Size();
        if (size.ok()) keep_to = std::max(keep_to, std::min(*size, p * kPage + restore_from));
      }
      if (orig.size() > restore_from) {
        (void)(*f)->Write(p * kPage + restore_from, std::string_view(orig).substr(restore_from));
      }
    }
    absl::StatusOr<uint64_t> size = (*f)->Size();
    if (size.ok() && *size > keep_to) (void)(*f)->Truncate(keep_to);
  }
  dirty_.clear();
  for (const std::string& path : undurable_names_) (void)base_->Delete(path);
  undurable_names_.clear();
}

void FaultFileSystem::Restart() {
  internal::MutexLock lock(&mu_);
  crashed_ = false;
  crash_at_ = 0;
  rules_.clear();
}

absl::StatusOr<std::unique_ptr<File>> FaultFileSystem::Open(const std::string& path, OpenMode mode) {
  RETURN_IF_ERROR(Check(FsOp::kOpen, path));
  ASSIGN_OR_RETURN(std::unique_ptr<File> f, base_->Open(path, mode));
  if (mode == OpenMode::kCreateNew) {
    internal::MutexLock lock(&mu_);
    undurable_names_.insert(path);
  }
  return std::unique_ptr<File>(new FaultFile(path, std::move(f), this));
}

absl::StatusOr<std::shared_ptr<const ReadOnlyMapping>> FaultFileSystem::Map(const std::string& path,
                                                                            uint64_t offset, uint64_t length) {
  RETURN_IF_ERROR(Check(FsOp::kMap, path));
  return base_->Map(path, offset, length);
}

absl::Status FaultFileSystem::Rename(const std::string& from, const std::string& to) {
  RETURN_IF_ERROR(Check(FsOp::kRename, from));
  RETURN_IF_ERROR(base_->Rename(from, to));
  internal::MutexLock lock(&mu_);
  auto it = dirty_.find(from);
  if (it != dirty_.end()) {
    dirty_[to] = std::move(it->second);
    dirty_.erase(it);
  }
  return absl::OkStatus();
}

absl::Status FaultFileSystem::Delete(const std::string& path) {
  RETURN_IF_ERROR(Check(FsOp::kDelete, path));
  RETURN_IF_ERROR(base_->Delete(path));
  internal::MutexLock lock(&mu_);
  dirty_.erase(path);
  undurable_names_.erase(path);
  return absl::OkStatus();
}

absl::Status FaultFileSystem::SyncDir(const std::string& path) {
  RETURN_IF_ERROR(Check(FsOp::kSyncDir, path));
  RETURN_IF_ERROR(base_->SyncDir(path));
  internal::MutexLock lock(&mu_);
  if (sync_noop_) return absl::OkStatus();
  for (auto it = undurable_names_.begin(); it != undurable_names_.end();) {
    if (it->compare(0, path.size() + 1, path + "/") == 0) {
      it = undurable_names_.erase(it);
    } else {
      ++it;
    }
  }
  return absl::OkStatus();
}

}  // namespace segstore::testing
