#include "testutil/counting_file_system.h"

namespace segstore::testing {

class CountingFile final : public File {
 public:
  CountingFile(std::unique_ptr<File> base, CountingFileSystem* fs) : base_(std::move(base)), fs_(fs) {}
  absl::StatusOr<size_t> Read(uint64_t offset, char* dst, size_t n) override {
    absl::StatusOr<size_t> r = base_->Read(offset, dst, n);
    if (r.ok()) fs_->bytes_read_ += *r;
    return r;
  }
  absl::Status Write(uint64_t offset, std::string_view data) override {
    fs_->bytes_written_ += data.size();
    return base_->Write(offset, data);
  }
  absl::Status Allocate(uint64_t offset, uint64_t length) override { return base_->Allocate(offset, length); }
  absl::Status Truncate(uint64_t size) override { return base_->Truncate(size); }
  absl::Status Sync() override {
    ++fs_->syncs_;
    return base_->Sync();
  }
  absl::StatusOr<uint64_t> Size() override { return base_->Size(); }

 private:
  std::unique_ptr<File> base_;
  CountingFileSystem* fs_;
};

void CountingFileSystem::Reset() {
  bytes_read_ = 0;
  bytes_mapped_ = 0;
  bytes_written_ = 0;
  opens_ = 0;
  syncs_ = 0;
}

absl::StatusOr<std::unique_ptr<File>> CountingFileSystem::Open(const std::string& path, OpenMode mode) {
  ++opens_;
  absl::StatusOr<std::unique_ptr<File>> f = base_->Open(path, mode);
  if (!f.ok()) return f.status();
  return std::unique_ptr<File>(new CountingFile(*std::move(f), this));
}

absl::StatusOr<std::shared_ptr<const ReadOnlyMapping>> CountingFileSystem::Map(const std::string& path,
                                                                               uint64_t offset,
                                                                               uint64_t length) {
  absl::StatusOr<std::shared_ptr<const ReadOnlyMapping>> m = base_->Map(path, offset, length);
  if (m.ok()) bytes_mapped_ += length;
  return m;
}

}  // namespace segstore::testing
