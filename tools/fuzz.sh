#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan+UBSan, tests/fuzz/), replays
# each seed corpus (tests/fuzz/corpus/<target>/), then fuzzes each target for
# FUZZ_SECONDS. New corpus entries and crash artifacts go to a temp dir, never
# into the repository. Exits non-zero on any crash, leak, timeout or OOM.
#   tools/fuzz.sh              replay + fuzz (FUZZ_SECONDS=20 per target)
#   tools/fuzz.sh replay       replay the seed corpus only
#   tools/fuzz.sh crashes      run the reproducers in tests/fuzz/crashes/
#                              (known findings: each still crashing is listed)
#   tools/fuzz.sh corpus       regenerate tests/fuzz/corpus/ (fuzz_make_corpus; inputs
#                              added by hand or found by fuzzing are kept)
# Environment:
#   FUZZ_SECONDS   seconds per target (default 20), passed as -max_total_time
#   FUZZ_TARGETS   default "fuzz_scanner fuzz_headers fuzz_meta_values fuzz_prune_file"
#   FUZZ_BUILD_DIR build tree (default build-fuzz)
#   FUZZ_OUT       where new inputs and artifacts go (default: a new temp dir)
#   FUZZ_ARGS      extra libFuzzer flags, e.g. "-max_len=16384"
#   SEGSTORE_FUZZ_KNOWN  known findings the checks let pass (comma-separated
#                  ids from tests/fuzz/README.md, or "all"); default: none
set -euo pipefail
cd "$(dirname "$0")/.."
stage=${1:-all}
build=${FUZZ_BUILD_DIR:-build-fuzz}
secs=${FUZZ_SECONDS:-20}
targets=${FUZZ_TARGETS:-fuzz_scanner fuzz_headers fuzz_meta_values fuzz_prune_file}
corpus=tests/fuzz/corpus
jobs=$(nproc)

echo "== fuzz build (clang-14, ASan+UBSan, libFuzzer) in $build ==" >&2
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSEGSTORE_SANITIZE=address -DSEGSTORE_FUZZ=ON -DSEGSTORE_BUILD_BENCHMARKS=OFF \
  -DSEGSTORE_BUILD_TOOLS=OFF >/dev/null
build_targets=$targets
if [ "$stage" = corpus ]; then build_targets=fuzz_make_corpus; fi
# shellcheck disable=SC2086
cmake --build "$build" -j "$jobs" --target $build_targets

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# shellcheck disable=SC2206
extra=(${FUZZ_ARGS:-})

if [ "$stage" = corpus ]; then
  scratch=$(mktemp -d /tmp/segstore-corpus.XXXXXX)
  "$build/tests/fuzz/fuzz_make_corpus" "$scratch/work" "$corpus"
  rm -rf "$scratch"
  du -sh "$corpus"
  exit 0
fi

if [ "$stage" = crashes ]; then
  still=0
  for f in tests/fuzz/crashes/*/*; do
    [ -f "$f" ] || continue
    t=$(basename "$(dirname "$f")")
    # (...; exit) keeps the subshell waiting, so its "Aborted" note goes to /dev/null
    if (env -u SEGSTORE_FUZZ_KNOWN "$build/tests/fuzz/$t" "$f"; exit $?) >/dev/null 2>&1; then
      echo "fixed:    $f" >&2
    else
      echo "crashes:  $f" >&2
      still=1
    fi
  done
  exit $still
fi

out=${FUZZ_OUT:-$(mktemp -d /tmp/segstore-fuzz.XXXXXX)}
echo "== new inputs and artifacts: $out; known findings let pass: ${SEGSTORE_FUZZ_KNOWN:-none} ==" >&2
fail=0
for t in $targets; do
  bin=$build/tests/fuzz/$t
  mkdir -p "$out/$t/new" "$out/$t/artifacts"
  echo "== $t: replay $corpus/$t ($(find "$corpus/$t" -type f | wc -l) inputs) ==" >&2
  if ! "$bin" -runs=0 -timeout=10 -artifact_prefix="$out/$t/artifacts/" "$corpus/$t" \
      >"$out/$t/replay.log" 2>&1; then
    echo "FAIL: $t crashed on its seed corpus (log: $out/$t/replay.log)" >&2
    tail -40 "$out/$t/replay.log" >&2
    fail=1
    continue
  fi
  [ "$stage" = replay ] && continue
  echo "== $t: fuzz ${secs}s ==" >&2
  if ! "$bin" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$out/$t/artifacts/" "${extra[@]}" "$out/$t/new" "$corpus/$t" \
      >"$out/$t/fuzz.log" 2>&1; then
    echo "FAIL: $t found a crash (log: $out/$t/fuzz.log; input in $out/$t/artifacts/)" >&2
    grep -m1 -B2 -A30 'ERROR\|FUZZ_CHECK\|runtime error\|deadly signal' "$out/$t/fuzz.log" >&2 || tail -40 "$out/$t/fuzz.log" >&2
    fail=1
    continue
  fi
  grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added)' "$out/$t/fuzz.log" |
    sed "s/^/  $t /" >&2 || true
  grep -E '^#[0-9]+.*DONE' "$out/$t/fuzz.log" | tail -1 | sed "s/^/  $t /" >&2 || true
done
if [ "$fail" = 0 ]; then
  echo "== fuzz: all targets clean ==" >&2
  if [ -z "${FUZZ_OUT:-}" ]; then rm -rf "$out"; fi
else
  echo "== fuzz: FAILED (artifacts kept in $out) ==" >&2
fi
exit $fail
