#!/usr/bin/env bash
# Builds segstore and runs its tests. With no argument: the whole suite, i.e.
# the normal build with every test, then the sanitizer builds with the tests
# each exists for. One stage at a time:
#   tools/run-tests.sh normal   g++ RelWithDebInfo, every test (-LE long with FAST=1),
#                               then the README's first command (Release build, demo)
#   tools/run-tests.sh asan     clang-14 ASan+UBSan with -Wthread-safety -Werror,
#                               the fast tests (label `fast`)
#   tools/run-tests.sh tsan     clang-14 TSan, the concurrency tests (label `tsan`)
#   tools/run-tests.sh fuzz     libFuzzer targets: replay the seed corpus, then
#                               FUZZ_SECONDS (default 20) of fuzzing per target
#   tools/run-tests.sh crash-long
#                               the crash suite's long setting (not part of `all`):
#                               every crash test with 3,400 random power losses per
#                               model, every file-system call of each fixed
#                               workload, 200 random SIGKILLs; prints the total
# Build trees: build/, build-release/, build-asan/, build-tsan/.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
stage=${1:-all}
data=${SEGSTORE_TEST_DATA:-$(pwd)/../shared/data}

configure() {  # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DSEGSTORE_TEST_DATA="$data" -DSEGSTORE_BUILD_TESTS=ON "$@" >/dev/null
}

run_normal() {
  echo "== normal build (g++, RelWithDebInfo): all tests ==" >&2
  configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo
  cmake --build build -j "$jobs"
  local args=(--output-on-failure -j "$jobs")
  if [ "${FAST:-0}" = 1 ]; then args+=(-LE long); fi
  # The crash suite's short setting: ~2,000 crash points in this build.
  SEGSTORE_POWER_LOSS_ROUNDS=${SEGSTORE_POWER_LOSS_ROUNDS:-600} ctest --test-dir build "${args[@]}"
  echo "== install, then build a program against it with find_package(segstore) ==" >&2
  local tmp
  tmp=$(mktemp -d)
  cmake --install build --prefix "$tmp/prefix" >/dev/null
  cmake -S tests/consumer -B "$tmp/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
  cmake --build "$tmp/consumer" >/dev/null
  LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/consumer/consumer" "$tmp/store"
  "$tmp/prefix/bin/segstore" --help >/dev/null
  rm -rf "$tmp"
  # The README's first command (its build in build-release/, which
  # bench/compare.sh uses too): -O3 warns where -O2 does not (GCC 12's
  # false -Wrestrict once broke it).
  echo "== the README's first command: Release build, then segstore demo ==" >&2
  configure build-release -DCMAKE_BUILD_TYPE=Release -DSEGSTORE_BUILD_TESTS=OFF
  cmake --build build-release -j "$jobs"
  build-release/tools/segstore --quiet demo
}

run_asan() {
  echo "== ASan+UBSan build (clang-14, -Wthread-safety -Werror): fast tests ==" >&2
  CC=clang-14 CXX=clang++-14 configure build-asan -DCMAKE_BUILD_TYPE=Debug -DSEGSTORE_SANITIZE=address \
    -DSEGSTORE_BUILD_BENCHMARKS=OFF
  cmake --build build-asan -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs" -L fast -LE long
}

run_tsan() {
  echo "== TSan build (clang-14): concurrency tests ==" >&2
  CC=clang-14 CXX=clang++-14 configure build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEGSTORE_SANITIZE=thread \
    -DSEGSTORE_BUILD_BENCHMARKS=OFF -DSEGSTORE_BUILD_TOOLS=OFF
  local targets
  targets=$(sed -n 's/^segstore_test(\([a-z_]*\) .*tsan.*/\1/p' tests/CMakeLists.txt)
  # shellcheck disable=SC2086
  cmake --build build-tsan -j "$jobs" --target $targets
  TSAN_OPTIONS="suppressions=$(pwd)/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1" \
    ctest --test-dir build-tsan --output-on-failure -j "$jobs" -L tsan
}

run_crash_long() {
  echo "== crash suite, long setting (normal build) ==" >&2
  configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo
  cmake --build build -j "$jobs"
  local log=build/crash-long.log
  # Each crash test prints "crash points: N ..." for what it ran.
  SEGSTORE_POWER_LOSS_ROUNDS=${SEGSTORE_POWER_LOSS_ROUNDS:-3400} SEGSTORE_CRASH_POINT_STRIDE=1 \
    SEGSTORE_KILL_ROUNDS=${SEGSTORE_KILL_ROUNDS:-200} \
    ctest --test-dir build -V -j "$jobs" -R 'PowerLossTest|KillTest|CrashAtEvery' 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  grep -o 'crash points: .*' "$log" | sort >&2
  grep -o 'crash points: [0-9]*' "$log" | awk '{n += $3} END {printf "total crash points: %d\n", n}' >&2
  return "$status"
}

run_fuzz() {
  FUZZ_SECONDS=${FUZZ_SECONDS:-20} tools/fuzz.sh
}

case "$stage" in
  normal) run_normal ;;
  asan) run_asan ;;
  tsan) run_tsan ;;
  fuzz) run_fuzz ;;
  crash-long) run_crash_long ;;
  all) run_normal; run_asan; run_tsan; run_fuzz ;;
  *) echo "usage: tools/run-tests.sh [all|normal|asan|tsan|fuzz|crash-long]" >&2; exit 2 ;;
esac
