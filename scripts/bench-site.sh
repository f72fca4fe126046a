#!/usr/bin/env bash
# Benchmark: `depsurf site` for the whole bundled dataset (issue 8; target < 60 s), whole
# process, printed as a Markdown table: a build into a new directory, a rebuild over it,
# and the site's size. Each run also prints its user and system CPU time: on ext4, creating
# many files soon after many were deleted is slow (the allocator skips recently freed
# inodes), so do not delete a site just before timing a fresh one.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin=$PWD/target/release/depsurf
work=$(mktemp -d -p "${TMPDIR:-/tmp}" depsurf-site.XXXXXX)
trap 'rm -rf "$work"' EXIT
run() {
  local what=$1 out=$2 extra=${3:-}
  local t0 t1 u
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  /usr/bin/time -f "%U %S %M" -o "$work/time" "$bin" site --out "$out" $extra 2>"$work/err" \
    || { cat "$work/err" >&2; exit 1; }
  t1=$(date +%s.%N)
  read -r user sys rss <"$work/time"
  u=$(sed -n 's/.*wrote \([0-9]*\) files, \([0-9.]*\) MB.*/\1 files, \2 MB/p' "$work/err")
  printf '| %s | %.1f s | %.1f s + %.1f s | %d MB | %s |\n' "$what" "$(awk "BEGIN{print $t1 - $t0}")" \
    "$user" "$sys" $((rss / 1024)) "$u"
}
echo "| run | wall (target < 60 s) | CPU user + system | peak memory | written |"
echo "|---|---|---|---|---|"
run "whole site, new directory" "$work/site"
run "whole site, over the previous build" "$work/site"
run "without the summary (--no-summary)" "$work/site" --no-summary
echo
echo "Size: $(find "$work/site" -type f | wc -l) files, $(du -sh --apparent-size "$work/site" | cut -f1) \
of content, $(du -sh "$work/site" | cut -f1) on disk; the largest directories:"
du -s --apparent-size -BM "$work/site"/*/ | sort -rn | head -4 | sed 's|'"$work/site/"'||; s/^/  /'
