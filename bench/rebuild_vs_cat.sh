#!/usr/bin/env bash
# rebuild-index against reading the same segment files with cat, alternately
# in one run (A B A B ...), page cache dropped before each when permitted.
#   bench/rebuild_vs_cat.sh [BUILD_DIR] [BLOCKS] [ROUNDS]
set -euo pipefail
build=${1:-build}
blocks=${2:-8000}
rounds=${3:-3}
seg=$build/tools/segstore
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$seg" --quiet demo --blocks "$blocks" --dir "$dir/demo" --keep >/dev/null
store=$dir/demo/store
bytes=$(cat "$store"/segments/*.seg | wc -c)
drop() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null && echo dropped || echo warm; }
now() { date +%s.%N; }
cat_t=(); reb_t=()
for ((i = 0; i < rounds; i++)); do
  cache=$(drop); t0=$(now); cat "$store"/segments/*.seg >/dev/null; t1=$(now)
  cat_t+=("$(echo "$t1 - $t0" | bc)")
  drop >/dev/null; t0=$(now); "$seg" --quiet rebuild-index "$store" >/dev/null; t1=$(now)
  reb_t+=("$(echo "$t1 - $t0" | bc)")
  rm -rf "$store"/meta.old-*
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
c=$(median "${cat_t[@]}"); r=$(median "${reb_t[@]}")
echo "segment bytes: $bytes ($blocks blocks), page cache: $cache, rounds: $rounds"
echo "cat:           ${cat_t[*]} s (median $c s, $(echo "$bytes / $c / 1000000" | bc) MB/s)"
echo "rebuild-index: ${reb_t[*]} s (median $r s, $(echo "$bytes / $r / 1000000" | bc) MB/s)"
echo "rebuild speed / cat speed: $(echo "scale=2; $c / $r" | bc)"
