// Measures what sizing journal shards trades off: the cost of creating and
// dropping one RocksDB column family (with a given number of live ones) and
// the cost of appending one 4 KiB block. The default journal_shard_blocks
// must keep (create + drop) under 1% of appending one shard's blocks.
//
//   build/bench/journal_shard_bench

#include <benchmark/benchmark.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <string>
#include <vector>

#include "segstore/segstore.h"

namespace {

std::string TempDir(const char* name) {
  std::string d = std::string("/tmp/segstore-bench-") + name;
  std::filesystem::remove_all(d);
  return d;
}

void BM_CreateDropColumnFamily(benchmark::State& state) {
  const int live = static_cast<int>(state.range(0));
  const std::string dir = TempDir("cf");
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* db = nullptr;
  if (!rocksdb::DB::Open(o, dir, &db).ok()) {
    state.SkipWithError("open failed");
    return;
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  for (int i = 0; i < live - 1; ++i) {  // the default CF is live too
    rocksdb::ColumnFamilyHandle* h;
    db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "live" + std::to_string(i), &h);
    db->Put(rocksdb::WriteOptions(), h, "k", "v");
    handles.push_back(h);
  }
  int i = 0;
  for (auto _ : state) {
    rocksdb::ColumnFamilyHandle* h;
    rocksdb::Status s = db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "shard" + std::to_string(i++), &h);
    if (s.ok()) s = db->Put(rocksdb::WriteOptions(), h, "k", "v");
    if (s.ok()) s = db->DropColumnFamily(h);
    if (s.ok()) s = db->DestroyColumnFamilyHandle(h);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  db->Close();
  delete db;
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_CreateDropColumnFamily)->Arg(3)->Arg(5)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond);

void BM_Append4KiB(benchmark::State& state) {
  const std::string dir = TempDir("append");
  segstore::Options o;
  o.create_if_missing = true;
  auto store = segstore::BlockStore::Open(o, dir);
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  std::string payload(4096, 'p');
  for (auto _ : state) {
    absl::StatusOr<segstore::BlockNumber> n = (*store)->Append(payload);
    if (!n.ok()) {
      state.SkipWithError(n.status().ToString().c_str());
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 4096);
  (void)(*store)->Close();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_Append4KiB)->Unit(benchmark::kMicrosecond)->MinTime(3.0);

}  // namespace

BENCHMARK_MAIN();
