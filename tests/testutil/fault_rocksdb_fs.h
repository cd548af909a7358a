// FaultRocksFs: a rocksdb::FileSystemWrapper that remembers, for every file
// RocksDB writes, how much of it was synced, so that a simulated power loss
// can drop what was not (like LevelDB's fault-injection Env). Installed for
// the stores of a test with SetMetaFileSystemForTesting().

#ifndef SEGSTORE_TESTS_TESTUTIL_FAULT_ROCKSDB_FS_H_
#define SEGSTORE_TESTS_TESTUTIL_FAULT_ROCKSDB_FS_H_

#include <rocksdb/file_system.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace segstore::testing {

class FaultRocksFs final : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultRocksFs(std::shared_ptr<rocksdb::FileSystem> base) : FileSystemWrapper(std::move(base)) {}
  static const char* kClassName() { return "SegstoreFaultRocksFs"; }
  const char* Name() const override { return kClassName(); }

  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& dst, const rocksdb::IOOptions& opts,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& opts,
                               rocksdb::IODebugContext* dbg) override;

  // The machine dies: each file is cut back to what was synced, and every
  // later write, sync, rename or delete quietly does nothing (RocksDB is not
  // told: its debug build asserts on writes after a failed one, and a dead
  // machine reports nothing anyway).
  void Crash();
  void Restart();
  bool crashed();
  uint64_t bytes_dropped();  // unsynced RocksDB bytes cut by crashes so far

  // Called by the wrapped files.
  void Appended(const std::string& fname, uint64_t n);
  void Synced(const std::string& fname);

 private:
  struct State {
    uint64_t size = 0;
    uint64_t synced = 0;
  };
  std::mutex mu_;
  bool crashed_ = false;
  uint64_t bytes_dropped_ = 0;
  std::map<std::string, State> files_;
};

}  // namespace segstore::testing

#endif  // SEGSTORE_TESTS_TESTUTIL_FAULT_ROCKSDB_FS_H_
