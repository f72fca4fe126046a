#!/usr/bin/env bash
# Runs every fuzz target (or those named) on its committed corpus and prints a Markdown
# table. Usage: scripts/fuzz.sh SECONDS [TARGET...]
#
# Each target runs in two halves of SECONDS/2; the second half starts from the corpus the
# first one grew, so "new in 2nd half" (coverage the second half added) shows whether the
# target reached a plateau. New inputs go to target/fuzz-corpus/<target>, not into the
# repository; `cargo fuzz cmin` merges them into fuzz/corpus when they are worth keeping.
# A crash stops the run with exit 1 and leaves its input in fuzz/artifacts/<target>.
#
# cargo-fuzz needs nightly rustc flags; a stable toolchain accepts them with
# RUSTC_BOOTSTRAP=1, which is what `.ci/run` uses (one toolchain on a fresh machine).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}
shift
targets=("$@")
((${#targets[@]})) || mapfile -t targets < <(cargo fuzz list)
export RUSTC_BOOTSTRAP=${RUSTC_BOOTSTRAP:-1}
cargo fuzz build >/dev/null 2>&1 || cargo fuzz build
bin=target/x86_64-unknown-linux-gnu/release
half=$(((secs + 1) / 2))
log=$(mktemp)
trap 'rm -f "$log"' EXIT
field() { sed -n "s/.*$1 \([0-9]*\).*/\1/p" "$log" | tail -n 1; }
echo "| target | seconds | executions | coverage at start → end | new in 2nd half | crashes |"
echo "|---|---|---|---|---|---|"
status=0
for t in "${targets[@]}"; do
  scratch=../target/fuzz-corpus/$t
  mkdir -p "$scratch" "artifacts/$t" "corpus/$t"
  runs=0 start= mid= end= crashes=0
  for phase in 1 2; do
    # -rss_limit_mb and -malloc_limit_mb: an input of at most a few KB must not make a
    # parser allocate hundreds of MB (sizes read from the input are checked first).
    if ! "$bin/$t" "$scratch" "corpus/$t" -max_total_time="$half" -print_final_stats=1 \
      -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
      -artifact_prefix="artifacts/$t/" >"$log" 2>&1; then
      crashes=1
      status=1
      grep -E "^==[0-9]+==ERROR|panicked|Test unit written" "$log" | head -n 5 >&2
    fi
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    runs=$((runs + ${n:-0}))
    if [[ $phase == 1 ]]; then
      start=$(sed -n 's/.*INITED cov: \([0-9]*\).*/\1/p' "$log" | head -n 1)
      mid=$(field "cov:")
    else
      end=$(field "cov:")
    fi
    ((crashes)) && break
  done
  printf '| %s | %d | %s | %s → %s | %s | %d |\n' "$t" "$secs" "$runs" "${start:-?}" \
    "${end:-${mid:-?}}" "$(( ${end:-0} - ${mid:-${end:-0}} ))" "$crashes"
done
exit "$status"
