#!/usr/bin/env bash
# Benchmark: `depsurf diff` of two full images of the bundled dataset, every kind (issue 7;
# target < 2 s), whole process, hyperfine, printed as a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "hyperfine is needed" >&2; exit 2; }
cargo build --release -q
bin=$PWD/target/release/depsurf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "| pair | items compared | changed | diff, every kind (target < 2 s) |"
echo "|---|---|---|---|"
for pair in "6.1 6.12" "5.10 7.2" "6.1.0-47-amd64 6.1.0-47-arm64" "6.1.0-47-amd64 6.1.0-47-s390x"; do
  read -r a b <<<"$pair"
  hyperfine -N --warmup 2 --min-runs 10 --export-json "$work/r.json" \
    "$bin diff $a $b --format json" >/dev/null 2>&1
  "$bin" diff "$a" "$b" --format json > "$work/d.json"
  python3 - "$work/r.json" "$work/d.json" "$a → $b" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["results"][0]["mean"] * 1000
k = json.load(open(sys.argv[2]))["kinds"].values()
items = sum(max(x["old"], x["new"]) for x in k)
changed = sum(x["changed"] for x in k)
print(f"| {sys.argv[3]} | {items:,} | {changed:,} | {t:.0f} ms |")
PY
done
