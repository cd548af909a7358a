// Copyright segstore authors.
//
// BackingStore: where cold segments live. A flat namespace of immutable
// objects keyed by name (a segment file name such as
// "000000000000002a.seg"), shaped like an object store: whole-object Put,
// ranged reads, Size, Exists, Delete, List. There is no rename, no append
// and no mapping, so that an object-store implementation can be added
// without touching the store.
//
// Contract of every implementation:
//  - Put is atomic and durable: when it returns OK the object survives a
//    power loss; whatever happens, a reader (and a reopen after a crash)
//    sees no object, the previous complete object, or the new complete
//    object, never a partial one. Temporaries an implementation needs are
//    invisible to List/Exists/Size/ReadAt.
//  - A missing object is NotFound (with the name and the store in the
//    message) from ReadAt and Size; Exists says false; Delete is OK.
//  - Names are plain names: non-empty, at most 255 bytes, no '/', no NUL,
//    not starting with '.'. Anything else is InvalidArgument.
//
// Thread safety: all methods may be called concurrently, except that Put
// and Delete of one name must not overlap each other (the store moves one
// segment at a time). Concurrent ReadAt of one object is fine.

#ifndef SEGSTORE_INCLUDE_SEGSTORE_BACKING_STORE_H_
#define SEGSTORE_INCLUDE_SEGSTORE_BACKING_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace segstore {

class FileSystem;

// The bytes of an object being Put: size() bytes read by offset. Put may
// read any range, in any order, more than once.
class ObjectSource {
 public:
  virtual ~ObjectSource() = default;
  virtual uint64_t size() const = 0;
  // Reads up to n bytes at offset into dst; fewer only at size().
  virtual absl::StatusOr<size_t> ReadAt(uint64_t offset, char* dst, size_t n) = 0;
};

class BackingStore {
 public:
  virtual ~BackingStore() = default;

  // Stores source's bytes as object `name`, replacing an existing object of
  // that name. Atomic and durable when it returns OK (see above). On error
  // the object may be absent, old or new, never partial.
  virtual absl::Status Put(const std::string& name, ObjectSource& source) = 0;

  // Put of a local file, read through fs.
  absl::Status PutFile(const std::string& name, FileSystem& fs, const std::string& path);

  // Reads up to n bytes of the object at offset into dst; returns the count,
  // fewer than n only at the end of the object (0 at or past it).
  virtual absl::StatusOr<size_t> ReadAt(const std::string& name, uint64_t offset, size_t n,
                                        char* dst) = 0;
  virtual absl::StatusOr<uint64_t> Size(const std::string& name) = 0;
  virtual absl::StatusOr<bool> Exists(const std::string& name) = 0;
  // Removes the object (and any leftover of an interrupted Put of it). OK if
  // there is none. Durable when it returns OK.
  virtual absl::Status Delete(const std::string& name) = 0;
  // Names of all complete objects, sorted.
  virtual absl::StatusOr<std::vector<std::string>> List() = 0;

  // For messages: "local directory /data/store/cold".
  virtual std::string Describe() const = 0;
};

// A BackingStore in a local directory (created on first Put), one file per
// object, all I/O through fs (nullptr: DefaultFileSystem()). Put writes
// `.<name>.tmp`, syncs it, renames it into place and syncs the directory; a
// crash leaves no object or the complete one, plus perhaps the temporary,
// which List ignores and the next Put or Delete of the name removes.
std::shared_ptr<BackingStore> LocalDirectoryBackingStore(std::string dir,
                                                         std::shared_ptr<FileSystem> fs = nullptr);

}  // namespace segstore

#endif  // SEGSTORE_INCLUDE_SEGSTORE_BACKING_STORE_H_
