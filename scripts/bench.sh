#!/usr/bin/env bash
# Benchmarks of the input layer, printed as a Markdown table (warm page cache, hyperfine).
#
#   scripts/bench.sh [--vmlinux PATH]
#
# 1. BTF of real kernels: `depsurf btf dump X` against `bpftool btf dump file X`, the same
#    work (parse, validate, print every type), in the same run; the ratio is bpftool/depsurf.
# 2. `depsurf inspect` of a debug vmlinux (Debian's 6.1.0-47-amd64 is 630 MB); target < 1 s.
#    Give it with --vmlinux (unpack linux-image-6.1.0-47-amd64-dbg, or `depsurf fetch` it).
# Parse-only numbers come from `cargo bench -p depsurf-btf`; extraction, store encoding and
# report rendering from `cargo bench -p depsurf-surface` and `cargo bench -p depsurf-report`.
set -euo pipefail
cd "$(dirname "$0")/.."
vmlinux=
if [[ ${1:-} == --vmlinux ]]; then vmlinux=$2; fi
for t in hyperfine bpftool xz; do command -v $t >/dev/null || { echo "$t is needed" >&2; exit 2; }; done
cargo build --release -q
bin=target/release/depsurf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() { # name json-file commands...
  local out=$1; shift
  hyperfine -N --warmup 3 --min-runs 10 --export-json "$out" "$@" >/dev/null 2>&1
}
echo "| benchmark | depsurf | other tool | ratio (other/depsurf) |"
echo "|---|---|---|---|"
for f in tests/fixtures/btf/6.1.0-47-amd64.btf.xz tests/fixtures/btf/7.2.13+deb14-amd64.btf.xz tests/fixtures/btf/6.1.0-47-s390x.pahole.btf.xz; do
  raw=$work/$(basename "$f" .xz)
  xz -dc "$f" > "$raw"
  run "$work/r.json" "$bin -q btf dump $raw" "bpftool btf dump file $raw"
  python3 - "$work/r.json" "$(basename "$raw")" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
d, b = r[0]["mean"], r[1]["mean"]
print(f"| BTF dump of {sys.argv[2]} | {d*1000:.1f} ms | bpftool {b*1000:.1f} ms | {b/d:.1f}x |")
PY
done
# Reports from the bundled dataset, as a user runs them (process start, embedded dataset).
run "$work/r.json" "$bin -q report struct task_struct" "$bin -q report func vfs_read --format json"
python3 - "$work/r.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print(f"| depsurf report struct task_struct (bundled dataset, whole process) | {r[0]['mean']*1000:.1f} ms | | target < 100 ms |")
print(f"| depsurf report func vfs_read --format json | {r[1]['mean']*1000:.1f} ms | | |")
PY
if [[ -n $vmlinux ]]; then
  run "$work/i.json" "$bin -q inspect $vmlinux" "$bin -q inspect --json $vmlinux"
  size=$(stat -c %s "$vmlinux")
  python3 - "$work/i.json" "$(basename "$vmlinux")" "$size" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
mb = int(sys.argv[3]) / 1e6
print(f"| inspect {sys.argv[2]} ({mb:.0f} MB) | {r[0]['mean']*1000:.1f} ms (json {r[1]['mean']*1000:.1f} ms) | | target < 1000 ms |")
PY
fi
