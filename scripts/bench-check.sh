#!/usr/bin/env bash
# Benchmark: `depsurf check` of one program against the whole bundled dataset (issue 6;
# target < 1 s), whole process, hyperfine, printed as a Markdown table. Builds the test
# programs (tests/bpf, needs clang and bpftool); extra objects, binaries or packages given
# as arguments are timed too.
#
#   scripts/bench-check.sh [FILE...]
set -euo pipefail
cd "$(dirname "$0")/.."
for t in hyperfine clang bpftool; do command -v $t >/dev/null || { echo "$t is needed" >&2; exit 2; }; done
cargo build --release -q
bin=$PWD/target/release/depsurf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tests/bpf/make.sh "$work/obj" >/dev/null
files=("$work"/obj/*.bpf.o "$@")
echo "| input | objects | dependencies | images | check, whole process (target < 1 s) |"
echo "|---|---|---|---|---|"
for f in "${files[@]}"; do
  # -i: exit code 1 (a dependency fails somewhere) is an answer, not an error.
  hyperfine -N -i --warmup 2 --min-runs 10 --export-json "$work/r.json" \
    "$bin check $f --format json" >/dev/null 2>&1
  "$bin" check "$f" --format json > "$work/out.json" || true
  python3 - "$work/r.json" "$work/out.json" "$(basename "$f")" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["results"][0]["mean"] * 1000
d = json.load(open(sys.argv[2]))["objects"]
deps = sum(len(o["rows"]) for o in d)
imgs = len(d[0]["verdicts"]) if d else 0
print(f"| {sys.argv[3]} | {len(d)} | {deps} | {imgs} | {t:.0f} ms |")
PY
done
