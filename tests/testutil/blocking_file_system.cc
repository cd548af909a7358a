#include "testutil/blocking_file_system.h"

#include <algorithm>
#include <chrono>

namespace segstore::testing {

class BlockingFile final : public File {
 public:
  BlockingFile(std::unique_ptr<File> base, BlockingFileSystem* fs) : base_(std::move(base)), fs_(fs) {}
  absl::StatusOr<size_t> Read(uint64_t offset, char* dst, size_t n) override { return base_->Read(offset, dst, n); }
  absl::Status Write(uint64_t offset, std::string_view data) override {
    fs_->Gate(BlockingFileSystem::Hold::kWrite);
    return base_->Write(offset, data);
  }
  absl::Status Allocate(uint64_t offset, uint64_t length) override { return base_->Allocate(offset, length); }
  absl::Status Truncate(uint64_t size) override { return base_->Truncate(size); }
  absl::Status Sync() override {
    fs_->syncs_.fetch_add(1);
    fs_->Gate(BlockingFileSystem::Hold::kSync);
    return base_->Sync();
  }
  absl::StatusOr<uint64_t> Size() override { return base_->Size(); }

 private:
  std::unique_ptr<File> base_;
  BlockingFileSystem* fs_;
};

void BlockingFileSystem::Arm(Hold what) {
  std::lock_guard<std::mutex> l(mu_);
  (what == Hold::kWrite ? hold_writes_ : hold_syncs_) = true;
}

void BlockingFileSystem::Release() {
  std::lock_guard<std::mutex> l(mu_);
  hold_writes_ = hold_syncs_ = false;
  cv_.notify_all();
}

size_t BlockingFileSystem::blocked() {
  std::lock_guard<std::mutex> l(mu_);
  return blocked_;
}

size_t BlockingFileSystem::max_blocked() {
  std::lock_guard<std::mutex> l(mu_);
  return max_blocked_;
}

bool BlockingFileSystem::WaitForBlocked(size_t n, absl::Duration timeout) {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, absl::ToChronoMilliseconds(timeout), [&] { return blocked_ == n; });
}

void BlockingFileSystem::Gate(Hold call) {
  std::unique_lock<std::mutex> l(mu_);
  const bool& held = call == Hold::kWrite ? hold_writes_ : hold_syncs_;
  if (!held) return;
  ++blocked_;
  max_blocked_ = std::max(max_blocked_, blocked_);
  cv_.notify_all();
  cv_.wait(l, [&] { return !held; });
  --blocked_;
  cv_.notify_all();
}

absl::StatusOr<std::unique_ptr<File>> BlockingFileSystem::Open(const std::string& path, OpenMode mode) {
  absl::StatusOr<std::unique_ptr<File>> f = base_->Open(path, mode);
  if (!f.ok()) return f.status();
  return std::unique_ptr<File>(new BlockingFile(*std::move(f), this));
}

}  // namespace segstore::testing
