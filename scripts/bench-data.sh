#!/usr/bin/env bash
# Benchmark: tracepoints and system calls of one image, read from its data (issue 5; target:
# both kinds for one image in under one second), printed as a Markdown table (hyperfine,
# warm page cache, whole process).
#
#   scripts/bench-data.sh IMAGE-INPUTS...   (one benchmark row per argument; inputs of one
#                                            image joined with commas)
#
# e.g. scripts/bench-data.sh \
#   /usr/lib/debug/boot/vmlinux-6.1.0-47-amd64 \
#   /boot/vmlinuz-6.1.0-47-amd64,/boot/System.map-6.1.0-47-amd64 \
#   /boot/vmlinuz-6.1.0-47-amd64
# (unpack linux-image-*-dbg and linux-image-* packages, or `depsurf fetch` them).
set -euo pipefail
cd "$(dirname "$0")/.."
(($#)) || { sed -n '2,13p' "$0" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine is needed" >&2; exit 2; }
cargo build --release -q
bin=$PWD/target/release/depsurf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "| inputs | size | symbols from | depsurf tracepoints | depsurf syscalls | both kinds, two processes (target < 1 s) | extract, every kind, one process |"
echo "|---|---|---|---|---|---|---|"
for spec in "$@"; do
  IFS=, read -ra inputs <<<"$spec"
  size=$(du -cb "${inputs[@]}" | tail -n 1 | cut -f1)
  # One process per kind, as a user runs them, and both in one run (the sum a user waits).
  # extract: types, config, tracepoints, syscalls into a new dataset (function status from
  # DWARF, a separate cost, is left out with --no-status).
  hyperfine -N --warmup 2 --min-runs 5 --export-json "$work/r.json" \
    "$bin -q tracepoints ${inputs[*]}" "$bin -q syscalls ${inputs[*]}" \
    --prepare "rm -rf $work/ds" "$bin -q extract --no-status --dataset $work/ds ${inputs[*]}" \
    >/dev/null 2>&1
  from=$("$bin" -q syscalls --json "${inputs[@]}" \
    | python3 -c 'import json,sys; s=[l for l in json.load(sys.stdin)["sources"] if l.startswith("syscalls:")][0]; print(s.split("symbols from ")[1].split(" of ")[0])')
  tps=$("$bin" -q tracepoints --json "${inputs[@]}" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["tracepoints"]))')
  scs=$("$bin" -q syscalls --json "${inputs[@]}" | python3 -c 'import json,sys; print(sum(len(t) for t in json.load(sys.stdin)["tables"].values()))')
  names=$(for i in "${inputs[@]}"; do basename "$i"; done | paste -sd+)
  python3 - "$work/r.json" "$names" "$size" "$from" "$tps" "$scs" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
t, s, e = (x["mean"] * 1000 for x in r)
mb = int(sys.argv[3]) / 1e6
print(f"| {sys.argv[2]} | {mb:.0f} MB | {sys.argv[4]} | {sys.argv[5]}: {t:.0f} ms | {sys.argv[6]}: {s:.0f} ms | {t+s:.0f} ms | {e:.0f} ms |")
PY
done
