#!/usr/bin/env bash
# Builds segstore and runs the whole test suite: the normal build (every
# test), then the sanitizer and thread-safety builds (the tests each exists
# for). Usage: tools/run-tests.sh [--fast]   (--fast: skip `long` tests)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
ctest_args=(--output-on-failure -j "$jobs")
if [ "${1:-}" = "--fast" ]; then ctest_args+=(-LE long); fi

echo "== build (RelWithDebInfo) ==" >&2
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build "${ctest_args[@]}"
