#!/usr/bin/env bash
# corecheck.sh BTFDIR OBJ...
#
# For every program of every OBJ and every BTFDIR/<image>.btf, load the program alone with
# libbpf, the image's BTF as its CO-RE target (tools/relocheck.c), and print one line per
# program: image=ok or image=FAIL[first reason]. Get an image's BTF with
#   depsurf btf extract <linux-image-...-dbg.deb or vmlinux> -o BTFDIR/<image>.btf
# Needs root, cc, libbpf-dev, llvm-readelf. Only CO-RE outcomes depend on the BTF given; the rest
# (kfuncs, attach targets, verifier) is the running kernel's.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 BTFDIR OBJ..." >&2
    exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
btfdir="$1"
shift
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cc -O1 -o "$tmp/relocheck" "$here/relocheck.c" -lbpf

for obj in "$@"; do
    progs=$(llvm-readelf -s "$obj" | awk '$4 == "FUNC" && $5 == "GLOBAL" { print $8 }')
    for prog in $progs; do
        line="$(basename "$obj" .bpf.o)/$prog:"
        for btf in "$btfdir"/*.btf; do
            image="$(basename "$btf" .btf)"
            if out=$("$tmp/relocheck" "$obj" "$btf" "$prog" 2>&1); then
                line="$line $image=ok"
            else
                why=$(printf '%s\n' "$out" | grep -oE "failed to resolve CO-RE relocation .*|extern .* not found.*|failed to find kernel BTF type ID of '[^']*'|invalid func .*|Operation not permitted" | head -1 || true)
                line="$line $image=FAIL[$why]"
            fi
        done
        echo "$line"
    done
done
