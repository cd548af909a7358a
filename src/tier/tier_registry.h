// TierRegistry: which sealed segments are in which tier, one mutex per tier
// (a map keyed by tier name), each guarding only that tier's membership and
// counting its acquisitions and waits. Nothing here does I/O, so no tier
// mutex is ever held across I/O; a move between tiers locks one tier at a
// time (insert into the destination first, so a segment is never in none).
//
// Readers do not consult it: a read is routed by the snapshot of the
// segment it took under the store's index lock (mapped, local file or cold
// object), so a read of a mapped block takes no tier lock at all.

#ifndef SEGSTORE_SRC_TIER_TIER_REGISTRY_H_
#define SEGSTORE_SRC_TIER_TIER_REGISTRY_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "util/mutex.h"

namespace segstore::internal {

enum class TierName { kHot, kWarm, kCold };
const char* TierLabel(TierName t);  // "hot", "warm", "cold"

struct TierCounts {
  uint64_t hot = 0, warm = 0, cold = 0;
};

struct TierLockStats {
  std::string tier;
  uint64_t segments = 0;
  uint64_t acquisitions = 0;
  uint64_t contended = 0;
  uint64_t wait_nanos = 0;
};

class TierRegistry {
 public:
  TierRegistry();
  TierRegistry(const TierRegistry&) = delete;
  TierRegistry& operator=(const TierRegistry&) = delete;

  void Insert(TierName t, uint64_t id);
  bool Erase(TierName t, uint64_t id);  // false if it was not there
  // Moves id from one tier to another (destination first).
  void Move(uint64_t id, TierName from, TierName to);
  // Erases id from whichever tier holds it.
  void EraseEverywhere(uint64_t id);
  void Clear();
  bool Contains(TierName t, uint64_t id);
  size_t Count(TierName t);
  // Members of a tier in id order (oldest first).
  std::vector<uint64_t> Members(TierName t);
  TierCounts Counts();
  std::vector<TierLockStats> LockStats();

 private:
  struct Tier {
    LockCounters counters;
    Mutex mu{&counters};
    std::set<uint64_t> ids ABSL_GUARDED_BY(mu);
  };
  Tier& Get(TierName t);
  // Built once, never changed: lookups need no lock of their own.
  std::map<std::string, std::unique_ptr<Tier>> tiers_;
};

}  // namespace segstore::internal

#endif  // SEGSTORE_SRC_TIER_TIER_REGISTRY_H_
