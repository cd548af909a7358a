#include "testutil/blocking_file_system.h"

#include <chrono>

namespace segstore::testing {

class BlockingFile final : public File {
 public:
  BlockingFile(std::unique_ptr<File> base, BlockingFileSystem* fs) : base_(std::move(base)), fs_(fs) {}
  absl::StatusOr<size_t> Read(uint64_t offset, char* dst, size_t n) override { return base_->Read(offset, dst, n); }
  absl::Status Write(uint64_t offset, std::string_view data) override {
    fs_->Gate();
    return base_->Write(offset, data);
  }
  absl::Status Allocate(uint64_t offset, uint64_t length) override { return base_->Allocate(offset, length); }
  absl::Status Truncate(uint64_t size) override { return base_->Truncate(size); }
  absl::Status Sync() override { return base_->Sync(); }
  absl::StatusOr<uint64_t> Size() override { return base_->Size(); }

 private:
  std::unique_ptr<File> base_;
  BlockingFileSystem* fs_;
};

void BlockingFileSystem::Arm() {
  std::lock_guard<std::mutex> l(mu_);
  armed_ = true;
}

void BlockingFileSystem::Release() {
  std::lock_guard<std::mutex> l(mu_);
  armed_ = false;
  cv_.notify_all();
}

size_t BlockingFileSystem::blocked() {
  std::lock_guard<std::mutex> l(mu_);
  return blocked_;
}

bool BlockingFileSystem::WaitForBlocked(size_t n, absl::Duration timeout) {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, absl::ToChronoMilliseconds(timeout), [&] { return blocked_ == n; });
}

void BlockingFileSystem::Gate() {
  std::unique_lock<std::mutex> l(mu_);
  if (!armed_) return;
  ++blocked_;
  cv_.notify_all();
  cv_.wait(l, [&] { return !armed_; });
  --blocked_;
  cv_.notify_all();
}

absl::StatusOr<std::unique_ptr<File>> BlockingFileSystem::Open(const std::string& path, OpenMode mode) {
  absl::StatusOr<std::unique_ptr<File>> f = base_->Open(path, mode);
  if (!f.ok()) return f.status();
  return std::unique_ptr<File>(new BlockingFile(*std::move(f), this));
}

}  // namespace segstore::testing
