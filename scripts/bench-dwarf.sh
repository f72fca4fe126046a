#!/usr/bin/env bash
# depsurf's DWARF work against pahole's on the same debug vmlinux, in one run.
#
#   scripts/bench-dwarf.sh VMLINUX [RUNS]
#
# depsurf: `extract --types dwarf` — function status for every function (entries, callers,
# symbols, classification) and every type from DWARF, written to a dataset.
# pahole:  `pahole -j2 --btf_encode_detached` — BTF for every type and function.
# Prints a Markdown table with mean wall time (hyperfine) and peak RSS (GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
vmlinux=$1
runs=${2:-5}
for t in hyperfine pahole /usr/bin/time; do command -v $t >/dev/null || { echo "$t is needed" >&2; exit 2; }; done
cargo build --release -q
bin=$PWD/target/release/depsurf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/t.json" \
  "$bin -q extract --types dwarf --dataset $work/ds $vmlinux" \
  "pahole -j2 --btf_encode_detached=$work/out.btf $vmlinux" >/dev/null 2>&1
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
d_rss=$(rss "$bin" -q extract --types dwarf --dataset "$work/ds2" "$vmlinux")
p_rss=$(rss pahole -j2 --btf_encode_detached="$work/out2.btf" "$vmlinux")
python3 - "$work/t.json" "$d_rss" "$p_rss" "$(basename "$vmlinux")" "$(stat -c %s "$vmlinux")" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
d, p = r[0]["mean"], r[1]["mean"]
print(f"| {sys.argv[4]} ({int(sys.argv[5])/1e6:.0f} MB) | depsurf status+types | pahole -j2 BTF | ratio depsurf/pahole |")
print("|---|---|---|---|")
print(f"| wall time (mean of {len(r[0]['times'])}) | {d:.2f} s | {p:.2f} s | {d/p:.2f} |")
print(f"| peak RSS | {int(sys.argv[2])/1024:.0f} MiB | {int(sys.argv[3])/1024:.0f} MiB | |")
PY
