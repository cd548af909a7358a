#include "testutil/fault_rocksdb_fs.h"

#include <sys/stat.h>
#include <unistd.h>

namespace segstore::testing {
namespace {

class FaultWritableFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultWritableFile(std::string fname, std::unique_ptr<rocksdb::FSWritableFile> base, FaultRocksFs* fs)
      : FSWritableFileOwnerWrapper(std::move(base)), fname_(std::move(fname)), fs_(fs) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    if (fs_->crashed()) return rocksdb::IOStatus::OK();  // lost with the machine
    rocksdb::IOStatus s = FSWritableFileOwnerWrapper::Append(data, o, dbg);
    if (s.ok()) fs_->Appended(fname_, data.size());
    return s;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& info, rocksdb::IODebugContext* dbg) override {
    if (fs_->crashed()) return rocksdb::IOStatus::OK();
    rocksdb::IOStatus s = FSWritableFileOwnerWrapper::Append(data, o, info, dbg);
    if (s.ok()) fs_->Appended(fname_, data.size());
    return s;
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (fs_->crashed()) return rocksdb::IOStatus::OK();
    // Data still in RocksDB's own buffer is written out first.
    rocksdb::IOStatus s = FSWritableFileOwnerWrapper::Flush(o, dbg);
    if (s.ok()) s = FSWritableFileOwnerWrapper::Sync(o, dbg);
    if (s.ok()) fs_->Synced(fname_);
    return s;
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (fs_->crashed()) return rocksdb::IOStatus::OK();
    rocksdb::IOStatus s = FSWritableFileOwnerWrapper::Flush(o, dbg);
    if (s.ok()) s = FSWritableFileOwnerWrapper::Fsync(o, dbg);
    if (s.ok()) fs_->Synced(fname_);
    return s;
  }
  rocksdb::IOStatus Flush(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (fs_->crashed()) return rocksdb::IOStatus::OK();
    return FSWritableFileOwnerWrapper::Flush(o, dbg);
  }

 private:
  const std::string fname_;
  FaultRocksFs* fs_;
};

}  // namespace

rocksdb::IOStatus FaultRocksFs::NewWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                                std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                rocksdb::IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSWritableFile> base;
  rocksdb::IOStatus s = target()->NewWritableFile(fname, opts, &base, dbg);
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    files_[fname] = State{};
  }
  *result = std::make_unique<FaultWritableFile>(fname, std::move(base), this);
  return s;
}

rocksdb::IOStatus FaultRocksFs::ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                                   std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                   rocksdb::IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSWritableFile> base;
  rocksdb::IOStatus s = target()->ReopenWritableFile(fname, opts, &base, dbg);
  if (!s.ok()) return s;
  struct stat st;
  const uint64_t size = ::stat(fname.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    files_[fname] = State{size, size};
  }
  *result = std::make_unique<FaultWritableFile>(fname, std::move(base), this);
  return s;
}

rocksdb::IOStatus FaultRocksFs::RenameFile(const std::string& src, const std::string& dst,
                                           const rocksdb::IOOptions& opts, rocksdb::IODebugContext* dbg) {
  if (crashed()) return rocksdb::IOStatus::OK();  // never reaches the disk
  rocksdb::IOStatus s = target()->RenameFile(src, dst, opts, dbg);
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = files_.find(src);
    if (it != files_.end()) {
      files_[dst] = it->second;
      files_.erase(it);
    }
  }
  return s;
}

rocksdb::IOStatus FaultRocksFs::DeleteFile(const std::string& fname, const rocksdb::IOOptions& opts,
                                           rocksdb::IODebugContext* dbg) {
  if (crashed()) return rocksdb::IOStatus::OK();
  rocksdb::IOStatus s = target()->DeleteFile(fname, opts, dbg);
  std::lock_guard<std::mutex> lock(mu_);
  files_.erase(fname);
  return s;
}

void FaultRocksFs::Appended(const std::string& fname, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  files_[fname].size += n;
}

void FaultRocksFs::Synced(const std::string& fname) {
  std::lock_guard<std::mutex> lock(mu_);
  State& st = files_[fname];
  st.synced = st.size;
}

bool FaultRocksFs::crashed() {
  std::lock_guard<std::mutex> lock(mu_);
  return crashed_;
}

void FaultRocksFs::Crash() {
  std::lock_guard<std::mutex> lock(mu_);
  crashed_ = true;
  for (const auto& [fname, st] : files_) {
    struct stat s;
    if (::stat(fname.c_str(), &s) == 0 && static_cast<uint64_t>(s.st_size) > st.synced) {
      bytes_dropped_ += static_cast<uint64_t>(s.st_size) - st.synced;
      (void)::truncate(fname.c_str(), static_cast<off_t>(st.synced));
    }
  }
  files_.clear();
}

uint64_t FaultRocksFs::bytes_dropped() {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_dropped_;
}

void FaultRocksFs::Restart() {
  std::lock_guard<std::mutex> lock(mu_);
  crashed_ = false;
  files_.clear();
}

}  // namespace segstore::testing
