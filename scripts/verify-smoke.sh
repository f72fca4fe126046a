#!/usr/bin/env bash
# Boot every amd64 kernel package found in the package cache under QEMU with the test
# objects of tests/bpf, and print a table: kernel, outcome, accelerator, boot and total
# seconds, programs tried/loaded/failed/attached, events seen, helper-table probe seconds.
#
#   scripts/verify-smoke.sh [PACKAGE_DIR]
#
# PACKAGE_DIR defaults to $XDG_CACHE_HOME/depsurf/build/packages (where datasets/build.sh
# downloads Debian's kernel packages); the kernels are its linux-image-*-amd64-unsigned_*.deb
# and linux-binary-*-amd64_*.deb (Debian 14's name for the image package).
#
# Environment: JOBS (kernels booted at once, default 1: boot times are meant to be
# comparable), DETAIL=1 (one line per program under each kernel), CACHED=1 (accept
# cached results instead of booting again), OUT (directory for each kernel's JSON result,
# default a temporary one, printed at the end), DEPSURF_QEMU_ACCEL=kvm|tcg.
# Needs qemu-system-x86_64, clang, bpftool, xz and what building the verify guest needs
# (libelf-dev, zlib1g-dev, make, pkg-config, gcc).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pkgdir="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/depsurf/build/packages}"
if [ ! -d "$pkgdir" ]; then
    echo "$0: no package directory $pkgdir" >&2
    exit 1
fi

shopt -s nullglob
kernels=()
for deb in "$pkgdir"/linux-image-*-amd64-unsigned_*.deb "$pkgdir"/linux-binary-*-amd64_*.deb; do
    case "$deb" in *-dbg_*) continue ;; esac
    kernels+=("$deb")
done
if [ ${#kernels[@]} -eq 0 ]; then
    echo "$0: no amd64 kernel packages in $pkgdir" >&2
    exit 1
fi
# By release: 5.10 before 6.1 before 7.2, whatever the package's name.
mapfile -t kernels < <(printf '%s\n' "${kernels[@]}" \
    | awk -F/ '{ n = $NF; sub(/^linux-(image|binary)-/, "", n); print n "\t" $0 }' \
    | sort -V | cut -f2)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$root/tests/bpf/make.sh" "$tmp/objects" >/dev/null
out="${OUT:-$tmp/results}"
mkdir -p "$out"

cargo build --quiet --release -p depsurf-verify --example verify-table --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/release/examples/verify-table"

args=(--helpers --jobs "${JOBS:-1}" --json "$out"
    --functions do_nanosleep,vfs_open,do_tkill,finish_task_switch,__kmalloc,do_group_exit)
[ "${CACHED:-0}" = 1 ] || args+=(--no-cache)
[ "${DETAIL:-0}" = 1 ] && args+=(--detail)
"$bin" "${args[@]}" --kernel "${kernels[@]}" --object "$tmp"/objects/*.bpf.o
if [ -z "${OUT:-}" ]; then
    # Keep the JSON results past the temporary directory.
    keep="$(mktemp -d -t depsurf-verify-smoke.XXXXXX)"
    cp "$out"/*.json "$keep"/ 2>/dev/null || true
    echo "results: $keep"
fi
