#!/usr/bin/env python3
"""Runs store_bench rows alternately (A B C D, A B C D, ...) for several rounds,
one process per run, and prints markdown tables of medians and ratios
(segstore / alternative). Standard library only. bench/compare.sh calls this
after building; see bench/README.md.

  compare.py --bench build-release/bench/store_bench --scale full --rounds 3 \
             --data-dir /var/tmp/segstore-bench --out bench-results
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

SYSTEMS = ["segstore", "rocksdb", "blobdb", "file"]

# (row label, benchmark name pattern with {sys}, systems, metric, unit, scale)
# metric: a counter of the benchmark; every ratio is segstore / alternative of
# that metric, where higher is better (a rate), so > 1 means segstore wins.
MB = 1e6
# The bulk-append rows also run the file floor with its size reserved first
# (posix_fallocate, as segstore does for each segment): on this kernel a
# plain write() append of 1 MiB chunks is several times slower than one into
# reserved space, so the plain floor alone would flatter the 1 MiB row.
APPEND_SYSTEMS = SYSTEMS + ["file_fallocate"]
ROWS = [
    ("bulk append 256 B", "append/{sys}/256", APPEND_SYSTEMS, "bytes_per_second", "MB/s", MB),
    ("bulk append 4 KiB", "append/{sys}/4096", APPEND_SYSTEMS, "bytes_per_second", "MB/s", MB),
    ("bulk append 64 KiB", "append/{sys}/65536", APPEND_SYSTEMS, "bytes_per_second", "MB/s", MB),
    ("bulk append 1 MiB", "append/{sys}/1048576", APPEND_SYSTEMS, "bytes_per_second", "MB/s", MB),
    ("durable append 4 KiB, sync every 64", "durable64/{sys}/4096", SYSTEMS, "items_per_second", "blocks/s", 1),
    ("durable append 4 KiB, sync every block", "durable1/{sys}/4096", SYSTEMS, "items_per_second", "blocks/s", 1),
    ("1 thread, sync every block", "threads/{sys}/1", SYSTEMS, "items_per_second", "blocks/s", 1),
    ("2 threads, sync every block", "threads/{sys}/2", SYSTEMS, "items_per_second", "blocks/s", 1),
    ("4 threads, sync every block", "threads/{sys}/4", SYSTEMS, "items_per_second", "blocks/s", 1),
    ("8 threads, sync every block", "threads/{sys}/8", SYSTEMS, "items_per_second", "blocks/s", 1),
    ("random Get 4 KiB, warm (segstore: mapped)", "get_warm/{sys}/4096", SYSTEMS, "items_per_second", "gets/s", 1),
    ("random Get 4 KiB, cache hit", "get_cached/{sys}/4096", SYSTEMS[:3], "items_per_second", "gets/s", 1),
    ("random Get 4 KiB, cold", "get_cold/{sys}/4096", SYSTEMS, "items_per_second", "gets/s", 1),
    ("random Get 1 MiB, warm (segstore: mapped)", "get_warm/{sys}/1048576", SYSTEMS, "items_per_second", "gets/s", 1),
    ("random Get 1 MiB, cache hit", "get_cached/{sys}/1048576", SYSTEMS[:3], "items_per_second", "gets/s", 1),
    ("random Get 1 MiB, cold", "get_cold/{sys}/1048576", SYSTEMS, "items_per_second", "gets/s", 1),
    ("sequential GetRange / scan 4 KiB", "scan/{sys}/4096", SYSTEMS, "bytes_per_second", "MB/s", MB),
    ("1 thread, no sync", "threads_nosync/{sys}/1", SYSTEMS, "items_per_second", "blocks/s", 1),
    ("2 threads, no sync", "threads_nosync/{sys}/2", SYSTEMS, "items_per_second", "blocks/s", 1),
    ("4 threads, no sync", "threads_nosync/{sys}/4", SYSTEMS, "items_per_second", "blocks/s", 1),
    ("8 threads, no sync", "threads_nosync/{sys}/8", SYSTEMS, "items_per_second", "blocks/s", 1),
]
# segstore-only rows and the rebuild-versus-cat rows.
EXTRA = [
    ("get_warm_noverify/segstore/4096", "Get 4 KiB mapped, verify_checksum=false"),
    ("get_warm_noverify/segstore/1048576", "Get 1 MiB mapped, verify_checksum=false"),
]
OPEN_SEGMENTS = [1, 100, 1000]
REBUILD = ["rebuild/segstore/warm", "rebuild/cat/warm", "rebuild/segstore/cold", "rebuild/cat/cold"]
META = "meta_bytes/segstore/256"


def run_one(args, name, extra=()):
    """Runs one benchmark in its own process; returns its counters or {'error': ...}."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    cmd = [args.bench, f"--scale={args.scale}", f"--data_dir={args.data_dir}",
           f"--benchmark_filter=^{re.escape(name)}/", f"--benchmark_out={out}",
           "--benchmark_out_format=json", "--benchmark_format=console", *extra]
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    took = time.monotonic() - t0
    try:
        with open(out) as f:
            doc = json.load(f)
    except (OSError, json.JSONDecodeError):
        doc = {"benchmarks": []}
    finally:
        try:
            os.unlink(out)
        except OSError:
            pass
    res = {"error": f"exit {p.returncode}: {p.stderr.strip()[-500:]}"}
    for b in doc.get("benchmarks", []):
        if not b["name"].startswith(name + "/"):
            continue
        if b.get("error_occurred"):
            res = {"error": b.get("error_message", "error")}
        else:
            skip = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
                    "repetitions", "repetition_index", "threads", "iterations", "time_unit"}
            res = {k: v for k, v in b.items() if k not in skip and isinstance(v, (int, float))}
    res["wall_s"] = took
    print(f"  {name}: {took:.1f} s" + (f"  ERROR {res['error']}" if "error" in res else ""),
          file=sys.stderr, flush=True)
    return res


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ratio_cell(pr):
    if pr is None:
        return "—"
    m, lo, hi = pr
    return f"{m:.2f} ({lo:.2f}–{hi:.2f})" if hi - lo >= 0.005 else f"{m:.2f}"


def fmt(v, digits=3):
    if v is None:
        return "—"
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.{digits}f}"


class Results:
    def __init__(self):
        self.runs = {}  # name -> list of counter dicts

    def add(self, name, res):
        self.runs.setdefault(name, []).append(res)

    def values(self, name, counter):
        return [r.get(counter) for r in self.runs.get(name, []) if "error" not in r]

    def med(self, name, counter):
        return median(self.values(name, counter))

    def paired(self, a, b, counter):
        """Per-round ratios a/b (runs of one round are adjacent in time, so
        they share the machine's mood): (median, min, max) or None."""
        ra, rb = self.runs.get(a, []), self.runs.get(b, [])
        rs = []
        for x, y in zip(ra, rb):
            if "error" in x or "error" in y or not x.get(counter) or not y.get(counter):
                continue
            rs.append(x[counter] / y[counter])
        if not rs:
            return None
        return statistics.median(rs), min(rs), max(rs)

    def errors(self, name):
        return [r["error"] for r in self.runs.get(name, []) if "error" in r]


def tables(res, args, started, finished):
    out = []
    w = out.append
    w(f"Command: `{' '.join(args.command_line)}`  ")
    w(f"Scale: {args.scale}, rounds: {args.rounds}, started {started}, finished {finished}, "
      f"data dir {args.data_dir}  ")
    w("Each figure is the median over the rounds; each run is its own process, the systems "
      "alternating within each round. Ratios are segstore / alternative of the same rate, so "
      "> 1 means segstore is faster; each ratio is the median of the per-round ratios (the runs of "
      "one round are minutes apart at most), with the lowest and highest round in brackets.\n")

    w("### Throughput, medians\n")
    w("| row | unit | segstore | rocksdb | blobdb | file | seg/rocksdb | seg/blobdb | seg/file |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, pat, systems, metric, unit, scale in ROWS:
        meds = {}
        for s in SYSTEMS:
            v = res.med(pat.format(sys=s), metric) if s in systems else None
            meds[s] = v / scale if v is not None else None
        ratios = []
        for s in ["rocksdb", "blobdb", "file"]:
            pr = res.paired(pat.format(sys="segstore"), pat.format(sys=s), metric) if s in systems else None
            ratios.append(ratio_cell(pr))
        w(f"| {label} | {unit} | " + " | ".join(fmt(meds[s]) for s in SYSTEMS) + " | " + " | ".join(ratios) + " |")
    w("")

    w("Bulk appends against the file floor with its space reserved first (posix_fallocate, as "
      "segstore reserves each segment; write() then fills it):\n")
    w("| row | segstore MB/s | file_fallocate MB/s | seg/file_fallocate |")
    w("|---|---:|---:|---:|")
    for label, pat, systems, metric, unit, scale in ROWS[:4]:
        a, b = res.med(pat.format(sys="segstore"), metric), res.med(pat.format(sys="file_fallocate"), metric)
        pr = res.paired(pat.format(sys="segstore"), pat.format(sys="file_fallocate"), metric)
        w(f"| {label} | {fmt(a / MB if a else None)} | {fmt(b / MB if b else None)} | {ratio_cell(pr)} |")
    w("")

    w("### Latency per operation, medians of p50 / p99 (µs)\n")
    w("| row | segstore | rocksdb | blobdb | file | p50 rocksdb / p50 segstore |")
    w("|---|---:|---:|---:|---:|---:|")
    for label, pat, systems, metric, unit, scale in ROWS:
        cells = []
        p50 = {}
        for s in SYSTEMS:
            name = pat.format(sys=s)
            if s not in systems:
                cells.append("—")
                continue
            a, b = res.med(name, "p50_us"), res.med(name, "p99_us")
            p50[s] = a
            cells.append(f"{fmt(a)} / {fmt(b)}" if a is not None else "—")
        if "p50_us" not in str(res.runs.get(pat.format(sys="segstore"), "")):
            continue  # a rate-only row (the scan)
        sp = ratio_cell(res.paired(pat.format(sys="rocksdb"), pat.format(sys="segstore"), "p50_us"))
        w(f"| {label} | " + " | ".join(cells) + f" | {sp} |")
    for name, label in EXTRA:
        a, b = res.med(name, "p50_us"), res.med(name, "p99_us")
        w(f"| {label} | {fmt(a)} / {fmt(b)} | | | | |")
    w("")

    w("### Group commit: blocks/s with N writer threads, each block synced\n")
    w("Scaling = N-thread rate / 1-thread rate of the same system in the same round (median, range).\n")
    w("| threads | segstore | rocksdb | blobdb | file | segstore scaling | rocksdb scaling | file scaling |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for t in [1, 2, 4, 8]:
        v = {s: res.med(f"threads/{s}/{t}", "items_per_second") for s in SYSTEMS}
        rel = [ratio_cell(res.paired(f"threads/{s}/{t}", f"threads/{s}/1", "items_per_second"))
               for s in ["segstore", "rocksdb", "file"]]
        w(f"| {t} | " + " | ".join(fmt(v[s]) for s in SYSTEMS) + " | " + " | ".join(rel) + " |")
    w("")

    w("### Parallel appenders: blocks/s with N writer threads, 4 KiB, no sync\n")
    w("Scaling = N-thread rate / 1-thread rate of the same system in the same round (median, range).\n")
    w("| threads | segstore | rocksdb | blobdb | file | segstore scaling | rocksdb scaling | file scaling |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for t in [1, 2, 4, 8]:
        v = {s: res.med(f"threads_nosync/{s}/{t}", "items_per_second") for s in SYSTEMS}
        rel = [ratio_cell(res.paired(f"threads_nosync/{s}/{t}", f"threads_nosync/{s}/1", "items_per_second"))
               for s in ["segstore", "rocksdb", "file"]]
        w(f"| {t} | " + " | ".join(fmt(v[s]) for s in SYSTEMS) + " | " + " | ".join(rel) + " |")
    w("")

    w("### fdatasync + fsync calls (all threads, counted by interposing on libc): the deterministic part of the sync rows\n")
    w("| row | segstore | rocksdb | blobdb | file |")
    w("|---|---:|---:|---:|---:|")
    for label, pat, systems, *_ in ROWS[4:10]:
        key = "syncs_per_block" if pat.startswith("threads") else "syncs_per_sync_point"
        unit = "per block" if key == "syncs_per_block" else "per sync point"
        w(f"| {label} ({unit}) | " + " | ".join(fmt(res.med(pat.format(sys=s), key)) for s in SYSTEMS) + " |")
    w(f"| bulk append row of 4 KiB blocks, in total | " +
      " | ".join(fmt(res.med(f"append/{s}/4096", "syncs")) for s in SYSTEMS) + " |")
    w("")

    w("### Write amplification: bytes written to storage (/proc/self/io write_bytes) per payload byte\n")
    w("Counted from before open to after the data settled: RocksDB flushed and compacted, segstore "
      "closed and reopened (its journal's WAL replayed into a table). space = bytes on disk / payload "
      "(segstore's active segment is preallocated). net = minus cancelled_write_bytes: dirty "
      "pages of files deleted before writeback (RocksDB's WALs after a flush) never reach the disk in a "
      "run this short.\n")
    w("| row | segstore | rocksdb | blobdb | file | segstore space | rocksdb space |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for label, pat, systems, metric, unit, scale in ROWS[:6]:
        def cell(name):
            g, n = res.med(name, "write_amp"), res.med(name, "write_amp_net")
            if g is None:
                return "—"
            return fmt(g) if n is None or abs(g - n) < 0.005 else f"{fmt(g)} (net {fmt(n)})"
        cells = [cell(pat.format(sys=s)) for s in SYSTEMS]
        sp = [fmt(res.med(pat.format(sys=s), "space_amp")) for s in ["segstore", "rocksdb"]]
        w(f"| {label} | " + " | ".join(cells) + " | " + " | ".join(sp) + " |")
    w("")

    w("### Open (segstore, 64 KiB segments, 4 KiB blocks), ms\n")
    w("| segments | after clean close p50 / p99 | after kill -9 p50 / p99 | bytes scanned on crash open |")
    w("|---:|---:|---:|---:|")
    for s in OPEN_SEGMENTS:
        c, k = f"open_clean/segstore/{s}", f"open_crash/segstore/{s}"
        def ms(name, key):
            v = res.med(name, key)
            return v / 1000 if v is not None else None
        w(f"| {s} | {fmt(ms(c, 'p50_us'))} / {fmt(ms(c, 'p99_us'))} | {fmt(ms(k, 'p50_us'))} / "
          f"{fmt(ms(k, 'p99_us'))} | {fmt(res.med(k, 'recovery_bytes_scanned'))} |")
    w("")

    w("### rebuild-index against reading the segment files like cat (128 KiB read())\n")
    w("| page cache | rebuild-index MB/s | cat MB/s | rebuild / cat |")
    w("|---|---:|---:|---:|")
    for mode in ["warm", "cold"]:
        r = res.med(f"rebuild/segstore/{mode}", "bytes_per_second")
        c = res.med(f"rebuild/cat/{mode}", "bytes_per_second")
        ratio = ratio_cell(res.paired(f"rebuild/segstore/{mode}", f"rebuild/cat/{mode}", "bytes_per_second"))
        w(f"| {mode} | {fmt(r / MB if r else None)} | {fmt(c / MB if c else None)} | {ratio} |")
    w("")

    metas = [n for n in res.runs if n.startswith(META)]
    if metas:
        w("### Metadata in STORE/meta/ per block, 256 B blocks, once sealed (no key_extractor, LOG files excluded)\n")
    for name in metas:
        g = lambda k: res.med(name, k)
        count = name.split("@")[-1] if "@" in name else "the"
        w(f"- After appending {count} blocks ({fmt(g('items_per_second'))} blocks/s) and sealing: "
          f"**{fmt(g('meta_bytes_per_block'))} B/block** after Close (SST {fmt(g('meta_sst_per_block'))}, "
          f"WAL {fmt(g('meta_wal_per_block'))}, other {fmt(g('meta_other_per_block'))}); "
          f"**{fmt(g('meta_bytes_per_block_reopened'))} B/block** after one more open + close "
          f"(SST {fmt(g('meta_sst_per_block_reopened'))}, WAL {fmt(g('meta_wal_per_block_reopened'))}); "
          f"{fmt(g('sealed_segments'))} sealed segments, {fmt(g('live_journal_shards'))} live journal shard(s).")
    if metas:
        w("")

    errs = [(n, e) for n in res.runs for e in res.errors(n)]
    if errs:
        w("### Errors\n")
        for n, e in errs:
            w(f"- {n}: {e}")
        w("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench")
    ap.add_argument("--scale", default="full", choices=["quick", "full"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--data-dir")
    ap.add_argument("--out")
    ap.add_argument("--only", default="", help="regex: only rows whose benchmark names match")
    ap.add_argument("--render", default="", help="only print the tables of an earlier raw.json")
    args = ap.parse_args()
    args.command_line = sys.argv
    if args.render:
        res = Results()
        with open(args.render) as f:
            res.runs = json.load(f)
        args.rounds = max((len(v) for k, v in res.runs.items() if not k.startswith(META)), default=0)
        print(tables(res, args, "?", "?"))
        return 0
    if not (args.bench and args.data_dir and args.out):
        ap.error("--bench, --data-dir and --out are required (unless --render)")
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.data_dir, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    t0 = time.monotonic()
    only = re.compile(args.only) if args.only else None
    want = lambda n: only is None or only.search(n)

    res = Results()
    print("preparing datasets", file=sys.stderr)
    prep = run_one(args, "prepare/all/0")
    if "error" in prep:
        print(f"prepare failed: {prep['error']}", file=sys.stderr)
        return 1
    for rnd in range(1, args.rounds + 1):
        print(f"round {rnd}/{args.rounds} ({time.monotonic() - t0:.0f} s so far)", file=sys.stderr, flush=True)
        for label, pat, systems, *_ in ROWS:
            for s in systems:
                name = pat.format(sys=s)
                if want(name):
                    res.add(name, run_one(args, name))
        for name, _ in EXTRA:
            if want(name):
                res.add(name, run_one(args, name))
        for s in OPEN_SEGMENTS:
            for kind in ["open_clean", "open_crash"]:
                name = f"{kind}/segstore/{s}"
                if want(name):
                    res.add(name, run_one(args, name))
        for name in REBUILD:
            if want(name):
                res.add(name, run_one(args, name))
    if want(META):
        # Once: it is a size, not a speed. 1,000,000 blocks stay inside the
        # first journal shard (1,048,576 blocks); 1,100,000 retire it.
        counts = [1_000_000, 1_100_000] if args.scale == "full" else [100_000]
        for c in counts:
            res.add(f"{META}@{c:,}", run_one(args, META, [f"--meta_blocks={c}"]))
    finished = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    report = tables(res, args, started, finished)
    report += f"\nTotal time: {time.monotonic() - t0:.0f} s\n"
    with open(os.path.join(args.out, "raw.json"), "w") as f:
        json.dump(res.runs, f, indent=1, sort_keys=True)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
