#!/usr/bin/env bash
# Merges what scripts/fuzz.sh found (target/fuzz-corpus/<target>) into the committed
# corpus (fuzz/corpus/<target>), minimised with libFuzzer's -merge=1: only inputs that add
# coverage are kept. Inputs over 64 KB (MAX_KB) are left out (the repository stays small; fuzzing
# uses inputs of at most 4 KB anyway). seed-* and regress-* files are always kept.
# Usage: scripts/fuzz-merge.sh [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
targets=("$@")
((${#targets[@]})) || mapfile -t targets < <(cargo fuzz list)
export RUSTC_BOOTSTRAP=${RUSTC_BOOTSTRAP:-1}
cargo fuzz build >/dev/null 2>&1 || cargo fuzz build
bin=target/x86_64-unknown-linux-gnu/release
echo "| target | inputs before | found | kept | size kept |"
echo "|---|---|---|---|---|"
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  mkdir -p "$work/in" "$work/out" "corpus/$t" "../target/fuzz-corpus/$t"
  before=$(find "corpus/$t" -type f | wc -l)
  found=$(find "../target/fuzz-corpus/$t" -type f | wc -l)
  # Two copies: one cp may not overwrite a file it just created (same name, same content).
  find "corpus/$t" -type f -size -"${MAX_KB:-64}"k -exec cp -t "$work/in" {} +
  find "../target/fuzz-corpus/$t" -type f -size -"${MAX_KB:-64}"k -exec cp -f -t "$work/in" {} +
  "$bin/$t" -merge=1 -rss_limit_mb=2048 -timeout=10 "$work/out" "$work/in" >"$work/log" 2>&1 \
    || { tail -n 20 "$work/log" >&2; exit 1; }
  find "corpus/$t" -type f ! -name 'seed-*' ! -name 'regress-*' -delete
  cp -n "$work/out"/* "corpus/$t/" 2>/dev/null || true
  # A seed or regression input that merging kept under its hash is kept once, by name.
  for keep in "corpus/$t"/seed-* "corpus/$t"/regress-*; do
    [[ -e $keep ]] || continue
    h=$(sha1sum "$keep" | cut -d' ' -f1)
    rm -f "corpus/$t/$h"
  done
  printf '| %s | %d | %d | %d | %s |\n' "$t" "$before" "$found" \
    "$(find "corpus/$t" -type f | wc -l)" "$(du -sh --apparent-size "corpus/$t" | cut -f1)"
  rm -rf "$work"
done
