// Appends, reopens and reads back through the installed library.
#include <cstdio>

#include "segstore/segstore.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  segstore::Options options;
  options.create_if_missing = true;
  for (int round = 0; round < 2; ++round) {
    auto store = segstore::BlockStore::Open(options, argv[1]);
    if (!store.ok()) {
      std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
      return 1;
    }
    if (round == 0 && !(*store)->Append("hello from an installed segstore").ok()) return 1;
    if (round == 1) {
      auto b = (*store)->Get(0);
      if (!b.ok() || b->data() != "hello from an installed segstore") return 1;
      std::printf("consumer: read back block 0 (%zu bytes)\n", b->data().size());
    }
    if (!(*store)->Close().ok()) return 1;
  }
  return 0;
}
