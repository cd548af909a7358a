#!/usr/bin/env bash
# segstore against RocksDB, RocksDB+BlobDB and a plain file, in one run.
#
#   bench/compare.sh              # full: ~1 GiB per append row, 256 MiB per read row,
#                                 # 3 rounds; < 10 GiB of data, about 30 min on 2 cores
#   QUICK=1 bench/compare.sh      # smoke test: small rows, 3 rounds, 1-3 min
#
# Environment: BUILD_DIR (default build-release, beside the source tree),
# DATA_DIR (default /var/tmp/segstore-bench; must be on the disk under test,
# not tmpfs), OUT (default $BUILD_DIR/bench-results), ROUNDS (default 3),
# ONLY (a regex of benchmark names, for a partial run).
# Builds in Release, then runs bench/compare.py, which runs every benchmark
# in its own process, alternating the systems (A B C D, A B C D, ...), and
# prints markdown tables of medians and ratios (also written to
# $OUT/results.md, the raw numbers to $OUT/raw.json).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$src/build-release}
data=${DATA_DIR:-/var/tmp/segstore-bench}
out=${OUT:-$build/bench-results}
if [[ -n "${QUICK:-}" && "${QUICK}" != 0 ]]; then
  scale=quick
  rounds=${ROUNDS:-3}
else
  scale=full
  rounds=${ROUNDS:-3}
fi
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target store_bench memory_bench >/dev/null
mkdir -p "$data"
if [[ "$(stat -f -c %T "$data")" == tmpfs ]]; then
  echo "DATA_DIR $data is on tmpfs; point it at the disk under test" >&2
  exit 2
fi
exec python3 "$src/bench/compare.py" --bench "$build/bench/store_bench" --scale "$scale" \
  --rounds "$rounds" --data-dir "$data" --out "$out" --only "${ONLY:-}"
