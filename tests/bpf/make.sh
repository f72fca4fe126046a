#!/usr/bin/env bash
# Build the test eBPF objects of tests/bpf.
#
#   tests/bpf/make.sh OUTDIR
#
# Writes OUTDIR/vmlinux.h (from the BTF of Debian's 6.1.0-47-amd64 kernel, the fixture
# tests/fixtures/btf/6.1.0-47-amd64.btf.xz) and OUTDIR/<name>.bpf.o for every
# tests/bpf/<name>.bpf.c. Needs xz, bpftool and clang (Debian's clang 14 is what the
# objects were written for). Stops at the first error.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
btf_xz="$here/../fixtures/btf/6.1.0-47-amd64.btf.xz"
mkdir -p "$1"
out="$(cd "$1" && pwd)"
CLANG="${CLANG:-clang}"
BPFTOOL="${BPFTOOL:-bpftool}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

xz -dc "$btf_xz" > "$tmp/vmlinux.btf"
"$BPFTOOL" btf dump file "$tmp/vmlinux.btf" format c > "$tmp/vmlinux.h"
mv "$tmp/vmlinux.h" "$out/vmlinux.h"

shopt -s nullglob
srcs=("$here"/*.bpf.c)
if [ ${#srcs[@]} -eq 0 ]; then
    echo "$0: no *.bpf.c in $here" >&2
    exit 1
fi
for src in "${srcs[@]}"; do
    name="$(basename "$src" .c)"
    echo "  CC  $name.o"
    "$CLANG" -g -O2 -Wall -target bpf -D__TARGET_ARCH_x86 \
        -I"$out" -c "$src" -o "$out/$name.o"
done
