#include "tier/tier_registry.h"

namespace segstore::internal {

const char* TierLabel(TierName t) {
  switch (t) {
    case TierName::kHot:
      return "hot";
    case TierName::kWarm:
      return "warm";
    case TierName::kCold:
      return "cold";
  }
  return "?";
}

TierRegistry::TierRegistry() {
  for (TierName t : {TierName::kHot, TierName::kWarm, TierName::kCold}) {
    tiers_.emplace(TierLabel(t), std::make_unique<Tier>());
  }
}

TierRegistry::Tier& TierRegistry::Get(TierName t) { return *tiers_.at(TierLabel(t)); }

void TierRegistry::Insert(TierName t, uint64_t id) {
  Tier& tier = Get(t);
  MutexLock lock(&tier.mu);
  tier.ids.insert(id);
}

bool TierRegistry::Erase(TierName t, uint64_t id) {
  Tier& tier = Get(t);
  MutexLock lock(&tier.mu);
  return tier.ids.erase(id) != 0;
}

void TierRegistry::Move(uint64_t id, TierName from, TierName to) {
  if (from == to) return;
  Insert(to, id);
  Erase(from, id);
}

void TierRegistry::EraseEverywhere(uint64_t id) {
  for (TierName t : {TierName::kHot, TierName::kWarm, TierName::kCold}) Erase(t, id);
}

void TierRegistry::Clear() {
  for (auto& [name, tier] : tiers_) {
    MutexLock lock(&tier->mu);
    tier->ids.clear();
  }
}

bool TierRegistry::Contains(TierName t, uint64_t id) {
  Tier& tier = Get(t);
  MutexLock lock(&tier.mu);
  return tier.ids.count(id) != 0;
}

size_t TierRegistry::Count(TierName t) {
  Tier& tier = Get(t);
  MutexLock lock(&tier.mu);
  return tier.ids.size();
}

std::vector<uint64_t> TierRegistry::Members(TierName t) {
  Tier& tier = Get(t);
  MutexLock lock(&tier.mu);
  return std::vector<uint64_t>(tier.ids.begin(), tier.ids.end());
}

TierCounts TierRegistry::Counts() { return {Count(TierName::kHot), Count(TierName::kWarm), Count(TierName::kCold)}; }

std::vector<TierLockStats> TierRegistry::LockStats() {
  std::vector<TierLockStats> out;
  for (TierName t : {TierName::kHot, TierName::kWarm, TierName::kCold}) {
    Tier& tier = Get(t);
    TierLockStats s;
    s.tier = TierLabel(t);
    s.segments = Count(t);
    s.acquisitions = tier.counters.acquisitions.load(std::memory_order_relaxed);
    s.contended = tier.counters.contended.load(std::memory_order_relaxed);
    s.wait_nanos = tier.counters.wait_nanos.load(std::memory_order_relaxed);
    out.push_back(s);
  }
  return out;
}

}  // namespace segstore::internal
